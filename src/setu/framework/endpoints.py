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

from setu.deps import AuthDep, Marker, MarkerDep, SessionDep
from setu.framework import service as fw
from setu.framework.ics import export_actions
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
    PillarPostureOut,
    PostureOut,
    ProjectIn,
    ProjectOut,
    ProjectPage,
)
from setu.models.framework import ActionItem, Body, Decision, Meeting, Pillar, Project
from setu.schemas import ERROR_RESPONSES, MAX_ID, ErrorBody, Text, utc
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.read import MAX_LIMIT
from setu.sharing.requested import requested_marking

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
    """The marking a write asks for, checked after the writer's role (so a reader gets 403, not 422)."""
    fw.require_writer(session, principal, action)
    return requested_marking(
        session,
        principal,
        classification=marking.classification,
        releases=marking.releases,
        national_only=marking.national_only,
        groups=marking.groups,
        owners=marking.owners,
    )


def _link(pk: int | None, names: dict[int, str]) -> tuple[int | None, str | None]:
    """A link as answers show it: id and name when the reader sees the linked record, else nulls."""
    if pk is None or pk not in names:
        return None, None
    return pk, names[pk]


def pillar_out(marker: Marker, row: Pillar) -> PillarOut:
    """A pillar as answers show it."""
    return PillarOut(id=row.id, code=row.code, name=row.name, description=row.description, marking=marker.of(row))


def bodies_out(marker: Marker, rows: list[Body]) -> list[BodyOut]:
    """Bodies as answers show them."""
    names = fw.labels(
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


def meetings_out(marker: Marker, rows: list[Meeting]) -> list[MeetingOut]:
    """Meetings as answers show them."""
    names = fw.labels(marker.session, marker.principal, bodies=(r.body_id for r in rows))
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


def decisions_out(marker: Marker, rows: list[Decision]) -> list[DecisionOut]:
    """Decisions as answers show them."""
    names = fw.labels(marker.session, marker.principal, meetings=(r.meeting_id for r in rows))
    out = []
    for row in rows:
        meeting_id, meeting = _link(row.meeting_id, names.meetings)
        out.append(
            DecisionOut(id=row.id, meeting_id=meeting_id, meeting=meeting, text=row.text, marking=marker.of(row))
        )
    return out


def actions_out(marker: Marker, rows: list[ActionItem], today: date) -> list[ActionOut]:
    """Action items as answers show them, overdue counted on ``today``."""
    names = fw.action_labels(marker.session, marker.principal, rows)
    out = []
    for row in rows:
        org_id, org = _link(row.owner_organization_id, names.organizations)
        user_id, user = _link(row.owner_user_id, names.users)
        body_id, body = _link(row.body_id, names.bodies)
        meeting_id, meeting = _link(row.meeting_id, names.meetings)
        decision_id, _ = _link(row.decision_id, names.decisions)
        pillar_id, pillar = _link(row.pillar_id, names.pillars)
        late = fw.is_overdue(row.status, row.due_on, today)
        out.append(
            ActionOut(
                id=row.id,
                title=row.title,
                due_on=row.due_on,
                status=row.status,
                completed_on=row.completed_on,
                overdue=late,
                days_overdue=fw.days_overdue(row.due_on, today) if late else 0,
                owner=fw.owner_text(row, names),
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


def projects_out(marker: Marker, rows: list[Project]) -> list[ProjectOut]:
    """Projects as answers show them."""
    names = fw.labels(
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


# --- pillars ------------------------------------------------------------------------------------------


@router.get("/pillars")
def get_pillars(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, offset: Offset = 0, limit: Limit = 100
) -> PillarPage:
    """Visible pillars of the framework, by code."""
    rows, total = fw.list_pillars(session, auth.principal, offset=offset, limit=limit)
    out = marker.listing(PillarPage, rows, [pillar_out(marker, r) for r in rows], total, offset, limit)
    session.commit()
    return out


@router.post("/pillars", status_code=201, responses=WRITE)
def post_pillar(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: PillarIn) -> PillarOut:
    """Add a pillar (admin or desk officer)."""
    spec = _spec(session, auth.principal, body.marking, "framework.pillar.create")
    row = fw.create_pillar(
        session, auth.principal, code=body.code, name=body.name, description=body.description, marking=spec
    )
    out = pillar_out(marker, row)
    session.commit()
    return out


@router.get("/pillars/{pillar_id}")
def get_one_pillar(auth: AuthDep, session: SessionDep, marker: MarkerDep, pillar_id: RecordId) -> PillarOut:
    """One pillar."""
    out = pillar_out(marker, fw.get_pillar(session, auth.principal, pillar_id))
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
    rows, total = fw.list_bodies(session, auth.principal, parent_id=parent_id, kind=kind, offset=offset, limit=limit)
    out = marker.listing(BodyPage, rows, bodies_out(marker, rows), total, offset, limit)
    session.commit()
    return out


@router.post("/bodies", status_code=201, responses=WRITE)
def post_body(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: BodyIn) -> BodyOut:
    """Add a body (admin or desk officer); a working group names the body it reports to."""
    spec = _spec(session, auth.principal, body.marking, "framework.body.create")
    row = fw.create_body(
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
    out = bodies_out(marker, [fw.get_body(session, auth.principal, body_id)])[0]
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
    rows, total = fw.list_meetings(session, auth.principal, body_id=body_id, offset=offset, limit=limit)
    out = marker.listing(MeetingPage, rows, meetings_out(marker, rows), total, offset, limit)
    session.commit()
    return out


@router.post("/meetings", status_code=201, responses=WRITE)
def post_meeting(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: MeetingIn) -> MeetingOut:
    """Record a meeting of a body (admin or desk officer)."""
    spec = _spec(session, auth.principal, body.marking, "framework.meeting.create")
    row = fw.create_meeting(
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
    out = meetings_out(marker, [fw.get_meeting(session, auth.principal, meeting_id)])[0]
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
    rows, total = fw.list_decisions(session, auth.principal, meeting_id=meeting_id, offset=offset, limit=limit)
    out = marker.listing(DecisionPage, rows, decisions_out(marker, rows), total, offset, limit)
    session.commit()
    return out


@router.post("/decisions", status_code=201, responses=WRITE)
def post_decision(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: DecisionIn) -> DecisionOut:
    """Record a decision taken at a meeting (admin or desk officer)."""
    spec = _spec(session, auth.principal, body.marking, "framework.decision.create")
    row = fw.create_decision(session, auth.principal, meeting_id=body.meeting_id, text=body.text, marking=spec)
    out = decisions_out(marker, [row])[0]
    session.commit()
    return out


@router.get("/decisions/{decision_id}")
def get_one_decision(auth: AuthDep, session: SessionDep, marker: MarkerDep, decision_id: RecordId) -> DecisionOut:
    """One decision."""
    out = decisions_out(marker, [fw.get_decision(session, auth.principal, decision_id)])[0]
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
    day = today or fw.today_utc()
    rows, total = fw.list_actions(
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
    day = today or fw.today_utc()
    rows, total = fw.list_actions(session, auth.principal, overdue_on=day, offset=offset, limit=limit)
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
    row = fw.create_action(
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
    out = actions_out(marker, [row], fw.today_utc())[0]
    session.commit()
    return out


@router.get("/actions/{action_id}")
def get_one_action(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, action_id: RecordId, today: Today = None
) -> ActionOut:
    """One action item."""
    out = actions_out(marker, [fw.get_action(session, auth.principal, action_id)], today or fw.today_utc())[0]
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
    row = fw.update_action(
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
    out = actions_out(marker, [row], fw.today_utc())[0]
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
    rows, total = fw.list_projects(
        session, auth.principal, pillar_id=pillar_id, program=program, offset=offset, limit=limit
    )
    out = marker.listing(ProjectPage, rows, projects_out(marker, rows), total, offset, limit)
    session.commit()
    return out


@router.post("/projects", status_code=201, responses=WRITE)
def post_project(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: ProjectIn) -> ProjectOut:
    """Add a project (admin or desk officer), linked to a program and a network you may see."""
    spec = _spec(session, auth.principal, body.marking, "framework.project.create")
    row = fw.create_project(
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
    out = projects_out(marker, [fw.get_project(session, auth.principal, project_id)])[0]
    session.commit()
    return out


@router.get("/posture")
def get_posture(auth: AuthDep, session: SessionDep, marker: MarkerDep, today: Today = None) -> PostureOut:
    """Per pillar: visible action items by status, how many are overdue, and the visible projects."""
    day = today or fw.today_utc()
    rows = fw.posture(session, auth.principal, day)
    items = [
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
    page = marker.page(row.marking for row in rows if row.marking is not None)
    session.commit()
    return PostureOut(today=day, items=items, banner=page.banner, classification=page.classification)
