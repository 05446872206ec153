"""The workflow table: every (state, action, role, party) combination is allowed or refused as the rules say."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from principals import IN_HAL, IN_MOD, US_DOD, US_GE, US_OTHER
from setu.errors import AccessDenied, InputError
from setu.models.sosa import REQUEST_STATES
from setu.sosa.workflow import (
    ACTIONS,
    TRANSITIONS,
    Actor,
    Parties,
    WorkflowError,
    check,
    parse_fields,
    required_problems,
    target_of,
)

PARTIES = Parties(requesting="IN", supplier="US", supplier_org_id=US_GE)
ACTORS = {
    "in-desk": Actor("IN", IN_MOD, frozenset({"desk_officer"})),
    "in-admin": Actor("IN", IN_MOD, frozenset({"admin"})),
    "in-analyst": Actor("IN", IN_MOD, frozenset({"analyst"})),
    "in-firm": Actor("IN", IN_HAL, frozenset({"industry"})),
    "us-desk": Actor("US", US_DOD, frozenset({"desk_officer"})),
    "us-admin": Actor("US", US_DOD, frozenset({"admin"})),
    "us-analyst": Actor("US", US_DOD, frozenset({"analyst", "auditor"})),
    "us-firm": Actor("US", US_GE, frozenset({"industry"})),
    "us-other-firm": Actor("US", US_OTHER, frozenset({"industry"})),
    "us-firm-analyst": Actor("US", US_GE, frozenset({"analyst"})),
}
REQUESTER = {"in-desk", "in-admin"}
SUPPLIER_GOV = {"us-desk", "us-admin"}
SUPPLIER = SUPPLIER_GOV | {"us-firm"}
OPEN = (
    "SUBMITTED",
    "UNDER_DETERMINATION",
    "AUTHORIZED",
    "RATED_ORDER_ISSUED",
    "ACCEPTED",
    "IN_PERFORMANCE",
    "DELAYED",
)
# The oracle, written out independently of the module's table: (state, action) -> (target, who may).
ALLOWED: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("DRAFT", "submit"): ("SUBMITTED", REQUESTER),
    ("DRAFT", "withdraw"): ("WITHDRAWN", REQUESTER),
    ("SUBMITTED", "withdraw"): ("WITHDRAWN", REQUESTER),
    ("SUBMITTED", "begin_determination"): ("UNDER_DETERMINATION", SUPPLIER_GOV),
    ("UNDER_DETERMINATION", "authorize"): ("AUTHORIZED", SUPPLIER_GOV),
    ("UNDER_DETERMINATION", "decline"): ("DECLINED", SUPPLIER_GOV),
    ("AUTHORIZED", "issue_order"): ("RATED_ORDER_ISSUED", SUPPLIER_GOV),
    ("RATED_ORDER_ISSUED", "accept"): ("ACCEPTED", SUPPLIER),
    ("RATED_ORDER_ISSUED", "reject"): ("REJECTED", SUPPLIER),
    ("ACCEPTED", "start_performance"): ("IN_PERFORMANCE", SUPPLIER),
    ("IN_PERFORMANCE", "report_delay"): ("DELAYED", SUPPLIER),
    ("DELAYED", "confirm_delay"): ("IN_PERFORMANCE", SUPPLIER),
    ("IN_PERFORMANCE", "deliver"): ("DELIVERED", SUPPLIER),
    ("DELAYED", "deliver"): ("DELIVERED", SUPPLIER),
    **{(state, "escalate"): ("ESCALATED", REQUESTER) for state in OPEN},
    # A rejection is taken up by special priorities assistance (15 CFR 700.50).
    ("REJECTED", "escalate"): ("ESCALATED", REQUESTER),
    ("ESCALATED", "resolve"): ("<back>", SUPPLIER_GOV),
}


def test_the_oracle_covers_every_action() -> None:
    assert {action for _, action in ALLOWED} == set(ACTIONS)
    assert set(TRANSITIONS) == set(ACTIONS)


@pytest.mark.parametrize(("state", "action"), list(itertools.product(REQUEST_STATES, ACTIONS)))
def test_every_state_action_role_and_party(state: str, action: str) -> None:
    for name, actor in ACTORS.items():
        if (state, action) not in ALLOWED:
            with pytest.raises(WorkflowError, match=f"cannot {action} a request in state {state}; that state allows"):
                check(state, action, actor, PARTIES)
            continue
        target, who = ALLOWED[(state, action)]
        if name in who:
            transition = check(state, action, actor, PARTIES)
            expected = "AUTHORIZED" if target == "<back>" else target
            assert target_of(transition, "AUTHORIZED") == expected, (state, action, name)
        else:
            with pytest.raises(AccessDenied, match=f"{action} on a request in state {state} is for a desk officer"):
                check(state, action, actor, PARTIES)


def test_roles_swap_with_the_direction_of_the_request() -> None:
    # A U.S. request to India: the U.S. desk files, India's desk decides, HAL accepts.
    reverse = Parties(requesting="US", supplier="IN", supplier_org_id=IN_HAL)
    check("DRAFT", "submit", ACTORS["us-desk"], reverse)
    check("SUBMITTED", "begin_determination", ACTORS["in-desk"], reverse)
    check("RATED_ORDER_ISSUED", "accept", ACTORS["in-firm"], reverse)
    with pytest.raises(AccessDenied):
        check("RATED_ORDER_ISSUED", "accept", ACTORS["us-firm"], reverse)
    with pytest.raises(AccessDenied):
        check("DRAFT", "submit", ACTORS["in-desk"], reverse)


def test_no_firm_acts_before_the_order_names_one() -> None:
    unnamed = Parties("IN", "US", None)
    with pytest.raises(AccessDenied):
        check("RATED_ORDER_ISSUED", "accept", ACTORS["us-firm"], unnamed)
    check("RATED_ORDER_ISSUED", "accept", ACTORS["us-desk"], unnamed)


def test_resolve_returns_to_the_state_escalated_from() -> None:
    for state in OPEN:
        transition = check("ESCALATED", "resolve", ACTORS["us-desk"], PARTIES)
        assert target_of(transition, state) == state
    # A rejection taken up and resolved puts the rated order back before the firm.
    assert target_of(check("ESCALATED", "resolve", ACTORS["us-desk"], PARTIES), "REJECTED") == "RATED_ORDER_ISSUED"


def test_unknown_action_names_the_known_ones() -> None:
    with pytest.raises(InputError, match="unknown action 'ship'; expected one of submit, withdraw"):
        check("DRAFT", "ship", ACTORS["in-desk"], PARTIES)


TODAY = date(2025, 10, 1)
COMPLETE_ORDER = {
    "rating": "DX",
    "program_symbol": "A1",
    "delivery_date": date(2026, 3, 1),
    "authorized_signer": "R. Sharma",
    "certified": True,
    "supplier_organization_id": US_GE,
}


def problems_of(action: str, values: dict[str, object]) -> dict[str, str]:
    return {p.where: p.message for p in required_problems(TRANSITIONS[action], values, TODAY)}


def test_a_rated_order_needs_every_element_of_700_12() -> None:
    assert problems_of("issue_order", COMPLETE_ORDER) == {}
    found = problems_of("issue_order", {"rating": "", "certified": False})
    assert set(found) == {
        "fields.rating",
        "fields.program_symbol",
        "fields.delivery_date",
        "fields.authorized_signer",
        "fields.certified",
        "supplier_organization_id",
    }
    assert "700.12(d)" in found["fields.certified"]
    past = problems_of("issue_order", {**COMPLETE_ORDER, "delivery_date": TODAY})
    assert past == {"fields.delivery_date": "must be after 2025-10-01, got 2025-10-01"}


def test_as_soon_as_possible_is_not_a_date() -> None:
    with pytest.raises(InputError) as caught:
        parse_fields(TRANSITIONS["issue_order"], {"delivery_date": "as soon as possible"})
    assert "not a date" in str(caught.value) and "700.12(b)" in str(caught.value)
    assert parse_fields(TRANSITIONS["issue_order"], {"delivery_date": "2026-03-01"}) == {
        "delivery_date": date(2026, 3, 1)
    }


def test_fields_an_action_does_not_take_are_refused() -> None:
    with pytest.raises(InputError, match=r"fields\.rating: not accepted by accept; it takes: note"):
        parse_fields(TRANSITIONS["accept"], {"rating": "DX"})
    with pytest.raises(InputError, match=r"fields\.certified: expected true or false"):
        parse_fields(TRANSITIONS["issue_order"], {"certified": "yes"})
    with pytest.raises(InputError, match=r"fields\.rating: expected one of DO, DX"):
        parse_fields(TRANSITIONS["issue_order"], {"rating": "AA"})


def test_reject_and_delay_need_reason_and_date() -> None:
    assert set(problems_of("reject", {})) == {"fields.reason", "fields.earliest_date"}
    assert problems_of("reject", {"reason": "capacity", "earliest_date": date(2026, 1, 5)}) == {}
    assert set(problems_of("report_delay", {"reason": "strike"})) == {"fields.revised_date"}
    assert set(problems_of("report_delay", {"reason": "x", "revised_date": TODAY})) == {"fields.revised_date"}
    assert set(problems_of("decline", {})) == {"fields.reason"}
    assert set(problems_of("escalate", {"reason": " "})) == {"fields.reason"}


def test_submit_needs_a_complete_request() -> None:
    found = problems_of("submit", {"rating": "DO", "quantity": 0})
    assert set(found) == {"title", "justification", "quantity", "delivery_date"}
