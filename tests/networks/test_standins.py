"""Tear lines on a stored network, from both sides: the partner's figures come right, and nothing hidden reaches them.

An Indian analyst imports an engine line whose two forges and titanium mill are India-only; the US analyst
computes on it with those missing. The Indian analyst drafts stand-ins, which nobody else can see or use,
releases them, and the US analyst's PI and TTS of every scenario they can run equal the full network's,
while nothing the stand-ins hide (names, sites, organizations, ids) appears in any US read.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from network.test_tearline import engine_line
from networks.world import audit_count, build_world, small_network
from principals import (
    ENGINE_NTK,
    HAL_PROPRIETARY,
    IN_ANALYST,
    IN_DESK,
    IN_HAL_INDUSTRY,
    IN_ONLY,
    SHARED,
    US_ANALYST,
    US_GE_INDUSTRY,
    seed,
)
from setu.errors import AccessDenied, Conflict, InputError, MarkingError, NotFound
from setu.models.networks import NodeRecord, SupplyRecord, TearLineRecord
from setu.network.compile import CompiledNetwork
from setu.networks import compiled_view, import_network, list_nodes, node_neighbourhood
from setu.networks.standins import generate, release, standins, tear_lines, withdraw
from setu.sharing.markings import MarkingSpec, specs_by_id
from setu.sharing.policy import Principal
from setu.stress.engine import run_scenarios
from setu.stress.scenarios import Scenario

HIDDEN = ("F-IN-1", "F-IN-2", "TI-IN")
SECRETS = ("F-IN-1", "F-IN-2", "TI-IN", "Pune", "Nagpur", "Bharat Forge", "MIDHANI", "Hyderabad", "Kaveri")
"""What the hidden nodes of the engine line hold and no released record may repeat."""


def import_engine_line(session: Session, **markings: MarkingSpec) -> int:
    """The engine line imported by the Indian analyst, its hidden nodes India-only (and ``markings`` by node)."""
    return import_network(
        session,
        IN_ANALYST,
        engine_line(),
        name="engines",
        format="json",
        source="engines.json",
        marking=SHARED,
        node_markings=dict.fromkeys(HIDDEN, IN_ONLY) | markings,
    ).id


@pytest.fixture
def stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session, session.begin():
        seed(session)
        return import_engine_line(session)


def view(sessions: sessionmaker[Session], principal: Principal, network_id: int) -> CompiledNetwork:
    with sessions() as session, session.begin():
        return compiled_view(session, principal, network_id)[0]


def figures(net: CompiledNetwork, scenarios: dict[str, tuple[str, ...]]) -> dict[str, tuple[float, float]]:
    """PI and TTS of each named scenario (nodes disrupted for the first node's TTR)."""
    built = [
        Scenario(sid, nodes, float(np.nanmax(net.ttr[[net.index_of(n) for n in nodes]])))
        for sid, nodes in scenarios.items()
    ]
    result = run_scenarios(net, built)
    return {s.id: (float(pi), float(tts)) for s, pi, tts in zip(built, result.lost_profit, result.tts, strict=True)}


def released(sessions: sessionmaker[Session], network_id: int) -> int:
    with sessions() as session, session.begin():
        tear = generate(session, IN_ANALYST, network_id, audience="US", classification=1)
        tear_id = tear.id
    with sessions() as session, session.begin():
        release(session, IN_ANALYST, tear_id)
    return tear_id


def test_released_stand_ins_give_the_partner_the_full_networks_figures(
    sessions: sessionmaker[Session], stored: int
) -> None:
    full = view(sessions, IN_ANALYST, stored)
    visible = {"F-US": ("F-US",), "TI-US": ("TI-US",)}
    want = figures(full, visible)
    before = figures(view(sessions, US_ANALYST, stored), visible)
    assert before != want  # the starved engine line: why stand-ins exist

    with sessions() as session, session.begin():
        tear = generate(session, IN_ANALYST, stored, audience="US", classification=1)
        tear_id, check = tear.id, dict(tear.check)
        assert (tear.state, tear.hidden_nodes, tear.standins) == ("draft", 3, 2)
    assert check["scenarios"] == check["candidates"] == 4 and check["differences"] == 0, check
    # A draft changes nobody's figures: the US does not see it, India leaves it out.
    assert figures(view(sessions, US_ANALYST, stored), visible) == before
    assert view(sessions, IN_ANALYST, stored).node_ids == full.node_ids

    with sessions() as session, session.begin():
        release(session, IN_ANALYST, tear_id)
    partner = view(sessions, US_ANALYST, stored)
    forge = next(
        n for n in partner.node_ids if n.startswith("standin-") and "forging" in partner.materials[partner.index_of(n)]
    )
    mill = next(n for n in partner.node_ids if n.startswith("standin-") and n != forge)
    got = figures(partner, visible | {forge: (forge,), mill: (mill,)})
    want |= figures(full, {forge: ("F-IN-1", "F-IN-2"), mill: ("TI-IN",)})
    assert got.keys() == want.keys()
    for sid, (pi, tts) in want.items():
        assert got[sid] == pytest.approx((pi, tts), rel=1e-9), sid
    # India still computes on its own nodes, not on the stand-ins.
    assert view(sessions, IN_ANALYST, stored).node_ids == full.node_ids


def test_a_draft_is_invisible_and_unusable_to_everyone_who_may_not_read_what_it_hides(
    sessions: sessionmaker[Session], stored: int
) -> None:
    with sessions() as session, session.begin():
        tear_id = generate(session, IN_ANALYST, stored, audience="US", classification=1).id
    for outsider in (US_ANALYST, US_GE_INDUSTRY):
        with sessions() as session:
            nodes, total = list_nodes(session, outsider, stored, search="standin")
            assert (nodes, total) == ([], 0)
            assert tear_lines(session, outsider, stored) == []
            # The analyst is told there is no such tear line; a firm's user may not release at all.
            with pytest.raises(NotFound if outsider is US_ANALYST else AccessDenied):
                release(session, outsider, tear_id)
        with sessions() as session, pytest.raises(NotFound if outsider is US_ANALYST else AccessDenied):
            withdraw(session, outsider, tear_id)
    with sessions() as session:
        assert audit_count(session, "network.standins.release", "deny") == 2
        with pytest.raises(AccessDenied):
            release(session, IN_DESK, tear_id)  # a desk officer reads it but may not release


def test_nothing_hidden_reaches_the_partner_through_any_read(sessions: sessionmaker[Session], stored: int) -> None:
    released(sessions, stored)
    with sessions() as session:
        nodes, total = list_nodes(session, US_ANALYST, stored, limit=100)
        assert total == 5  # ENG, F-US, TI-US and two stand-ins
        text = repr([(n.node_id, n.name, n.site, n.organization, n.program, n.material) for n in nodes])
        for word in SECRETS:
            assert word not in text
        names = sorted(n.name for n in nodes if n.node_id.startswith("standin-"))
        assert names == ["Undisclosed IN source of forging", "Undisclosed IN source of titanium"]
        around = node_neighbourhood(session, US_ANALYST, stored, "ENG")
        assert {n.node_id for n in around.suppliers} == {"F-US", *(n.node_id for n in nodes if "forging" in n.name)}
        # The US may read the stand-ins but not which nodes they cover.
        assert tear_lines(session, US_ANALYST, stored) == []


def test_an_edge_to_a_node_the_partner_may_not_see_stays_as_restricted_as_that_node(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        seed(session)
        stored = import_engine_line(session, ENG=HAL_PROPRIETARY)
        tear = generate(session, IN_ANALYST, stored, audience="US", classification=1)
        tear_id = tear.id
        # ENG is hidden too (HAL's), so it has a stand-in of its own; the check says the US sees no product.
        assert tear.hidden_nodes == 4
    with sessions() as session, session.begin():
        release(session, IN_ANALYST, tear_id)
    with sessions() as session:
        markings = session.scalars(select(SupplyRecord.marking_id).where(SupplyRecord.network_id == stored)).all()
        specs = specs_by_id(session, set(markings))
        # Stand-in edges are releasable to the US; the originals keep their India-only or HAL markings.
        assert (
            sum(
                specs[m].releases == {"IN", "US"} and not specs[m].national_only and not specs[m].owners
                for m in markings
            )
            == 4
        )
    engine = view(sessions, US_ANALYST, stored)
    assert all(n.startswith("standin-") or n in {"F-US", "TI-US"} for n in engine.node_ids)


def test_withdrawing_deletes_every_stand_in_record(sessions: sessionmaker[Session], stored: int) -> None:
    before = view(sessions, US_ANALYST, stored).node_ids
    tear_id = released(sessions, stored)
    with sessions() as session, session.begin():
        withdraw(session, IN_ANALYST, tear_id)
    with sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(NodeRecord).where(NodeRecord.tear_line_id.is_not(None)))
            == 0
        )
        assert session.scalar(select(func.count()).select_from(TearLineRecord)) == 0
        assert audit_count(session, "network.standins.withdraw") == 1
    assert view(sessions, US_ANALYST, stored).node_ids == before


def test_only_the_hidden_records_party_withdraws_their_tear_line(sessions: sessionmaker[Session]) -> None:
    """A partner analyst who may read a tear line (here through a need-to-know group) may not withdraw it.

    Withdrawing deletes the stand-ins the partner computes with and revokes their copies: it is the
    owner's decision, as releasing is, drafted or released.
    """
    with sessions() as session, session.begin():
        seed(session)
        stored = import_engine_line(session, **dict.fromkeys(HIDDEN, ENGINE_NTK))
    with sessions() as session, session.begin():
        draft = generate(session, IN_ANALYST, stored, audience="US", classification=1).id
    with sessions() as session:
        assert [t.id for t in tear_lines(session, US_ANALYST, stored)] == [draft]  # the US analyst reads it
    for state in ("draft", "released"):
        if state == "released":
            with sessions() as session, session.begin():
                release(session, IN_ANALYST, draft)
        with sessions() as session, pytest.raises(MarkingError, match="not US's to withdraw"):
            withdraw(session, US_ANALYST, draft)
        with sessions() as session:
            kept = session.get(TearLineRecord, draft)
            assert kept is not None and kept.state == state
    with sessions() as session, session.begin():
        withdraw(session, IN_ANALYST, draft)


def test_bad_requests_are_refused_with_the_field_and_nothing_is_stored(
    sessions: sessionmaker[Session], stored: int
) -> None:
    cases = [
        ({"audience": "IN", "classification": 1}, "audience"),
        ({"audience": "XX", "classification": 1}, "audience"),
        ({"audience": "US", "classification": 7}, "classification"),
    ]
    for arguments, field in cases:
        with sessions() as session, pytest.raises(InputError) as info:
            generate(session, IN_ANALYST, stored, **arguments)  # type: ignore[arg-type]
        assert info.value.problems[0].where == field
    with sessions() as session, pytest.raises(AccessDenied):
        generate(session, IN_HAL_INDUSTRY, stored, audience="US", classification=1)
    # The US analyst sees no India-only node: for them the partner (India) sees everything they do.
    with sessions() as session, pytest.raises(InputError, match="sees every node"):
        generate(session, US_ANALYST, stored, audience="IN", classification=1)
    released(sessions, stored)
    with sessions() as session, pytest.raises(Conflict, match="withdraw them"):
        generate(session, IN_ANALYST, stored, audience="US", classification=1)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(TearLineRecord)) == 1


def test_on_the_shared_world_a_need_to_know_node_stays_out_of_the_view_of_who_holds_the_group(
    sessions: sessionmaker[Session],
) -> None:
    network = small_network()
    with sessions() as session, session.begin():
        stored = build_world(session, network).id
        tear = generate(session, IN_ANALYST, stored, audience="US", classification=1)
        tear_id = tear.id
        hidden = {c for s in standins(session, IN_ANALYST, tear) for c in s.covers}
    # India-only, HAL-proprietary and need-to-know ENGINE nodes are all hidden from a US reader without ENGINE.
    assert {"T2_9", "T3_16", "T3_17", "T2_6", "T3_11"} <= hidden
    with sessions() as session, session.begin():
        release(session, IN_ANALYST, tear_id)
    # The US analyst holds ENGINE: they see T3_11 itself, so its stand-in is left out of their view (no double count).
    analyst = view(sessions, US_ANALYST, stored)
    industry = view(sessions, US_GE_INDUSTRY, stored)
    assert "T3_11" in analyst.node_ids and "T3_11" not in industry.node_ids
    assert (
        len([n for n in industry.node_ids if n.startswith("standin-")])
        == len([n for n in analyst.node_ids if n.startswith("standin-")]) + 1
    )


def test_maps_and_trees_draw_a_stand_in_only_for_who_computes_with_it(
    sessions: sessionmaker[Session], stored: int
) -> None:
    from setu.networks.graph import network_graph

    def drawn(principal: Principal) -> tuple[set[str], int, int]:
        with sessions() as session:
            graph = network_graph(session, principal, stored)
            return {n.node_id for n in graph.nodes}, graph.total, len(graph.suppliers)

    before = drawn(IN_ANALYST)
    released(sessions, stored)
    # India sees the forges themselves: the stand-ins are neither drawn beside them nor counted.
    assert drawn(IN_ANALYST) == before
    us_nodes, us_total, us_edges = drawn(US_ANALYST)
    assert {n for n in us_nodes if n.startswith("standin-")} and us_total == len(us_nodes) == 5 and us_edges == 4


def test_releasing_changes_the_partners_view_digest_and_never_the_owners(
    sessions: sessionmaker[Session], stored: int
) -> None:
    # The owner's reference sweep stays theirs: stand-ins they compute without are not part of their view.
    from setu.networks.stamps import view_digest

    def digests() -> tuple[str, str]:
        with sessions() as session:
            return view_digest(session, IN_ANALYST, stored), view_digest(session, US_ANALYST, stored)

    owner, partner = digests()
    with sessions() as session, session.begin():
        tear_id = generate(session, IN_ANALYST, stored, audience="US", classification=1).id
    assert digests() == (owner, partner)  # a draft changes no one's view
    with sessions() as session, session.begin():
        release(session, IN_ANALYST, tear_id)
    after_owner, after_partner = digests()
    assert after_owner == owner and after_partner != partner
    with sessions() as session, session.begin():
        withdraw(session, IN_ANALYST, tear_id)
    assert digests() == (owner, partner)


def test_the_database_refuses_a_second_stand_in_for_one_node(sessions: sessionmaker[Session], stored: int) -> None:
    # The service leaves covered nodes out; the unique cover is what holds when two owners draft at once.
    from sqlalchemy.exc import IntegrityError

    from setu.models.networks import TearLineCover

    released(sessions, stored)
    with sessions() as session:
        cover = session.scalars(select(TearLineCover)).first()
        assert cover is not None
        twin = TearLineCover(
            network_id=cover.network_id,
            tear_line_id=cover.tear_line_id,
            standin_id=cover.standin_id,
            covered_id=cover.covered_id,
            marking_id=cover.marking_id,
        )
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.flush()
