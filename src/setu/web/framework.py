"""Framework pages: pillars, bodies, meetings and decisions, action items, the overdue list and the ICS download."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.deps import SessionDep
from setu.errors import AccessDenied, InputError, MarkingError, NotFound, Problem
from setu.framework import service as fw
from setu.framework.service import StaleVersion
from setu.models.framework import ACTION_STATUSES, ActionItem, Body, Meeting
from setu.schemas import MAX_ID
from setu.sharing.markings import LEVEL_OF, LEVELS, MarkingSpec
from setu.sharing.read import MAX_LIMIT
from setu.sharing.requested import release_parties, requested_marking
from setu.web.shell import CSRF_FIELD, PAGE_SIZE, Page, csrf_ok, signed_in_page, to_login

router = APIRouter(include_in_schema=False)

EXPIRED = "The form has expired or did not come from Setu. Reload the page and try again."
ICS_URL = "/api/v1/framework/actions.ics"
"""The API's calendar export; the session cookie authenticates it, so the page links to it directly."""
STATUS_WORDS = {"open": "open", "in_progress": "in progress", "done": "done", "cancelled": "cancelled"}
OVERVIEW_MEETINGS = 100
"""Most recent meetings listed under their bodies on the overview."""

Id = Annotated[str, Form(max_length=12)]
Text = Annotated[str, Form(max_length=300)]
LongText = Annotated[str, Form(max_length=20000)]


def may_write(page: Page) -> bool:
    """Whether the page's user may write framework records (the service's writer roles).

    Parameters
    ----------
    page
        The page being built.

    Returns
    -------
    bool
        True for admins and desk officers; the service checks again on every write.
    """
    return not page.principal.roles.isdisjoint(fw.WRITE_ROLES)


def _record_id(value: int) -> bool:
    """Whether a path id can name a stored record (larger ones would overflow the database's integers)."""
    return 1 <= value <= MAX_ID


def _optional_id(name: str, text: str, problems: list[Problem]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if text.isdigit() and len(text) <= 10 and _record_id(int(text)):
        return int(text)
    problems.append(Problem(name, f"expected a choice from the list, got {text!r}"))
    return None


def _day(name: str, text: str, problems: list[Problem], required: bool = True) -> date | None:
    text = text.strip()
    if not text:
        if required:
            problems.append(Problem(name, "enter a date"))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Problem(name, f"expected a date YYYY-MM-DD, got {text!r}"))
        return None


def _field_errors(problems: Sequence[Problem]) -> dict[str, list[str]]:
    """Problems by form field (``body.due_on`` is the field ``due_on``)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        name = problem.where.removeprefix("body.").split(".")[0] or "form"
        errors.setdefault(name, []).append(problem.message)
    return errors


def _name(names: Mapping[int, str], pk: int | None) -> str | None:
    """A linked record's name, or None when there is no link or the reader may not see its target."""
    return names.get(pk) if pk is not None else None


def _action_rows(page: Page, actions: Sequence[ActionItem], today: date) -> list[dict[str, Any]]:
    """Action items as the tables show them: linked names only where visible, each item labelled."""
    names = fw.action_labels(page.session, page.principal, actions)
    rows = []
    for action in actions:
        late = fw.is_overdue(action.status, action.due_on, today)
        rows.append(
            {
                "record": action,
                "status": STATUS_WORDS.get(action.status, action.status),
                "owner": fw.owner_text(action, names),
                "body": _name(names.bodies, action.body_id),
                "pillar": _name(names.pillars, action.pillar_id),
                "meeting": _name(names.meetings, action.meeting_id),
                "decision": _name(names.decisions, action.decision_id),
                "overdue": late,
                "days": fw.days_overdue(action.due_on, today) if late else 0,
                "marking": page.label(action),
            }
        )
    return rows


# --- marking fields -----------------------------------------------------------------------------------


@dataclass(slots=True)
class MarkingForm:
    """The marking fields of a form: classification, the parties released to, national only."""

    classification: str = "RESTRICTED"
    releases: list[str] = field(default_factory=list)
    national_only: bool = False

    def spec(self, page: Page) -> MarkingSpec:
        """The marking asked for, checked like an upload's (the writer's party is its origin).

        Raises
        ------
        InputError
            An unknown classification or party.
        """
        if self.classification not in LEVEL_OF:
            raise InputError(f"choose a classification, got {self.classification!r}", "classification")
        return requested_marking(
            page.session,
            page.principal,
            classification=self.classification,
            releases=self.releases or None,
            national_only=self.national_only,
            groups=None,
            owners=None,
        )


def _marking_choices(page: Page, form: MarkingForm) -> dict[str, Any]:
    """The classifications the writer holds and the parties records can be released to."""
    return {
        "levels": [name for level, name in LEVELS.items() if level <= page.principal.clearance],
        "parties": release_parties(page.session),
        "marking_form": form,
        "own_party": page.principal.party,
    }


def _refusal(exc: Exception) -> tuple[list[Problem], int]:
    """The problems to show for a refused write, and the status that goes with them."""
    if isinstance(exc, InputError):
        return exc.problems, 422
    if isinstance(exc, MarkingError):
        return [Problem("classification", str(exc))], 403
    if isinstance(exc, NotFound):
        # A hidden link reads like a missing one; the form names the field it came from.
        return [Problem(f"{exc.kind}_id", f"{exc}: choose one from the list")], 422
    raise exc


# --- the overview -------------------------------------------------------------------------------------


@dataclass(slots=True)
class MeetingForm:
    """What a writer entered on the meeting form."""

    body_id: str = ""
    held_on: str = ""
    title: str = ""
    location: str = ""
    summary: str = ""
    marking: MarkingForm = field(default_factory=MarkingForm)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _body_tree(page: Page, bodies: Sequence[Body], meetings: Sequence[Meeting]) -> list[dict[str, Any]]:
    """Visible bodies as a tree: policy groups with the groups reporting to them, each with its meetings.

    A body whose parent the reader may not see stands at the top, so the parent's name never shows.
    """
    pillars = fw.labels(page.session, page.principal, pillars=(b.pillar_id for b in bodies)).pillars
    by_body: dict[int, list[dict[str, Any]]] = {}
    for meeting in meetings:
        by_body.setdefault(meeting.body_id, []).append({"record": meeting, "marking": page.label(meeting)})
    nodes: dict[int, dict[str, Any]] = {
        b.id: {
            "record": b,
            "kind": b.kind.replace("_", " "),
            "pillar": _name(pillars, b.pillar_id),
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
    today = fw.today_utc()
    posture = [
        {
            "pillar": row.pillar,
            "counts": row.counts,
            "overdue": row.overdue,
            "projects": row.projects,
            "programs": row.programs,
            "marking": page.label_spec(row.marking) if row.marking is not None else None,
        }
        for row in fw.posture(session, principal, today)
    ]
    bodies, _ = fw.list_bodies(session, principal, limit=MAX_LIMIT)
    meetings, _ = fw.list_meetings(session, principal, limit=OVERVIEW_MEETINGS)
    projects, _ = fw.list_projects(session, principal, limit=MAX_LIMIT)
    names = fw.labels(
        session, principal, pillars=(p.pillar_id for p in projects), networks=(p.network_id for p in projects)
    )
    project_rows = [
        {
            "record": p,
            "pillar": _name(names.pillars, p.pillar_id),
            "network": _name(names.networks, p.network_id),
            "marking": page.label(p),
        }
        for p in projects
    ]
    late = fw.overdue(session, principal, today)
    overdue_rows = _action_rows(page, [item.action for item in late], today)
    form = meeting_form or MeetingForm(held_on=today.isoformat())
    writer = may_write(page)
    return page.render(
        request,
        "framework.html",
        status_code=status_code,
        today=today,
        posture=posture,
        tree=_body_tree(page, bodies, meetings),
        bodies=[{"record": b, "marking": page.label(b)} for b in bodies] if writer else [],
        projects=project_rows,
        overdue=overdue_rows,
        may_write=writer,
        form=form,
        ics_url=ICS_URL,
        **_marking_choices(page, form.marking),
    )


@router.get("/framework", response_class=HTMLResponse)
def overview_page(request: Request, session: SessionDep) -> Response:
    """The framework at a glance: each pillar's posture, the bodies, the projects and the overdue items."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    return _render_overview(request, page)


@router.post("/framework/meetings", response_class=HTMLResponse)
def create_meeting_submit(
    request: Request,
    session: SessionDep,
    body_id: Id = "",
    held_on: Annotated[str, Form(max_length=32)] = "",
    title: Text = "",
    location: Annotated[str, Form(max_length=200)] = "",
    summary: LongText = "",
    classification: Annotated[str, Form(max_length=16)] = "",
    releases: Annotated[list[str] | None, Form(max_length=8)] = None,
    national_only: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Record a meeting of a body (admins and desk officers); on a problem the overview again with the form."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    if not csrf_ok(page.auth, csrf):
        return page.forbidden(request, EXPIRED)
    marking = MarkingForm(classification, releases or [], national_only == "on")
    form = MeetingForm(body_id, held_on, title, location, summary, marking)
    try:
        fw.require_writer(session, page.principal, "framework.meeting.create")
        problems: list[Problem] = []
        body = _optional_id("body_id", body_id, problems)
        day = _day("held_on", held_on, problems)
        if body is None and not problems:
            problems.append(Problem("body_id", "choose the body that met"))
        if problems or body is None or day is None:
            raise InputError(problems)
        meeting = fw.create_meeting(
            session,
            page.principal,
            body_id=body,
            held_on=day,
            title=title.strip(),
            location=location.strip(),
            summary=summary.strip(),
            marking=marking.spec(page),
        )
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, f"Not recorded: {exc}.")
    except (InputError, MarkingError, NotFound) as exc:
        session.rollback()
        found, status = _refusal(exc)
        form.errors = _field_errors(found)
        return _render_overview(request, page, meeting_form=form, status_code=status)
    return RedirectResponse(f"/framework/meetings/{meeting.id}?created=1", status_code=303)


# --- action items -------------------------------------------------------------------------------------


def _choices(page: Page) -> dict[str, list[dict[str, Any]]]:
    """The visible pillars, bodies, meetings and decisions a filter or form may name, each labelled."""
    session, principal = page.session, page.principal
    pillars, _ = fw.list_pillars(session, principal, limit=MAX_LIMIT)
    bodies, _ = fw.list_bodies(session, principal, limit=MAX_LIMIT)
    return {
        "pillars": [{"record": p, "marking": page.label(p)} for p in pillars],
        "bodies": [{"record": b, "marking": page.label(b)} for b in bodies],
    }


@router.get("/framework/actions", response_class=HTMLResponse)
def actions_page(
    request: Request,
    session: SessionDep,
    status: Annotated[str, Query(max_length=32)] = "",
    pillar: Annotated[str, Query(max_length=12)] = "",
    body: Annotated[str, Query(max_length=12)] = "",
    owner: Annotated[str, Query(max_length=200)] = "",
    overdue: Annotated[str, Query(max_length=8)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The visible action items, earliest due first, filtered and paged."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    today = fw.today_utc()
    only_overdue = overdue in ("on", "1", "true")
    problems: list[Problem] = []
    filters: dict[str, Any] = {
        "statuses": [status] if status else [],
        "pillar_id": _optional_id("pillar", pillar, problems),
        "body_id": _optional_id("body", body, problems),
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
            found = fw.all_actions(session, page.principal, **filters)
            names = fw.action_labels(session, page.principal, found)
            matching = [a for a in found if wanted in fw.owner_text(a, names).casefold()]
            total, rows = len(matching), matching[offset : offset + PAGE_SIZE]
        else:
            rows, total = fw.list_actions(session, page.principal, offset=offset, limit=PAGE_SIZE, **filters)
        error = ""
    except InputError as exc:
        error = "; ".join(str(p) for p in exc.problems)
    items = _action_rows(page, rows, today)
    shown = {"status": status, "pillar": pillar, "body": body, "owner": owner, "overdue": "on" if only_overdue else ""}
    query = urlencode({k: v for k, v in shown.items() if v})
    ics_query = urlencode({"status": status}) if status in ACTION_STATUSES else ""
    return page.render(
        request,
        "framework_actions.html",
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
        may_write=may_write(page),
        ics_url=f"{ICS_URL}?{ics_query}" if ics_query else ICS_URL,
        **_choices(page),
    )


@dataclass(slots=True)
class ActionForm:
    """What a writer entered on the new action form."""

    title: str = ""
    due_on: str = ""
    status: str = "open"
    body_id: str = ""
    pillar_id: str = ""
    meeting_id: str = ""
    decision_id: str = ""
    owner: str = ""
    notes: str = ""
    marking: MarkingForm = field(default_factory=MarkingForm)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _render_new_action(request: Request, page: Page, form: ActionForm, *, status_code: int = 200) -> HTMLResponse:
    session, principal = page.session, page.principal
    meetings, _ = fw.list_meetings(session, principal, limit=MAX_LIMIT)
    decisions, _ = fw.list_decisions(session, principal, limit=MAX_LIMIT)
    return page.render(
        request,
        "framework_action_new.html",
        status_code=status_code,
        form=form,
        statuses=ACTION_STATUSES,
        status_words=STATUS_WORDS,
        meetings=[{"record": m, "marking": page.label(m)} for m in meetings],
        decisions=[{"record": d, "marking": page.label(d)} for d in decisions],
        **_choices(page),
        **_marking_choices(page, form.marking),
    )


@router.get("/framework/actions/new", response_class=HTMLResponse)
def new_action_page(
    request: Request,
    session: SessionDep,
    meeting: Annotated[str, Query(max_length=12)] = "",
    decision: Annotated[str, Query(max_length=12)] = "",
    body: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    """The form for a new action item (admins and desk officers); ``meeting``, ``decision``, ``body`` preselect."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    if not may_write(page):
        return page.forbidden(request, "Adding an action item needs the desk_officer or admin role.")
    form = ActionForm(meeting_id=meeting, decision_id=decision, body_id=body)
    return _render_new_action(request, page, form)


@router.post("/framework/actions", response_class=HTMLResponse)
def create_action_submit(
    request: Request,
    session: SessionDep,
    title: Text = "",
    due_on: Annotated[str, Form(max_length=32)] = "",
    status: Annotated[str, Form(max_length=32)] = "open",
    body_id: Id = "",
    pillar_id: Id = "",
    meeting_id: Id = "",
    decision_id: Id = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    notes: LongText = "",
    classification: Annotated[str, Form(max_length=16)] = "",
    releases: Annotated[list[str] | None, Form(max_length=8)] = None,
    national_only: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Store a new action item through the service; on any problem the form again with a message per field."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    if not csrf_ok(page.auth, csrf):
        return page.forbidden(request, EXPIRED)
    marking = MarkingForm(classification, releases or [], national_only == "on")
    form = ActionForm(title, due_on, status, body_id, pillar_id, meeting_id, decision_id, owner, notes, marking=marking)
    try:
        fw.require_writer(session, page.principal, "framework.action.create")
        problems: list[Problem] = []
        links = {
            name: _optional_id(name, value, problems)
            for name, value in (
                ("body_id", body_id),
                ("pillar_id", pillar_id),
                ("meeting_id", meeting_id),
                ("decision_id", decision_id),
            )
        }
        day = _day("due_on", due_on, problems)
        if problems or day is None:
            raise InputError(problems)
        created = fw.create_action(
            session,
            page.principal,
            title=title.strip(),
            due_on=day,
            status=status,
            owner=owner.strip(),
            notes=notes.strip(),
            marking=marking.spec(page),
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
        found, code = _refusal(exc)
        form.errors = _field_errors(found)
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
    if not _record_id(action_id):
        return page.not_found(request)
    try:
        action = fw.get_action(page.session, page.principal, action_id)
    except NotFound:
        return page.not_found(request)
    today = fw.today_utc()
    row = _action_rows(page, [action], today)[0]
    values = {
        "status": action.status,
        "due_on": action.due_on.isoformat(),
        "title": action.title,
        "owner": action.owner,
        "notes": action.notes,
    } | (entered or {})
    return page.render(
        request,
        "framework_action.html",
        status_code=status_code,
        row=row,
        action=action,
        today=today,
        message=message,
        saved=request.query_params.get("saved", "")[:16],
        may_write=may_write(page),
        values=values,
        errors=errors or {},
        statuses=ACTION_STATUSES,
        status_words=STATUS_WORDS,
    )


@router.get("/framework/actions/{action_id}", response_class=HTMLResponse)
def action_page(request: Request, session: SessionDep, action_id: int) -> Response:
    """One action item: its details, what it links to, and for writers the form to change it."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    return _render_action(request, page, action_id)


@router.post("/framework/actions/{action_id}", response_class=HTMLResponse)
def update_action_submit(
    request: Request,
    session: SessionDep,
    action_id: int,
    version: Annotated[str, Form(max_length=12)] = "",
    status: Annotated[str, Form(max_length=32)] = "",
    due_on: Annotated[str, Form(max_length=32)] = "",
    title: Text = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    notes: LongText = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Change an action item with the version the form was loaded at (the service refuses a stale one: 409)."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    if not csrf_ok(page.auth, csrf):
        return page.forbidden(request, EXPIRED)
    if not _record_id(action_id):
        return page.not_found(request)
    entered = {"status": status, "due_on": due_on, "title": title, "owner": owner, "notes": notes}
    problems: list[Problem] = []
    day = _day("due_on", due_on, problems, required=False)
    if not (version.isdigit() and len(version) <= 10):
        problems.append(Problem("version", f"expected the version the page was loaded at, got {version!r}"))
    try:
        fw.require_writer(session, page.principal, "framework.action.update")
        if problems:
            raise InputError(problems)
        fw.update_action(
            session,
            page.principal,
            action_id,
            version=int(version),
            status=status or None,
            due_on=day,
            title=title.strip(),
            owner=owner.strip(),
            notes=notes.strip(),
        )
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, f"Not changed: {exc}.")
    except NotFound:
        session.rollback()
        return page.not_found(request)
    except StaleVersion as exc:
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
            entered=entered,
            errors=_field_errors(exc.problems),
        )
    return RedirectResponse(f"/framework/actions/{action_id}?saved=changed", status_code=303)


# --- meetings and decisions ---------------------------------------------------------------------------


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
    if not _record_id(meeting_id):
        return page.not_found(request)
    try:
        meeting = fw.get_meeting(session, principal, meeting_id)
    except NotFound:
        return page.not_found(request)
    decisions, _ = fw.list_decisions(session, principal, meeting_id=meeting_id, limit=MAX_LIMIT)
    actions = fw.all_actions(session, principal, meeting_id=meeting_id)
    today = fw.today_utc()
    body = fw.labels(session, principal, bodies=[meeting.body_id]).bodies.get(meeting.body_id)
    rows = _action_rows(page, actions, today)
    form = marking or MarkingForm()
    return page.render(
        request,
        "framework_meeting.html",
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
        may_write=may_write(page),
        text=text,
        errors=errors or {},
        created=request.query_params.get("created") == "1",
        **_marking_choices(page, form),
    )


@router.get("/framework/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(request: Request, session: SessionDep, meeting_id: int) -> Response:
    """A meeting with its decisions and the action items raised from them."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    return _render_meeting(request, page, meeting_id)


@router.post("/framework/meetings/{meeting_id}/decisions", response_class=HTMLResponse)
def create_decision_submit(
    request: Request,
    session: SessionDep,
    meeting_id: int,
    text: LongText = "",
    classification: Annotated[str, Form(max_length=16)] = "",
    releases: Annotated[list[str] | None, Form(max_length=8)] = None,
    national_only: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Record a decision taken at the meeting (admins and desk officers)."""
    page = signed_in_page(request, session)
    if page is None:
        return to_login()
    if not csrf_ok(page.auth, csrf):
        return page.forbidden(request, EXPIRED)
    if not _record_id(meeting_id):
        return page.not_found(request)
    marking = MarkingForm(classification, releases or [], national_only == "on")
    try:
        fw.require_writer(session, page.principal, "framework.decision.create")
        fw.create_decision(
            session, page.principal, meeting_id=meeting_id, text=text.strip(), marking=marking.spec(page)
        )
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, f"Not recorded: {exc}.")
    except NotFound:
        session.rollback()
        return page.not_found(request)
    except (InputError, MarkingError) as exc:
        session.rollback()
        found, code = _refusal(exc)
        return _render_meeting(
            request, page, meeting_id, status_code=code, text=text, marking=marking, errors=_field_errors(found)
        )
    return RedirectResponse(f"/framework/meetings/{meeting_id}#decisions-title", status_code=303)
