"""Action item pages: the filtered list, one item with its change form, and the new item form."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.errors import AccessDenied, InputError, MarkingError, NotFound, Problem
from setu.framework.actions import StaleVersion, all_actions, create_action, get_action, list_actions, update_action
from setu.framework.bodies import list_bodies, list_pillars
from setu.framework.common import action_labels, may_write, owner_text, require_writer, today_utc
from setu.framework.forms import (
    ActionForm,
    ChangeForm,
    field_errors,
    optional_id,
    posted_action,
    posted_change,
    record_id,
    refusal,
)
from setu.framework.meetings import list_decisions, list_meetings
from setu.framework.pages.rows import ICS_URL, STATUS_WORDS, action_rows, marking_choices
from setu.models.base import ReceivedReadOnly
from setu.models.framework import ACTION_STATUSES, ActionItem
from setu.sharing.read import MAX_LIMIT
from setu.web.shell import PAGE_SIZE, FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)


def _choices(page: Page) -> dict[str, list[dict[str, Any]]]:
    """The visible pillars, bodies, meetings and decisions a filter or form may name, each labelled."""
    session, principal = page.session, page.principal
    pillars, _ = list_pillars(session, principal, limit=MAX_LIMIT)
    bodies, _ = list_bodies(session, principal, limit=MAX_LIMIT)
    return {
        "pillars": [{"record": p, "marking": page.label(p)} for p in pillars],
        "bodies": [{"record": b, "marking": page.label(b)} for b in bodies],
    }


@router.get("/framework/actions", response_class=HTMLResponse)
def actions_page(
    request: Request,
    page: PageDep,
    status: Annotated[str, Query(max_length=32)] = "",
    pillar: Annotated[str, Query(max_length=12)] = "",
    body: Annotated[str, Query(max_length=12)] = "",
    owner: Annotated[str, Query(max_length=200)] = "",
    overdue: Annotated[str, Query(max_length=8)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The visible action items, earliest due first, filtered and paged."""
    session, principal = page.session, page.principal
    today = today_utc()
    only_overdue = overdue in ("on", "1", "true")
    problems: list[Problem] = []
    filters: dict[str, Any] = {
        "statuses": [status] if status else [],
        "pillar_id": optional_id("pillar", pillar, problems),
        "body_id": optional_id("body", body, problems),
        "overdue_on": today if only_overdue else None,
    }
    offset = (page_number - 1) * PAGE_SIZE
    wanted = owner.strip().casefold()
    rows: list[ActionItem] = []
    total = 0
    try:
        if problems:
            raise InputError(problems)
        if wanted:
            # Owners read as people name them (text, organization or user), so the match is on that reading.
            found = all_actions(session, principal, **filters)
            names = action_labels(session, principal, found)
            matching = [a for a in found if wanted in owner_text(a, names).casefold()]
            total, rows = len(matching), matching[offset : offset + PAGE_SIZE]
        else:
            rows, total = list_actions(session, principal, offset=offset, limit=PAGE_SIZE, **filters)
        error = ""
    except InputError as exc:
        error = "; ".join(str(p) for p in exc.problems)
    items = action_rows(page, rows, today)
    shown = {"status": status, "pillar": pillar, "body": body, "owner": owner, "overdue": "on" if only_overdue else ""}
    query = urlencode({k: v for k, v in shown.items() if v})
    ics_query = urlencode({"status": status}) if status in ACTION_STATUSES else ""
    return page.render(
        request,
        "framework/actions.html",
        status_code=422 if error else 200,
        rows=items,
        total=total,
        first=offset + 1 if items else 0,
        last=offset + len(items),
        page=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=shown,
        query=query,
        statuses=ACTION_STATUSES,
        status_words=STATUS_WORDS,
        error=error,
        today=today,
        may_write=may_write(principal),
        ics_url=f"{ICS_URL}?{ics_query}" if ics_query else ICS_URL,
        **_choices(page),
    )


def _render_new_action(request: Request, page: Page, form: ActionForm, *, status_code: int = 200) -> HTMLResponse:
    session, principal = page.session, page.principal
    meetings, _ = list_meetings(session, principal, limit=MAX_LIMIT)
    decisions, _ = list_decisions(session, principal, limit=MAX_LIMIT)
    return page.render(
        request,
        "framework/action_new.html",
        status_code=status_code,
        form=form,
        statuses=ACTION_STATUSES,
        status_words=STATUS_WORDS,
        meetings=[{"record": m, "marking": page.label(m)} for m in meetings],
        decisions=[{"record": d, "marking": page.label(d)} for d in decisions],
        **_choices(page),
        **marking_choices(page, form.marking),
    )


@router.get("/framework/actions/new", response_class=HTMLResponse)
def new_action_page(
    request: Request,
    page: PageDep,
    meeting: Annotated[str, Query(max_length=12)] = "",
    decision: Annotated[str, Query(max_length=12)] = "",
    body: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    """The form for a new action item (admins and desk officers); ``meeting``, ``decision``, ``body`` preselect."""
    if not may_write(page.principal):
        return page.forbidden(request, "Adding an action item needs the desk_officer or admin role.")
    form = ActionForm(meeting_id=meeting, decision_id=decision, body_id=body)
    return _render_new_action(request, page, form)


@router.post("/framework/actions", response_class=HTMLResponse)
def create_action_submit(
    request: Request, page: FormPageDep, form: Annotated[ActionForm, Depends(posted_action)]
) -> Response:
    """Store a new action item through the service; on any problem the form again with a message per field."""
    session = page.session
    try:
        # The service's writer check first, so a reader's bad fields are refused (403), not corrected (422).
        require_writer(session, page.principal, "framework.action.create")
        links, day = form.links_and_due()
        created = create_action(
            session,
            page.principal,
            title=form.title.strip(),
            due_on=day,
            status=form.status,
            owner=form.owner.strip(),
            notes=form.notes.strip(),
            marking=form.marking.spec(page),
            body_id=links["body_id"],
            pillar_id=links["pillar_id"],
            meeting_id=links["meeting_id"],
            decision_id=links["decision_id"],
        )
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, f"Not added: {exc}.")
    except (InputError, MarkingError, NotFound) as exc:
        session.rollback()
        found, code = refusal(exc)
        form.errors = field_errors(found)
        return _render_new_action(request, page, form, status_code=code)
    return RedirectResponse(f"/framework/actions/{created.id}?saved=created", status_code=303)


def _render_action(
    request: Request,
    page: Page,
    action_id: int,
    *,
    status_code: int = 200,
    message: str = "",
    entered: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    if not record_id(action_id):
        return page.not_found(request)
    try:
        action = get_action(page.session, page.principal, action_id)
    except NotFound:
        return page.not_found(request)
    today = today_utc()
    row = action_rows(page, [action], today)[0]
    values = {
        "status": action.status,
        "due_on": action.due_on.isoformat(),
        "title": action.title,
        "owner": action.owner,
        "notes": action.notes,
    } | (entered or {})
    return page.render(
        request,
        "framework/action.html",
        status_code=status_code,
        row=row,
        action=action,
        today=today,
        message=message,
        saved=request.query_params.get("saved", "")[:16],
        may_write=may_write(page.principal),
        values=values,
        errors=errors or {},
        statuses=ACTION_STATUSES,
        status_words=STATUS_WORDS,
    )


@router.get("/framework/actions/{action_id}", response_class=HTMLResponse)
def action_page(request: Request, page: PageDep, action_id: int) -> Response:
    """One action item: its details, what it links to, and for writers the form to change it."""
    return _render_action(request, page, action_id)


@router.post("/framework/actions/{action_id}", response_class=HTMLResponse)
def update_action_submit(
    request: Request, page: FormPageDep, action_id: int, form: Annotated[ChangeForm, Depends(posted_change)]
) -> Response:
    """Change an action item with the version the form was loaded at (the service refuses a stale one: 409)."""
    session = page.session
    if not record_id(action_id):
        return page.not_found(request)
    problems: list[Problem] = []
    version, day = form.parsed(problems)
    try:
        # The service's writer check first, so a reader's bad fields are refused (403), not corrected (422).
        require_writer(session, page.principal, "framework.action.update")
        if problems:
            raise InputError(problems)
        update_action(session, page.principal, action_id, version=version, due_on=day, **form.changes())
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, f"Not changed: {exc}.")
    except NotFound:
        session.rollback()
        return page.not_found(request)
    except (StaleVersion, ReceivedReadOnly) as exc:
        session.rollback()
        return _render_action(request, page, action_id, status_code=409, message=f"Not changed: {exc}.")
    except InputError as exc:
        session.rollback()
        return _render_action(
            request,
            page,
            action_id,
            status_code=422,
            message="Not changed: correct the fields marked below.",
            entered=form.entered(),
            errors=field_errors(exc.problems),
        )
    return RedirectResponse(f"/framework/actions/{action_id}?saved=changed", status_code=303)
