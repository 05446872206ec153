"""HTTP endpoints of the framework domain: pillars, bodies, meetings, decisions, action items, projects.

Lists are paged and every item carries its marking; links to records the reader may not see read
as null. Writes need the admin or desk-officer role (403 otherwise) and a marking the writer could
read; a change to an action item sends the version last read and gets 409 if it changed since.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from setu.deps import AuthDep, MarkerDep, SessionDep
from setu.framework.actions import create_action, get_action, list_actions, update_action
from setu.framework.bodies import create_body, create_pillar, get_body, get_pillar, list_bodies, list_pillars
from setu.framework.common import today_utc, writer_marking
from setu.framework.ics import export_actions
from setu.framework.meetings import (
    create_decision,
    create_meeting,
    get_decision,
    get_meeting,
    list_decisions,
    list_meetings,
)
from setu.framework.posture import posture
from setu.framework.projects import create_project, get_project, list_projects
from setu.framework.schemas import (
    ActionIn,
    ActionOut,
    ActionPage,
    ActionPatch,
    ActionStatus,
    BodyIn,
    BodyKind,
    BodyOut,
    BodyPage,
    DecisionIn,
    DecisionOut,
    DecisionPage,
    MarkingIn,
    MeetingIn,
    MeetingOut,
    MeetingPage,
    PillarIn,
    PillarOut,
    PillarPage,
    PostureOut,
    ProjectIn,
    ProjectOut,
    ProjectPage,
    actions_out,
    bodies_out,
    decisions_out,
    meetings_out,
    pillar_out,
    posture_out,
    projects_out,
)
from setu.schemas import ERROR_RESPONSES, MAX_ID, ErrorBody, Text
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.read import MAX_LIMIT

router = APIRouter(prefix="/framework", tags=["framework"], responses=ERROR_RESPONSES)

RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most items to return.")]
FilterId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Today = Annotated[date | None, Query(description="The date overdue is counted on (default: today in UTC); YYYY-MM-DD.")]
Statuses = Annotated[list[ActionStatus] | None, Query(description="Only these statuses (repeat the parameter).")]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The item changed since you read it (stale version); read it again."}
}
WRITE: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "Not an admin or desk officer, or a marking you could not read."},
    409: {"model": ErrorBody, "description": "A record of that name or code was written at the same time; retry."},
}
ICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An iCalendar file: one all-day event per visible action item, on its due date.",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
        "headers": {
            "Content-Disposition": {"description": "attachment; filename=...", "schema": {"type": "string"}},
            "X-Setu-Marking": {"description": "The banner of the file's items (ASCII).", "schema": {"type": "string"}},
        },
    }
}


def _spec(session: Session, principal: Principal, marking: MarkingIn, action: str) -> MarkingSpec:
    """The marking a write asks for; the service checks the writer's role first (so a reader gets 403, not 422)."""
    return writer_marking(
        session,
        principal,
        action,
        classification=marking.classification,
        releases=marking.releases,
        national_only=marking.national_only,
        groups=marking.groups,
        owners=marking.owners,
    )


# --- pillars ------------------------------------------------------------------------------------------


@router.get("/pillars")
def get_pillars(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, offset: Offset = 0, limit: Limit = 100
) -> PillarPage:
    """Visible pillars of the framework, by code."""
    rows, total = list_pillars(session, auth.principal, offset=offset, limit=limit)
    out = marker.listing(PillarPage, rows, [pillar_out(marker, r) for r in rows], total, offset, limit)
    session.commit()
    return out


@router.post("/pillars", status_code=201, responses=WRITE)
def post_pillar(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: PillarIn) -> PillarOut:
    """Add a pillar (admin or desk officer)."""
    spec = _spec(session, auth.principal, body.marking, "framework.pillar.create")
    row = create_pillar(
        session, auth.principal, code=body.code, name=body.name, description=body.description, marking=spec
    )
    out = pillar_out(marker, row)
    session.commit()
    return out


@router.get("/pillars/{pillar_id}")
def get_one_pillar(auth: AuthDep, session: SessionDep, marker: MarkerDep, pillar_id: RecordId) -> PillarOut:
    """One pillar."""
    out = pillar_out(marker, get_pillar(session, auth.principal, pillar_id))
    session.commit()
    return out


# --- bodies -------------------------------------------------------------------------------------------


@router.get("/bodies")
def get_bodies(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    parent_id: Annotated[FilterId, Query(description="Only bodies reporting to this one.")] = None,
    kind: BodyKind | None = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> BodyPage:
    """Visible bodies by name; working groups of a body with ``parent_id``."""
    rows, total = list_bodies(session, auth.principal, parent_id=parent_id, kind=kind, offset=offset, limit=limit)
    out = marker.listing(BodyPage, rows, bodies_out(marker, rows), total, offset, limit)
    session.commit()
    return out


@router.post("/bodies", status_code=201, responses=WRITE)
def post_body(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: BodyIn) -> BodyOut:
    """Add a body (admin or desk officer); a working group names the body it reports to."""
    spec = _spec(session, auth.principal, body.marking, "framework.body.create")
    row = create_body(
        session,
        auth.principal,
        name=body.name,
        kind=body.kind,
        parent_id=body.parent_id,
        pillar_id=body.pillar_id,
        chairs=body.chairs,
        marking=spec,
    )
    out = bodies_out(marker, [row])[0]
    session.commit()
    return out


@router.get("/bodies/{body_id}")
def get_one_body(auth: AuthDep, session: SessionDep, marker: MarkerDep, body_id: RecordId) -> BodyOut:
    """One body."""
    out = bodies_out(marker, [get_body(session, auth.principal, body_id)])[0]
    session.commit()
    return out


# --- meetings and decisions ---------------------------------------------------------------------------


@router.get("/meetings")
def get_meetings(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    body_id: FilterId = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> MeetingPage:
    """Visible meetings, newest first; one body's with ``body_id``."""
    rows, total = list_meetings(session, auth.principal, body_id=body_id, offset=offset, limit=limit)
    out = marker.listing(MeetingPage, rows, meetings_out(marker, rows), total, offset, limit)
    session.commit()
    return out


@router.post("/meetings", status_code=201, responses=WRITE)
def post_meeting(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: MeetingIn) -> MeetingOut:
    """Record a meeting of a body (admin or desk officer)."""
    spec = _spec(session, auth.principal, body.marking, "framework.meeting.create")
    row = create_meeting(
        session,
        auth.principal,
        body_id=body.body_id,
        held_on=body.held_on,
        title=body.title,
        location=body.location,
        summary=body.summary,
        marking=spec,
    )
    out = meetings_out(marker, [row])[0]
    session.commit()
    return out


@router.get("/meetings/{meeting_id}")
def get_one_meeting(auth: AuthDep, session: SessionDep, marker: MarkerDep, meeting_id: RecordId) -> MeetingOut:
    """One meeting."""
    out = meetings_out(marker, [get_meeting(session, auth.principal, meeting_id)])[0]
    session.commit()
    return out


@router.get("/decisions")
def get_decisions(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    meeting_id: FilterId = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> DecisionPage:
    """Visible decisions in the order recorded; one meeting's with ``meeting_id``."""
    rows, total = list_decisions(session, auth.principal, meeting_id=meeting_id, offset=offset, limit=limit)
    out = marker.listing(DecisionPage, rows, decisions_out(marker, rows), total, offset, limit)
    session.commit()
    return out


@router.post("/decisions", status_code=201, responses=WRITE)
def post_decision(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: DecisionIn) -> DecisionOut:
    """Record a decision taken at a meeting (admin or desk officer)."""
    spec = _spec(session, auth.principal, body.marking, "framework.decision.create")
    row = create_decision(session, auth.principal, meeting_id=body.meeting_id, text=body.text, marking=spec)
    out = decisions_out(marker, [row])[0]
    session.commit()
    return out


@router.get("/decisions/{decision_id}")
def get_one_decision(auth: AuthDep, session: SessionDep, marker: MarkerDep, decision_id: RecordId) -> DecisionOut:
    """One decision."""
    out = decisions_out(marker, [get_decision(session, auth.principal, decision_id)])[0]
    session.commit()
    return out


# --- action items -------------------------------------------------------------------------------------


@router.get("/actions")
def get_actions(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    status: Statuses = None,
    body_id: FilterId = None,
    meeting_id: FilterId = None,
    pillar_id: FilterId = None,
    owner_organization_id: FilterId = None,
    today: Today = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ActionPage:
    """Visible action items, earliest due first, filtered."""
    day = today or today_utc()
    rows, total = list_actions(
        session,
        auth.principal,
        statuses=status or (),
        body_id=body_id,
        meeting_id=meeting_id,
        pillar_id=pillar_id,
        owner_organization_id=owner_organization_id,
        offset=offset,
        limit=limit,
    )
    out = marker.listing(ActionPage, rows, actions_out(marker, rows, day), total, offset, limit)
    session.commit()
    return out


@router.get("/actions/overdue")
def get_overdue_actions(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, today: Today = None, offset: Offset = 0, limit: Limit = 100
) -> ActionPage:
    """Visible action items open or in progress and due before ``today``, oldest first."""
    day = today or today_utc()
    rows, total = list_actions(session, auth.principal, overdue_on=day, offset=offset, limit=limit)
    out = marker.listing(ActionPage, rows, actions_out(marker, rows, day), total, offset, limit)
    session.commit()
    return out


@router.get("/actions.ics", response_class=Response, responses=ICS_RESPONSES)
def get_actions_calendar(auth: AuthDep, session: SessionDep, status: Statuses = None) -> Response:
    """Due dates of the visible action items as an iCalendar file (audited).

    One all-day event per item with a stable UID; its description opens with the item's marking.
    """
    export = export_actions(session, auth.principal, statuses=status or ())
    session.commit()
    return Response(
        export.content,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="setu-actions.ics"',
            "X-Setu-Marking": export.banner.encode("ascii", "replace").decode("ascii"),
        },
    )


@router.post("/actions", status_code=201, responses=WRITE)
def post_action(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: ActionIn) -> ActionOut:
    """Add an action item (admin or desk officer)."""
    spec = _spec(session, auth.principal, body.marking, "framework.action.create")
    row = create_action(
        session,
        auth.principal,
        title=body.title,
        due_on=body.due_on,
        status=body.status,
        body_id=body.body_id,
        meeting_id=body.meeting_id,
        decision_id=body.decision_id,
        pillar_id=body.pillar_id,
        owner=body.owner,
        owner_organization_id=body.owner_organization_id,
        owner_user_id=body.owner_user_id,
        notes=body.notes,
        marking=spec,
    )
    out = actions_out(marker, [row], today_utc())[0]
    session.commit()
    return out


@router.get("/actions/{action_id}")
def get_one_action(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, action_id: RecordId, today: Today = None
) -> ActionOut:
    """One action item."""
    out = actions_out(marker, [get_action(session, auth.principal, action_id)], today or today_utc())[0]
    session.commit()
    return out


@router.patch("/actions/{action_id}", responses=CONFLICT)
def patch_action(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, action_id: RecordId, body: ActionPatch
) -> ActionOut:
    """Change an action item's status, due date, title, owner or notes (admin or desk officer).

    Send the ``version`` you last read: if the item changed since, nothing is written and the
    answer is 409. Setting ``done`` records today (UTC) as the completion date.
    """
    row = update_action(
        session,
        auth.principal,
        action_id,
        version=body.version,
        status=body.status,
        due_on=body.due_on,
        title=body.title,
        owner=body.owner,
        notes=body.notes,
    )  # a stale version raises StaleVersion, a Conflict: answered 409
    out = actions_out(marker, [row], today_utc())[0]
    session.commit()
    return out


# --- projects and posture -----------------------------------------------------------------------------


@router.get("/projects")
def get_projects(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    pillar_id: FilterId = None,
    program: Annotated[Text | None, Query(max_length=200, description="Exact program name.")] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ProjectPage:
    """Visible co-production and technology-cooperation projects, by name."""
    rows, total = list_projects(
        session, auth.principal, pillar_id=pillar_id, program=program, offset=offset, limit=limit
    )
    out = marker.listing(ProjectPage, rows, projects_out(marker, rows), total, offset, limit)
    session.commit()
    return out


@router.post("/projects", status_code=201, responses=WRITE)
def post_project(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: ProjectIn) -> ProjectOut:
    """Add a project (admin or desk officer), linked to a program and a network you may see."""
    spec = _spec(session, auth.principal, body.marking, "framework.project.create")
    row = create_project(
        session,
        auth.principal,
        name=body.name,
        pillar_id=body.pillar_id,
        program=body.program,
        network_id=body.network_id,
        status=body.status,
        description=body.description,
        marking=spec,
    )
    out = projects_out(marker, [row])[0]
    session.commit()
    return out


@router.get("/projects/{project_id}")
def get_one_project(auth: AuthDep, session: SessionDep, marker: MarkerDep, project_id: RecordId) -> ProjectOut:
    """One project."""
    out = projects_out(marker, [get_project(session, auth.principal, project_id)])[0]
    session.commit()
    return out


@router.get("/posture")
def get_posture(auth: AuthDep, session: SessionDep, marker: MarkerDep, today: Today = None) -> PostureOut:
    """Per pillar: visible action items by status, how many are overdue, and the visible projects."""
    day = today or today_utc()
    rows = posture(session, auth.principal, day)
    items = posture_out(marker, rows)
    page = marker.page(row.marking for row in rows if row.marking is not None)
    session.commit()
    return PostureOut(today=day, items=items, banner=page.banner, classification=page.classification)
