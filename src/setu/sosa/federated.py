"""Where a request's actions are taken when each party runs its own instance (federation).

A request's state has one holder at a time, so the two instances' copies never disagree: the requesting
party's instance while it is a draft, the supplier party's instance from submission on (the supplier
government decides, issues the order, and its firm answers, on its calendar). The holder applies every
transition and sends it to the other instance, which copies it.

Each action is taken on the instance of the party that owns it (:data:`setu.sosa.workflow.TRANSITIONS`
says which side): the supplier's on the supplier's instance, the requester's on the requester's. A
requester's action on a submitted request (withdraw, escalate) is an *ask*: recorded on the requester's
instance, sent to the holder, and applied there in the order it arrives; the answer (applied, or refused
because the request moved on meanwhile) comes back like any other transition. Until then the request
shows what it awaits.

Without partners (a single-instance deployment) every action is taken here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy.orm import Session

from setu.models.federation import Partner
from setu.models.sosa import STATE_HELD, PriorityRequest
from setu.sharing.policy import partner_reader
from setu.sharing.read import readable, unfiltered
from setu.sosa.workflow import Transition, WorkflowError

Route = Literal["here", "ask"]
_PARTNERS = "setu.sosa.partner_instances"


class TakenElsewhere(WorkflowError):
    """An action owned by a party that runs its own instance: it is taken there (answered 409)."""


def partner_instances(session: Session) -> frozenset[str]:
    """The parties that run an instance this one exchanges records with (read once per session: a list of
    requests asks for each)."""
    cached: frozenset[str] | None = session.info.get(_PARTNERS)
    if cached is None:
        # The instance's own configuration, not a user's read of records.
        cached = session.info[_PARTNERS] = frozenset(session.scalars(unfiltered(Partner.party)).all())
    return cached


def holder(request: PriorityRequest) -> str:
    """The party whose instance holds ``request``'s state: the requester's for a draft, then the supplier's."""
    return request.requesting_party if request.state == "DRAFT" else request.supplier_party


def route(session: Session, request: PriorityRequest, transition: Transition) -> Route:
    """Whether ``transition`` is applied here or sent as an ask to the instance holding the request's state.

    Raises
    ------
    TakenElsewhere
        If the party owning the action runs its own instance: the action is taken there.
    """
    if transition.side in elsewhere(session, request):
        owner = request.requesting_party if transition.side == "requesting" else request.supplier_party
        raise TakenElsewhere(
            f"{transition.action} on request {request.reference} is {owner}'s to take, on {owner}'s own instance; "
            f"it reaches this one from there"
        )
    return "ask" if held_elsewhere(session, request) else "here"


def elsewhere(session: Session, request: PriorityRequest) -> frozenset[str]:
    """The sides (``requesting``, ``supplier``) whose actions on ``request`` are taken on another instance."""
    partners = partner_instances(session)
    return frozenset(
        side
        for side, party in (("requesting", request.requesting_party), ("supplier", request.supplier_party))
        if party in partners
    )


def snapshot(request: PriorityRequest) -> dict[str, Any]:
    """The request's state as the holder sets it, for the other instance to copy (JSON values)."""
    values = {column: getattr(request, column) for column in STATE_HELD}
    return {column: value.isoformat() if isinstance(value, date) else value for column, value in values.items()}


def reaches_holder(session: Session, request: PriorityRequest) -> bool:
    """Whether a request being submitted can reach the supplier party's instance: its marking is one the link
    carries (the partner's own read filter, as the feed applies it). True without such an instance."""
    partner = session.get(Partner, request.supplier_party)
    if partner is None:
        return True
    found = session.scalar(
        readable(partner_reader(partner), PriorityRequest.id).where(PriorityRequest.id == request.id)
    )
    return found is not None


def held_elsewhere(session: Session, request: PriorityRequest) -> str:
    """The partner party whose instance holds ``request``'s state, or ``""`` when it is held here."""
    party = holder(request)
    return party if request.state != "DRAFT" and party in partner_instances(session) else ""
