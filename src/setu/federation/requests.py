"""SoSA requests across instances: a partner's transition of a request, received and applied here.

One instance holds a request's state at a time (:mod:`setu.sosa.federated`): the requesting party's
while it is a draft, the supplier party's from submission on. A transition arriving from the partner is
one of two things:

- a transition the partner made while holding the state: copied here as it says (state, rating, order,
  deadlines on the supplier party's calendar), the request's version one higher;
- an *ask* of the partner's desk officer (withdraw, escalate) of a request whose state this instance
  holds: applied here if the request's state still allows it, refused if it moved on meanwhile (the
  supplier declined before the withdrawal arrived); either way the answer is a transition of ours,
  sent back to the partner.

Anything else (a transition of a request whose state the partner did not hold, a copy that does not
say what the state is) is refused with the batch: a partner's feed cannot move what it does not hold.
Each applied step is audited here as well as on the partner's instance.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError
from setu.federation.identity import FederationError, Instance
from setu.federation.kinds import BY_NAME, from_json
from setu.models.federation import Partner, SentObject
from setu.models.sosa import REQUEST_STATES, STATE_HELD, PriorityRequest, RequestEvent
from setu.sharing.read import unfiltered
from setu.sosa.common import today_utc
from setu.sosa.federated import holder, snapshot
from setu.sosa.transitions import apply_transition
from setu.sosa.workflow import TRANSITIONS, parse_fields, required_problems, target_of


def apply_transition_received(
    session: Session, instance: Instance, partner: Partner, event: RequestEvent, obj: dict[str, Any]
) -> None:
    """Apply the partner's transition ``event`` (just stored, as received in ``obj``) to its request here.

    Raises
    ------
    FederationError
        If the partner moves a request whose state it did not hold, or its copy is malformed.
    """
    where = f"{obj['id']} (seq {obj['x_setu_seq']})"
    # The feed applies the partner's transition whoever may read the request here; locked against local users.
    request = session.scalars(
        unfiltered(PriorityRequest).where(PriorityRequest.id == event.request_id).with_for_update()
    ).one()
    details = event.details if isinstance(event.details, dict) else {}
    if "ask" in details:
        _answer(session, instance, partner, request, event, obj, where)
        return
    held_by = request.requesting_party if event.from_state in ("", "DRAFT") else request.supplier_party
    if held_by != partner.party:
        raise FederationError(
            f"{where}: a transition of request {request.reference} from {event.from_state or 'nothing'}, whose state "
            f"{held_by}'s instance holds, not {partner.party}'s"
        )
    if event.from_state != request.state and not (request.received_from and event.from_state == "DRAFT"):
        raise FederationError(
            f"{where}: a transition of request {request.reference} from {event.from_state}, but it is {request.state} "
            f"here: the partner's transitions arrive in order, so its feed was altered"
        )
    transition = TRANSITIONS.get(str(details.get("action")))
    if transition is None:
        raise FederationError(f"{where}: details.action {details.get('action')!r} is not a request action")
    answered = ""
    if transition.side == "requesting" and request.requesting_party == instance.party:
        # The holder applies our officers' actions only as they asked: it cannot withdraw in our name.
        if not _answers_our_ask(session, partner, request, str(details.get("answers", "")), transition.action):
            raise FederationError(
                f"{where}: a {transition.action} of request {request.reference} in the name of {instance.party} "
                f"that answers no ask of {instance.party}'s"
            )
        answered = request.awaiting
    elif event.actor_party != partner.party:
        raise FederationError(
            f"{where}: a {transition.action} of request {request.reference} by a user of {event.actor_party}, "
            f"taken on {partner.party}'s instance"
        )
    # A refusal answers an ask of ours (checked above) and changes nothing; any other step is one the workflow has.
    refusal = transition.side == "requesting" and "refused" in details and event.to_state == event.from_state
    legal = event.from_state in transition.sources and event.to_state == target_of(transition, request.escalated_from)
    if not (legal or refusal):
        raise FederationError(
            f"{where}: {transition.action} does not take request {request.reference} from {event.from_state} "
            f"to {event.to_state}; the workflow allows it from {', '.join(sorted(transition.sources))}"
        )
    _copy(request, details.get("held"), event.to_state, where)
    if answered:
        request.awaiting = ""
    session.flush()
    _audit(session, instance, partner, request, event, {"answered": answered} if answered else {})


def _answers_our_ask(session: Session, partner: Partner, request: PriorityRequest, answers: str, action: str) -> bool:
    """Whether ``answers`` names the ask of ``action`` on ``request`` that this instance sent and awaits."""
    if request.awaiting != action:
        return False
    # The feed's own bookkeeping: which of our records went to the partner under that id.
    local_id = session.scalar(
        unfiltered(SentObject.local_id).where(
            SentObject.partner == partner.party, SentObject.kind == "request_event", SentObject.stix_id == answers
        )
    )
    ask = (
        None
        if local_id is None
        else session.scalars(unfiltered(RequestEvent).where(RequestEvent.id == local_id)).one_or_none()
    )
    return (
        ask is not None
        and ask.received_from is None
        and ask.request_id == request.id
        and ask.details.get("action") == action
        and "ask" in ask.details
    )


def _copy(request: PriorityRequest, held: Any, to_state: str, where: str) -> None:
    """Set the request's state as the holder's transition says (each value checked against its column)."""
    if not isinstance(held, dict) or set(held) != set(STATE_HELD):
        raise FederationError(f"{where}: property details.held must give the request's state: {', '.join(STATE_HELD)}")
    kind = BY_NAME["request"]
    values: dict[str, Any] = {}
    for column in STATE_HELD:
        try:
            values[column] = from_json(kind, column, held[column])
        except (TypeError, ValueError) as error:
            raise FederationError(f"{where}: property details.held.{column}: {error}") from None
    if values["state"] not in REQUEST_STATES or values["state"] != to_state:
        raise FederationError(f"{where}: details.held.state {values['state']!r} is not the state it moved to")
    for column, value in values.items():
        setattr(request, column, value)


def _answer(
    session: Session,
    instance: Instance,
    partner: Partner,
    request: PriorityRequest,
    ask: RequestEvent,
    obj: dict[str, Any],
    where: str,
) -> None:
    """Apply the partner's ask here, where the request's state is held, or refuse it; the answer goes back."""
    details = ask.details
    transition = TRANSITIONS.get(str(details.get("action")))
    if (
        transition is None
        or transition.side != "requesting"
        or request.requesting_party != partner.party
        or ask.actor_party != partner.party
        or holder(request) != instance.party
    ):
        raise FederationError(
            f"{where}: an ask to {details.get('action')!r} request {request.reference}, which is not the requesting "
            f"party {partner.party}'s to ask of {instance.party}'s instance"
        )
    answers = {"answers": obj["id"]}
    refused = ""
    parsed: dict[str, Any] = {}
    if request.state not in transition.sources:
        refused = f"the request was already {request.state} on {instance.party}'s instance when the ask arrived"
    else:
        try:
            parsed = parse_fields(transition, details.get("fields") or {})
            problems = required_problems(transition, {"reason": request.reason} | parsed, today_utc())
        except InputError as error:
            problems = error.problems
        if problems:
            refused = "; ".join(str(problem) for problem in problems)
    if refused:
        answer = RequestEvent(
            request_id=request.id,
            from_state=request.state,
            to_state=request.state,
            actor_id=ask.actor_id,
            actor_party=partner.party,
            note="",
            details={"action": transition.action, **answers, "refused": refused, "held": snapshot(request)},
            marking_id=request.marking_id,
        )
        session.add(answer)
        session.flush()
    else:
        note = str(parsed.pop("note", ""))
        answer = apply_transition(
            session,
            request,
            transition,
            parsed,
            today_utc(),
            actor_id=ask.actor_id,
            actor_party=partner.party,
            note=note,
            extra=answers,
        )
    _audit(session, instance, partner, request, answer, {"asked": transition.action, "refused": refused})


def _audit(
    session: Session,
    instance: Instance,
    partner: Partner,
    request: PriorityRequest,
    event: RequestEvent,
    extra: dict[str, Any],
) -> None:
    action = str(event.details.get("action", ""))
    record(
        session,
        None,
        "sosa.transition",
        "request",
        request.id,
        actor_name=f"a user of {event.actor_party}, on {partner.party}'s instance",
        party=instance.party,
        details={
            "from": event.from_state,
            "to": event.to_state,
            "action": action,
            "reference": request.reference,
            "instance": partner.party,
            **{key: value for key, value in extra.items() if value},
        },
    )
