"""For any interleaving of creates, marking changes and deletions on both sides, syncs and transfers cut short,
each side ends up holding exactly the partner's releasable set, once, with every retraction receipted."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from federation.conftest import Link, Side, pin
from federation.picture import received_picture, released_picture
from setu.db import create_schema, make_engine, session_factory, transaction
from setu.federation.identity import FederationError
from setu.models import Organization, Party
from setu.models.federation import ReceivedObject, SentObject
from setu.models.registry import Capability, RegistrySite
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.read import unfiltered

FIRMS = {"IN": "HAL", "US": "GE Aerospace"}
EXAMPLES = itertools.count()
"""Numbers the examples' database files (hypothesis runs them all in one test's folder)."""


def _palette(party: str, firm_id: int) -> list[MarkingSpec]:
    both = frozenset({"IN", "US"})
    return [
        MarkingSpec(0, party, both),  # released
        MarkingSpec(1, party, both),  # released, RESTRICTED
        MarkingSpec(1, party, both, national_only=True),  # never
        MarkingSpec(1, party, both, owners=frozenset({(firm_id, party)})),  # the firm's own: never
        MarkingSpec(1, party, both, groups=frozenset({"ENGINE"})),  # a group the link does not share
        MarkingSpec(3, party, both),  # above the link's accreditation
    ]


def _seed(path: Path, party: str) -> None:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with transaction(session_factory(engine)) as session:
        session.add_all([Party(code="IN", name="India"), Party(code="US", name="United States")])
        public = store(session, MarkingSpec(0, party, frozenset({"IN", "US"})))
        session.add(Organization(party_code=party, name=FIRMS[party], kind="firm", marking=public))
    engine.dispose()


_CREATE = st.tuples(st.just("create"), st.sampled_from(["IN", "US"]), st.integers(0, 5))
_SYNC = st.tuples(st.just("sync"), st.sampled_from(["IN", "US"]))
OPS = st.lists(
    st.one_of(
        _CREATE,
        _SYNC,
        st.tuples(st.just("remark"), st.sampled_from(["IN", "US"]), st.integers(0, 50), st.integers(0, 5)),
        _CREATE,
        st.tuples(st.just("delete"), st.sampled_from(["IN", "US"]), st.integers(0, 50)),
        _SYNC,
        st.tuples(st.just("capability"), st.sampled_from(["IN", "US"]), st.integers(0, 50), st.integers(0, 5)),
        st.tuples(st.just("cut"), st.sampled_from(["IN", "US"]), st.floats(0.05, 0.95)),
        st.tuples(st.just("remark"), st.sampled_from(["IN", "US"]), st.integers(0, 50), st.integers(0, 5)),
    ),
    min_size=3,
    max_size=20,
)
"""Creates and syncs weigh double, so that most examples send records and then change what was sent."""


class World:
    """Two instances on SQLite files copied from seeded templates (a fresh pair per example)."""

    def __init__(self, folder: Path, templates: dict[str, Path], n: int) -> None:
        self.engines = {}
        sides = {}
        for party, template in templates.items():
            path = folder / f"{party}-{n}.db"
            shutil.copy(template, path)
            self.engines[party] = make_engine(f"sqlite:///{path}")
            sides[party] = Side(party, session_factory(self.engines[party]))
        self.link = Link(sides["IN"], sides["US"])
        self.sides = sides
        self.counter = 0

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    def other(self, party: str) -> Side:
        return self.sides["US" if party == "IN" else "IN"]

    def _own_sites(self, session: Any) -> list[RegistrySite]:
        return list(session.scalars(unfiltered(RegistrySite).where(RegistrySite.received_from.is_(None))))

    def apply(self, op: tuple[Any, ...]) -> None:
        name, party = op[0], op[1]
        side = self.sides[party]
        if name == "sync":
            self.sync_from(party)
            return
        if name == "cut":
            self.cut_from(party, op[2])
            return
        with transaction(side.sessions) as session:
            firm = session.scalar(select(Organization.id).where(Organization.received_from.is_(None)))
            assert firm is not None
            palette = _palette(party, firm)
            sites = self._own_sites(session)
            if name == "create":
                self.counter += 1
                session.add(
                    RegistrySite(
                        organization_id=firm,
                        name=f"{party} site {self.counter}",
                        country=party,
                        updated_by=1,
                        marking_id=store(session, palette[op[2]]).id,
                    )
                )
            elif sites and name == "remark":
                sites[op[2] % len(sites)].marking_id = store(session, palette[op[3]]).id
            elif sites and name == "delete":
                session.delete(sites[op[2] % len(sites)])
            elif sites and name == "capability":
                site = sites[op[2] % len(sites)]
                self.counter += 1
                session.add(
                    Capability(
                        site_id=site.id,
                        code="MET-FORGE",
                        material=f"m{self.counter}",
                        capacity=float(op[3]),
                        marking_id=store(session, palette[op[3]]).id,
                    )
                )

    def sync_from(self, party: str) -> None:
        sender, receiver = self.sides[party], self.other(party)
        receiver.import_(sender.export(receiver.party, since=_last_applied(receiver, party)))

    def cut_from(self, party: str, fraction: float) -> None:
        """A transfer killed mid-way: the receiver gets a prefix of the file, refuses it, stores nothing."""
        import json

        sender, receiver = self.sides[party], self.other(party)
        data = json.dumps(sender.export(receiver.party, since=_last_applied(receiver, party))).encode()
        before = _counts(receiver)
        with pytest.raises(FederationError):
            receiver.import_(data[: int(len(data) * fraction)])
        assert _counts(receiver) == before


def _last_applied(side: Side, partner: str) -> int:
    from setu.federation.bundles import last_applied_seq

    with transaction(side.sessions) as session:
        return last_applied_seq(session, partner)


def _counts(side: Side) -> dict[str, int]:
    with transaction(side.sessions) as session:
        rows = session.execute(
            select(ReceivedObject.kind, func.count())
            .where(ReceivedObject.local_id.is_not(None))
            .group_by(ReceivedObject.kind)
        ).all()
    return {kind: int(n) for kind, n in rows}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("federation-templates")
    paths = {party: folder / f"{party}.db" for party in ("IN", "US")}
    for party, path in paths.items():
        _seed(path, party)
    return paths


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
@example(ops=[("create", "IN", 0), ("sync", "IN"), ("remark", "IN", 0, 2), ("sync", "IN")])
@example(ops=[("create", "US", 1), ("capability", "US", 0, 0), ("sync", "US"), ("delete", "US", 0)])
@example(ops=[("create", "IN", 0), ("sync", "IN"), ("cut", "IN", 0.5), ("remark", "IN", 0, 5), ("cut", "US", 0.5)])
@example(ops=[("create", "IN", 2), ("sync", "IN"), ("remark", "IN", 0, 0), ("sync", "IN"), ("remark", "IN", 0, 3)])
def test_both_sides_converge_on_exactly_the_partners_releasable_set(
    ops: list[tuple[Any, ...]], templates: dict[str, Path], tmp_path: Path
) -> None:
    world = World(tmp_path, templates, next(EXAMPLES))
    try:
        pin(world.sides["IN"], world.sides["US"])
        pin(world.sides["US"], world.sides["IN"])
        for op in ops:
            world.apply(op)
        for _ in range(2):  # quiescence: records one way, then the receipts back
            world.sync_from("IN")
            world.sync_from("US")
        for party in ("IN", "US"):
            sender, receiver = world.sides[party], world.other(party)
            with transaction(sender.sessions) as s, transaction(receiver.sessions) as r:
                released = released_picture(s, receiver.party)
                assert received_picture(r, party) == released
                live = _counts(receiver)
                # Once each: one live received row per released record (the pictures are sets).
                for kind in ("registry_site", "capability"):
                    assert live.get(kind, 0) == len(released.get(kind, set()))
                unreceipted = s.scalar(
                    unfiltered(func.count())
                    .select_from(SentObject)
                    .where(SentObject.revoked.is_(True), SentObject.receipt_at.is_(None))
                )
                assert unreceipted == 0
    finally:
        world.close()
