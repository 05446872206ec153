"""The priority-delivery request workflow as data: states, actions, who may take each, and what each needs.

Who acts follows the SoSA practice (DOMAIN.md, "The partnership"): a party asks the *other* party for
priority delivery from that party's industry. Toward a partner the U.S. uses DPAS, where DoD decides
that the program promotes national defense and Commerce authorizes the rating; toward the U.S. the
partner's government works through its voluntary code of conduct. So:

- the **requesting** party's desk officers draft, submit, withdraw and escalate;
- the **supplier** party's desk officers take the request under determination, authorize or decline
  it, issue the rated order to their firm, and resolve an escalation (special priorities assistance,
  15 CFR 700.50, is the supplier government's business);
- the supplier **firm** (an industry user of the organization the order is placed on), or a supplier
  desk officer on its behalf, accepts or rejects the order, starts performance, reports and confirms
  a delay and reports delivery.

An admin acts as a desk officer of their own party. Analysts, auditors and everyone else only read.
This module is pure: :func:`check` decides, the service applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from setu.errors import AccessDenied, Conflict, InputError, Problem
from setu.models.sosa import RATINGS, REQUEST_STATES

Side = Literal["requesting", "supplier"]

FINAL_STATES = frozenset({"DECLINED", "REJECTED", "DELIVERED", "WITHDRAWN"})
"""States a request never leaves."""
ESCALATABLE_STATES = (frozenset(REQUEST_STATES) - FINAL_STATES - {"DRAFT", "ESCALATED"}) | {"REJECTED"}
"""States a request may be escalated from: every open one but a draft (it has not reached the other party
yet), and a rejected rated order, since special priorities assistance is how a requester takes up a
rejection (15 CFR 700.50)."""
REOPENED_ON_RESOLUTION = {"REJECTED": "RATED_ORDER_ISSUED"}
"""Where ``resolve`` takes a request escalated from a final state: a rejection taken up by special priorities
assistance puts the rated order back before the firm, which answers again on a fresh deadline."""
GOVERNMENT_ROLES = frozenset({"desk_officer", "admin"})
"""Roles that act for their party's government."""
FIRM_ROLE = "industry"

RESPONSE_DAYS = {"DO": 15, "DX": 10}
"""Working days to accept or reject a rated order after receipt (15 CFR 700.13(d)(1))."""
DELAY_CONFIRM_DAYS = 5
"""Working days to confirm a notified delay in writing (15 CFR 700.13(d)(2))."""
RATING_RANK = {"DX": 0, "DO": 1}
"""Sort key: DX outranks DO (15 CFR 700.11)."""

PROGRAM_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]{0,15}$")
"""A program identification symbol as in ``DO-A1`` (letters and digits, starting with a letter)."""
NOT_A_DATE = re.compile(r"\b(asap|as soon as possible|immediately|urgent|tbd)\b", re.IGNORECASE)


class WorkflowError(Conflict):
    """An action the request's present state does not allow (answered 409)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One action: the states it starts from, where it leads, who takes it, and what it needs.

    Attributes
    ----------
    action
        Its name in the API (``submit``, ``issue_order`` ...).
    sources
        States it may be taken from.
    target
        The state it leads to; ``""`` for ``resolve``, which returns to the state escalated from.
    side
        The party whose government takes it.
    firm
        Whether an industry user of the supplier firm may also take it.
    fields
        The fields it accepts (``note`` is always accepted).
    label
        What it does, in words.
    """

    action: str
    sources: frozenset[str]
    target: str
    side: Side
    firm: bool
    fields: tuple[str, ...]
    label: str


ORDER_FIELDS = ("rating", "program_symbol", "delivery_date", "authorized_signer", "certified")
"""What a rated order must carry (15 CFR 700.12)."""

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            "submit", frozenset({"DRAFT"}), "SUBMITTED", "requesting", False, (), "file with the supplier party"
        ),
        Transition(
            "withdraw", frozenset({"DRAFT", "SUBMITTED"}), "WITHDRAWN", "requesting", False, (), "withdraw the request"
        ),
        Transition(
            "begin_determination",
            frozenset({"SUBMITTED"}),
            "UNDER_DETERMINATION",
            "supplier",
            False,
            (),
            "take it under determination",
        ),
        Transition(
            "authorize",
            frozenset({"UNDER_DETERMINATION"}),
            "AUTHORIZED",
            "supplier",
            False,
            ("rating", "program_symbol"),
            "authorize the rating",
        ),
        Transition(
            "decline", frozenset({"UNDER_DETERMINATION"}), "DECLINED", "supplier", False, ("reason",), "decline it"
        ),
        Transition(
            "issue_order",
            frozenset({"AUTHORIZED"}),
            "RATED_ORDER_ISSUED",
            "supplier",
            False,
            ORDER_FIELDS,
            "issue the rated order to the firm",
        ),
        Transition(
            "accept", frozenset({"RATED_ORDER_ISSUED"}), "ACCEPTED", "supplier", True, (), "accept the rated order"
        ),
        Transition(
            "reject",
            frozenset({"RATED_ORDER_ISSUED"}),
            "REJECTED",
            "supplier",
            True,
            ("reason", "earliest_date"),
            "reject it, offering the earliest date the firm can meet",
        ),
        Transition(
            "start_performance", frozenset({"ACCEPTED"}), "IN_PERFORMANCE", "supplier", True, (), "start performance"
        ),
        Transition(
            "report_delay",
            frozenset({"IN_PERFORMANCE"}),
            "DELAYED",
            "supplier",
            True,
            ("reason", "revised_date"),
            "notify a delay",
        ),
        Transition(
            "confirm_delay",
            frozenset({"DELAYED"}),
            "IN_PERFORMANCE",
            "supplier",
            True,
            (),
            "confirm the delay in writing and go on",
        ),
        Transition(
            "deliver", frozenset({"IN_PERFORMANCE", "DELAYED"}), "DELIVERED", "supplier", True, (), "report delivery"
        ),
        Transition(
            "escalate",
            ESCALATABLE_STATES,
            "ESCALATED",
            "requesting",
            False,
            ("reason",),
            "escalate for special priorities assistance",
        ),
        Transition("resolve", frozenset({"ESCALATED"}), "", "supplier", False, (), "resolve the escalation"),
    )
}
"""Every action, by name."""
ACTIONS = tuple(TRANSITIONS)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, reduced to what the rules look at."""

    party: str
    org_id: int
    roles: frozenset[str]


@dataclass(frozen=True, slots=True)
class Parties:
    """The two sides of one request and the firm its order is placed on (None until chosen)."""

    requesting: str
    supplier: str
    supplier_org_id: int | None


def allowed_from(state: str) -> list[str]:
    """The actions that may be taken in ``state`` (by someone)."""
    return [t.action for t in TRANSITIONS.values() if state in t.sources]


def may_act(transition: Transition, actor: Actor, parties: Parties) -> bool:
    """Whether ``actor`` may take ``transition`` on a request between ``parties`` (its state aside).

    Parameters
    ----------
    transition
        The action.
    actor
        The acting user.
    parties
        The request's parties and supplier firm.

    Returns
    -------
    bool
        True for a desk officer or admin of the transition's side, or, where the transition allows
        it, an industry user of the supplier firm.
    """
    side_party = parties.requesting if transition.side == "requesting" else parties.supplier
    if actor.party == side_party and not actor.roles.isdisjoint(GOVERNMENT_ROLES):
        return True
    return (
        transition.firm
        and FIRM_ROLE in actor.roles
        and actor.party == parties.supplier
        and parties.supplier_org_id is not None
        and actor.org_id == parties.supplier_org_id
    )


def who_may(transition: Transition) -> str:
    """Who may take ``transition``, in words (for error messages and docs)."""
    who = f"a desk officer or admin of the {transition.side} party"
    if transition.firm:
        who += ", or an industry user of the supplier firm"
    return who


def check(state: str, action: str, actor: Actor, parties: Parties) -> Transition:
    """The transition ``action`` from ``state``, if ``actor`` may take it; else why not.

    Parameters
    ----------
    state
        The request's present state.
    action
        The action asked for.
    actor
        Who asks.
    parties
        The request's parties and supplier firm.

    Returns
    -------
    Transition
        The transition to apply.

    Raises
    ------
    setu.errors.InputError
        If ``action`` is not an action at all.
    WorkflowError
        If the state does not allow it (naming what it allows).
    AccessDenied
        If the state allows it but not for this actor (naming who may).
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise InputError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}", "action")
    if state not in transition.sources:
        allowed = ", ".join(allowed_from(state)) or "nothing (it is final)"
        raise WorkflowError(f"cannot {action} a request in state {state}; that state allows: {allowed}")
    if not may_act(transition, actor, parties):
        raise AccessDenied(f"{action} on a request in state {state} is for {who_may(transition)}")
    return transition


def target_of(transition: Transition, escalated_from: str) -> str:
    """The state ``transition`` leads to (``resolve`` returns to the state escalated from, or reopens it)."""
    return transition.target or REOPENED_ON_RESOLUTION.get(escalated_from, escalated_from)


# --- fields ---------------------------------------------------------------------------------------------


def parse_date(value: Any, where: str) -> tuple[date | None, Problem | None]:
    """A date from a field value: a ``date`` or an ISO ``YYYY-MM-DD`` string.

    Parameters
    ----------
    value
        The value given.
    where
        Its place, for the problem.

    Returns
    -------
    tuple
        The date (or None) and the problem found (or None).
    """
    if isinstance(value, date):
        return value, None
    if isinstance(value, str):
        if NOT_A_DATE.search(value):
            return None, Problem(
                where, f"{value!r} is not a date: a rated order needs a specific date (15 CFR 700.12(b))"
            )
        try:
            return date.fromisoformat(value.strip()), None
        except ValueError:
            pass
    return None, Problem(where, f"expected a date YYYY-MM-DD, got {value!r}")


def _text(value: Any, where: str, limit: int, problems: list[Problem]) -> str:
    if not isinstance(value, str):
        problems.append(Problem(where, f"expected text, got {value!r}"))
        return ""
    if len(value) > limit:
        problems.append(Problem(where, f"at most {limit} characters, got {len(value)}"))
    return value.strip()


def parse_fields(transition: Transition, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields given with an action, typed and checked one by one; unknown ones refused.

    Parameters
    ----------
    transition
        The action.
    fields
        Names to values as sent.

    Returns
    -------
    dict
        The values: dates as ``date``, ``certified`` as bool, text stripped.

    Raises
    ------
    setu.errors.InputError
        Naming every field not accepted by the action or of the wrong type.
    """
    accepted = (*transition.fields, "note")
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for name, value in fields.items():
        where = f"fields.{name}"
        if name not in accepted:
            problems.append(Problem(where, f"not accepted by {transition.action}; it takes: {', '.join(accepted)}"))
        elif name in ("delivery_date", "earliest_date", "revised_date"):
            day, problem = parse_date(value, where)
            if problem:
                problems.append(problem)
            out[name] = day
        elif name == "certified":
            if not isinstance(value, bool):
                problems.append(Problem(where, f"expected true or false, got {value!r}"))
            out[name] = value is True
        elif name == "rating":
            text = _text(value, where, 2, problems).upper()
            if text not in RATINGS:
                problems.append(Problem(where, f"expected one of {', '.join(RATINGS)}, got {value!r}"))
            out[name] = text
        elif name == "program_symbol":
            out[name] = _text(value, where, 16, problems).upper()
        else:
            out[name] = _text(value, where, 4000 if name in ("reason", "note") else 200, problems)
    if problems:
        raise InputError(problems)
    return out


def order_problems(values: Mapping[str, Any], today: date, prefix: str = "fields.") -> list[Problem]:
    """What a rated order lacks (15 CFR 700.12): rating and program symbol, a future date, signer, certification.

    Parameters
    ----------
    values
        The request's values with the action's fields over them.
    today
        The day of issue (the delivery date must be after it).
    prefix
        Prefix of the field names in problems.

    Returns
    -------
    list of Problem
        Empty when the order is complete.
    """
    problems: list[Problem] = []
    if values.get("rating") not in RATINGS:
        problems.append(Problem(f"{prefix}rating", f"a rated order needs a rating, one of {', '.join(RATINGS)}"))
    if not PROGRAM_SYMBOL.match(str(values.get("program_symbol") or "")):
        problems.append(
            Problem(
                f"{prefix}program_symbol",
                "a rated order needs a program identification symbol (letters and digits, e.g. A1 as in DO-A1)",
            )
        )
    due = values.get("delivery_date")
    if not isinstance(due, date):
        problems.append(Problem(f"{prefix}delivery_date", "a rated order needs a specific delivery date"))
    elif due <= today:
        problems.append(Problem(f"{prefix}delivery_date", f"must be after {today.isoformat()}, got {due.isoformat()}"))
    if not str(values.get("authorized_signer") or "").strip():
        problems.append(Problem(f"{prefix}authorized_signer", "a rated order needs the name of its authorized signer"))
    if values.get("certified") is not True:
        problems.append(
            Problem(f"{prefix}certified", "a rated order must carry the certification statement (15 CFR 700.12(d))")
        )
    return problems


def required_problems(transition: Transition, values: Mapping[str, Any], today: date) -> list[Problem]:
    """What ``transition`` still needs, given the request's values with the action's fields over them.

    Parameters
    ----------
    transition
        The action.
    values
        Stored values overlaid with the parsed fields of the action.
    today
        The day it is taken.

    Returns
    -------
    list of Problem
        Empty when it may be applied.
    """
    problems: list[Problem] = []
    action = transition.action
    if action == "submit":
        for name, what in (("title", "a title"), ("justification", "a justification")):
            if not str(values.get(name) or "").strip():
                problems.append(Problem(name, f"a request is submitted with {what}"))
        if values.get("rating") not in RATINGS:
            problems.append(Problem("rating", f"expected one of {', '.join(RATINGS)}"))
        if not (isinstance(values.get("quantity"), (int, float)) and values["quantity"] > 0):
            problems.append(Problem("quantity", "a request is submitted with a quantity above 0"))
        due = values.get("delivery_date")
        if not isinstance(due, date) or due <= today:
            problems.append(Problem("delivery_date", f"a request is submitted with a specific date after {today}"))
    elif action == "authorize":
        if values.get("rating") not in RATINGS:
            problems.append(Problem("fields.rating", f"expected one of {', '.join(RATINGS)}"))
    elif action == "issue_order":
        problems += order_problems(values, today)
        if values.get("supplier_organization_id") is None:
            problems.append(
                Problem("supplier_organization_id", "a rated order is placed on a firm: set the supplier organization")
            )
    elif action in ("decline", "reject", "report_delay", "escalate") and not str(values.get("reason") or "").strip():
        problems.append(Problem("fields.reason", f"{action} needs a reason"))
    if action == "reject":
        earliest = values.get("earliest_date")
        if not isinstance(earliest, date):
            problems.append(Problem("fields.earliest_date", "a rejection offers the earliest date the firm can meet"))
        elif earliest < today:
            problems.append(Problem("fields.earliest_date", f"must be {today.isoformat()} or later"))
    if action == "report_delay":
        revised = values.get("revised_date")
        if not isinstance(revised, date):
            problems.append(Problem("fields.revised_date", "a delay notice gives the revised delivery date"))
        elif revised <= today:
            problems.append(Problem("fields.revised_date", f"must be after {today.isoformat()}"))
    return problems
