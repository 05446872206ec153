"""Taking an action on a request: locked, version-checked, applied with its deadlines (or asked of the instance
holding its state), recorded and audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import AccessDenied, InputError, Problem
from setu.models.base import utcnow
from setu.models.sosa import PriorityRequest, RequestEvent
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sosa.calendar import WorkingCalendar, add_working_days
from setu.sosa.common import EDITABLE, _actor, _check_version, _flush, _locked, _parties, _refuse, today_utc
from setu.sosa.federated import holder, reaches_holder, route, snapshot
from setu.sosa.party_calendars import calendar_for
from setu.sosa.workflow import (
    DELAY_CONFIRM_DAYS,
    REOPENED_ON_RESOLUTION,
    RESPONSE_DAYS,
    Transition,
    WorkflowError,
    check,
    parse_fields,
    required_problems,
    target_of,
)


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
        ``sosa.transition`` audit entry are written with it. Where another instance holds the request's
        state (:mod:`setu.sosa.federated`), the action is recorded as an ask to it instead
        (``sosa.transition.ask``) and the request shows what it awaits.

    Raises
    ------
    NotFound
        If the request is missing or hidden.
    RequestConflict
        If it changed since ``expected_version`` (or concurrently, caught at flush).
    WorkflowError
        If its state does not allow ``action``, or the action is taken on another party's instance.
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
        where = route(session, request, chosen)
        if where == "ask" and request.awaiting:
            raise WorkflowError(
                f"request {request.reference} already awaits the answer of {holder(request)}'s instance to "
                f"{request.awaiting}; act again once it arrives"
            )
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
        elif not reaches_holder(session, request):
            problems.append(
                Problem(
                    "marking",
                    f"the link to {request.supplier_party}'s instance does not carry a request marked "
                    f"{spec.banner()} (the link's accreditation or shared groups fall short), so it would never "
                    "reach the supplier party; mark it for the link before submitting",
                )
            )
    if problems:
        raise InputError(problems)
    if where == "ask":
        return _ask(session, principal, request, chosen, parsed)
    note = parsed.pop("note", "")
    event = apply_transition(
        session, request, chosen, parsed, today, actor_id=principal.user_id, actor_party=principal.party, note=note
    )
    record(
        session,
        principal,
        "sosa.transition",
        "request",
        request.id,
        details={
            "from": event.from_state,
            "to": event.to_state,
            "action": action,
            "reference": request.reference,
            **{k: v for k, v in event.details.items() if k in DEADLINES},
        },
    )
    return request


DEADLINES = ("received_on", "response_due", "delay_confirm_due")
"""What a transition's event and audit entry show of the deadlines it set."""


def apply_transition(
    session: Session,
    request: PriorityRequest,
    chosen: Transition,
    parsed: dict[str, Any],
    today: date,
    *,
    actor_id: int,
    actor_party: str,
    note: str = "",
    extra: Mapping[str, Any] | None = None,
) -> RequestEvent:
    """Apply a checked transition to a locked request here, where its state is held: state, deadlines, event.

    The event carries the request's state after it (``held``), which the other instance of a federated
    request copies. ``extra`` adds to the event's details (the ask it answers).
    """
    source = request.state
    target = target_of(chosen, request.escalated_from)
    # Read the calendar before changing the request: a query would autoflush it, counting a version twice.
    calendar = calendar_for(session, request.supplier_party)
    deadlines = _apply(request, chosen.action, parsed, today, calendar)
    if chosen.action == "escalate":
        request.escalated_from = source
    elif chosen.action == "resolve":
        request.escalated_from = ""
    request.state = target
    request.updated_at = utcnow()
    _flush(session, request)
    details = {
        "action": chosen.action,
        "fields": {k: _json(v) for k, v in parsed.items()},
        **deadlines,
        **(extra or {}),
        "held": snapshot(request),
    }
    event = RequestEvent(
        request_id=request.id,
        from_state=source,
        to_state=target,
        actor_id=actor_id,
        actor_party=actor_party,
        note=note,
        details=details,
        marking_id=request.marking_id,
    )
    session.add(event)
    session.flush()
    return event


def _ask(
    session: Session, principal: Principal, request: PriorityRequest, chosen: Transition, parsed: dict[str, Any]
) -> PriorityRequest:
    """Record the requester's action as an ask to the instance holding the request's state; change nothing else."""
    to = holder(request)
    note = parsed.pop("note", "")
    request.awaiting = chosen.action
    request.updated_at = utcnow()
    _flush(session, request)
    session.add(
        RequestEvent(
            request_id=request.id,
            from_state=request.state,
            to_state=target_of(chosen, request.escalated_from),
            actor_id=principal.user_id,
            actor_party=principal.party,
            note=note,
            details={"action": chosen.action, "fields": {k: _json(v) for k, v in parsed.items()}, "ask": to},
            marking_id=request.marking_id,
        )
    )
    session.flush()
    record(
        session,
        principal,
        "sosa.transition.ask",
        "request",
        request.id,
        details={"action": chosen.action, "reference": request.reference, "sent_to": to, "state": request.state},
    )
    return request
