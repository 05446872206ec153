"""Request and response models of the framework endpoints (Pydantic 2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from setu.schemas import MAX_ID, MarkingOut, PageBanner, Paged, Strict, Text

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
