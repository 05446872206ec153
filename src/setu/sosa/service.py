"""Priority-delivery requests stored: draft, edit, transitions under lock and version, deadlines, reads, calendars.

Every read filters by marking in SQL; a request a user may not see is answered exactly as a missing one.
Every write happens in the caller's transaction together with its audit entry (and, for a transition,
its :class:`RequestEvent`), and the caller commits. A transition locks the request's row
(``SELECT ... FOR UPDATE`` on PostgreSQL) and checks the version the user loaded, so of two users
acting on one request at once exactly one succeeds and the other is told it changed under them.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from setu.accounts.errors import AccountError
from setu.accounts.lookups import get_party
from setu.audit.log import record
from setu.errors import AccessDenied, Conflict, InputError, MarkingError, NotFound, Problem, SetuError
from setu.models.base import utcnow
from setu.models.networks import NetworkRecord, NodeRecord
from setu.models.parties import GOVERNMENT_KINDS, Organization, Party
from setu.models.registry import RegistrySite
from setu.models.sosa import RATINGS, REQUEST_STATES, CalendarEntry, PriorityRequest, RequestEvent
from setu.models.stress import ScenarioRecord
from setu.sharing.markings import MarkingSpec, combine, marking_specs, store
from setu.sharing.policy import Principal, allows, visible
from setu.sharing.read import contains, deny, fetch_visible, page
from setu.sharing.roles import check_role
from setu.sosa.calendar import WorkingCalendar, add_working_days, known_country
from setu.sosa.workflow import (
    DELAY_CONFIRM_DAYS,
    GOVERNMENT_ROLES,
    RATING_RANK,
    REOPENED_ON_RESOLUTION,
    RESPONSE_DAYS,
    TRANSITIONS,
    Actor,
    Parties,
    WorkflowError,
    check,
    may_act,
    parse_fields,
    required_problems,
    target_of,
)

__all__ = [
    "EDITABLE",
    "NotFound",
    "RequestConflict",
    "WorkflowError",
    "actions_for",
    "add_calendar_entry",
    "calendar_for",
    "create_request",
    "get_request",
    "is_overdue",
    "list_calendar_entries",
    "list_requests",
    "overdue_requests",
    "remove_calendar_entry",
    "request_history",
    "supplier_firms",
    "today_utc",
    "transition",
    "update_draft",
]

EDITABLE = (
    "title",
    "rating",
    "program",
    "program_symbol",
    "quantity",
    "unit",
    "delivery_date",
    "justification",
    "authorized_signer",
    "supplier_organization_id",
    "supplier_site",
    "network_id",
    "item_node_id",
    "scenario_pk",
)
"""Fields of a draft its requesting party may set."""
_TEXT_LIMITS = {
    "title": 300,
    "program": 200,
    "program_symbol": 16,
    "unit": 32,
    "authorized_signer": 200,
    "supplier_site": 200,
    "item_node_id": 200,
    "justification": 20000,
}


class RequestConflict(Conflict):
    """Someone else changed the request between the user loading it and acting on it (answered 409)."""


def today_utc() -> date:
    """Today's date in UTC: the day deadlines are counted from when no day is given."""
    return datetime.now(UTC).date()


def _actor(principal: Principal) -> Actor:
    return Actor(principal.party, principal.org_id, principal.roles)


def _parties(request: PriorityRequest) -> Parties:
    return Parties(request.requesting_party, request.supplier_party, request.supplier_organization_id)


def _refuse(session: Session, principal: Principal, action: str, request_id: object, error: SetuError) -> SetuError:
    """Audit a refused write, commit the entry (the caller rolls back), and return ``error`` to raise."""
    record(
        session,
        principal,
        action,
        "request",
        str(request_id),
        decision="deny",
        details={"reason": type(error).__name__, "message": str(error)[:500]},
    )
    session.commit()
    return error


# --- calendars ------------------------------------------------------------------------------------------


def calendar_for(session: Session, party_code: str) -> WorkingCalendar:
    """The working-day calendar of ``party_code``: its country's public holidays and its admins' entries.

    The country is the party's ``holiday_country``, or its own code when that is empty and names a
    country the ``holidays`` package knows. Entries are read without a marking filter: deadlines are
    computed for everyone alike, and calendar entries are stored releasable to every party anyway.

    Parameters
    ----------
    session
        The session to read in.
    party_code
        The party.

    Returns
    -------
    WorkingCalendar
        The calendar.
    """
    party = session.get(Party, party_code)
    country = (party.holiday_country if party is not None else "") or ""
    if not country and known_country(party_code):
        country = party_code
    entries = session.execute(
        select(CalendarEntry.day, CalendarEntry.working).where(CalendarEntry.party_code == party_code)
    ).all()
    return WorkingCalendar.of(country, [(day, working) for day, working in entries])


def list_calendar_entries(
    session: Session, principal: Principal, party_code: str, *, year: int | None = None
) -> list[CalendarEntry]:
    """The visible calendar entries of a party, by day (optionally of one year).

    Raises
    ------
    setu.errors.InputError
        If there is no such party.
    """
    party = _party(party_code, session)
    conditions = [CalendarEntry.party_code == party.code, visible(CalendarEntry.marking_id, principal)]
    if year is not None:
        conditions += [CalendarEntry.day >= date(year, 1, 1), CalendarEntry.day <= date(year, 12, 31)]
    rows = session.scalars(select(CalendarEntry).where(*conditions).order_by(CalendarEntry.day)).all()
    record(session, principal, "calendar.read", "party", party.code, details={"entries": len(rows)})
    return list(rows)


def _party(code: str, session: Session, where: str = "party") -> Party:
    try:
        return get_party(session, code)
    except AccountError as exc:
        raise InputError(str(exc), where) from None


def _require_party_admin(session: Session, principal: Principal, action: str, party: str) -> None:
    if "admin" not in principal.roles or principal.party != party:
        error = AccessDenied(f"only an admin of party {party} may change its calendar")
        record(session, principal, action, "party", party, decision="deny", details={"reason": "role"})
        session.commit()
        raise error


def add_calendar_entry(
    session: Session, principal: Principal, party_code: str, day: date, *, name: str = "", working: bool = False
) -> CalendarEntry:
    """Add a day to a party's calendar: non-working (a closure) or, with ``working``, a working one.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        An admin of that party.
    party_code
        The party.
    day
        The day.
    name
        What it is (e.g. "Ministry closed").
    working
        True to make a weekend or holiday a working day; False to make a day non-working.

    Returns
    -------
    CalendarEntry
        The stored entry (releasable to every party: the other side's deadlines depend on it).

    Raises
    ------
    AccessDenied
        If the user is not an admin of the party (audited).
    setu.errors.InputError
        If there is no such party, or the party already has an entry that day.
    """
    party = _party(party_code, session)
    _require_party_admin(session, principal, "calendar.add", party.code)
    if len(name) > 200:
        raise InputError(f"at most 200 characters, got {len(name)}", "name")
    taken = session.scalar(select(func.count()).where(CalendarEntry.party_code == party.code, CalendarEntry.day == day))
    if taken:
        raise InputError(
            f"party {party.code} already has a calendar entry on {day.isoformat()}; remove it first", "day"
        )
    everyone = frozenset(session.scalars(select(Party.code)))
    entry = CalendarEntry(
        party_code=party.code,
        day=day,
        name=name.strip(),
        working=working,
        created_by=principal.user_id,
        marking_id=store(session, MarkingSpec(0, party.code, everyone)).id,
    )
    session.add(entry)
    session.flush()
    record(
        session,
        principal,
        "calendar.add",
        "calendar_entry",
        entry.id,
        details={"party": party.code, "day": day.isoformat(), "working": working, "name": entry.name},
    )
    return entry


def remove_calendar_entry(session: Session, principal: Principal, party_code: str, entry_id: int) -> None:
    """Remove one entry from a party's calendar (an admin of that party; audited).

    Raises
    ------
    AccessDenied
        If the user is not an admin of the party.
    NotFound
        If the party has no such entry the user may see.
    """
    party = _party(party_code, session)
    _require_party_admin(session, principal, "calendar.remove", party.code)
    entry = fetch_visible(
        session,
        principal,
        CalendarEntry,
        [CalendarEntry.id == entry_id, CalendarEntry.party_code == party.code],
        action="calendar.remove",
        kind="calendar entry",
        key=entry_id,
        audit_permit=False,
    )
    details = {"party": party.code, "day": entry.day.isoformat(), "working": entry.working, "name": entry.name}
    session.delete(entry)
    session.flush()
    record(session, principal, "calendar.remove", "calendar_entry", entry_id, details=details)


# --- links and markings ---------------------------------------------------------------------------------


def _covers(spec: MarkingSpec, other: MarkingSpec) -> bool:
    """Whether every reader ``spec`` admits is admitted by ``other`` too (``spec`` is at least as strict)."""
    return (
        spec.classification >= other.classification
        and spec.effective_releases <= other.effective_releases
        and spec.groups >= other.groups
        and spec.owners >= other.owners
    )


def _check_links(
    session: Session, principal: Principal, values: Mapping[str, Any], action: str
) -> dict[str, MarkingSpec]:
    """Refuse links to records the user cannot see (as missing); the markings of the linked records.

    Returns
    -------
    dict
        The marking of each linked record, by the field linking it.

    Raises
    ------
    NotFound
        If a linked network, node, scenario, organization or site is missing or hidden (audited).
    setu.errors.InputError
        If a link is incomplete or of the wrong party.
    """
    problems: list[Problem] = []
    marking_ids: dict[str, int] = {}
    network_id = values.get("network_id")
    if network_id is not None:
        network = fetch_visible(
            session,
            principal,
            NetworkRecord,
            [NetworkRecord.id == network_id],
            action=action,
            kind="network",
            key=network_id,
            audit_permit=False,
        )
        marking_ids["network_id"] = network.marking_id
    item = values.get("item_node_id") or ""
    if item:
        if network_id is None:
            problems.append(Problem("item_node_id", "the requested item is a node of a network: give network_id"))
        else:
            node = fetch_visible(
                session,
                principal,
                NodeRecord,
                [NodeRecord.network_id == network_id, NodeRecord.node_id == item],
                action=action,
                kind="node",
                key=item,
                audit_permit=False,
            )
            marking_ids["item_node_id"] = node.marking_id
    scenario_pk = values.get("scenario_pk")
    if scenario_pk is not None:
        scenario = fetch_visible(
            session,
            principal,
            ScenarioRecord,
            [ScenarioRecord.id == scenario_pk],
            action=action,
            kind="scenario",
            key=scenario_pk,
            audit_permit=False,
        )
        marking_ids["scenario_pk"] = scenario.marking_id
        if network_id is not None and scenario.network_id != network_id:
            problems.append(Problem("scenario_pk", f"scenario {scenario_pk} is not on network {network_id}"))
    supplier = values["supplier_party"]
    org_id = values.get("supplier_organization_id")
    if org_id is not None:
        organization = fetch_visible(
            session,
            principal,
            Organization,
            [Organization.id == org_id],
            action=action,
            kind="organization",
            key=org_id,
            audit_permit=False,
        )
        if organization.party_code != supplier or organization.is_government:
            problems.append(
                Problem("supplier_organization_id", f"expected a firm of the supplier party {supplier}, got {org_id}")
            )
    site = values.get("supplier_site") or ""
    if site:
        if org_id is None:
            problems.append(
                Problem("supplier_site", "a supplier site belongs to a firm: give supplier_organization_id")
            )
        else:
            found = fetch_visible(
                session,
                principal,
                RegistrySite,
                [RegistrySite.organization_id == org_id, RegistrySite.name == site],
                action=action,
                kind="site",
                key=site,
                audit_permit=False,
            )
            marking_ids["supplier_site"] = found.marking_id
    if problems:
        raise InputError(problems)
    return {name: next(iter(marking_specs(session, [marking_id]))) for name, marking_id in marking_ids.items()}


def _check_covers(spec: MarkingSpec, linked: Mapping[str, MarkingSpec]) -> None:
    """Refuse a request marking that would show a linked record's id to readers who may not see the record."""
    problems = [
        Problem(
            "marking",
            f"the record linked by {name} is marked {other.banner()}; the request's marking "
            f"{spec.banner()} would reveal it to readers who may not see it",
        )
        for name, other in linked.items()
        if not _covers(spec, other)
    ]
    if problems:
        raise InputError(problems)


def _default_marking(principal: Principal, supplier: str) -> MarkingSpec:
    return MarkingSpec(0, principal.party, frozenset({principal.party, supplier}))


def _originated(spec: MarkingSpec, party: str) -> MarkingSpec:
    """``spec`` as the requesting party's own marking.

    ``combine`` may hand back a linked record's stored marking (one admitting the same readers), whose
    origin is the party that imported that record; unless national-only, the origin admits no one
    differently, so the request takes its own party's.
    """
    if spec.national_only or spec.origin_party == party:
        return spec
    return dataclasses.replace(spec, origin_party=party)


def _check_marking(principal: Principal, spec: MarkingSpec) -> None:
    if spec.origin_party != principal.party:
        raise MarkingError(f"a request's marking originates with your party {principal.party}")
    if not allows(principal, spec):
        raise MarkingError(f"you may not mark a request {spec.banner()}: you could not read it yourself")


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Editable values checked by type and length; unknown names refused."""
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in EDITABLE:
            problems.append(Problem(name, f"not an editable field; expected one of {', '.join(EDITABLE)}"))
        elif name in _TEXT_LIMITS:
            if value is None:
                out[name] = ""
            elif not isinstance(value, str):
                problems.append(Problem(name, f"expected text, got {value!r}"))
            elif len(value) > _TEXT_LIMITS[name]:
                problems.append(Problem(name, f"at most {_TEXT_LIMITS[name]} characters, got {len(value)}"))
            else:
                out[name] = value.strip().upper() if name == "program_symbol" else value.strip()
        elif name == "rating":
            if value not in RATINGS:
                problems.append(Problem(name, f"expected one of {', '.join(RATINGS)}, got {value!r}"))
            out[name] = value
        elif name == "quantity":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e15:
                problems.append(Problem(name, f"expected a number from 0, got {value!r}"))
            else:
                out[name] = float(value)
        elif name == "delivery_date":
            if value is not None and not isinstance(value, date):
                problems.append(Problem(name, f"expected a date, got {value!r}"))
            out[name] = value
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            problems.append(Problem(name, f"expected an id (a positive integer) or null, got {value!r}"))
        else:
            out[name] = value
    if problems:
        raise InputError(problems)
    return out


def _link_values(request: PriorityRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in EDITABLE} | {"supplier_party": request.supplier_party}


# --- drafts ---------------------------------------------------------------------------------------------


def create_request(
    session: Session,
    principal: Principal,
    supplier_party: str,
    values: Mapping[str, Any],
    *,
    marking: MarkingSpec | None = None,
) -> PriorityRequest:
    """Draft a request of the user's party for priority delivery from ``supplier_party``'s industry.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        A desk officer or admin of the requesting party.
    supplier_party
        The other party, whose industry is asked.
    values
        Any of :data:`EDITABLE` (``rating`` defaults to DO).
    marking
        The request's marking (default: releasable to both parties, unclassified or as strict as
        the linked records); the user must be able to read it, and it must be at least as strict as
        every linked record's.

    Returns
    -------
    PriorityRequest
        The draft (flushed, version 1).

    Raises
    ------
    AccessDenied
        If the user is not a desk officer or admin (audited).
    NotFound
        If a linked record is missing or hidden.
    setu.networks.service.MarkingError
        If the user could not read the marking asked for.
    setu.errors.InputError
        Naming each bad value.
    """
    try:
        check_role(principal, *sorted(GOVERNMENT_ROLES))
    except AccessDenied as exc:
        raise _refuse(session, principal, "sosa.create", "", exc) from None
    supplier = _party(supplier_party, session, "supplier_party").code
    if supplier == principal.party:
        raise InputError(f"a request asks the other party's industry; {supplier} is your own party", "supplier_party")
    typed = _typed(values)
    linked = _check_links(session, principal, {"supplier_party": supplier, **typed}, "sosa.create")
    # Without a marking asked for, the request is as strict as its links and released to both parties.
    spec = marking or _originated(
        combine([_default_marking(principal, supplier), *linked.values()], principal.party), principal.party
    )
    _check_marking(principal, spec)
    _check_covers(spec, linked)
    today = today_utc()
    request = PriorityRequest(
        reference=f"{principal.party}-{today.year}-{secrets.token_hex(4).upper()}",
        requesting_party=principal.party,
        supplier_party=supplier,
        state="DRAFT",
        rating=typed.pop("rating", "DO"),
        created_by=principal.user_id,
        marking_id=store(session, spec).id,
        **typed,
    )
    session.add(request)
    session.flush()
    record(
        session,
        principal,
        "sosa.create",
        "request",
        request.id,
        details={"reference": request.reference, "supplier_party": supplier, "rating": request.rating},
    )
    return request


def _locked(session: Session, principal: Principal, request_id: int, action: str) -> PriorityRequest:
    """The visible request, its row locked until the transaction ends (PostgreSQL; SQLite serializes writers)."""
    row = session.scalars(
        select(PriorityRequest)
        .where(PriorityRequest.id == request_id, visible(PriorityRequest.marking_id, principal))
        .with_for_update(of=PriorityRequest)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        exists = session.scalar(select(func.count()).where(PriorityRequest.id == request_id)) or 0
        raise deny(session, principal, action, "request", request_id, hidden=exists > 0)
    return row


def _check_version(
    session: Session, principal: Principal, request: PriorityRequest, expected: int, action: str
) -> None:
    if request.version != expected:
        error = RequestConflict(
            f"request {request.reference} was changed by someone else since you loaded it "
            f"(you had version {expected}, it is now version {request.version} in state {request.state}); "
            "reload it and try again"
        )
        raise _refuse(session, principal, action, request.id, error)


def _flush(session: Session, request: PriorityRequest) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise RequestConflict(
            f"request {request.reference} was changed by someone else since you loaded it; reload it and try again"
        ) from None


def update_draft(
    session: Session,
    principal: Principal,
    request_id: int,
    values: Mapping[str, Any],
    expected_version: int,
    *,
    marking: MarkingSpec | None = None,
) -> PriorityRequest:
    """Change a draft: any of :data:`EDITABLE`, and its marking.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        A desk officer or admin of the requesting party.
    request_id
        The request.
    values
        The fields to change.
    expected_version
        The version the user loaded.
    marking
        A new marking, if any.

    Returns
    -------
    PriorityRequest
        The draft, its version one higher.

    Raises
    ------
    NotFound
        If the request is missing or hidden.
    RequestConflict
        If it changed since ``expected_version``.
    WorkflowError
        If it is no longer a draft.
    AccessDenied
        If the user may not edit it.
    setu.errors.InputError
        Naming each bad value.
    """
    request = _locked(session, principal, request_id, "sosa.edit")
    _check_version(session, principal, request, expected_version, "sosa.edit")
    if request.state != "DRAFT":
        raise _refuse(
            session,
            principal,
            "sosa.edit",
            request_id,
            WorkflowError(f"only a draft can be edited; request {request.reference} is {request.state}"),
        )
    if not may_act(TRANSITIONS["submit"], _actor(principal), _parties(request)):
        error = AccessDenied(f"only a desk officer or admin of {request.requesting_party} may edit its draft")
        raise _refuse(session, principal, "sosa.edit", request_id, error)
    typed = _typed(values)
    spec = marking or MarkingSpec.of(request.marking)
    if marking is not None:
        _check_marking(principal, spec)
    linked = _check_links(session, principal, _link_values(request) | typed, "sosa.edit")
    _check_covers(spec, linked)
    for name, value in typed.items():
        setattr(request, name, value)
    if marking is not None:
        request.marking_id = store(session, spec).id
    request.updated_at = utcnow()
    _flush(session, request)
    record(
        session,
        principal,
        "sosa.edit",
        "request",
        request.id,
        details={"fields": sorted(typed), "marking": spec.banner() if marking is not None else None},
    )
    return request


# --- transitions ----------------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _apply(
    request: PriorityRequest, action: str, fields: Mapping[str, Any], today: date, calendar: WorkingCalendar
) -> dict[str, Any]:
    """Set what ``action`` changes on ``request`` and compute its deadlines; the deadlines set, for the event."""
    deadlines: dict[str, Any] = {}
    if action in ("authorize", "issue_order"):
        for name in ("rating", "program_symbol", "delivery_date", "authorized_signer", "certified"):
            if name in fields:
                setattr(request, name, fields[name])
    reissued = action == "resolve" and request.escalated_from in REOPENED_ON_RESOLUTION
    if action == "issue_order" or reissued:
        # The firm receives the order the day it is issued (or put back before it after a rejection was taken
        # up); its clock runs on its own party's calendar.
        request.received_on = today
        request.response_due = add_working_days(today, RESPONSE_DAYS[request.rating], calendar)
        deadlines = {"received_on": today.isoformat(), "response_due": request.response_due.isoformat()}
    if "reason" in fields:
        request.reason = fields["reason"]
    if action == "reject":
        request.earliest_date = fields["earliest_date"]
    elif action == "report_delay":
        request.delay_noticed_on = today
        request.revised_delivery_date = fields["revised_date"]
        request.delay_confirmed_on = None
        request.delay_confirm_due = add_working_days(today, DELAY_CONFIRM_DAYS, calendar)
        deadlines = {"delay_confirm_due": request.delay_confirm_due.isoformat()}
    elif action == "confirm_delay":
        request.delay_confirmed_on = today
    return deadlines


def transition(
    session: Session,
    principal: Principal,
    request_id: int,
    action: str,
    fields: Mapping[str, Any],
    expected_version: int,
    *,
    today: date | None = None,
) -> PriorityRequest:
    """Take ``action`` on a request: lock it, check version, state, role, party and fields, apply, record.

    Parameters
    ----------
    session
        The caller's session; the caller commits (which releases the row lock).
    principal
        The acting user.
    request_id
        The request.
    action
        One of :data:`setu.sosa.workflow.ACTIONS`.
    fields
        What the action carries (see :data:`setu.sosa.workflow.TRANSITIONS`); ``note`` is always accepted.
    expected_version
        The version the user loaded.
    today
        The day it happens (default: today in UTC); deadlines count from it.

    Returns
    -------
    PriorityRequest
        The request in its new state, its version one higher; one :class:`RequestEvent` and one
        ``sosa.transition`` audit entry are written with it.

    Raises
    ------
    NotFound
        If the request is missing or hidden.
    RequestConflict
        If it changed since ``expected_version`` (or concurrently, caught at flush).
    WorkflowError
        If its state does not allow ``action``.
    AccessDenied
        If the user's role or party may not take ``action`` (audited).
    setu.errors.InputError
        Naming each missing or bad field.
    """
    today = today or today_utc()
    request = _locked(session, principal, request_id, "sosa.transition")
    _check_version(session, principal, request, expected_version, "sosa.transition")
    try:
        chosen = check(request.state, action, _actor(principal), _parties(request))
    except (WorkflowError, AccessDenied) as exc:
        raise _refuse(session, principal, "sosa.transition", request_id, exc) from None
    parsed = parse_fields(chosen, fields)
    values = {name: getattr(request, name) for name in (*EDITABLE, "certified", "reason")} | parsed
    problems = required_problems(chosen, values, today)
    if action == "submit":
        spec = MarkingSpec.of(request.marking)
        if request.supplier_party not in spec.effective_releases:
            problems.append(
                Problem(
                    "marking",
                    f"the supplier party {request.supplier_party} cannot read a request marked {spec.banner()}; "
                    "release it to them before submitting",
                )
            )
    if problems:
        raise InputError(problems)
    source = request.state
    target = target_of(chosen, request.escalated_from)
    # Read the calendar before changing the request: a query would autoflush it, counting a version twice.
    calendar = calendar_for(session, request.supplier_party)
    deadlines = _apply(request, action, parsed, today, calendar)
    request.escalated_from = source if action == "escalate" else ("" if action == "resolve" else request.escalated_from)
    request.state = target
    request.updated_at = utcnow()
    _flush(session, request)
    note = parsed.pop("note", "")
    details = {"action": action, "fields": {k: _json(v) for k, v in parsed.items()}, **deadlines}
    session.add(
        RequestEvent(
            request_id=request.id,
            from_state=source,
            to_state=target,
            actor_id=principal.user_id,
            actor_party=principal.party,
            note=note,
            details=details,
            marking_id=request.marking_id,
        )
    )
    session.flush()
    record(
        session,
        principal,
        "sosa.transition",
        "request",
        request.id,
        details={"from": source, "to": target, "action": action, "reference": request.reference, **deadlines},
    )
    return request


# --- reads ----------------------------------------------------------------------------------------------


def overdue_condition(today: date) -> ColumnElement[bool]:
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


def actions_for(principal: Principal, request: PriorityRequest) -> list[str]:
    """The actions ``principal`` may take on ``request`` in its present state (fields aside)."""
    return [
        t.action
        for t in TRANSITIONS.values()
        if request.state in t.sources and may_act(t, _actor(principal), _parties(request))
    ]


def get_request(session: Session, principal: Principal, request_id: int) -> PriorityRequest:
    """One visible request.

    Raises
    ------
    NotFound
        If there is no such request or the user may not see it (the same answer).
    """
    return fetch_visible(
        session,
        principal,
        PriorityRequest,
        [PriorityRequest.id == request_id],
        action="sosa.read",
        kind="request",
        key=request_id,
    )


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
    conditions: list[ColumnElement[bool]] = [visible(PriorityRequest.marking_id, principal)]
    if state is not None:
        conditions.append(PriorityRequest.state == state)
    if rating is not None:
        conditions.append(PriorityRequest.rating == rating)
    if overdue:
        conditions.append(overdue_condition(today or today_utc()))
    if party is not None:
        conditions.append(or_(PriorityRequest.requesting_party == party, PriorityRequest.supplier_party == party))
    if text:
        conditions.append(
            or_(
                contains(PriorityRequest.reference, text),
                contains(PriorityRequest.title, text),
                contains(PriorityRequest.program, text),
                contains(PriorityRequest.item_node_id, text),
            )
        )
    total = session.scalar(select(func.count()).select_from(PriorityRequest).where(*conditions)) or 0
    rank = case(*((PriorityRequest.rating == r, n) for r, n in RATING_RANK.items()), else_=len(RATING_RANK))
    deadline = func.coalesce(PriorityRequest.delay_confirm_due, PriorityRequest.response_due)
    rows = session.scalars(
        select(PriorityRequest)
        .where(*conditions)
        .order_by(rank, deadline.is_(None), deadline, PriorityRequest.id)
        .offset(offset)
        .limit(limit)
    ).all()
    record(session, principal, "sosa.list", "request", "", details={"total": total, "overdue": overdue})
    return list(rows), total


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
            select(RequestEvent)
            .where(RequestEvent.request_id == request_id, visible(RequestEvent.marking_id, principal))
            .order_by(RequestEvent.at, RequestEvent.id)
        ).all()
    )


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
        visible(Organization.marking_id, principal),
        Organization.kind.notin_(GOVERNMENT_KINDS),
        Organization.party_code == party.upper() if party else Organization.party_code != principal.party,
    ]
    rows = session.scalars(
        select(Organization).where(*conditions).order_by(Organization.party_code, Organization.name)
    ).all()
    record(session, principal, "organization.list", "organization", "", details={"party": party, "total": len(rows)})
    return list(rows)
