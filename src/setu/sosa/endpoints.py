"""HTTP endpoints of priority-delivery requests (list, draft, act, history) and of the parties' working calendars."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from setu.deps import AuthDep, Marker, MarkerDep, SessionDep
from setu.models.sosa import CalendarEntry, PriorityRequest, RequestEvent
from setu.schemas import ERROR_RESPONSES, MAX_ID, ErrorBody, Text, utc
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.read import MAX_LIMIT
from setu.sharing.requested import requested_marking
from setu.sosa import service
from setu.sosa.calendar import WorkingCalendar
from setu.sosa.schemas import (
    CalendarEntryIn,
    CalendarEntryOut,
    CalendarOut,
    EventOut,
    EventPage,
    HolidayOut,
    MarkingIn,
    Rating,
    RequestIn,
    RequestOut,
    RequestPage,
    RequestPatch,
    State,
    TransitionIn,
)

router = APIRouter(prefix="/sosa", tags=["sosa"], responses=ERROR_RESPONSES)

RequestId = Annotated[int, Path(ge=1, le=MAX_ID, description="The request's id.")]
PartyCode = Annotated[Text, Path(max_length=8, description="A party code, e.g. IN or US.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most items to return.")]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "The request changed since you loaded it, or its state does not allow the action.",
    }
}
T = TypeVar("T")


def request_out(session: Session, marker: Marker, principal: Principal, request: PriorityRequest) -> RequestOut:
    """A request as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    principal
        The reading user (for the actions they may take).
    request
        The stored request.

    Returns
    -------
    RequestOut
        Its fields, deadlines, overdue flag, the user's actions and its marking.
    """
    return RequestOut(
        id=request.id,
        reference=request.reference,
        state=request.state,  # type: ignore[arg-type]
        rating=request.rating,  # type: ignore[arg-type]
        program_symbol=request.program_symbol,
        program=request.program,
        title=request.title,
        requesting_party=request.requesting_party,
        supplier_party=request.supplier_party,
        supplier_organization_id=request.supplier_organization_id,
        supplier_site=request.supplier_site,
        network_id=request.network_id,
        item_node_id=request.item_node_id,
        scenario_pk=request.scenario_pk,
        quantity=request.quantity,
        unit=request.unit,
        delivery_date=request.delivery_date,
        authorized_signer=request.authorized_signer,
        certified=request.certified,
        justification=request.justification,
        reason=request.reason,
        earliest_date=request.earliest_date,
        received_on=request.received_on,
        response_due=request.response_due,
        delay_noticed_on=request.delay_noticed_on,
        delay_confirm_due=request.delay_confirm_due,
        delay_confirmed_on=request.delay_confirmed_on,
        revised_delivery_date=request.revised_delivery_date,
        escalated_from=request.escalated_from,
        awaiting=request.awaiting,
        overdue=service.is_overdue(request),
        actions=service.actions_for(session, principal, request),  # type: ignore[arg-type]
        created_at=utc(request.created_at),
        updated_at=utc(request.updated_at),
        version=request.version,
        marking=marker.of(request),
    )


def event_out(marker: Marker, event: RequestEvent) -> EventOut:
    """One transition as answers show it."""
    return EventOut(
        id=event.id,
        from_state=event.from_state,
        to_state=event.to_state,
        actor_id=event.actor_id,
        actor_party=event.actor_party,
        at=utc(event.at),
        note=event.note,
        details=dict(event.details or {}),
        marking=marker.of(event),
    )


def entry_out(marker: Marker, entry: CalendarEntry) -> CalendarEntryOut:
    """A calendar entry as answers show it."""
    return CalendarEntryOut(
        id=entry.id,
        party=entry.party_code,
        day=entry.day,
        name=entry.name,
        working=entry.working,
        marking=marker.of(entry),
    )


def _marking(session: Session, principal: Principal, asked: MarkingIn | None, supplier: str) -> MarkingSpec | None:
    if asked is None:
        return None
    return requested_marking(
        session,
        principal,
        classification=asked.classification,
        releases=asked.releases or [principal.party, supplier],
        national_only=asked.national_only,
        groups=asked.groups,
        owners=None,
    )


def _run(session: Session, work: Callable[[], T]) -> T:
    """Do ``work`` and commit it (a conflict is a ``setu.errors.Conflict``: the error handlers answer 409)."""
    result = work()
    session.commit()
    return result


# --- calendars (declared before /{request_id} so "calendar" is never read as an id) -----------------------


@router.get("/calendar/{party}")
def get_calendar(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    party: PartyCode,
    year: Annotated[int | None, Query(ge=1970, le=2200, description="The year (default: this year).")] = None,
) -> CalendarOut:
    """A party's working-day calendar for a year: public holidays of its country and its admins' entries."""
    year = year or service.today_utc().year
    entries = service.list_calendar_entries(session, auth.principal, party, year=year)
    calendar: WorkingCalendar = service.calendar_for(session, party.upper())
    days = [date.fromordinal(n) for n in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1)]
    holidays = [HolidayOut(day=day, name=name) for day in days if (name := calendar.holiday(day))]
    out = CalendarOut(
        party=party.upper(),
        country=calendar.country,
        year=year,
        holidays=holidays,
        entries=[entry_out(marker, entry) for entry in entries],
    )
    session.commit()
    return out


@router.post("/calendar/{party}", status_code=201)
def add_calendar_day(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, party: PartyCode, body: CalendarEntryIn
) -> CalendarEntryOut:
    """Add a day to your party's calendar (an admin of that party): a closure, or a working day.

    Deadlines already computed keep their dates; later ones count the new day.
    """
    entry = service.add_calendar_entry(session, auth.principal, party, body.day, name=body.name, working=body.working)
    out = entry_out(marker, entry)
    session.commit()
    return out


@router.delete("/calendar/{party}/{entry_id}", status_code=204)
def remove_calendar_day(
    auth: AuthDep,
    session: SessionDep,
    party: PartyCode,
    entry_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    """Remove a day from your party's calendar (an admin of that party)."""
    service.remove_calendar_entry(session, auth.principal, party, entry_id)
    session.commit()
    return Response(status_code=204)


# --- requests -----------------------------------------------------------------------------------------------


@router.get("")
def get_requests(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    state: State | None = None,
    rating: Rating | None = None,
    overdue: Annotated[bool, Query(description="Only requests past a deadline.")] = False,
    party: Annotated[Text | None, Query(max_length=8, description="Only requests this party is on.")] = None,
    q: Annotated[Text, Query(max_length=300, description="Text in reference, title, program or item.")] = "",
    offset: Offset = 0,
    limit: Limit = 100,
) -> RequestPage:
    """Visible requests, DX ahead of DO, then by nearest deadline."""
    rows, total = service.list_requests(
        session,
        auth.principal,
        state=state,
        rating=rating,
        overdue=overdue,
        party=party.upper() if party else None,
        text=q,
        offset=offset,
        limit=limit,
    )
    items = [request_out(session, marker, auth.principal, row) for row in rows]
    out = marker.listing(RequestPage, rows, items, total, offset, limit)
    session.commit()
    return out


@router.post("", status_code=201)
def new_request(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: RequestIn) -> RequestOut:
    """Draft a request for priority delivery from the other party's industry (desk officer or admin)."""
    values = body.model_dump(exclude_unset=True, exclude={"supplier_party", "marking"})
    spec = _marking(session, auth.principal, body.marking, body.supplier_party.upper())
    request = service.create_request(session, auth.principal, body.supplier_party, values, marking=spec)
    out = request_out(session, marker, auth.principal, request)
    session.commit()
    return out


@router.get("/{request_id}")
def get_one_request(auth: AuthDep, session: SessionDep, marker: MarkerDep, request_id: RequestId) -> RequestOut:
    """One request, with the actions you may take on it now."""
    out = request_out(session, marker, auth.principal, service.get_request(session, auth.principal, request_id))
    session.commit()
    return out


@router.patch("/{request_id}", responses=CONFLICT)
def edit_draft(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, request_id: RequestId, body: RequestPatch
) -> RequestOut:
    """Change a draft (its requesting party's desk officer or admin), giving the version you loaded."""
    values = body.model_dump(exclude_unset=True, exclude={"version", "marking"})
    current = service.get_request(session, auth.principal, request_id)
    spec = _marking(session, auth.principal, body.marking, current.supplier_party)
    request = _run(
        session,
        lambda: service.update_draft(session, auth.principal, request_id, values, body.version, marking=spec),
    )
    return request_out(session, marker, auth.principal, request)


@router.post("/{request_id}/transitions", responses=CONFLICT)
def act(auth: AuthDep, session: SessionDep, marker: MarkerDep, request_id: RequestId, body: TransitionIn) -> RequestOut:
    """Take an action on a request, giving the version you loaded.

    409 when someone changed it since (reload and retry) or its state does not allow the action;
    403 when your role or party may not take it; 422 naming each missing or bad field.
    """
    request = _run(
        session,
        lambda: service.transition(session, auth.principal, request_id, body.action, body.fields, body.version),
    )
    return request_out(session, marker, auth.principal, request)


@router.get("/{request_id}/history")
def get_history(auth: AuthDep, session: SessionDep, marker: MarkerDep, request_id: RequestId) -> EventPage:
    """A request's transitions, oldest first: who moved it from which state to which, when, and with what."""
    events = service.request_history(session, auth.principal, request_id)
    items = [event_out(marker, event) for event in events]
    out = marker.listing(EventPage, events, items, len(events), 0, max(len(events), 1))
    session.commit()
    return out
