"""A meeting's page: its decisions and the action items raised from them, and the form recording a decision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.errors import AccessDenied, InputError, MarkingError, NotFound
from setu.framework.actions import all_actions
from setu.framework.common import labels, may_write, require_writer, today_utc
from setu.framework.forms import DecisionForm, MarkingForm, field_errors, posted_decision, record_id, refusal
from setu.framework.meetings import create_decision, get_meeting, list_decisions
from setu.framework.pages.rows import action_rows, marking_choices
from setu.sharing.read import MAX_LIMIT
from setu.web.shell import FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)


def _render_meeting(
    request: Request,
    page: Page,
    meeting_id: int,
    *,
    status_code: int = 200,
    text: str = "",
    marking: MarkingForm | None = None,
    errors: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    session, principal = page.session, page.principal
    if not record_id(meeting_id):
        return page.not_found(request)
    try:
        meeting = get_meeting(session, principal, meeting_id)
    except NotFound:
        return page.not_found(request)
    decisions, _ = list_decisions(session, principal, meeting_id=meeting_id, limit=MAX_LIMIT)
    actions = all_actions(session, principal, meeting_id=meeting_id)
    today = today_utc()
    body = labels(session, principal, bodies=[meeting.body_id]).bodies.get(meeting.body_id)
    rows = action_rows(page, actions, today)
    form = marking or MarkingForm()
    return page.render(
        request,
        "framework/meeting.html",
        status_code=status_code,
        meeting=meeting,
        marking=page.label(meeting),
        body=body,
        decisions=[
            {"record": d, "marking": page.label(d), "actions": [r for r in rows if r["record"].decision_id == d.id]}
            for d in decisions
        ],
        others=[r for r in rows if r["record"].decision_id not in {d.id for d in decisions}],
        actions=rows,
        may_write=may_write(principal),
        text=text,
        errors=errors or {},
        created=request.query_params.get("created") == "1",
        **marking_choices(page, form),
    )


@router.get("/framework/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(request: Request, page: PageDep, meeting_id: int) -> Response:
    """A meeting with its decisions and the action items raised from them."""
    return _render_meeting(request, page, meeting_id)


@router.post("/framework/meetings/{meeting_id}/decisions", response_class=HTMLResponse)
def create_decision_submit(
    request: Request, page: FormPageDep, meeting_id: int, form: Annotated[DecisionForm, Depends(posted_decision)]
) -> Response:
    """Record a decision taken at the meeting (admins and desk officers)."""
    session = page.session
    if not record_id(meeting_id):
        return page.not_found(request)
    try:
        # The service's writer check first, so a reader's bad fields are refused (403), not corrected (422).
        require_writer(session, page.principal, "framework.decision.create")
        marking = form.marking.spec(page)
        create_decision(session, page.principal, meeting_id=meeting_id, text=form.text.strip(), marking=marking)
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, f"Not recorded: {exc}.")
    except NotFound:
        session.rollback()
        return page.not_found(request)
    except (InputError, MarkingError) as exc:
        session.rollback()
        found, code = refusal(exc)
        return _render_meeting(
            request,
            page,
            meeting_id,
            status_code=code,
            text=form.text,
            marking=form.marking,
            errors=field_errors(found),
        )
    return RedirectResponse(f"/framework/meetings/{meeting_id}#decisions-title", status_code=303)
