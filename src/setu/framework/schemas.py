"""Request and response models of the framework endpoints (Pydantic 2), and the answers built from stored records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Protocol

from pydantic import Field
from sqlalchemy.orm import Session

from setu.framework.common import action_labels, days_overdue, is_overdue, labels, owner_text
from setu.framework.posture import PillarPosture
from setu.models.base import Marked
from setu.models.framework import ActionItem, Body, Decision, Meeting, Pillar, Project
from setu.schemas import MAX_ID, MarkingOut, PageBanner, Paged, Strict, Text, utc
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
ActionStatus = Literal["open", "in_progress", "done", "cancelled"]
BodyKind = Literal["policy_group", "working_group", "other"]
ProjectStatus = Literal["proposed", "active", "completed", "suspended"]


class MarkingIn(Strict):
    """The marking to give a new record; you must be able to read it yourself. Its origin is your party."""

    classification: Literal["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"] = "UNCLASSIFIED"
    releases: list[Text] | None = Field(default=None, description="Parties released to (default: your own).")
    national_only: bool = Field(default=False, description="Only your party may read it.")
    groups: list[Text] | None = Field(default=None, description="Need-to-know groups.")
    owners: list[Id] | None = Field(default=None, description="Ids of organizations it is proprietary to.")


class PillarIn(Strict):
    """A new pillar of the framework."""

    code: Text = Field(min_length=1, max_length=32)
    name: Text = Field(min_length=1, max_length=200)
    description: Text = ""
    marking: MarkingIn = Field(default_factory=MarkingIn)


class PillarOut(Strict):
    """A pillar."""

    id: int
    code: str
    name: str
    description: str
    marking: MarkingOut


class PillarPage(Paged):
    """A page of pillars."""

    items: list[PillarOut]


class BodyIn(Strict):
    """A new body: a policy group, a working group reporting to a body (``parent_id``), or another forum."""

    name: Text = Field(min_length=1, max_length=200)
    kind: BodyKind = "working_group"
    parent_id: Id | None = Field(default=None, description="The body it reports to (required for a working group).")
    pillar_id: Id | None = None
    chairs: Text = Field(default="", max_length=300)
    marking: MarkingIn = Field(default_factory=MarkingIn)


class BodyOut(Strict):
    """A body. Links to records you may not see read as null."""

    id: int
    name: str
    kind: str
    parent_id: int | None
    parent: str | None = Field(description="The parent body's name.")
    pillar_id: int | None
    pillar: str | None = Field(description="The pillar's name.")
    chairs: str
    marking: MarkingOut


class BodyPage(Paged):
    """A page of bodies."""

    items: list[BodyOut]


class MeetingIn(Strict):
    """A new meeting of a body."""

    body_id: Id
    held_on: date
    title: Text = Field(default="", max_length=300)
    location: Text = Field(default="", max_length=200)
    summary: Text = ""
    marking: MarkingIn = Field(default_factory=MarkingIn)


class MeetingOut(Strict):
    """A meeting."""

    id: int
    body_id: int | None
    body: str | None
    held_on: date
    title: str
    location: str
    summary: str
    marking: MarkingOut


class MeetingPage(Paged):
    """A page of meetings."""

    items: list[MeetingOut]


class DecisionIn(Strict):
    """A new decision taken at a meeting."""

    meeting_id: Id
    text: Text = Field(min_length=1)
    marking: MarkingIn = Field(default_factory=MarkingIn)


class DecisionOut(Strict):
    """A decision."""

    id: int
    meeting_id: int | None
    meeting: str | None = Field(description="The meeting's title.")
    text: str
    marking: MarkingOut


class DecisionPage(Paged):
    """A page of decisions."""

    items: list[DecisionOut]


class ActionIn(Strict):
    """A new action item. A decision implies its meeting and a meeting its body (filled in when left out)."""

    title: Text = Field(min_length=1, max_length=300)
    due_on: date
    status: ActionStatus = "open"
    body_id: Id | None = None
    meeting_id: Id | None = None
    decision_id: Id | None = None
    pillar_id: Id | None = None
    owner: Text = Field(default="", max_length=200, description="The owner as people name them.")
    owner_organization_id: Id | None = None
    owner_user_id: Id | None = None
    notes: Text = ""
    marking: MarkingIn = Field(default_factory=MarkingIn)


class ActionPatch(Strict):
    """A change to an action item, guarded by the version you last read (409 if it changed since)."""

    version: int = Field(ge=1, le=MAX_ID, description="The item's version as you last read it.")
    status: ActionStatus | None = None
    due_on: date | None = None
    title: Text | None = Field(default=None, min_length=1, max_length=300)
    owner: Text | None = Field(default=None, max_length=200)
    notes: Text | None = None


class ActionOut(Strict):
    """An action item. Links to records you may not see read as null."""

    id: int
    title: str
    due_on: date
    status: str
    completed_on: date | None
    overdue: bool = Field(description="Open or in progress and due before today (UTC, or the `today` asked for).")
    days_overdue: int = Field(ge=0, description="Calendar days past due (0 unless overdue).")
    owner: str = Field(description="Who owns it, as shown: the owner text, else the organization or user.")
    owner_organization_id: int | None
    owner_organization: str | None
    owner_user_id: int | None = Field(description="Shown to readers of the owner's own party only.")
    owner_user: str | None
    body_id: int | None
    body: str | None
    meeting_id: int | None
    meeting: str | None
    decision_id: int | None
    pillar_id: int | None
    pillar: str | None
    notes: str
    version: int = Field(description="Send it back with a change (optimistic locking).")
    created_at: datetime
    updated_at: datetime
    marking: MarkingOut


class ActionPage(Paged):
    """A page of action items."""

    items: list[ActionOut]


class ProjectIn(Strict):
    """A new co-production or technology-cooperation project."""

    name: Text = Field(min_length=1, max_length=200)
    pillar_id: Id | None = None
    program: Text = Field(default="", max_length=200)
    network_id: Id | None = Field(default=None, description="A stored network you may see.")
    status: ProjectStatus = "active"
    description: Text = ""
    marking: MarkingIn = Field(default_factory=MarkingIn)


class ProjectOut(Strict):
    """A project. Links to records you may not see read as null."""

    id: int
    name: str
    pillar_id: int | None
    pillar: str | None
    program: str
    network_id: int | None
    network: str | None
    status: str
    description: str
    marking: MarkingOut


class ProjectPage(Paged):
    """A page of projects."""

    items: list[ProjectOut]


class PillarPostureOut(Strict):
    """One pillar's visible action items by status, those overdue, and its visible projects."""

    pillar_id: int | None = Field(description="Null: items with no pillar, or one you may not see.")
    code: str | None
    name: str | None
    open: int
    in_progress: int
    done: int
    cancelled: int
    overdue: int
    projects: int
    programs: list[str]
    marking: MarkingOut | None = Field(description="The most restrictive marking of everything counted.")


class PostureOut(PageBanner):
    """The risk posture of the framework: per pillar, as of ``today``."""

    today: date
    items: list[PillarPostureOut]


# --- answers built from stored records ----------------------------------------------------------------


class Marks(Protocol):
    """What builds an answer's markings and linked names: the reader, their session, each record's marking.

    :class:`setu.deps.Marker` is one; the builders below take any, so this module needs no web code.
    """

    session: Session
    principal: Principal

    def of(self, record: Marked) -> MarkingOut:
        """The marking of a stored record as answers carry it."""
        ...

    def out(self, spec: MarkingSpec) -> MarkingOut:
        """A marking as answers carry it."""
        ...


def _link(pk: int | None, names: dict[int, str]) -> tuple[int | None, str | None]:
    """A link as answers show it: id and name when the reader sees the linked record, else nulls."""
    if pk is None or pk not in names:
        return None, None
    return pk, names[pk]


def pillar_out(marker: Marks, row: Pillar) -> PillarOut:
    """A pillar as answers show it."""
    return PillarOut(id=row.id, code=row.code, name=row.name, description=row.description, marking=marker.of(row))


def bodies_out(marker: Marks, rows: list[Body]) -> list[BodyOut]:
    """Bodies as answers show them."""
    names = labels(
        marker.session, marker.principal, bodies=(r.parent_id for r in rows), pillars=(r.pillar_id for r in rows)
    )
    out = []
    for row in rows:
        parent_id, parent = _link(row.parent_id, names.bodies)
        pillar_id, pillar = _link(row.pillar_id, names.pillars)
        out.append(
            BodyOut(
                id=row.id,
                name=row.name,
                kind=row.kind,
                parent_id=parent_id,
                parent=parent,
                pillar_id=pillar_id,
                pillar=pillar,
                chairs=row.chairs,
                marking=marker.of(row),
            )
        )
    return out


def meetings_out(marker: Marks, rows: list[Meeting]) -> list[MeetingOut]:
    """Meetings as answers show them."""
    names = labels(marker.session, marker.principal, bodies=(r.body_id for r in rows))
    out = []
    for row in rows:
        body_id, body = _link(row.body_id, names.bodies)
        out.append(
            MeetingOut(
                id=row.id,
                body_id=body_id,
                body=body,
                held_on=row.held_on,
                title=row.title,
                location=row.location,
                summary=row.summary,
                marking=marker.of(row),
            )
        )
    return out


def decisions_out(marker: Marks, rows: list[Decision]) -> list[DecisionOut]:
    """Decisions as answers show them."""
    names = labels(marker.session, marker.principal, meetings=(r.meeting_id for r in rows))
    out = []
    for row in rows:
        meeting_id, meeting = _link(row.meeting_id, names.meetings)
        out.append(
            DecisionOut(id=row.id, meeting_id=meeting_id, meeting=meeting, text=row.text, marking=marker.of(row))
        )
    return out


def actions_out(marker: Marks, rows: list[ActionItem], today: date) -> list[ActionOut]:
    """Action items as answers show them, overdue counted on ``today``."""
    names = action_labels(marker.session, marker.principal, rows)
    out = []
    for row in rows:
        org_id, org = _link(row.owner_organization_id, names.organizations)
        user_id, user = _link(row.owner_user_id, names.users)
        body_id, body = _link(row.body_id, names.bodies)
        meeting_id, meeting = _link(row.meeting_id, names.meetings)
        decision_id, _ = _link(row.decision_id, names.decisions)
        pillar_id, pillar = _link(row.pillar_id, names.pillars)
        late = is_overdue(row.status, row.due_on, today)
        out.append(
            ActionOut(
                id=row.id,
                title=row.title,
                due_on=row.due_on,
                status=row.status,
                completed_on=row.completed_on,
                overdue=late,
                days_overdue=days_overdue(row.due_on, today) if late else 0,
                owner=owner_text(row, names),
                owner_organization_id=org_id,
                owner_organization=org,
                owner_user_id=user_id,
                owner_user=user,
                body_id=body_id,
                body=body,
                meeting_id=meeting_id,
                meeting=meeting,
                decision_id=decision_id,
                pillar_id=pillar_id,
                pillar=pillar,
                notes=row.notes,
                version=row.version,
                created_at=utc(row.created_at),
                updated_at=utc(row.updated_at),
                marking=marker.of(row),
            )
        )
    return out


def projects_out(marker: Marks, rows: list[Project]) -> list[ProjectOut]:
    """Projects as answers show them."""
    names = labels(
        marker.session, marker.principal, pillars=(r.pillar_id for r in rows), networks=(r.network_id for r in rows)
    )
    out = []
    for row in rows:
        pillar_id, pillar = _link(row.pillar_id, names.pillars)
        network_id, network = _link(row.network_id, names.networks)
        out.append(
            ProjectOut(
                id=row.id,
                name=row.name,
                pillar_id=pillar_id,
                pillar=pillar,
                program=row.program,
                network_id=network_id,
                network=network,
                status=row.status,
                description=row.description,
                marking=marker.of(row),
            )
        )
    return out


def posture_out(marker: Marks, rows: list[PillarPosture]) -> list[PillarPostureOut]:
    """The posture's rows as answers show them, each with the marking of what it counts."""
    return [
        PillarPostureOut(
            pillar_id=row.pillar.id if row.pillar else None,
            code=row.pillar.code if row.pillar else None,
            name=row.pillar.name if row.pillar else None,
            open=row.counts.get("open", 0),
            in_progress=row.counts.get("in_progress", 0),
            done=row.counts.get("done", 0),
            cancelled=row.counts.get("cancelled", 0),
            overdue=row.overdue,
            projects=row.projects,
            programs=row.programs,
            marking=marker.out(row.marking) if row.marking else None,
        )
        for row in rows
    ]
