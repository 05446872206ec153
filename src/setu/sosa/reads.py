"""Reading requests through the marking filter: one, a page of them, the overdue ones, their history and who acted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, case, func, or_
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError, Problem
from setu.models.accounts import User
from setu.models.networks import NetworkRecord
from setu.models.parties import GOVERNMENT_KINDS, Organization
from setu.models.sosa import RATINGS, REQUEST_STATES, PriorityRequest, RequestEvent
from setu.sharing.policy import Principal
from setu.sharing.read import (
    built_once,
    contained,
    contains_bound,
    fetch_visible_id,
    page,
    readable,
    readable_page,
)
from setu.sosa.common import _actor, _parties, today_utc
from setu.sosa.federated import elsewhere
from setu.sosa.workflow import RATING_RANK, TRANSITIONS, may_act


def overdue_condition(today: date | BindParameter[date]) -> ColumnElement[bool]:
    """SQL: a response past due while the order awaits it, or a delay confirmation past due."""
    return or_(
        and_(PriorityRequest.state == "RATED_ORDER_ISSUED", PriorityRequest.response_due < today),
        and_(PriorityRequest.state == "DELAYED", PriorityRequest.delay_confirm_due < today),
    )


def is_overdue(request: PriorityRequest, today: date | None = None) -> bool:
    """Whether ``request`` is past a deadline today (the Python form of :func:`overdue_condition`)."""
    today = today or today_utc()
    if request.state == "RATED_ORDER_ISSUED":
        return request.response_due is not None and request.response_due < today
    if request.state == "DELAYED":
        return request.delay_confirm_due is not None and request.delay_confirm_due < today
    return False


def actions_for(session: Session, principal: Principal, request: PriorityRequest) -> list[str]:
    """The actions ``principal`` may take on ``request`` here in its present state (fields aside).

    Not those taken on another party's instance, nor any while an ask to the instance holding the
    request's state awaits its answer (:mod:`setu.sosa.federated`).
    """
    if request.awaiting:
        return []
    taken_elsewhere = elsewhere(session, request)
    return [
        t.action
        for t in TRANSITIONS.values()
        if request.state in t.sources
        and t.side not in taken_elsewhere
        and may_act(t, _actor(principal), _parties(request))
    ]


def get_request(session: Session, principal: Principal, request_id: int) -> PriorityRequest:
    """One visible request.

    Raises
    ------
    NotFound
        If there is no such request or the user may not see it (the same answer).
    """
    return fetch_visible_id(session, principal, PriorityRequest, request_id, action="sosa.read", kind="request")


@built_once
def _request_page(
    principal: Principal, by_state: bool, by_rating: bool, overdue: bool, by_party: bool, by_text: bool
) -> tuple[Select[Any], Select[Any]]:
    """How many visible requests match, and a page of them in board order, the values given as bind parameters."""
    conditions: list[ColumnElement[bool]] = []
    if by_state:
        conditions.append(PriorityRequest.state == bindparam("state"))
    if by_rating:
        conditions.append(PriorityRequest.rating == bindparam("rating"))
    if overdue:
        conditions.append(overdue_condition(bindparam("today")))
    if by_party:
        party: BindParameter[str] = bindparam("party")
        conditions.append(or_(PriorityRequest.requesting_party == party, PriorityRequest.supplier_party == party))
    if by_text:
        request = PriorityRequest
        fields = (request.reference, request.title, request.program, request.item_node_id)
        conditions.append(or_(*(contains_bound(field, "pattern") for field in fields)))
    rank = case(*((PriorityRequest.rating == r, n) for r, n in RATING_RANK.items()), else_=len(RATING_RANK))
    deadline = func.coalesce(PriorityRequest.delay_confirm_due, PriorityRequest.response_due)
    order = [rank, deadline.is_(None), deadline, PriorityRequest.id]
    return readable_page(principal, PriorityRequest, conditions, order)


def list_requests(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    rating: str | None = None,
    overdue: bool = False,
    party: str | None = None,
    text: str = "",
    today: date | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[PriorityRequest], int]:
    """Visible requests, DX ahead of DO, then the earliest deadline and the oldest first.

    Parameters
    ----------
    session
        The session.
    principal
        The reading user.
    state, rating
        Only requests in this state / of this rating.
    overdue
        Only requests past a deadline (see :func:`overdue_condition`).
    party
        Only requests this party is on (either side).
    text
        Text in the reference, title, program or item (case-insensitive).
    today
        The day overdue is judged on (default: today in UTC).
    offset, limit
        The page.

    Returns
    -------
    tuple[list[PriorityRequest], int]
        The page and how many visible requests match.

    Raises
    ------
    setu.errors.InputError
        If the state or rating is unknown, or the page out of range.
    """
    offset, limit = page(offset, limit)
    problems: list[Problem] = []
    if state is not None and state not in REQUEST_STATES:
        problems.append(Problem("state", f"expected one of {', '.join(REQUEST_STATES)}, got {state!r}"))
    if rating is not None and rating not in RATINGS:
        problems.append(Problem("rating", f"expected one of {', '.join(RATINGS)}, got {rating!r}"))
    if problems:
        raise InputError(problems)
    count, listed = _request_page(
        principal, state is not None, rating is not None, overdue, party is not None, bool(text)
    )
    values = {
        "state": state,
        "rating": rating,
        "today": today or today_utc(),
        "party": party,
        "pattern": contained(text),
        "offset": offset,
        "limit": limit,
    }
    total = int(session.scalar(count, values) or 0)
    rows = session.scalars(listed, values).all()
    record(session, principal, "sosa.list", "request", "", details={"total": total, "overdue": overdue})
    return list(rows), total


def network_name(session: Session, principal: Principal, network_id: int) -> str:
    """The name of the network a request links to, or "" when the reader may not see it (not audited: a label)."""
    name: str | None = session.scalar(readable(principal, NetworkRecord.name).where(NetworkRecord.id == network_id))
    return name or ""


def overdue_requests(
    session: Session, principal: Principal, *, today: date | None = None, limit: int = 1000
) -> list[PriorityRequest]:
    """Visible requests past a deadline on ``today``: an unanswered rated order or an unconfirmed delay."""
    rows, _ = list_requests(session, principal, overdue=True, today=today, limit=limit)
    return rows


def request_history(session: Session, principal: Principal, request_id: int) -> list[RequestEvent]:
    """The visible transitions of a visible request, oldest first.

    Raises
    ------
    NotFound
        If the request is missing or hidden.
    """
    get_request(session, principal, request_id)
    return list(
        session.scalars(
            readable(principal, RequestEvent)
            .where(RequestEvent.request_id == request_id)
            .order_by(RequestEvent.at, RequestEvent.id)
        ).all()
    )


def actor_names(session: Session, principal: Principal, events: Sequence[RequestEvent]) -> dict[int, str]:
    """Who took each transition, as the reader may know them: "name (roles)", or only "a user of IN".

    A user's record carries its own marking (by default released to the user's party only), so the
    other party's officers are named only by the party the event already shows.

    Parameters
    ----------
    session
        The session.
    principal
        The reader.
    events
        Transitions the reader may see.

    Returns
    -------
    dict[int, str]
        The label of each event's actor, by user id.
    """
    names = {event.actor_id: f"a user of {event.actor_party}" for event in events}
    if not names:
        return {}
    users = session.scalars(readable(principal, User).where(User.id.in_(names))).all()
    for user in users:
        names[user.id] = f"{user.display_name or user.username} ({', '.join(sorted(user.roles))})"
    return names


# --- choices for forms ----------------------------------------------------------------------------------


def supplier_firms(session: Session, principal: Principal, party: str | None = None) -> list[Organization]:
    """The visible firms a request may be placed on: firms of the other parties (or of ``party``), by party and name.

    Parameters
    ----------
    session
        The session.
    principal
        The reading user; organizations they may not see are left out in SQL.
    party
        Only firms of this party (default: of every party but the user's own).

    Returns
    -------
    list of Organization
        Firms (not ministries or agencies), ordered by party and name.
    """
    conditions: list[ColumnElement[bool]] = [
        Organization.kind.notin_(GOVERNMENT_KINDS),
        Organization.party_code == party.upper() if party else Organization.party_code != principal.party,
    ]
    rows = session.scalars(
        readable(principal, Organization).where(*conditions).order_by(Organization.party_code, Organization.name)
    ).all()
    record(session, principal, "organization.list", "organization", "", details={"party": party, "total": len(rows)})
    return list(rows)
