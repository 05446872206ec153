"""The framework overview: posture per pillar, bodies with their meetings, projects, overdue items; a new meeting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.errors import AccessDenied, InputError, MarkingError, NotFound
from setu.framework.actions import all_actions
from setu.framework.bodies import list_bodies
from setu.framework.common import labels, may_write, require_writer, today_utc
from setu.framework.forms import MeetingForm, field_errors, posted_meeting, refusal
from setu.framework.meetings import create_meeting, list_meetings
from setu.framework.pages.rows import ICS_URL, OVERVIEW_MEETINGS, action_rows, marking_choices, name_of
from setu.framework.posture import posture
from setu.framework.projects import list_projects
from setu.models.framework import Body, Meeting
from setu.sharing.read import MAX_LIMIT
from setu.web.shell import FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)


def _body_tree(page: Page, bodies: Sequence[Body], meetings: Sequence[Meeting]) -> list[dict[str, Any]]:
    """Visible bodies as a tree: policy groups with the groups reporting to them, each with its meetings.

    A body whose parent the reader may not see stands at the top, so the parent's name never shows.
    """
    pillars = labels(page.session, page.principal, pillars=(b.pillar_id for b in bodies)).pillars
    by_body: dict[int, list[dict[str, Any]]] = {}
    for meeting in meetings:
        by_body.setdefault(meeting.body_id, []).append({"record": meeting, "marking": page.label(meeting)})
    nodes: dict[int, dict[str, Any]] = {
        b.id: {
            "record": b,
            "kind": b.kind.replace("_", " "),
            "pillar": name_of(pillars, b.pillar_id),
            "marking": page.label(b),
            "meetings": by_body.get(b.id, []),
            "children": [],
        }
        for b in bodies
    }
    roots: list[dict[str, Any]] = []
    for body in bodies:
        parent = nodes.get(body.parent_id) if body.parent_id is not None else None
        siblings: list[dict[str, Any]] = parent["children"] if parent is not None else roots
        siblings.append(nodes[body.id])
    return roots


def _render_overview(
    request: Request, page: Page, *, meeting_form: MeetingForm | None = None, status_code: int = 200
) -> HTMLResponse:
    session, principal = page.session, page.principal
    today = today_utc()
    counts = [
        {
            "pillar": row.pillar,
            "counts": row.counts,
            "overdue": row.overdue,
            "projects": row.projects,
            "programs": row.programs,
            "marking": page.label_spec(row.marking) if row.marking is not None else None,
        }
        for row in posture(session, principal, today)
    ]
    bodies, _ = list_bodies(session, principal, limit=MAX_LIMIT)
    meetings, _ = list_meetings(session, principal, limit=OVERVIEW_MEETINGS)
    projects, _ = list_projects(session, principal, limit=MAX_LIMIT)
    names = labels(
        session, principal, pillars=(p.pillar_id for p in projects), networks=(p.network_id for p in projects)
    )
    project_rows = [
        {
            "record": p,
            "pillar": name_of(names.pillars, p.pillar_id),
            "network": name_of(names.networks, p.network_id),
            "marking": page.label(p),
        }
        for p in projects
    ]
    late = all_actions(session, principal, overdue_on=today)  # what actions.overdue lists, oldest due first
    form = meeting_form or MeetingForm(held_on=today.isoformat())
    writer = may_write(principal)
    return page.render(
        request,
        "framework/overview.html",
        status_code=status_code,
        today=today,
        posture=counts,
        tree=_body_tree(page, bodies, meetings),
        bodies=[{"record": b, "marking": page.label(b)} for b in bodies] if writer else [],
        projects=project_rows,
        overdue=action_rows(page, late, today),
        may_write=writer,
        form=form,
        ics_url=ICS_URL,
        **marking_choices(page, form.marking),
    )


@router.get("/framework", response_class=HTMLResponse)
def overview_page(request: Request, page: PageDep) -> Response:
    """The framework at a glance: each pillar's posture, the bodies, the projects and the overdue items."""
    return _render_overview(request, page)


@router.post("/framework/meetings", response_class=HTMLResponse)
def create_meeting_submit(
    request: Request, page: FormPageDep, form: Annotated[MeetingForm, Depends(posted_meeting)]
) -> Response:
    """Record a meeting of a body (admins and desk officers); on a problem the overview again with the form."""
    session = page.session
    try:
        # The service's writer check first, so a reader's bad fields are refused (403), not corrected (422).
        require_writer(session, page.principal, "framework.meeting.create")
        body, day = form.body_and_day()
        meeting = create_meeting(
            session,
            page.principal,
            body_id=body,
            held_on=day,
            title=form.title.strip(),
            location=form.location.strip(),
            summary=form.summary.strip(),
            marking=form.marking.spec(page),
        )
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, f"Not recorded: {exc}.")
    except (InputError, MarkingError, NotFound) as exc:
        session.rollback()
        found, status = refusal(exc)
        form.errors = field_errors(found)
        return _render_overview(request, page, meeting_form=form, status_code=status)
    return RedirectResponse(f"/framework/meetings/{meeting.id}?created=1", status_code=303)
