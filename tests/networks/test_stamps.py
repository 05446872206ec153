"""A network's stamp and a reader's view digest follow every change to its records, however it is made.

The stamp keys cached figures and the digest picks a reader's reference sweep, so a change that leaves
either as it was would serve figures of records that are gone, or of markings that no longer apply. The
changes here are an operator's SQL typed into the database, not Setu's own writes: the database's
triggers (:mod:`setu.models.revisions`) must see them. A cached digest must always equal one computed
with an empty cache.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from networks.world import build_world
from principals import IN_ANALYST, IN_ONLY, SHARED, US_ANALYST
from setu.db import transaction
from setu.models.networks import NodeRecord, SiteCapacityRecord
from setu.models.revisions import REVISED_TABLES, NetworkRevision
from setu.network.model import Network
from setu.networks import stamps
from setu.sharing.markings import store
from setu.sharing.policy import Principal


@pytest.fixture
def network_id(sessions: sessionmaker[Session], world: Network) -> int:
    with transaction(sessions) as session:
        return build_world(session, world).id


def figures(sessions: sessionmaker[Session], reader: Principal, nid: int) -> tuple[object, str]:
    with transaction(sessions) as session:
        return stamps.records_stamp(session, reader, nid), stamps.view_digest(session, reader, nid)


def cold_digest(sessions: sessionmaker[Session], reader: Principal, nid: int) -> str:
    stamps._DIGESTS.clear()
    with transaction(sessions) as session:
        return stamps.view_digest(session, reader, nid)


def operator(engine: Engine, sql: str, **values: object) -> None:
    """What someone with the database's password types: no Setu code runs."""
    with engine.begin() as connection:
        connection.execute(text(sql), values)


def row_of(engine: Engine, table: str, nid: int) -> int:
    with engine.connect() as connection:
        found = connection.execute(text(f"SELECT min(id) FROM {table} WHERE network_id = :n"), {"n": nid}).scalar()
    assert found is not None, f"the world has no row in {table}"
    return int(found)


DATA_TABLES = ("network_nodes", "network_supplies", "network_bom", "network_products", "network_site_capacities")


def test_every_table_of_a_networks_data_is_revised() -> None:
    assert set(REVISED_TABLES) == {*DATA_TABLES, "network_tear_line_covers"}


@pytest.mark.parametrize("table", DATA_TABLES)
def test_an_operators_re_marking_or_deletion_in_any_table_changes_stamp_and_digest(
    engine: Engine, sessions: sessionmaker[Session], network_id: int, table: str
) -> None:
    with transaction(sessions) as session:
        in_only = store(session, IN_ONLY).id
        if table == "network_site_capacities":  # the world shares no site: give it one
            site = SiteCapacityRecord(network_id=network_id, site="Bengaluru", capacity=5.0)
            site.marking_id = store(session, SHARED).id
            session.add(site)
    before = figures(sessions, US_ANALYST, network_id)
    assert before == figures(sessions, US_ANALYST, network_id)  # nothing changed: the cache answers the same
    row = row_of(engine, table, network_id)
    operator(engine, f"UPDATE {table} SET marking_id = :m WHERE id = :r", m=in_only, r=row)
    remarked = figures(sessions, US_ANALYST, network_id)
    assert remarked[0] != before[0]
    assert remarked[1] != before[1], "the US reader lost a record and kept the digest of the view that had it"
    assert remarked[1] == cold_digest(sessions, US_ANALYST, network_id)
    if table == "network_nodes":
        operator(engine, "DELETE FROM network_tear_line_covers WHERE covered_id = :r", r=row)
    else:
        operator(engine, f"DELETE FROM {table} WHERE id = :r", r=row)
        deleted = figures(sessions, IN_ANALYST, network_id)
        assert deleted[1] == cold_digest(sessions, IN_ANALYST, network_id)


def test_tear_line_cover_rows_change_the_stamp(
    engine: Engine, sessions: sessionmaker[Session], network_id: int
) -> None:
    before = figures(sessions, US_ANALYST, network_id)
    with engine.connect() as connection:
        first, second = connection.execute(
            select(NodeRecord.id).where(NodeRecord.network_id == network_id).order_by(NodeRecord.id).limit(2)
        ).scalars()
        marking = connection.execute(select(NodeRecord.marking_id).where(NodeRecord.id == first)).scalar_one()
    operator(
        engine,
        "INSERT INTO network_tear_lines (network_id, audience, classification, state, fold, hidden_nodes, "
        "standins, \"check\", created_by, created_at, marking_id) VALUES (:n, 'US', 1, 'released', 'twins', 1, 1, "
        "'{}', 1, CURRENT_TIMESTAMP, :m)",
        n=network_id,
        m=marking,
    )
    with engine.connect() as connection:
        line = connection.execute(text("SELECT max(id) FROM network_tear_lines")).scalar_one()
    operator(
        engine,
        "INSERT INTO network_tear_line_covers (network_id, tear_line_id, standin_id, covered_id, marking_id) "
        "VALUES (:n, :t, :s, :c, :m)",
        n=network_id,
        t=line,
        s=second,
        c=first,
        m=marking,
    )
    after = figures(sessions, US_ANALYST, network_id)
    assert after[0] != before[0]
    assert after[1] != before[1], "a reader who sees the covered node computes without its stand-in"
    assert after[1] == cold_digest(sessions, US_ANALYST, network_id)


def test_a_revision_is_never_reused_when_the_data_is_emptied_and_refilled(
    engine: Engine, sessions: sessionmaker[Session], world: Network
) -> None:
    with transaction(sessions) as session:
        nid = build_world(session, world).id
    with engine.connect() as connection:
        first = connection.execute(select(NetworkRevision.revision).where(NetworkRevision.network_id == nid)).scalar()
    assert first is not None
    seen = {first}
    with engine.connect() as connection:
        node = row_of(engine, "network_nodes", nid)
        for _ in range(20):  # a revision is random: a count restarted after a restore would repeat one
            connection.execute(text("UPDATE network_nodes SET latitude = NULL WHERE id = :r"), {"r": node})
            connection.commit()
            seen.add(
                connection.execute(text(f"SELECT revision FROM network_revisions WHERE network_id = {nid}")).scalar()
            )
    assert len(seen) == 21


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(["in", "shared", "delete"]), st.integers(0, 40)), max_size=6))
def test_a_warm_digest_always_equals_a_cold_one(
    engine: Engine, sessions: sessionmaker[Session], network_id: int, changes: list[tuple[str, int]]
) -> None:
    with transaction(sessions) as session:
        marks = {"in": store(session, IN_ONLY).id, "shared": store(session, SHARED).id}
    for kind, index in changes:
        with engine.connect() as connection:
            ids = (
                connection.execute(
                    select(NodeRecord.id).where(NodeRecord.network_id == network_id).order_by(NodeRecord.id)
                )
                .scalars()
                .all()
            )
        if not ids:
            break
        row = ids[index % len(ids)]
        for reader in (IN_ANALYST, US_ANALYST):
            figures(sessions, reader, network_id)  # warm the cache before the change
        if kind == "delete":
            operator(engine, "DELETE FROM network_nodes WHERE id = :r", r=row)
        else:
            operator(engine, "UPDATE network_nodes SET marking_id = :m WHERE id = :r", m=marks[kind], r=row)
        for reader in (IN_ANALYST, US_ANALYST):
            warm = figures(sessions, reader, network_id)[1]
            assert warm == cold_digest(sessions, reader, network_id)


def test_a_write_in_the_readers_own_transaction_changes_what_it_reads_next(
    sessions: sessionmaker[Session], network_id: int
) -> None:
    """The network's row and revision are read once per transaction, but never across a write in it."""
    with transaction(sessions) as session:
        in_only, shared = store(session, IN_ONLY).id, store(session, SHARED).id
        first = stamps.records_stamp(session, US_ANALYST, network_id)
        digest = stamps.view_digest(session, US_ANALYST, network_id)
        assert stamps.records_stamp(session, US_ANALYST, network_id) == first
        node = session.scalars(
            select(NodeRecord).where(NodeRecord.network_id == network_id, NodeRecord.marking_id == shared).limit(1)
        ).one()
        node.marking_id = in_only  # an ORM write, flushed before the next read
        session.flush()
        second = stamps.records_stamp(session, US_ANALYST, network_id)
        assert second != first
        assert stamps.view_digest(session, US_ANALYST, network_id) != digest
        session.execute(update(NodeRecord).where(NodeRecord.network_id == network_id).values(latitude=None))
        assert stamps.records_stamp(session, US_ANALYST, network_id) != second


def test_figures_read_between_two_writes_of_one_transaction_are_never_served_after_it(
    sessions: sessionmaker[Session], network_id: int
) -> None:
    """PostgreSQL changes the revision once per transaction: what was read after the first write is stale."""
    with transaction(sessions) as session:
        in_only, shared = store(session, IN_ONLY).id, store(session, SHARED).id
        first, second = session.scalars(
            select(NodeRecord.id).where(NodeRecord.network_id == network_id, NodeRecord.marking_id == shared).limit(2)
        ).all()
    for reader in (IN_ANALYST, US_ANALYST):
        figures(sessions, reader, network_id)
    with transaction(sessions) as session:
        session.execute(update(NodeRecord).where(NodeRecord.id == first).values(marking_id=in_only))
        between = {reader: stamps.view_digest(session, reader, network_id) for reader in (IN_ANALYST, US_ANALYST)}
        session.execute(update(NodeRecord).where(NodeRecord.id == second).values(marking_id=in_only))
    after = figures(sessions, US_ANALYST, network_id)
    assert after[1] != between[US_ANALYST], "the US reader lost a second node and was served the view with it"
    assert after[1] == cold_digest(sessions, US_ANALYST, network_id)
    assert figures(sessions, IN_ANALYST, network_id)[1] == cold_digest(sessions, IN_ANALYST, network_id)
