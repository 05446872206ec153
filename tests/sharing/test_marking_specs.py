"""Stored markings read back by id give the values stored, releases, groups and owners included."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from principals import ENGINE, IN_HAL, US_GE, seed
from setu.db import transaction
from setu.sharing.markings import MarkingSpec, marking_specs, store

SPECS = (
    MarkingSpec(0, "IN", frozenset({"IN", "US"})),
    MarkingSpec(1, "IN", frozenset({"IN"}), national_only=True),
    MarkingSpec(2, "US", frozenset({"IN", "US"}), groups=ENGINE | {"RADAR"}),
    MarkingSpec(1, "IN", frozenset({"IN", "US"}), owners=frozenset({(IN_HAL, "IN"), (US_GE, "US")}), groups=ENGINE),
)


def test_marking_specs_reads_back_every_part_of_each_marking(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        seed(session)
        ids = [store(session, spec).id for spec in SPECS]
    with transaction(sessions) as session:
        assert marking_specs(session, ids) == set(SPECS)
        assert marking_specs(session, ids[2:3]) == {SPECS[2]}
        assert marking_specs(session, []) == set()
