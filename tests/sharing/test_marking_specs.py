"""Stored markings read back by id give the values stored, releases, groups and owners included."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from principals import ENGINE, IN_HAL, US_GE, seed
from setu.db import transaction
from setu.models.base import Marking, MarkingImmutable, MarkingRelease
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


def test_a_stored_marking_cannot_change_or_go_in_place(sessions: sessionmaker[Session]) -> None:
    """Every process remembers markings by id; one changed in place would keep its old meaning there."""
    with transaction(sessions) as session:
        seed(session)
        marking_id = store(session, SPECS[1]).id
    for change in ("loosen", "release", "delete"):
        with sessions() as session:
            marking = session.get(Marking, marking_id)
            assert marking is not None
            if change == "loosen":
                marking.national_only = False
            elif change == "release":
                marking.releases.append(MarkingRelease(party="US"))
            else:
                session.delete(marking)
            with pytest.raises(MarkingImmutable):
                session.flush()
    with transaction(sessions) as session:
        assert marking_specs(session, [marking_id]) == {SPECS[1]}


def test_a_marking_rolled_back_is_not_remembered_under_its_id(sessions: sessionmaker[Session]) -> None:
    """SQLite gives a rolled-back row's id to the next row: the id must then mean the new marking."""
    with transaction(sessions) as session:
        seed(session)
    loose_spec = MarkingSpec(0, "US", frozenset({"IN", "US"}), groups=frozenset({"WIDE"}))
    strict_spec = MarkingSpec(3, "US", frozenset({"US"}), national_only=True, groups=frozenset({"NARROW"}))
    with sessions() as session:
        loose = store(session, loose_spec)
        assert marking_specs(session, [loose.id]) == {loose_spec}  # read inside the transaction that wrote it
        session.rollback()
    with transaction(sessions) as session:
        strict = store(session, strict_spec)
    with transaction(sessions) as session:
        assert marking_specs(session, [strict.id]) == {strict_spec}
