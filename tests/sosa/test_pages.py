"""The request pages on both databases: board, draft form, per-user action forms, refusals, markings, calendar."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, create_users, csrf_of, make_api, sign_in
from principals import IN_DESK, IN_ONLY, US_ADMIN, US_DESK, US_GE
from setu.audit.log import integrate
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.models.sosa import CalendarEntry, PriorityRequest, RequestEvent
from setu.sosa import service
from sosa.world import DRAFT, build

DESKS = {"in-desk": IN_DESK, "us-desk": US_DESK, "us-admin": US_ADMIN}
"""The desk officers and the admin the request pages add to the users of every page test (clients.USERS)."""
FUTURE = (date.today() + timedelta(days=200)).isoformat()


@pytest.fixture
def site(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[tuple[Api, dict[str, int]]]:
    """The app on the request world (a tiny network, scenarios, GE's sites) with desk officers and an admin."""
    world: dict[str, int] = {}

    def prepare(session: Session) -> None:
        world.update(build(session))
        create_users(session, DESKS)

    yield from ((api, world) for api in make_api(engine, sessions, TEST_SETTINGS, prepare))


def _draft(sessions: sessionmaker[Session], **changes: Any) -> int:
    values = {**DRAFT, "delivery_date": date.fromisoformat(FUTURE), **changes}
    marking = values.pop("marking", None)
    with transaction(sessions) as session:
        return service.create_request(session, IN_DESK, "US", values, marking=marking).id


def _version(sessions: sessionmaker[Session], request_id: int) -> int:
    with sessions() as session:
        found = session.get(PriorityRequest, request_id)
        assert found is not None
        return found.version


def _act(api: Api, request_id: int, action: str, **fields: str) -> Any:
    page = api.client.get(f"/sosa/{request_id}")
    data = {"csrf": csrf_of(page.text), "action": action, "version": str(_version(api.sessions, request_id)), **fields}
    return api.client.post(f"/sosa/{request_id}/act", data=data, follow_redirects=False)


def _actions_on(html: str) -> set[str]:
    return set(re.findall(r'data-testid="action-(\w+)"', html))


def _count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_board_lists_dx_first_with_filters_and_overdue_flag(site: tuple[Api, dict[str, int]]) -> None:
    api, _ = site
    do_id = _draft(api.sessions, title="Plain DO request")
    dx_id = _draft(api.sessions, title="Urgent DX request", rating="DX", program_symbol="A7")
    with transaction(api.sessions) as session:
        # An issued order whose response was due long ago: overdue today.
        request = session.get(PriorityRequest, do_id)
        assert request is not None
        request.state, request.response_due = "RATED_ORDER_ISSUED", date(2020, 1, 2)
    sign_in(api.client, "in-desk")
    board = api.client.get("/sosa")
    assert board.status_code == 200
    html = board.text
    assert html.index("Urgent DX request") < html.index("Plain DO request")  # DX outranks DO
    assert "DX-A7" in html and "DO-A1" in html and "IN <span" in html
    assert 'href="/sosa/new"' in html and "Requests 1 to 2 of 2" in html
    row = re.search(r"<tr class=\"overdue\">(.*?)</tr>", html, re.S)
    assert row is not None and "Plain DO request" in row.group(1) and "Overdue" in row.group(1)
    assert html.count(">Overdue</strong>") == 1
    overdue_only = api.client.get("/sosa?overdue=on").text
    assert "Plain DO request" in overdue_only and "Urgent DX request" not in overdue_only
    by_rating = api.client.get("/sosa?rating=DX").text
    assert "Urgent DX request" in by_rating and "Plain DO request" not in by_rating
    by_text = api.client.get("/sosa?q=urgent").text
    assert "Requests 1 to 1 of 1" in by_text
    assert api.client.get("/sosa?state=BOGUS").status_code == 422
    # An analyst reads the board but may not file.
    sign_in(api.client, "in-analyst")
    assert 'href="/sosa/new"' not in api.client.get("/sosa").text
    assert api.client.get("/sosa/new").status_code == 403
    assert f'href="/sosa/{dx_id}"' in api.client.get("/sosa").text


def test_the_draft_form_stores_a_draft_and_refuses_bad_input_per_field(site: tuple[Api, dict[str, int]]) -> None:
    api, world = site
    sign_in(api.client, "in-desk")
    form = api.client.get(f"/sosa/new?network={world['network']}")
    assert form.status_code == 200
    html = form.text
    # Suggestions come from what the user may see: the India-only forge is offered to India only.
    assert '<option value="FORGE">' in html and '<option value="BLADE">' in html
    assert "GE Aerospace" in html and "Lynn" in html and "blade-out" in html
    assert 'type="date"' in html and "15 CFR part 700" in html
    token = csrf_of(html)
    before = _count(api.sessions, PriorityRequest)
    bad = api.client.post(
        "/sosa",
        data={
            "csrf": token,
            "supplier_party": "US",
            "title": "x",
            "quantity": "lots",
            "delivery_date": "asap",
            "network_id": str(world["network"]),
        },
    )
    assert bad.status_code == 422
    assert "expected a number, got &#39;lots&#39;" in bad.text and "expected a date YYYY-MM-DD" in bad.text
    assert 'id="quantity-error"' in bad.text and 'aria-invalid="true"' in bad.text
    assert 'value="x"' in bad.text  # what was entered is shown again
    own = api.client.post("/sosa", data={"csrf": token, "supplier_party": "IN", "title": "own"})
    assert own.status_code == 422 and "is your own party" in own.text
    forged = api.client.post("/sosa", data={"csrf": "0" * 64, "supplier_party": "US", "title": "t"})
    assert forged.status_code == 403
    assert _count(api.sessions, PriorityRequest) == before
    good = api.client.post(
        "/sosa",
        data={
            "csrf": token,
            "title": "Blades for the engine line",
            "supplier_party": "US",
            "rating": "DX",
            "program_symbol": "a1",
            "network_id": str(world["network"]),
            "item_node_id": "BLADE",
            "supplier_organization_id": str(US_GE),
            "supplier_site": "Lynn",
            "scenario_pk": str(world["scenario"]),
            "quantity": "40",
            "unit": "sets",
            "delivery_date": FUTURE,
            "justification": "Line stops without them.",
        },
        follow_redirects=False,
    )
    assert good.status_code == 303, good.text
    request_id = int(good.headers["location"].split("/")[2].split("?")[0])
    detail = api.client.get(good.headers["location"]).text
    assert "Draft saved" in detail and "DX-A1" in detail and "GE Aerospace" in detail
    assert f'href="/networks/{world["network"]}/nodes/BLADE"' in detail and "blade-out" in detail
    assert _actions_on(detail) == {"submit", "withdraw"}
    with api.sessions() as session:
        stored = session.get(PriorityRequest, request_id)
        assert stored is not None and (stored.state, stored.quantity, stored.supplier_site) == ("DRAFT", 40.0, "Lynn")
    # A hidden node is answered as a missing one, on its field; nothing stored.
    sign_in(api.client, "us-admin")
    token = csrf_of(api.client.get("/sosa/new").text)
    hidden = api.client.post(
        "/sosa",
        data={"csrf": token, "supplier_party": "IN", "network_id": str(world["network"]), "item_node_id": "FORGE"},
    )
    missing = api.client.post(
        "/sosa",
        data={"csrf": token, "supplier_party": "IN", "network_id": str(world["network"]), "item_node_id": "NOPE"},
    )
    assert hidden.status_code == missing.status_code == 422
    assert 'id="item_node_id-error"' in hidden.text
    assert "FORGE" not in api.client.get(f"/sosa/new?network={world['network']}").text
    assert _count(api.sessions, PriorityRequest) == before + 1


def test_each_action_form_only_for_the_right_user_and_forgeries_refused(site: tuple[Api, dict[str, int]]) -> None:
    api, _ = site
    request_id = _draft(api.sessions, rating="DX", authorized_signer="J. Smith")
    offered = {}
    for user in ("in-desk", "us-desk", "us-industry", "in-analyst", "auditor"):
        sign_in(api.client, user)
        offered[user] = _actions_on(api.client.get(f"/sosa/{request_id}").text)
    assert offered == {
        "in-desk": {"submit", "withdraw"},
        "us-desk": set(),
        "us-industry": set(),
        "in-analyst": set(),
        "auditor": set(),
    }
    # The other party's officer forging the requesting side's action: refused, audited, nothing changed.
    sign_in(api.client, "us-desk")
    forged = _act(api, request_id, "submit")
    assert forged.status_code == 403 and "desk officer or admin of the requesting party" in forged.text
    sign_in(api.client, "in-desk")
    bad_token = api.client.post(f"/sosa/{request_id}/act", data={"csrf": "bad", "action": "submit", "version": "1"})
    assert bad_token.status_code == 403
    assert _act(api, request_id, "submit").status_code == 303
    sign_in(api.client, "us-desk")
    page = api.client.get(f"/sosa/{request_id}").text
    assert _actions_on(page) == {"begin_determination"}
    assert _act(api, request_id, "begin_determination").status_code == 303
    page = api.client.get(f"/sosa/{request_id}").text
    assert _actions_on(page) == {"authorize", "decline"}
    decline = re.search(r'data-testid="action-decline".*?</form>', page, re.S)
    assert (
        decline is not None and 'name="reason"' in decline.group(0) and 'name="earliest_date"' not in decline.group(0)
    )
    empty = _act(api, request_id, "decline")
    assert empty.status_code == 422 and "decline needs a reason" in empty.text
    assert _act(api, request_id, "authorize").status_code == 303
    page = api.client.get(f"/sosa/{request_id}").text
    issue = re.search(r'data-testid="action-issue_order".*?</form>', page, re.S)
    assert issue is not None
    assert {"rating", "program_symbol", "delivery_date", "authorized_signer", "certified"} <= set(
        re.findall(r'name="(\w+)"', issue.group(0))
    )
    uncertified = _act(api, request_id, "issue_order", delivery_date=FUTURE, authorized_signer="J. Smith")
    assert uncertified.status_code == 422 and "certification statement" in uncertified.text
    assert _act(api, request_id, "issue_order", certified="on", delivery_date=FUTURE).status_code == 303
    # Now the firm may answer; the reject form asks for exactly a reason and an earliest date (and a note).
    sign_in(api.client, "us-industry")
    page = api.client.get(f"/sosa/{request_id}").text
    assert _actions_on(page) == {"accept", "reject"}
    reject = re.search(r'data-testid="action-reject".*?</form>', page, re.S)
    assert reject is not None
    assert set(re.findall(r'name="(\w+)"', reject.group(0))) == {
        "csrf",
        "action",
        "version",
        "reason",
        "earliest_date",
        "note",
    }
    assert "Accept or reject by" in page and "working days left on US" in page
    sign_in(api.client, "in-desk")
    page = api.client.get(f"/sosa/{request_id}").text
    assert _actions_on(page) == {"escalate"}
    refused = _act(api, request_id, "reject", reason="no", earliest_date=FUTURE)
    assert refused.status_code == 403
    with api.sessions() as session:
        stored = session.get(PriorityRequest, request_id)
        assert stored is not None and stored.state == "RATED_ORDER_ISSUED"
        integrate(session)  # sequence what is pending, as every reader of the log does
        denials = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "sosa.transition", AuditEntry.decision == "deny")
        ).all()
        assert len(denials) == 2
    sign_in(api.client, "us-industry")
    assert _act(api, request_id, "reject", reason="furnace down", earliest_date=FUTURE).status_code == 303
    page = api.client.get(f"/sosa/{request_id}").text
    assert "furnace down" in page and _actions_on(page) == set()
    history = re.search(r'data-testid="history".*?</table>', page, re.S)
    assert history is not None
    for state in ("SUBMITTED", "UNDER_DETERMINATION", "AUTHORIZED", "RATED_ORDER_ISSUED", "REJECTED"):
        assert f"<td>{state}</td>" in history.group(0)
    # The firm's user reads its own record; India's officer is only "a user of IN" to it (see the test below).
    assert "IN · a user of IN" in history.group(0) and "us-industry (industry)" in history.group(0)
    assert "in-desk" not in history.group(0)


def test_a_stale_version_shows_the_conflict_message(site: tuple[Api, dict[str, int]]) -> None:
    api, _ = site
    request_id = _draft(api.sessions)
    sign_in(api.client, "in-desk")
    page = api.client.get(f"/sosa/{request_id}").text
    token, version = csrf_of(page), re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    # Someone else changes it after the page was loaded.
    with transaction(api.sessions) as session:
        service.update_draft(session, IN_DESK, request_id, {"quantity": 7.0}, int(version.group(1)))
    stale = api.client.post(
        f"/sosa/{request_id}/act", data={"csrf": token, "action": "submit", "version": version.group(1)}
    )
    assert stale.status_code == 409
    assert "was changed by someone else since you loaded it" in stale.text and "reload it and try again" in stale.text
    assert _count(api.sessions, RequestEvent) == 0


def test_a_national_only_request_does_not_exist_for_the_other_party(site: tuple[Api, dict[str, int]]) -> None:
    api, _ = site
    secret = _draft(api.sessions, title="Agni secret forgings", marking=IN_ONLY)
    shared = _draft(api.sessions, title="Shared blades")
    sign_in(api.client, "in-desk")
    assert "Agni secret forgings" in api.client.get("/sosa").text
    sign_in(api.client, "us-desk")
    board = api.client.get("/sosa").text
    assert "Agni" not in board and "Shared blades" in board and "Requests 1 to 1 of 1" in board
    assert "Agni" not in api.client.get("/sosa?q=agni").text
    hidden, missing = api.client.get(f"/sosa/{secret}"), api.client.get("/sosa/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text
    token = csrf_of(api.client.get(f"/sosa/{shared}").text)
    acted = api.client.post(f"/sosa/{secret}/act", data={"csrf": token, "action": "withdraw", "version": "1"})
    assert acted.status_code == 404 and "Agni" not in acted.text
    # Its history stays hidden with it.
    with transaction(api.sessions) as session:
        service.transition(session, IN_DESK, secret, "withdraw", {"note": "Agni line"}, 1)
    assert api.client.get(f"/sosa/{secret}").status_code == 404
    with api.sessions() as session, pytest.raises(service.NotFound):
        service.request_history(session, US_DESK, secret)


def test_the_calendar_page_and_its_admin_entries(site: tuple[Api, dict[str, int]]) -> None:
    api, _ = site
    sign_in(api.client, "us-desk")
    page = api.client.get("/sosa/calendar/US?year=2025")
    assert page.status_code == 200
    assert "Thanksgiving" in page.text and "2025-11-27" in page.text and "Add the day" not in page.text
    assert api.client.get("/sosa/calendar/ZZ").status_code == 404
    token = csrf_of(page.text)
    refused = api.client.post("/sosa/calendar/US", data={"csrf": token, "day": "2025-12-24", "name": "Eve"})
    assert refused.status_code == 403 and _count(api.sessions, CalendarEntry) == 0
    sign_in(api.client, "us-admin")
    page = api.client.get("/sosa/calendar/US?year=2025")
    assert "Add the day" in page.text
    token = csrf_of(page.text)
    added = api.client.post(
        "/sosa/calendar/US",
        data={"csrf": token, "day": "2025-12-24", "name": "Christmas Eve closure"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = api.client.get(added.headers["location"]).text
    assert "Christmas Eve closure" in page and "closed" in page
    again = api.client.post("/sosa/calendar/US", data={"csrf": token, "day": "2025-12-24"})
    assert again.status_code == 422 and "already has a calendar entry" in again.text
    assert api.client.post("/sosa/calendar/US", data={"csrf": "x", "day": "2025-12-26"}).status_code == 403
    # India's officers see the entry (their deadlines depend on it) but may not remove it.
    with api.sessions() as session:
        entry_id = session.scalars(select(CalendarEntry.id)).one()
    sign_in(api.client, "in-desk")
    india = api.client.get("/sosa/calendar/US?year=2025").text
    assert "Christmas Eve closure" in india and "/remove" not in india
    token = csrf_of(india)
    assert api.client.post(f"/sosa/calendar/US/{entry_id}/remove", data={"csrf": token}).status_code == 403
    sign_in(api.client, "us-admin")
    token = csrf_of(api.client.get("/sosa/calendar/US").text)
    removed = api.client.post(f"/sosa/calendar/US/{entry_id}/remove", data={"csrf": token}, follow_redirects=False)
    assert removed.status_code == 303 and _count(api.sessions, CalendarEntry) == 0


def test_the_history_names_no_user_the_reader_may_not_read(site: tuple[Api, dict[str, int]]) -> None:
    """The attacker's side: a U.S. officer opens the history of a shared request an Indian officer acted on.

    A user's record is released to their own party only, so the other party sees the party that acted
    and nothing of the person: neither the name, nor the username, nor the roles.
    """
    api, _ = site
    with transaction(api.sessions) as session:
        create_users(session, {"in-officer": IN_DESK}, display_name="Asha Rao")
    request_id = _draft(api.sessions)
    sign_in(api.client, "in-officer")
    assert _act(api, request_id, "submit").status_code == 303
    sign_in(api.client, "us-desk")
    assert _act(api, request_id, "begin_determination").status_code == 303
    page = api.client.get(f"/sosa/{request_id}").text
    history = re.search(r'data-testid="history".*?</table>', page, re.S)
    assert history is not None
    assert "Asha Rao" not in page and "in-officer" not in page
    assert "IN · a user of IN" in history.group(0) and "US · us-desk (desk_officer)" in history.group(0)
    # The same on India's side: its officer's name, and only the party of the U.S. officer.
    sign_in(api.client, "in-desk")
    page = api.client.get(f"/sosa/{request_id}").text
    history = re.search(r'data-testid="history".*?</table>', page, re.S)
    assert history is not None
    assert "IN · Asha Rao (desk_officer)" in history.group(0)
    assert "us-desk" not in page and "US · a user of US" in history.group(0)


def test_the_pages_are_under_sosa_only(site: tuple[Api, dict[str, int]]) -> None:
    """Issue 9 renamed the pages /requests to /sosa: the old paths are not found; the menu still says Requests."""
    api, _ = site
    sign_in(api.client, "in-desk")
    board = api.client.get("/sosa")
    assert board.status_code == 200 and '<a href="/sosa" aria-current="page">Requests</a>' in board.text
    for path in ("/requests", "/requests/new", "/requests/calendar/US"):
        assert api.client.get(path).status_code == 404, path
