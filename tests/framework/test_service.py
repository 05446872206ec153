"""Framework service on SQLite and PostgreSQL: who writes, audit entries, markings, hidden == missing, versions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import create_users
from networks.world import audit_count
from principals import (
    IN_ADMIN,
    IN_ANALYST,
    IN_DESK,
    IN_ONLY,
    SECRET_SHARED,
    SHARED,
    US_ANALYST,
    US_DESK,
    US_ONLY,
    seed,
)
from setu.demo.framework import seed_framework
from setu.errors import AccessDenied, InputError, MarkingError, NotFound
from setu.framework.actions import StaleVersion, create_action, get_action, list_actions, overdue, update_action
from setu.framework.bodies import create_body, create_pillar, list_bodies
from setu.framework.common import action_labels, labels, owner_text
from setu.framework.ics import export_actions
from setu.framework.meetings import create_decision, create_meeting
from setu.framework.posture import posture
from setu.framework.projects import create_project
from setu.models.framework import ActionItem, Body, Pillar
from setu.models.networks import NetworkRecord
from setu.models.parties import Organization
from setu.sharing.markings import MarkingSpec, store

TODAY = date(2026, 3, 16)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Parties and organizations, a pillar and the policy group (joint), in an open session."""
    with sessions() as session:
        seed(session)
        create_pillar(session, IN_DESK, code="SUPPLY", name="Supply-chain integration", marking=SHARED)
        create_body(session, IN_DESK, name="Defence Policy Group", kind="policy_group", marking=SHARED)
        session.commit()
        yield session


def _dpg(session: Session) -> Body:
    return session.scalars(select(Body).where(Body.name == "Defence Policy Group")).one()


def _pillar(session: Session) -> Pillar:
    return session.scalars(select(Pillar)).one()


def _action(session: Session, title: str, marking: MarkingSpec = SHARED, days: int = -5, **links: Any) -> ActionItem:
    row = create_action(session, IN_DESK, title=title, due_on=TODAY + timedelta(days=days), marking=marking, **links)
    session.commit()
    return row


def test_desk_officers_and_admins_of_either_party_write_and_every_write_is_audited(world: Session) -> None:
    session = world
    dpg = _dpg(session)
    group = create_body(session, US_DESK, name="Military Cooperation Group", marking=SHARED, parent_id=dpg.id)
    meeting = create_meeting(session, IN_ADMIN, body_id=dpg.id, held_on=TODAY, marking=SHARED, title="DPG")
    decision = create_decision(session, US_DESK, meeting_id=meeting.id, text="Map the supply chains.", marking=SHARED)
    action = create_action(session, IN_DESK, title="Map Stryker", due_on=TODAY, marking=SHARED, decision_id=decision.id)
    project = create_project(session, US_DESK, name="Stryker co-production", program="Stryker", marking=SHARED)
    session.commit()
    # A decision implies its meeting, and the meeting its body.
    assert (action.meeting_id, action.body_id, action.version, action.status) == (meeting.id, dpg.id, 1, "open")
    assert group.parent_id == dpg.id and project.id
    for kind in ("pillar", "body", "meeting", "decision", "action", "project"):
        assert audit_count(session, f"framework.{kind}.create") >= 1, kind
    assert audit_count(session, "framework.body.create") == 2
    children, total = list_bodies(session, US_ANALYST, parent_id=dpg.id)
    assert total == 1 and [b.name for b in children] == ["Military Cooperation Group"]


def test_readers_may_not_write_and_the_refusal_is_audited(world: Session) -> None:
    session = world
    before = session.scalar(select(func.count()).select_from(ActionItem))
    with pytest.raises(AccessDenied):
        create_action(session, IN_ANALYST, title="x", due_on=TODAY, marking=SHARED)
    with pytest.raises(AccessDenied):
        create_pillar(session, US_ANALYST, code="X", name="x", marking=SHARED)
    assert session.scalar(select(func.count()).select_from(ActionItem)) == before
    assert audit_count(session, "framework.action.create", "deny") == 1
    assert audit_count(session, "framework.pillar.create", "deny") == 1


def test_writers_may_assign_only_markings_they_could_read(world: Session) -> None:
    session = world
    with pytest.raises(MarkingError, match="US ONLY"):
        create_action(session, IN_DESK, title="x", due_on=TODAY, marking=US_ONLY)
    with pytest.raises(MarkingError, match="SECRET"):
        create_action(session, IN_DESK, title="x", due_on=TODAY, marking=SECRET_SHARED)
    assert session.scalar(select(func.count()).select_from(ActionItem)) == 0
    assert audit_count(session, "framework.action.create", "deny") == 2
    # An admin cleared SECRET may.
    assert create_action(session, IN_ADMIN, title="x", due_on=TODAY, marking=SECRET_SHARED).id


def test_bad_input_names_each_field_and_stores_nothing(world: Session) -> None:
    session = world
    with pytest.raises(InputError) as caught:
        create_action(session, IN_DESK, title=" ", due_on=TODAY, marking=SHARED, status="later", owner="x" * 201)
    assert {p.where for p in caught.value.problems} == {"title", "status", "owner"}
    with pytest.raises(InputError) as caught:
        create_body(session, IN_DESK, name="WG", kind="committee", marking=SHARED)
    assert [p.where for p in caught.value.problems] == ["kind"]
    with pytest.raises(InputError, match="parent_id: a working group needs"):
        create_body(session, IN_DESK, name="WG", marking=SHARED)
    with pytest.raises(InputError, match="code: a pillar with code 'SUPPLY' exists already"):
        create_pillar(session, IN_DESK, code="SUPPLY", name="again", marking=SHARED)
    with pytest.raises(InputError, match="owner_organization_id: unknown organization id 999"):
        create_action(session, IN_DESK, title="x", due_on=TODAY, marking=SHARED, owner_organization_id=999)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ActionItem)) == 0
    assert session.scalar(select(func.count()).select_from(Body)) == 1


def test_a_national_only_action_is_invisible_to_the_other_party_everywhere(world: Session) -> None:
    session = world
    pillar = _pillar(session)
    secret = _action(session, "Brief the Raksha Mantri", IN_ONLY, -7, pillar_id=pillar.id)
    joint = _action(session, "Quarterly report", SHARED, -3, pillar_id=pillar.id)
    rows, total = list_actions(session, US_ANALYST)
    assert [r.id for r in rows] == [joint.id] and total == 1
    assert [o.action.id for o in overdue(session, US_ANALYST, TODAY)] == [joint.id]
    assert [(o.action.id, o.days) for o in overdue(session, IN_ANALYST, TODAY)] == [(secret.id, 7), (joint.id, 3)]
    # Hidden answers exactly like missing.
    with pytest.raises(NotFound) as hidden:
        get_action(session, US_ANALYST, secret.id)
    with pytest.raises(NotFound) as missing:
        get_action(session, US_ANALYST, 999_999)
    assert str(hidden.value).replace(str(secret.id), "N") == str(missing.value).replace("999999", "N")
    assert get_action(session, IN_ANALYST, secret.id).title == "Brief the Raksha Mantri"
    # Counts.
    us_posture = {p.pillar.code if p.pillar else None: p for p in posture(session, US_ANALYST, TODAY)}
    in_posture = {p.pillar.code if p.pillar else None: p for p in posture(session, IN_ANALYST, TODAY)}
    assert (us_posture["SUPPLY"].counts["open"], us_posture["SUPPLY"].overdue) == (1, 1)
    assert (in_posture["SUPPLY"].counts["open"], in_posture["SUPPLY"].overdue) == (2, 2)
    assert in_posture["SUPPLY"].marking is not None and in_posture["SUPPLY"].marking.national_only
    assert us_posture["SUPPLY"].marking is not None and not us_posture["SUPPLY"].marking.national_only
    # Calendar.
    us_ics = export_actions(session, US_ANALYST)
    assert us_ics.items == 1 and b"Raksha" not in us_ics.content
    events = Calendar.from_ical(us_ics.content).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"action-{joint.id}@framework.setu"]
    assert export_actions(session, IN_ANALYST).items == 2
    # And the other party cannot update it either.
    with pytest.raises(NotFound):
        update_action(session, US_DESK, secret.id, version=1, status="done")
    assert audit_count(session, "framework.action.read", "deny") == 2
    assert audit_count(session, "framework.action.update", "deny") == 1


def test_a_link_to_a_hidden_record_is_answered_as_missing_and_shown_as_absent(world: Session) -> None:
    session = world
    in_body = create_body(session, IN_DESK, name="IN planning cell", kind="other", marking=IN_ONLY)
    session.add(
        net := NetworkRecord(name="IN only", version=1, created_by=1, org_id=1, marking_id=store(session, IN_ONLY).id)
    )
    session.commit()
    with pytest.raises(NotFound) as hidden:
        create_action(session, US_DESK, title="x", due_on=TODAY, marking=SHARED, body_id=in_body.id)
    with pytest.raises(NotFound) as missing:
        create_action(session, US_DESK, title="x", due_on=TODAY, marking=SHARED, body_id=999_999)
    assert str(hidden.value) == f"no such body: {in_body.id}" and str(missing.value) == "no such body: 999999"
    with pytest.raises(NotFound, match="no such network"):
        create_project(session, US_DESK, name="P", marking=SHARED, network_id=net.id)
    project = create_project(session, IN_DESK, name="P", marking=SHARED, network_id=net.id)
    # A joint action under the Indian-only body: the US sees the action, not the body's name.
    action = _action(session, "Joint item", SHARED, 1, body_id=in_body.id)
    assert action_labels(session, US_ANALYST, [action]).bodies == {}
    assert action_labels(session, IN_ANALYST, [action]).bodies == {in_body.id: "IN planning cell"}
    assert labels(session, US_ANALYST, networks=[project.network_id]).networks == {}
    assert b"IN planning cell" not in export_actions(session, US_ANALYST).content


def test_an_owning_user_is_named_only_to_readers_of_their_party_who_may_read_their_record(world: Session) -> None:
    session = world
    us_owner = create_users(session, {"us-owner": US_DESK})["us-owner"]
    # A user record marked SECRET: an Indian reader cleared CONFIDENTIAL may not read it, an admin may.
    cleared = MarkingSpec(3, "IN", frozenset({"IN"}))
    in_owner = create_users(session, {"in-owner": IN_ADMIN}, marking=cleared)["in-owner"]
    session.commit()
    # Each owner is assigned by a writer who may read their record (a US desk officer for a US user).
    by_us = create_action(
        session,
        US_DESK,
        title="Owned by a US desk officer",
        due_on=TODAY + timedelta(days=1),
        marking=SHARED,
        owner_user_id=us_owner.id,
    )
    session.commit()
    by_in = create_action(
        session,
        IN_ADMIN,
        title="Owned by a cleared Indian admin",
        due_on=TODAY + timedelta(days=1),
        marking=SHARED,
        owner_user_id=in_owner.id,
    )
    session.commit()
    assert owner_text(by_us, action_labels(session, US_ANALYST, [by_us])) == "us-owner"
    assert action_labels(session, IN_ANALYST, [by_us]).users == {}
    assert owner_text(by_us, action_labels(session, IN_ANALYST, [by_us])) == "unassigned"
    assert owner_text(by_in, action_labels(session, IN_ADMIN, [by_in])) == "in-owner"
    assert action_labels(session, IN_ANALYST, [by_in]).users == {}
    assert action_labels(session, US_ANALYST, [by_in]).users == {}


def test_the_other_partys_user_ids_cannot_be_enumerated_through_an_action_owner(world: Session) -> None:
    # The attacker, a US desk officer, probes user ids as an action item's owner: an Indian user's id
    # (their record is released to India only) must answer exactly as an id nobody has.
    session = world
    users = create_users(session, {"in-hidden": IN_ADMIN, "us-mine": US_DESK, "us-peer": US_ANALYST})
    hidden_org = Organization(id=77, party_code="IN", name="Hidden works", kind="firm", marking=store(session, IN_ONLY))
    session.add(hidden_org)
    session.commit()
    unknown = max(user.id for user in users.values()) + 1000
    answers = {}
    for field, probes in (
        ("owner_user_id", (users["in-hidden"].id, unknown)),
        ("owner_organization_id", (hidden_org.id, hidden_org.id + 1000)),
    ):
        for probe in probes:
            with pytest.raises(InputError) as caught:
                create_action(session, US_DESK, title="probe", due_on=TODAY, marking=SHARED, **{field: probe})
            session.rollback()
            answers[probe] = [(p.where, p.message.replace(str(probe), "N")) for p in caught.value.problems]
        assert answers[probes[0]] == answers[probes[1]], field
    assert answers[unknown] == [("owner_user_id", "unknown user id N")]
    assert session.scalar(select(func.count()).select_from(ActionItem)) == 0
    # A user the writer may read is accepted, and named to readers of the owner's party only.
    mine = create_action(
        session, US_DESK, title="Owned", due_on=TODAY, marking=SHARED, owner_user_id=users["us-peer"].id
    )
    session.commit()
    assert owner_text(mine, action_labels(session, US_DESK, [mine])) == "us-peer"
    assert action_labels(session, IN_DESK, [mine]).users == {}


def test_a_stale_version_is_a_conflict_and_changes_nothing(world: Session) -> None:
    session = world
    action = _action(session, "Report", SHARED, -1)
    done = update_action(session, US_DESK, action.id, version=1, status="done", today=TODAY)
    session.commit()
    assert (done.version, done.status, done.completed_on) == (2, "done", TODAY)
    with pytest.raises(StaleVersion, match="you sent version 1; it is now version 2"):
        update_action(session, IN_DESK, action.id, version=1, status="cancelled")
    session.expire_all()
    again = get_action(session, IN_ANALYST, action.id)
    assert (again.version, again.status) == (2, "done")
    assert audit_count(session, "framework.action.update", "deny") == 1
    reopened = update_action(session, IN_DESK, action.id, version=2, status="in_progress", notes="reopened")
    session.commit()
    assert (reopened.version, reopened.completed_on, reopened.notes) == (3, None, "reopened")
    assert audit_count(session, "framework.action.update") == 2
    # Nothing to change: no new version, no audit entry.
    assert update_action(session, IN_DESK, action.id, version=3, status="in_progress").version == 3


def test_a_concurrent_update_between_read_and_write_is_a_conflict(
    sessions: sessionmaker[Session], world: Session
) -> None:
    action = _action(world, "Report", SHARED, -1)
    other = sessions()
    mine = get_action(world, IN_ANALYST, action.id)
    world.commit()
    theirs = get_action(other, IN_ANALYST, action.id)
    theirs.status = "in_progress"
    other.commit()
    other.close()
    assert mine.version == 1
    with pytest.raises(StaleVersion, match="another update changed it meanwhile"):
        update_action(world, IN_DESK, action.id, version=1, status="done")


def test_seed_writes_the_structure_once_with_some_items_overdue(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed(session)
        counts = seed_framework(session, today=TODAY)
        session.commit()
        assert (counts.pillars, counts.bodies, counts.actions) == (6, 5, 7)
        assert seed_framework(session, today=TODAY).actions == 0
        dpg = _dpg(session)
        children, _ = list_bodies(session, US_ANALYST, parent_id=dpg.id)
        assert len(children) == 3
        in_late = [o.action.title for o in overdue(session, IN_ANALYST, TODAY)]
        us_late = [o.action.title for o in overdue(session, US_ANALYST, TODAY)]
        assert "Brief the Raksha Mantri on Su-30MKI spares exposure" in in_late
        assert "Brief the Raksha Mantri on Su-30MKI spares exposure" not in us_late
        assert len(us_late) == 2 and len(in_late) == 3
        assert audit_count(session, "framework.seed") == 1
