"""SoSA requests across two instances: each transition made on its owner's instance, the copies never disagree.

India's desk officer files on India's instance; the U.S. desk officer and GE act on the U.S. instance,
which holds the request's state from submission on. India's withdraw and escalate are asks applied there.
The attacker's side: a partner's feed that moves what it does not hold, or speaks for the other party's
officers, is refused and nothing is stored.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from federation.conftest import Link, Side, held
from principals import (
    IN_ADMIN,
    IN_DESK,
    SECRET_SHARED,
    SHARED,
    US_ADMIN,
    US_DESK,
    US_GE,
    US_GE_INDUSTRY,
    US_OTHER_INDUSTRY,
)
from setu.audit.log import integrate
from setu.audit.verify import verify_log
from setu.db import transaction
from setu.errors import AccessDenied, InputError
from setu.federation.feed import append, lock_partner, next_seq, stix_ids
from setu.federation.identity import FederationError
from setu.federation.witness import log_releases
from setu.models import Organization
from setu.models.audit import AuditEntry
from setu.models.base import ReceivedReadOnly
from setu.models.federation import ReceivedObject, SentObject
from setu.models.sosa import STATE_HELD, CalendarEntry, PriorityRequest, RequestEvent
from setu.sosa import service
from setu.sosa.calendar import working_days_between
from setu.sosa.federated import TakenElsewhere
from sosa.world import DRAFT, ORDER, TODAY


def _file(link: Link) -> str:
    """India drafts a request to GE (as India holds GE's record) and submits it; its reference."""
    with transaction(link.india.sessions) as session:
        ge_here = session.scalar(select(Organization.id).where(Organization.name == "GE Aerospace"))
        assert ge_here is not None and ge_here != US_GE  # India's copy of the U.S. record
        request = service.create_request(
            session, IN_DESK, "US", {**DRAFT, "supplier_organization_id": ge_here}, marking=SHARED
        )
        service.transition(session, IN_DESK, request.id, "submit", {}, request.version, today=TODAY)
        return request.reference


def _act(side: Side, reference: str, steps: list[tuple[Any, str, dict[str, Any]]]) -> PriorityRequest:
    with transaction(side.sessions) as session:
        request_id = session.scalars(select(PriorityRequest.id).where(PriorityRequest.reference == reference)).one()
        for principal, action, fields in steps:
            version = service.get_request(session, principal, request_id).version
            service.transition(session, principal, request_id, action, fields, version, today=TODAY)
        request = session.get_one(PriorityRequest, request_id)
        session.expunge(request)
        return request


def _state(side: Side, reference: str) -> dict[str, Any]:
    with transaction(side.sessions) as session:
        request = session.scalars(select(PriorityRequest).where(PriorityRequest.reference == reference)).one()
        return {column: getattr(request, column) for column in (*STATE_HELD, "awaiting")}


def _steps(side: Side, reference: str) -> list[tuple[str, str, str]]:
    """The request's transitions on ``side`` that moved or answered it (asks aside): (action, from, to)."""
    with transaction(side.sessions) as session:
        rows = session.scalars(
            select(RequestEvent)
            .join(PriorityRequest, PriorityRequest.id == RequestEvent.request_id)
            .where(PriorityRequest.reference == reference)
            .order_by(RequestEvent.at, RequestEvent.id)
        ).all()
        return [(e.details["action"], e.from_state, e.to_state) for e in rows if "ask" not in e.details]


def _audited(side: Side, reference: str) -> list[tuple[str, str]]:
    with transaction(side.sessions) as session:
        integrate(session)
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "sosa.transition").order_by(AuditEntry.seq)
        )
        details = [json.loads(entry.details) for entry in entries]
        return [(d["from"], d["to"]) for d in details if d.get("reference") == reference]


def test_each_side_acts_on_its_own_instance_and_the_copies_agree(parties: Link) -> None:
    reference = _file(parties)
    parties.sync()
    us = _state(parties.us, reference)
    assert (us["state"], us["rating"], str(us["delivery_date"])) == ("SUBMITTED", "DO", "2026-06-30")
    with transaction(parties.us.sessions) as session:
        request = session.scalars(select(PriorityRequest).where(PriorityRequest.reference == reference)).one()
        assert request.received_from == "IN" and request.supplier_organization_id == US_GE  # the U.S.'s own GE

    # The supplier's actions are the U.S.'s, on its instance: India's instance refuses them.
    with transaction(parties.india.sessions) as session, pytest.raises(TakenElsewhere, match="on US's own instance"):
        request_id = session.scalars(select(PriorityRequest.id).where(PriorityRequest.reference == reference)).one()
        service.transition(session, US_DESK, request_id, "begin_determination", {}, 2, today=TODAY)

    ordered = [
        (US_DESK, "begin_determination", {}),
        (US_ADMIN, "authorize", {"rating": "DX"}),
        (US_DESK, "issue_order", ORDER),
        (US_GE_INDUSTRY, "accept", {"note": "accepted in writing"}),
    ]
    _act(parties.us, reference, ordered)
    parties.sync()
    parties.sync()
    assert _state(parties.india, reference) == _state(parties.us, reference)
    india = _state(parties.india, reference)
    assert (india["state"], india["rating"], str(india["response_due"])) == ("ACCEPTED", "DX", "2025-10-31")

    # India's officer's actions are taken on India's instance, not on the U.S. one (had they an account there).
    with transaction(parties.us.sessions) as session, pytest.raises(TakenElsewhere, match="IN's to take"):
        request_id = session.scalars(select(PriorityRequest.id).where(PriorityRequest.reference == reference)).one()
        version = service.get_request(session, US_DESK, request_id).version
        service.transition(session, IN_DESK, request_id, "escalate", {"reason": "x"}, version)

    # India escalates: an ask to the U.S. instance; India's copy shows what it awaits until the answer comes.
    asked = _act(parties.india, reference, [(IN_DESK, "escalate", {"reason": "no performance date yet"})])
    assert (asked.state, asked.awaiting) == ("ACCEPTED", "escalate")
    with transaction(parties.india.sessions) as session:
        request = session.get_one(PriorityRequest, asked.id)
        assert service.actions_for(session, IN_DESK, request) == []
        with pytest.raises(service.WorkflowError, match="already awaits"):
            service.transition(session, IN_DESK, asked.id, "escalate", {"reason": "again"}, request.version)
    parties.sync()
    assert _state(parties.us, reference)["state"] == "ESCALATED"
    parties.sync()
    assert _state(parties.india, reference) == {**_state(parties.us, reference), "awaiting": ""}
    assert _state(parties.india, reference)["escalated_from"] == "ACCEPTED"

    _act(parties.us, reference, [(US_DESK, "resolve", {})])
    parties.sync()
    parties.sync()
    assert _state(parties.india, reference) == _state(parties.us, reference)
    expected = [
        ("submit", "DRAFT", "SUBMITTED"),
        ("begin_determination", "SUBMITTED", "UNDER_DETERMINATION"),
        ("authorize", "UNDER_DETERMINATION", "AUTHORIZED"),
        ("issue_order", "AUTHORIZED", "RATED_ORDER_ISSUED"),
        ("accept", "RATED_ORDER_ISSUED", "ACCEPTED"),
        ("escalate", "ACCEPTED", "ESCALATED"),
        ("resolve", "ESCALATED", "ACCEPTED"),
    ]
    assert _steps(parties.india, reference) == _steps(parties.us, reference) == expected
    # Both audit trails show every step, and both logs verify.
    moves = [(a, b) for _action, a, b in expected]
    assert _audited(parties.india, reference) == _audited(parties.us, reference) == moves
    for side in (parties.india, parties.us):
        with transaction(side.sessions) as session:
            result = verify_log(session)
            assert result.ok, [str(p) for p in result.problems]


def test_an_ask_that_crosses_a_supplier_move_is_refused_on_both_sides_alike(parties: Link) -> None:
    reference = _file(parties)
    parties.sync()
    # At the same time: India withdraws (an ask), the U.S. takes the request under determination.
    _act(parties.india, reference, [(IN_DESK, "withdraw", {"note": "program re-planned"})])
    _act(parties.us, reference, [(US_DESK, "begin_determination", {})])
    parties.sync()
    parties.sync()
    assert _state(parties.india, reference) == _state(parties.us, reference)
    assert _state(parties.india, reference)["state"] == "UNDER_DETERMINATION"
    with transaction(parties.india.sessions) as session:
        request_id = session.scalars(select(PriorityRequest.id).where(PriorityRequest.reference == reference)).one()
        history = service.request_history(session, IN_DESK, request_id)
        refusal = history[-1].details
        assert refusal["action"] == "withdraw" and "already UNDER_DETERMINATION" in refusal["refused"]
        assert service.actions_for(session, IN_DESK, session.get_one(PriorityRequest, request_id)) == ["escalate"]


def test_the_firm_india_named_is_the_us_instances_own_and_only_it_answers_the_order(parties: Link) -> None:
    reference = _file(parties)
    parties.sync()
    _act(
        parties.us,
        reference,
        [(US_DESK, "begin_determination", {}), (US_DESK, "authorize", {}), (US_DESK, "issue_order", ORDER)],
    )
    with pytest.raises(AccessDenied):  # another U.S. firm's user is not the firm the order names
        _act(parties.us, reference, [(US_OTHER_INDUSTRY, "accept", {})])
    accepted = _act(parties.us, reference, [(US_GE_INDUSTRY, "accept", {})])
    assert accepted.state == "ACCEPTED"


def _forge(link: Link, reference: str, content: dict[str, Any]) -> None:
    """The U.S. operator, holding its instance's key, appends a transition of its own making to its feed to India."""
    with transaction(link.us.sessions) as session:
        us = link.us.instance(session)
        lock_partner(session, "IN")
        request_id = session.scalars(select(PriorityRequest.id).where(PriorityRequest.reference == reference)).one()
        request = session.get_one(PriorityRequest, request_id)
        marking = session.scalars(
            select(SentObject).where(SentObject.partner == "IN", SentObject.kind == "marking")
        ).first()
        # The request as India sent it: the U.S. holds India's STIX id for it.
        ref = session.scalar(
            select(ReceivedObject.stix_id).where(
                ReceivedObject.kind == "request", ReceivedObject.local_id == request_id
            )
        )
        assert marking is not None and ref is not None
        stix_id = stix_ids(session, "request_event", "x-setu-request-event", [10**9])[10**9]
        append(
            session,
            us,
            "IN",
            seq=next_seq(session, "IN"),
            kind="request_event",
            stix_type="x-setu-request-event",
            stix_id=stix_id,
            marking_id=request.marking_id,
            content={
                "request_ref": ref,
                "actor_party": content.pop("actor_party", "US"),
                "event_at": "2025-10-17T10:00:00+00:00",
                "note": "",
                "object_marking_refs": [marking.stix_id],
                **content,
            },
            created=request.created_at,
        )
        log_releases(session, us)  # logged and witnessed like any release: only its content is the operator's


HELD = {column: None for column in STATE_HELD} | {"escalated_from": "", "rating": "DO", "program_symbol": "A1"}
HELD |= {"authorized_signer": "", "certified": False, "reason": ""}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        pytest.param(
            {
                "from_state": "SUBMITTED",
                "to_state": "WITHDRAWN",
                "actor_party": "IN",
                "details": {"action": "withdraw", "held": {**HELD, "state": "WITHDRAWN"}},
            },
            "answers no ask of IN's",
            id="withdrawn-in-indias-name",
        ),
        pytest.param(
            {
                "from_state": "SUBMITTED",
                "to_state": "DELIVERED",
                "details": {"action": "deliver", "held": {**HELD, "state": "DELIVERED"}},
            },
            "deliver does not take request .* from SUBMITTED to DELIVERED",
            id="a-step-the-workflow-does-not-have",
        ),
        pytest.param(
            {
                "from_state": "SUBMITTED",
                "to_state": "UNDER_DETERMINATION",
                "details": {"action": "begin_determination"},
            },
            "details.held must give",
            id="no-state-given",
        ),
        pytest.param(
            {"from_state": "ACCEPTED", "to_state": "DELIVERED", "details": {"action": "deliver", "held": {}}},
            "arrive in order",
            id="out-of-order",
        ),
    ],
)
def test_a_partner_cannot_move_what_it_does_not_hold_or_speak_for_our_officers(
    parties: Link, content: dict[str, Any], error: str
) -> None:
    reference = _file(parties)
    parties.sync()
    _forge(parties, reference, content)
    before = held(parties.india), _state(parties.india, reference)
    with pytest.raises(FederationError, match=error):
        parties.india.import_(parties.us.export("IN", since=0))
    assert (held(parties.india), _state(parties.india, reference)) == before


def test_a_request_the_link_would_not_carry_is_refused_at_submission(parties: Link) -> None:
    """A hurried officer marks a request SECRET for a link accredited to CONFIDENTIAL: told so, not left waiting."""
    with transaction(parties.india.sessions) as session:
        request = service.create_request(
            session, IN_ADMIN, "US", DRAFT | {"supplier_organization_id": None}, marking=SECRET_SHARED
        )
        request_id, version = request.id, request.version
    with (
        transaction(parties.india.sessions) as session,
        pytest.raises(InputError, match="does not carry a request marked"),
    ):
        service.transition(session, IN_ADMIN, request_id, "submit", {}, version, today=TODAY)
    with transaction(parties.india.sessions) as session:
        assert session.get_one(PriorityRequest, request_id).state == "DRAFT"


def test_the_supplier_partys_calendar_entries_reach_the_requester_so_both_count_the_same_days(parties: Link) -> None:
    """A U.S. admin closes a plant day on the U.S. instance: India's copy counts working days left without it."""
    shutdown = date(2025, 10, 21)
    with transaction(parties.us.sessions) as session:
        service.add_calendar_entry(session, US_ADMIN, "US", shutdown, name="Plant shutdown")
    reference = _file(parties)
    parties.sync()
    _act(
        parties.us,
        reference,
        [(US_DESK, "begin_determination", {}), (US_DESK, "authorize", {}), (US_DESK, "issue_order", ORDER)],
    )
    parties.sync()
    parties.sync()
    counted = []
    for side in (parties.india, parties.us):
        with transaction(side.sessions) as session:
            calendar = service.calendar_for(session, "US")
            due = _state(side, reference)["response_due"]
            counted.append((calendar.is_working_day(shutdown), working_days_between(TODAY, due, calendar)))
    assert counted[0] == counted[1] and counted[0][0] is False
    with transaction(parties.india.sessions) as session, pytest.raises(ReceivedReadOnly):
        entry = session.scalars(select(CalendarEntry).where(CalendarEntry.day == shutdown)).one()
        assert entry.received_from == "US"
        session.delete(entry)
        session.flush()
