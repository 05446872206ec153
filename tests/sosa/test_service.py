"""Requests stored on SQLite and PostgreSQL: transitions, events, audit, deadlines, overdue, markings, links."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import create_users
from principals import (
    IN_ADMIN,
    IN_ANALYST,
    IN_DESK,
    IN_HAL_INDUSTRY,
    IN_ONLY,
    SHARED,
    US_ADMIN,
    US_ANALYST,
    US_DESK,
    US_GE_INDUSTRY,
    US_OTHER_INDUSTRY,
)
from setu.accounts.login import principal_of
from setu.audit.log import integrate
from setu.db import transaction
from setu.errors import AccessDenied, InputError, NotFound
from setu.models.audit import AuditEntry
from setu.models.sosa import PriorityRequest, RequestEvent
from setu.sharing.markings import MarkingSpec
from setu.sosa import service
from setu.sosa.service import RequestConflict, WorkflowError
from sosa.world import DRAFT, ORDER, TO_ORDER, TODAY, advance, build


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> dict[str, int]:
    with transaction(sessions) as session:
        return build(session)


def new_request(sessions: sessionmaker[Session], **changes: Any) -> int:
    with transaction(sessions) as session:
        return service.create_request(session, IN_DESK, "US", {**DRAFT, **changes}).id


def transitions(session: Session, request_id: int) -> list[tuple[str, str]]:
    rows = session.execute(
        select(RequestEvent.from_state, RequestEvent.to_state)
        .where(RequestEvent.request_id == request_id)
        .order_by(RequestEvent.id)
    ).all()
    return [(a, b) for a, b in rows]


def audited(session: Session, action: str, decision: str = "permit") -> list[AuditEntry]:
    integrate(session)  # sequence what is pending, as every reader of the log does
    query = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.decision == decision)
    return list(session.scalars(query.order_by(AuditEntry.seq)))


def test_a_do_request_from_draft_to_delivery(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    request_id = new_request(sessions)
    with transaction(sessions) as session:
        version = advance(
            session,
            request_id,
            [
                *TO_ORDER,
                (US_GE_INDUSTRY, "accept", {"note": "accepted in writing"}),
                (US_GE_INDUSTRY, "start_performance", {}),
                (US_GE_INDUSTRY, "report_delay", {"reason": "furnace repair", "revised_date": "2026-08-01"}),
                (US_GE_INDUSTRY, "confirm_delay", {}),
                (US_DESK, "deliver", {}),
            ],
        )
    with transaction(sessions) as session:
        request = session.get_one(PriorityRequest, request_id)
        assert (request.state, request.version, version) == ("DELIVERED", 10, 10)
        # DO: 15 U.S. working days after Friday 17 October 2025 (no U.S. holiday in between).
        assert request.received_on == TODAY and request.response_due == date(2025, 11, 7)
        assert request.delay_noticed_on == TODAY and request.delay_confirm_due == date(2025, 10, 24)
        assert request.delay_confirmed_on == TODAY and request.revised_delivery_date == date(2026, 8, 1)
        assert request.authorized_signer == ORDER["authorized_signer"] and request.certified
        assert transitions(session, request_id) == [
            ("DRAFT", "SUBMITTED"),
            ("SUBMITTED", "UNDER_DETERMINATION"),
            ("UNDER_DETERMINATION", "AUTHORIZED"),
            ("AUTHORIZED", "RATED_ORDER_ISSUED"),
            ("RATED_ORDER_ISSUED", "ACCEPTED"),
            ("ACCEPTED", "IN_PERFORMANCE"),
            ("IN_PERFORMANCE", "DELAYED"),
            ("DELAYED", "IN_PERFORMANCE"),
            ("IN_PERFORMANCE", "DELIVERED"),
        ]
        entries = audited(session, "sosa.transition")
        details = [json.loads(e.details) for e in entries]
        assert [(d["from"], d["to"]) for d in details] == transitions(session, request_id)
        assert details[3]["response_due"] == "2025-11-07"
        events = service.request_history(session, IN_ANALYST, request_id)
        assert events[4].note == "accepted in writing" and events[4].actor_party == "US"
        assert events[6].details["fields"] == {"reason": "furnace repair", "revised_date": "2026-08-01"}


def test_deadlines_run_on_the_supplier_partys_calendar(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    with transaction(sessions) as session:
        request = service.create_request(
            session, US_DESK, "IN", {**DRAFT, "rating": "DX", "supplier_organization_id": 2}
        )
        request_id = request.id
    with transaction(sessions) as session:
        steps = [
            (US_DESK, "submit", {}),
            (IN_DESK, "begin_determination", {}),
            (IN_ADMIN, "authorize", {}),
            (IN_DESK, "issue_order", ORDER),
        ]
        advance(session, request_id, steps)
        # DX: 10 Indian working days; Diwali (Monday 20 October 2025) does not count.
        assert session.get_one(PriorityRequest, request_id).response_due == date(2025, 11, 3)
        advance(session, request_id, [(IN_HAL_INDUSTRY, "accept", {}), (IN_HAL_INDUSTRY, "start_performance", {})])
        advance(session, request_id, [(IN_HAL_INDUSTRY, "report_delay", {"reason": "x", "revised_date": "2026-09-01"})])
        assert session.get_one(PriorityRequest, request_id).delay_confirm_due == date(2025, 10, 27)


def test_admin_calendar_entries_move_deadlines(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    with transaction(sessions) as session, pytest.raises(AccessDenied, match="only an admin of party US"):
        service.add_calendar_entry(session, IN_ADMIN, "US", date(2025, 10, 20))
    with transaction(sessions) as session, pytest.raises(AccessDenied):
        service.add_calendar_entry(session, US_DESK, "US", date(2025, 10, 20))
    with transaction(sessions) as session:
        service.add_calendar_entry(session, US_ADMIN, "US", date(2025, 10, 20), name="Storm closure")
        service.add_calendar_entry(session, US_ADMIN, "US", date(2025, 10, 25), name="Saturday worked", working=True)
    with (
        transaction(sessions) as session,
        pytest.raises(InputError, match="already has a calendar entry on 2025-10-20"),
    ):
        service.add_calendar_entry(session, US_ADMIN, "US", date(2025, 10, 20))
    request_id = new_request(sessions)
    with transaction(sessions) as session:
        advance(session, request_id, TO_ORDER)
        # One day closed, one Saturday opened: the deadline does not move overall.
        assert session.get_one(PriorityRequest, request_id).response_due == date(2025, 11, 7)
        entries = service.list_calendar_entries(session, IN_ANALYST, "US")
        assert [(e.day, e.working) for e in entries] == [(date(2025, 10, 20), False), (date(2025, 10, 25), True)]
        service.remove_calendar_entry(session, US_ADMIN, "US", entries[1].id)
        assert len(audited(session, "calendar.add")) == 2 and len(audited(session, "calendar.remove")) == 1
        assert len(audited(session, "calendar.add", "deny")) == 2
    with transaction(sessions) as session:
        calendar = service.calendar_for(session, "US")
        assert not calendar.is_working_day(date(2025, 10, 20))
        assert not calendar.is_working_day(date(2025, 10, 25))


def test_overdue_flags(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    late_order = new_request(sessions)
    late_delay = new_request(sessions, rating="DX")
    with transaction(sessions) as session:
        advance(session, late_order, TO_ORDER)
        advance(session, late_delay, TO_ORDER)
        advance(session, late_delay, [(US_GE_INDUSTRY, "accept", {}), (US_GE_INDUSTRY, "start_performance", {})])
        advance(session, late_delay, [(US_GE_INDUSTRY, "report_delay", {"reason": "x", "revised_date": "2026-09-01"})])
    with transaction(sessions) as session:
        ids = lambda day: [r.id for r in service.overdue_requests(session, IN_ANALYST, today=day)]  # noqa: E731
        assert ids(date(2025, 10, 24)) == []  # the delay confirmation is due that day: still in time
        assert ids(date(2025, 10, 25)) == [late_delay]
        assert ids(date(2025, 11, 8)) == [late_delay, late_order]  # DX first
        request = service.get_request(session, US_ANALYST, late_order)
        assert service.is_overdue(request, date(2025, 11, 8)) and not service.is_overdue(request, date(2025, 11, 7))
    with transaction(sessions) as session:
        advance(session, late_order, [(US_GE_INDUSTRY, "accept", {})])
        advance(session, late_delay, [(US_GE_INDUSTRY, "confirm_delay", {})])
        assert service.overdue_requests(session, IN_ANALYST, today=date(2026, 1, 1)) == []


def test_dx_is_listed_ahead_of_do(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    first = new_request(sessions)
    second = new_request(sessions, rating="DX")
    third = new_request(sessions, title="Gallium nitride modules")
    with transaction(sessions) as session:
        rows, total = service.list_requests(session, US_ANALYST)
        assert [r.id for r in rows] == [second, first, third] and total == 3
        assert [r.id for r in service.list_requests(session, US_ANALYST, rating="DO")[0]] == [first, third]
        assert [r.id for r in service.list_requests(session, US_ANALYST, text="gallium")[0]] == [third]
        assert service.list_requests(session, US_ANALYST, state="SUBMITTED")[1] == 0
        with pytest.raises(InputError, match="state: expected one of DRAFT"):
            service.list_requests(session, US_ANALYST, state="OPEN")


def test_national_markings_hide_a_request_from_the_other_party(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    with transaction(sessions) as session:
        hidden = service.create_request(session, IN_DESK, "US", DRAFT, marking=IN_ONLY).id
    with transaction(sessions) as session:
        assert service.get_request(session, IN_ANALYST, hidden).id == hidden
        assert service.list_requests(session, US_ANALYST) == ([], 0)
        assert service.list_requests(session, US_ANALYST, text=str(hidden))[1] == 0
    messages = []
    for request_id in (hidden, 999_999):
        with transaction(sessions) as session:
            with pytest.raises(NotFound) as caught:
                service.get_request(session, US_ANALYST, request_id)
            messages.append(str(caught.value).replace(str(request_id), "ID"))
        with transaction(sessions) as session, pytest.raises(NotFound):
            service.request_history(session, US_ANALYST, request_id)
        with transaction(sessions) as session, pytest.raises(NotFound):
            service.transition(session, US_DESK, request_id, "begin_determination", {}, 1)
    assert messages[0] == messages[1] == "no such request: ID"
    with (
        transaction(sessions) as session,
        pytest.raises(InputError, match="supplier party US cannot read a request marked"),
    ):
        service.transition(session, IN_DESK, hidden, "submit", {}, 1, today=TODAY)
    with transaction(sessions) as session:
        # Nobody may mark a request they could not read themselves.
        from setu.errors import MarkingError
        from setu.sharing.markings import MarkingSpec

        with pytest.raises(MarkingError):
            service.create_request(session, IN_DESK, "US", DRAFT, marking=MarkingSpec(3, "IN", frozenset({"IN"})))


def test_links_to_hidden_records_are_refused_as_missing(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    network = world["network"]
    with transaction(sessions) as session:
        ok = service.create_request(
            session,
            IN_DESK,
            "US",
            {
                **DRAFT,
                "network_id": network,
                "item_node_id": "BLADE",
                "scenario_pk": world["scenario"],
                "supplier_site": "Lynn",
            },
        )
        assert (ok.item_node_id, ok.supplier_site) == ("BLADE", "Lynn")
        assert MarkingSpec.of(ok.marking) == SHARED

    def refused(principal: Any, supplier: str, values: dict[str, Any]) -> str:
        with transaction(sessions) as session:
            with pytest.raises(NotFound) as caught:
                service.create_request(session, principal, supplier, {**DRAFT, **values})
            return str(caught.value)

    # The U.S. side cannot see the India-only forge, its scenario, nor India the U.S.-only annex.
    assert refused(US_DESK, "IN", {"network_id": network, "item_node_id": "FORGE", "supplier_organization_id": 2}) == (
        "no such node: 'FORGE'"
    )
    assert refused(US_DESK, "IN", {"network_id": network, "item_node_id": "NOPE", "supplier_organization_id": 2}) == (
        "no such node: 'NOPE'"
    )
    assert refused(US_DESK, "IN", {"scenario_pk": world["secret_scenario"], "supplier_organization_id": 2}) == (
        f"no such scenario: {world['secret_scenario']}"
    )
    assert refused(IN_DESK, "US", {"supplier_site": "Evendale Annex"}) == "no such site: 'Evendale Annex'"
    assert refused(IN_DESK, "US", {"network_id": 999_999}) == "no such network: 999999"
    # India sees its forge, but a request released to the U.S. would reveal it.
    with (
        transaction(sessions) as session,
        pytest.raises(InputError, match="linked by item_node_id is marked RESTRICTED // IN ONLY"),
    ):
        values = {**DRAFT, "network_id": network, "item_node_id": "FORGE"}
        service.create_request(session, IN_DESK, "US", values, marking=SHARED)
    with transaction(sessions) as session:
        # By default the request takes its links' marking: India-only here, so it cannot be submitted.
        forge = service.create_request(
            session, IN_DESK, "US", {**DRAFT, "network_id": network, "item_node_id": "FORGE"}
        )
        assert MarkingSpec.of(forge.marking) == IN_ONLY
    with transaction(sessions) as session, pytest.raises(InputError, match="expected a firm of the supplier party US"):
        service.create_request(session, IN_DESK, "US", {**DRAFT, "supplier_organization_id": 2})
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(PriorityRequest)) == 2
        assert len(audited(session, "sosa.create", "deny")) == 5


def test_refusals_store_nothing_but_the_denial(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    request_id = new_request(sessions)
    cases: list[tuple[Any, str, dict[str, Any], type[Exception], str]] = [
        (US_ANALYST, "submit", {}, AccessDenied, "submit on a request in state DRAFT is for a desk officer"),
        (US_DESK, "submit", {}, AccessDenied, "requesting party"),
        (IN_HAL_INDUSTRY, "withdraw", {}, AccessDenied, "requesting party"),
        (IN_DESK, "accept", {}, WorkflowError, "cannot accept a request in state DRAFT; that state allows: submit"),
        (IN_DESK, "escalate", {"reason": "x"}, WorkflowError, "cannot escalate"),
    ]
    for principal, action, fields, error, message in cases:
        with transaction(sessions) as session, pytest.raises(error, match=message):
            service.transition(session, principal, request_id, action, fields, 1, today=TODAY)
    with transaction(sessions) as session:
        advance(session, request_id, TO_ORDER[:3])
    with transaction(sessions) as session:
        with pytest.raises(InputError) as caught:
            service.transition(
                session,
                US_DESK,
                request_id,
                "issue_order",
                {"delivery_date": "ASAP", "certified": False},
                4,
                today=TODAY,
            )
        assert "fields.delivery_date" in str(caught.value) and "not a date" in str(caught.value)
    with transaction(sessions) as session:
        with pytest.raises(InputError) as caught:
            service.transition(session, US_DESK, request_id, "issue_order", {"certified": False}, 4, today=TODAY)
        assert "fields.certified" in str(caught.value) and "fields.authorized_signer" in str(caught.value)
    with transaction(sessions) as session:
        advance(session, request_id, TO_ORDER[3:])
    with transaction(sessions) as session, pytest.raises(AccessDenied, match="industry user of the supplier firm"):
        service.transition(session, US_OTHER_INDUSTRY, request_id, "accept", {}, 5, today=TODAY)
    with transaction(sessions) as session, pytest.raises(InputError, match="earliest_date"):
        service.transition(session, US_GE_INDUSTRY, request_id, "reject", {"reason": "no capacity"}, 5, today=TODAY)
    with transaction(sessions) as session:
        request = session.get_one(PriorityRequest, request_id)
        assert (request.state, request.version) == ("RATED_ORDER_ISSUED", 5)
        assert len(transitions(session, request_id)) == 4
        assert len(audited(session, "sosa.transition", "deny")) == 6


def test_a_stale_version_is_a_conflict(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    request_id = new_request(sessions)
    with transaction(sessions) as session:
        service.transition(session, IN_DESK, request_id, "submit", {}, 1, today=TODAY)
    with (
        transaction(sessions) as session,
        pytest.raises(RequestConflict, match="changed by someone else since you loaded it"),
    ):
        service.transition(session, IN_DESK, request_id, "withdraw", {}, 1, today=TODAY)
    with transaction(sessions) as session:
        request = session.get_one(PriorityRequest, request_id)
        assert (request.state, request.version) == ("SUBMITTED", 2)


def test_edit_a_draft_then_escalate_and_resolve(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    request_id = new_request(sessions)
    with transaction(sessions) as session:
        edited = service.update_draft(session, IN_DESK, request_id, {"quantity": 60.0, "rating": "DX"}, 1)
        assert (edited.quantity, edited.rating, edited.version) == (60.0, "DX", 2)
    with transaction(sessions) as session, pytest.raises(AccessDenied):
        service.update_draft(session, US_DESK, request_id, {"quantity": 1.0}, 2)
    with transaction(sessions) as session, pytest.raises(InputError, match="quantity: expected a number"):
        service.update_draft(session, IN_DESK, request_id, {"quantity": "many"}, 2)
    with transaction(sessions) as session:
        advance(session, request_id, TO_ORDER[:2])
    with transaction(sessions) as session, pytest.raises(WorkflowError, match="only a draft can be edited"):
        service.update_draft(session, IN_DESK, request_id, {"quantity": 1.0}, 4)
    with transaction(sessions) as session:
        advance(session, request_id, [(IN_DESK, "escalate", {"reason": "no answer for weeks"})])
        request = session.get_one(PriorityRequest, request_id)
        assert (request.state, request.escalated_from, request.reason) == (
            "ESCALATED",
            "UNDER_DETERMINATION",
            "no answer for weeks",
        )
        assert (
            service.actions_for(session, US_DESK, request) == ["resolve"]
            and service.actions_for(session, IN_DESK, request) == []
        )
        advance(session, request_id, [(US_DESK, "resolve", {"note": "program confirmed"})])
        assert (request.state, request.escalated_from) == ("UNDER_DETERMINATION", "")
        assert service.actions_for(session, US_DESK, request) == ["authorize", "decline"]


def test_withdraw_and_decline_are_final(sessions: sessionmaker[Session], world: dict[str, int]) -> None:
    withdrawn = new_request(sessions)
    declined = new_request(sessions)
    with transaction(sessions) as session:
        advance(session, withdrawn, [(IN_DESK, "submit", {}), (IN_ADMIN, "withdraw", {})])
        advance(
            session,
            declined,
            [(IN_DESK, "submit", {}), (US_DESK, "begin_determination", {}), (US_DESK, "decline", {"reason": "n/a"})],
        )
    for request_id, version in ((withdrawn, 3), (declined, 4)):
        with transaction(sessions) as session, pytest.raises(WorkflowError, match=r"nothing \(it is final\)"):
            service.transition(session, IN_DESK, request_id, "escalate", {"reason": "x"}, version)


def test_a_rejection_taken_up_puts_the_order_back_with_a_fresh_deadline(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    request_id = new_request(sessions, rating="DX")
    with transaction(sessions) as session:
        advance(session, request_id, TO_ORDER)
        first_due = session.get_one(PriorityRequest, request_id).response_due
        advance(session, request_id, [(US_DESK, "reject", {"reason": "line full", "earliest_date": "2026-12-01"})])
        # Special priorities assistance (15 CFR 700.50): the requester escalates the rejection.
        advance(session, request_id, [(IN_DESK, "escalate", {"reason": "the date conflicts with no earlier order"})])
        request = session.get_one(PriorityRequest, request_id)
        assert (request.state, request.escalated_from) == ("ESCALATED", "REJECTED")
        version = request.version
        resolved = service.transition(session, US_DESK, request_id, "resolve", {}, version, today=date(2025, 10, 20))
        assert resolved.state == "RATED_ORDER_ISSUED" and resolved.received_on == date(2025, 10, 20)
        assert resolved.response_due is not None and first_due is not None and resolved.response_due > first_due
        assert transitions(session, request_id)[-3:] == [
            ("RATED_ORDER_ISSUED", "REJECTED"),
            ("REJECTED", "ESCALATED"),
            ("ESCALATED", "RATED_ORDER_ISSUED"),
        ]
        assert {"accept", "reject"} <= set(service.actions_for(session, US_DESK, resolved))


def test_actor_names_name_only_the_users_the_reader_may_read(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """A user's record is released to the user's party: the other party learns only which party acted."""
    with transaction(sessions) as session:
        made = create_users(session, {"asha": IN_DESK, "sam": US_DESK})
        actors = {name: principal_of(user) for name, user in made.items()}
        request_id = service.create_request(session, actors["asha"], "US", DRAFT).id
    with transaction(sessions) as session:
        advance(session, request_id, [(actors["asha"], "submit", {}), (actors["sam"], "begin_determination", {})])
    with transaction(sessions) as session:
        events = service.request_history(session, US_ANALYST, request_id)
        ids = [event.actor_id for event in events]
        assert service.actor_names(session, US_ANALYST, events) == {
            ids[0]: "a user of IN",
            ids[1]: "sam (desk_officer)",
        }
        assert service.actor_names(session, IN_ANALYST, events) == {
            ids[0]: "asha (desk_officer)",
            ids[1]: "a user of US",
        }
        assert service.actor_names(session, IN_ANALYST, []) == {}


def test_who_may_draft_and_keep_a_calendar() -> None:
    """The rules the pages ask before offering a form are the ones the writes enforce."""
    assert [service.may_draft(p) for p in (IN_DESK, IN_ADMIN, IN_ANALYST, US_GE_INDUSTRY)] == [True, True, False, False]
    assert service.may_keep_calendar(US_ADMIN, "US") and not service.may_keep_calendar(US_ADMIN, "IN")
    assert not service.may_keep_calendar(US_DESK, "US")
