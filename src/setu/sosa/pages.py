"""SoSA pages under /sosa: the request board, a new draft, a request with its history and actions, the calendars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.errors import AccessDenied, InputError, MarkingError, NotFound, Problem
from setu.models.sosa import RATINGS, REQUEST_STATES, PriorityRequest
from setu.networks.reads import get_node, list_networks, list_nodes
from setu.registry.sites import list_sites
from setu.runs.recent import recent_networks
from setu.runs.scenarios import get_scenario, list_scenarios
from setu.sharing.markings import LEVELS, MarkingSpec
from setu.sharing.requested import release_parties, requested_marking
from setu.sosa import service
from setu.sosa.calendar import CalendarError, WorkingCalendar, working_days_between
from setu.sosa.forms import DraftForm, action_fields, field_errors, posted_draft
from setu.sosa.service import RequestConflict, WorkflowError
from setu.sosa.workflow import TRANSITIONS, Transition
from setu.web.shell import PAGE_SIZE, FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)

CERTIFICATION = (
    "This is a rated order certified for national defense use, and you are required to follow all the "
    "provisions of the Defense Priorities and Allocations System regulation (15 CFR part 700)."
)
"""The certification statement a rated order carries (15 CFR 700.12(d))."""
FIELD_LABELS = {
    "reason": "Reason",
    "earliest_date": "Earliest date the firm can meet",
    "revised_date": "Revised delivery date",
    "rating": "Rating",
    "program_symbol": "Program identification symbol",
    "delivery_date": "Delivery date",
    "authorized_signer": "Authorized signer",
    "certified": "Certification",
    "note": "Note (optional)",
}
"""The label of each field an action form may carry."""
MAX_CHOICES = 500
"""Nodes, scenarios and sites offered as suggestions on the draft form."""


def _program(request: PriorityRequest) -> str:
    return f"{request.rating}-{request.program_symbol}" if request.program_symbol else request.rating


def _deadline(request: PriorityRequest) -> date | None:
    """The deadline that matters now: the delay confirmation while delayed, else the response to the order."""
    return request.delay_confirm_due if request.state == "DELAYED" else request.response_due


# --- the board ------------------------------------------------------------------------------------------


@router.get("/sosa", response_class=HTMLResponse)
def board_page(
    request: Request,
    page: PageDep,
    state: Annotated[str, Query(max_length=32)] = "",
    rating: Annotated[str, Query(max_length=2)] = "",
    overdue: Annotated[str, Query(max_length=8)] = "",
    q: Annotated[str, Query(max_length=300)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The visible requests, DX ahead of DO then by nearest deadline, filtered and paged in SQL."""
    session = page.session
    only_overdue = overdue in ("on", "1", "true")
    offset = (page_number - 1) * PAGE_SIZE
    error = ""
    try:
        rows, total = service.list_requests(
            session,
            page.principal,
            state=state or None,
            rating=rating or None,
            overdue=only_overdue,
            text=q.strip(),
            offset=offset,
            limit=PAGE_SIZE,
        )
    except InputError as exc:
        rows, total, error = [], 0, "; ".join(p.message for p in exc.problems)
    today = service.today_utc()
    items = [
        {
            "record": row,
            "program": _program(row),
            "due": _deadline(row),
            "overdue": service.is_overdue(row, today),
            "marking": page.label(row),
        }
        for row in rows
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    filters = {"state": state, "rating": rating, "overdue": "on" if only_overdue else "", "q": q}
    query = urlencode({k: v for k, v in filters.items() if v})
    return page.render(
        request,
        "sosa/board.html",
        status_code=422 if error else 200,
        rows=items,
        total=total,
        first=offset + 1 if items else 0,
        last=offset + len(items),
        page=page_number,
        pages=pages,
        filters=filters,
        query=query,
        states=REQUEST_STATES,
        ratings=RATINGS,
        error=error,
        may_file=service.may_draft(page.principal),
        calendar_parties=[p.code for p in release_parties(session)],
    )


# --- a new draft ----------------------------------------------------------------------------------------


def _render_draft(request: Request, page: Page, form: DraftForm, *, status_code: int = 200) -> HTMLResponse:
    """The draft form with its choices, every one read through the marking-filtered services."""
    session, principal = page.session, page.principal
    networks, _ = list_networks(session, principal, limit=MAX_CHOICES)
    recent = recent_networks(session, principal, limit=1)
    networks = recent + [n for n in networks if n not in recent]
    chosen = int(form.network_id) if form.network_id.isdigit() else (recent[0].id if recent else None)
    nodes: list[Any] = []
    scenarios: list[Any] = []
    if chosen is not None and any(n.id == chosen for n in networks):
        nodes, _ = list_nodes(session, principal, chosen, limit=MAX_CHOICES)
        scenarios, _ = list_scenarios(session, principal, chosen, limit=MAX_CHOICES)
    firms = service.supplier_firms(session, principal)
    if form.supplier_organization_id and not form.supplier_party:
        # A firm filled in from a what-if: its party is the supplier party.
        form.supplier_party = next(
            (f.party_code for f in firms if str(f.id) == form.supplier_organization_id), form.supplier_party
        )
    sites, _ = list_sites(session, principal, limit=MAX_CHOICES)
    firm_names = {f.id: f.name for f in firms}
    parties = [p for p in release_parties(session) if p.code != principal.party]
    levels = [name for level, name in LEVELS.items() if level <= principal.clearance]
    return page.render(
        request,
        "sosa/new.html",
        status_code=status_code,
        form=form,
        network_id=str(chosen) if chosen is not None else "",
        networks=[{"record": n, "marking": page.label(n)} for n in networks],
        nodes=[{"id": n.node_id, "name": n.name, "marking": page.label(n)["banner"]} for n in nodes],
        scenarios=[{"record": s, "marking": page.label(s)} for s in scenarios],
        firms=[{"record": f, "marking": page.label(f)} for f in firms],
        sites=[
            {"name": s.name, "firm": firm_names[s.organization_id], "marking": page.label(s)["banner"]}
            for s in sites
            if s.organization_id in firm_names
        ],
        parties=parties,
        ratings=RATINGS,
        levels=levels,
        certification=CERTIFICATION,
    )


@router.get("/sosa/new", response_class=HTMLResponse)
def new_request_page(
    request: Request,
    page: PageDep,
    network: Annotated[str, Query(max_length=12)] = "",
    item: Annotated[str, Query(max_length=200)] = "",
    supplier: Annotated[str, Query(max_length=12)] = "",
    site: Annotated[str, Query(max_length=200)] = "",
    scenario: Annotated[str, Query(max_length=12)] = "",
    title: Annotated[str, Query(max_length=300)] = "",
    justification: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """The draft form (desk officers and admins); ``network`` picks whose nodes and scenarios it suggests, ``item``
    the node whose material is asked for (a node page's action), and a what-if result fills in the supplier
    firm and site, the scenario, a title and the justification. Every value is only a starting point: the
    service checks each against the user's view when the draft is stored."""
    if not service.may_draft(page.principal):
        return page.forbidden(request, "Filing a request needs the desk_officer or admin role.")
    form = DraftForm(
        network_id=network,
        item_node_id=item,
        supplier_organization_id=supplier,
        supplier_site=site,
        scenario_pk=scenario,
        title=title,
        justification=justification,
    )
    return _render_draft(request, page, form)


@router.post("/sosa", response_class=HTMLResponse)
def create_request_submit(
    request: Request, page: FormPageDep, form: Annotated[DraftForm, Depends(posted_draft)]
) -> Response:
    """Store the draft through the service; on any problem the form again with a message per field."""
    session = page.session

    def refused(problems: list[Problem], status: int = 422) -> HTMLResponse:
        session.rollback()
        form.errors = field_errors(problems)
        return _render_draft(request, page, form, status_code=status)

    values, problems = form.values()
    if problems:
        return refused(problems)
    try:
        spec: MarkingSpec | None = None
        if form.classification:
            spec = requested_marking(
                session,
                page.principal,
                classification=form.classification,
                releases=[page.principal.party, form.supplier_party],
                national_only=False,
                groups=[],
                owners=None,
            )
        created = service.create_request(session, page.principal, form.supplier_party, values, marking=spec)
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, str(exc))
    except InputError as exc:
        return refused(exc.problems)
    except MarkingError as exc:
        return refused([Problem("classification", str(exc))], 403)
    except NotFound as exc:
        # A hidden link is answered as a missing one; the form names the field it came from.
        where = {"node": "item_node_id", "network": "network_id", "scenario": "scenario_pk", "site": "supplier_site"}
        return refused([Problem(where.get(exc.kind, "supplier_organization_id"), f"{exc}: choose one from the list")])
    return RedirectResponse(f"/sosa/{created.id}?created=1", status_code=303)


# --- the working-day calendar ---------------------------------------------------------------------------


def _render_calendar(
    request: Request, page: Page, party: str, year: int, *, status_code: int = 200, error: str = ""
) -> HTMLResponse:
    session = page.session
    try:
        entries = service.list_calendar_entries(session, page.principal, party, year=year)
    except InputError:
        return page.not_found(request)
    calendar: WorkingCalendar = service.calendar_for(session, party)
    first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    holidays = [(day, name) for n in range(first, last + 1) if (name := calendar.holiday(day := date.fromordinal(n)))]
    return page.render(
        request,
        "sosa/calendar.html",
        status_code=status_code,
        party=party,
        year=year,
        country=calendar.country,
        holidays=holidays,
        entries=[{"record": e, "marking": page.label(e)} for e in entries],
        may_edit=service.may_keep_calendar(page.principal, party),
        error=error,
    )


def _year(value: str) -> int:
    return int(value) if value.isdigit() and 1970 <= int(value) <= 2200 else service.today_utc().year


@router.get("/sosa/calendar/{party}", response_class=HTMLResponse)
def calendar_page(
    request: Request, page: PageDep, party: str, year: Annotated[str, Query(max_length=4)] = ""
) -> Response:
    """A party's working-day calendar for a year: its country's public holidays and its admins' entries."""
    return _render_calendar(request, page, party.upper()[:8], _year(year))


@router.post("/sosa/calendar/{party}", response_class=HTMLResponse)
def calendar_add(
    request: Request,
    page: FormPageDep,
    party: str,
    day: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    working: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Add a day to the party's calendar (an admin of that party): a closure, or a working day."""
    party, session = party.upper()[:8], page.session
    try:
        when = date.fromisoformat(day.strip())
    except ValueError:
        return _render_calendar(
            request, page, party, service.today_utc().year, status_code=422, error=f"Expected a date, got {day!r}."
        )
    try:
        service.add_calendar_entry(session, page.principal, party, when, name=name, working=working == "on")
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, str(exc))
    except (InputError, CalendarError) as exc:
        session.rollback()
        return _render_calendar(request, page, party, when.year, status_code=422, error=f"Not added: {exc}.")
    return RedirectResponse(f"/sosa/calendar/{party}?year={when.year}", status_code=303)


@router.post("/sosa/calendar/{party}/{entry_id}/remove", response_class=HTMLResponse)
def calendar_remove(request: Request, page: FormPageDep, party: str, entry_id: int) -> Response:
    """Remove an entry from the party's calendar (an admin of that party)."""
    party, session = party.upper()[:8], page.session
    try:
        service.remove_calendar_entry(session, page.principal, party, entry_id)
        session.commit()
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, str(exc))
    except (NotFound, InputError):
        session.rollback()
        return page.not_found(request)
    return RedirectResponse(f"/sosa/calendar/{party}", status_code=303)


# --- one request ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionForm:
    """One action the user may take now, with the fields it carries and what was entered on a refused try."""

    action: str
    label: str
    fields: tuple[str, ...]
    values: dict[str, str]
    errors: dict[str, list[str]]


def _action_forms(
    page: Page, record: PriorityRequest, tried: str = "", entered: dict[str, str] | None = None, errors: Any = None
) -> list[ActionForm]:
    """A form for each action this user may take in the request's state (the workflow decides which)."""
    forms = []
    for action in service.actions_for(page.session, page.principal, record):
        transition: Transition = TRANSITIONS[action]
        defaults = {
            "rating": record.rating,
            "program_symbol": record.program_symbol,
            "delivery_date": record.delivery_date.isoformat() if record.delivery_date else "",
            "authorized_signer": record.authorized_signer,
        }
        values = {name: defaults.get(name, "") for name in transition.fields}
        if action == tried:
            values |= entered or {}
        forms.append(
            ActionForm(
                action,
                transition.label,
                (*transition.fields, "note"),
                values,
                errors if action == tried and errors else {},
            )
        )
    return forms


def _days_left(calendar: WorkingCalendar, due: date | None, today: date) -> int | None:
    return None if due is None else working_days_between(today, due, calendar)


def _render_request(
    request: Request,
    page: Page,
    request_id: int,
    *,
    status_code: int = 200,
    message: str = "",
    tried: str = "",
    entered: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    """A request's details, deadlines, history and the action forms of this user."""
    session, principal = page.session, page.principal
    try:
        record = service.get_request(session, principal, request_id)
        events = service.request_history(session, principal, request_id)
    except NotFound:
        return page.not_found(request)
    today = service.today_utc()
    calendar = service.calendar_for(session, record.supplier_party)
    item_link = network_name = scenario_name = ""
    if record.network_id is not None and record.item_node_id:
        try:
            get_node(session, principal, record.network_id, record.item_node_id)
            item_link = f"/networks/{record.network_id}/nodes/{record.item_node_id}"
            network_name = service.network_name(session, principal, record.network_id)
        except NotFound:
            item_link = ""
    if record.scenario_pk is not None:
        try:
            scenario_name = get_scenario(session, principal, record.scenario_pk).scenario_id
        except NotFound:
            scenario_name = ""
    firms = {f.id: f for f in service.supplier_firms(session, principal, record.supplier_party)}
    firm = firms.get(record.supplier_organization_id) if record.supplier_organization_id is not None else None
    history = [{"record": e, "marking": page.label(e)} for e in events]
    return page.render(
        request,
        "sosa/detail.html",
        status_code=status_code,
        record=record,
        marking=page.label(record),
        program=_program(record),
        overdue=service.is_overdue(record, today),
        response_left=_days_left(calendar, record.response_due, today),
        delay_left=_days_left(calendar, record.delay_confirm_due, today),
        today=today,
        item_link=item_link,
        network_name=network_name,
        scenario_name=scenario_name,
        firm=firm,
        held_elsewhere=service.held_elsewhere(session, record),
        history=history,
        actors=service.actor_names(session, principal, events),
        forms=_action_forms(page, record, tried, entered, errors),
        message=message,
        created=request.query_params.get("created") == "1",
        done=request.query_params.get("done", "")[:32],
        certification=CERTIFICATION,
        field_labels=FIELD_LABELS,
        may_file=service.may_draft(page.principal),
    )


@router.get("/sosa/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, page: PageDep, request_id: int) -> Response:
    """One request: every field, its deadlines, its history and what this user may do with it now."""
    return _render_request(request, page, request_id)


@router.post("/sosa/{request_id}/act", response_class=HTMLResponse)
async def act_submit(request: Request, page: FormPageDep, request_id: int) -> Response:
    """Take an action through the service: the workflow checks state, role, party, fields and the version loaded.

    A stale version answers 409 with the service's message; a refused role or party 403; bad fields
    422 with the form again and a message per field. Nothing is stored on any refusal.
    """
    session = page.session
    form = await request.form()
    text = {key: value for key, value in form.items() if isinstance(value, str)}
    action = text.get("action", "")[:32]
    version_text = text.get("version", "")
    transition = TRANSITIONS.get(action)
    if transition is None or not (version_text.isdigit() and len(version_text) <= 12):
        return _render_request(
            request, page, request_id, status_code=422, message=f"Unknown action {action!r} or version."
        )
    entered, fields = action_fields(transition.fields, text)
    try:
        service.transition(session, page.principal, request_id, action, fields, int(version_text))
        session.commit()
    except NotFound:
        session.rollback()
        return page.not_found(request)
    except AccessDenied as exc:
        session.rollback()
        return page.forbidden(request, f"Not done: {exc}.")
    except (RequestConflict, WorkflowError) as exc:
        session.rollback()
        return _render_request(request, page, request_id, status_code=409, message=f"Not done: {exc}.")
    except InputError as exc:
        session.rollback()
        return _render_request(
            request,
            page,
            request_id,
            status_code=422,
            message=f"Not done: {transition.label} needs the fields marked below.",
            tried=action,
            entered=entered,
            errors=field_errors(exc.problems),
        )
    return RedirectResponse(f"/sosa/{request_id}?done={action}", status_code=303)
