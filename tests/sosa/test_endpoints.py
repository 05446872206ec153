"""The request endpoints over HTTP: draft, act, conflicts, refusals, markings, history and calendars."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, create_users
from principals import IN_ANALYST, IN_DESK, US_ADMIN, US_DESK, US_GE, US_GE_INDUSTRY
from setu import accounts
from setu.api import create_app
from setu.db import transaction
from sosa.world import build

USERS = {
    "in-desk": IN_DESK,
    "in-analyst": IN_ANALYST,
    "us-desk": US_DESK,
    "us-admin": US_ADMIN,
    "us-firm": US_GE_INDUSTRY,
}
DRAFT = {
    "supplier_party": "US",
    "title": "Blades",
    "rating": "DX",
    "program_symbol": "A1",
    "quantity": 10,
    "delivery_date": "2030-06-30",
    "justification": "line stop",
    "supplier_organization_id": US_GE,
}


class Client:
    def __init__(self, client: TestClient, tokens: dict[str, str], world: dict[str, int]) -> None:
        self.client, self.tokens, self.world = client, tokens, world

    def call(self, method: str, user: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.client.request(method, f"/api/v1{url}", headers=headers, **kwargs)

    def act(self, user: str, request_id: int, action: str, version: int, **fields: Any) -> httpx.Response:
        body = {"action": action, "fields": fields, "version": version}
        return self.call("POST", user, f"/sosa/{request_id}/transitions", json=body)


@pytest.fixture
def api(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Client]:
    tokens: dict[str, str] = {}
    with transaction(sessions) as session:
        world = build(session)
        for name, user in create_users(session, USERS).items():
            tokens[name] = accounts.issue_token(session, user, "api")
    with TestClient(create_app(engine, settings=TEST_SETTINGS)) as client:
        yield Client(client, tokens, world)


def test_a_request_over_http(api: Client) -> None:
    created = api.call("POST", "in-desk", "/sosa", json=DRAFT)
    assert created.status_code == 201, created.text
    body = created.json()
    rid, version = body["id"], body["version"]
    assert body["state"] == "DRAFT" and body["actions"] == ["submit", "withdraw"]
    assert body["marking"]["releases"] == ["IN", "US"]
    patched = api.call("PATCH", "in-desk", f"/sosa/{rid}", json={"quantity": 12, "version": version})
    assert patched.status_code == 200 and patched.json()["quantity"] == 12
    version = patched.json()["version"]
    steps = [
        ("in-desk", "submit", {}),
        ("us-desk", "begin_determination", {}),
        ("us-admin", "authorize", {}),
        ("us-desk", "issue_order", {"authorized_signer": "J. Smith", "certified": True}),
    ]
    for user, action, fields in steps:
        answer = api.act(user, rid, action, version, **fields)
        assert answer.status_code == 200, answer.text
        version = answer.json()["version"]
    issued = answer.json()
    assert issued["state"] == "RATED_ORDER_ISSUED" and issued["response_due"] is not None
    assert api.call("GET", "us-firm", f"/sosa/{rid}").json()["actions"] == ["accept", "reject"]
    # Two users answer with the same version: the second is told it changed.
    assert api.act("us-firm", rid, "accept", version).status_code == 200
    stale = api.act("us-desk", rid, "reject", version, reason="no", earliest_date="2031-01-01")
    assert stale.status_code == 409 and "changed by someone else since you loaded it" in stale.json()["detail"]
    history = api.call("GET", "in-analyst", f"/sosa/{rid}/history").json()
    assert [e["to_state"] for e in history["items"]][-1] == "ACCEPTED" and history["total"] == 5
    listed = api.call("GET", "in-analyst", "/sosa", params={"state": "ACCEPTED", "rating": "DX"}).json()
    assert [r["id"] for r in listed["items"]] == [rid]
    assert api.call("GET", "in-analyst", "/sosa", params={"overdue": True}).json()["total"] == 0


def test_refusals_over_http(api: Client) -> None:
    assert api.call("POST", "in-analyst", "/sosa", json=DRAFT).status_code == 403
    rid = api.call("POST", "in-desk", "/sosa", json=DRAFT).json()["id"]
    wrong_state = api.act("in-desk", rid, "accept", 1)
    assert wrong_state.status_code == 409
    assert wrong_state.json()["detail"] == "cannot accept a request in state DRAFT; that state allows: submit, withdraw"
    wrong_party = api.act("us-desk", rid, "submit", 1)
    assert wrong_party.status_code == 403 and "requesting party" in wrong_party.json()["detail"]
    unknown = api.call("POST", "in-desk", f"/sosa/{rid}/transitions", json={"action": "ship", "version": 1})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["where"] == "body.action"
    asap = api.call("POST", "in-desk", "/sosa", json={**DRAFT, "delivery_date": "as soon as possible"})
    assert asap.status_code == 422 and "not a date" in asap.json()["problems"][0]["message"]
    for user, action, fields in (("in-desk", "submit", {}), ("us-desk", "begin_determination", {})):
        version = api.call("GET", user, f"/sosa/{rid}").json()["version"]
        assert api.act(user, rid, action, version, **fields).status_code == 200
    missing = api.act("us-desk", rid, "decline", 3)
    assert missing.status_code == 422
    assert missing.json()["problems"] == [{"where": "fields.reason", "message": "decline needs a reason"}]


def test_hidden_requests_and_links_over_http(api: Client) -> None:
    national = {**DRAFT, "marking": {"classification": "RESTRICTED", "releases": ["IN"], "national_only": True}}
    hidden = api.call("POST", "in-desk", "/sosa", json=national)
    assert hidden.status_code == 201, hidden.text
    rid = hidden.json()["id"]
    for url in (f"/sosa/{rid}", f"/sosa/{rid}/history"):
        seen = api.call("GET", "us-desk", url)
        absent = api.call("GET", "us-desk", url.replace(str(rid), "999999"))
        assert seen.status_code == absent.status_code == 404
        assert seen.json()["detail"].replace(str(rid), "X") == absent.json()["detail"].replace("999999", "X")
    assert api.call("GET", "us-desk", "/sosa").json()["total"] == 0
    assert api.act("us-desk", rid, "begin_determination", 1).status_code == 404
    forge = {**DRAFT, "supplier_party": "IN", "supplier_organization_id": 2}
    forge |= {"network_id": api.world["network"], "item_node_id": "FORGE"}
    refused = api.call("POST", "us-desk", "/sosa", json=forge)
    assert refused.status_code == 404 and refused.json()["detail"] == "no such node: 'FORGE'"


def test_calendar_over_http(api: Client) -> None:
    added = api.call("POST", "us-admin", "/sosa/calendar/US", json={"day": "2025-12-24", "name": "Closed"})
    assert added.status_code == 201, added.text
    assert api.call("POST", "us-desk", "/sosa/calendar/US", json={"day": "2025-12-26"}).status_code == 403
    assert api.call("POST", "us-admin", "/sosa/calendar/IN", json={"day": "2025-12-26"}).status_code == 403
    twice = api.call("POST", "us-admin", "/sosa/calendar/US", json={"day": "2025-12-24"})
    assert twice.status_code == 422
    calendar = api.call("GET", "in-analyst", "/sosa/calendar/US", params={"year": 2025}).json()
    assert calendar["country"] == "US" and {"day": "2025-11-27", "name": "Thanksgiving Day"} in calendar["holidays"]
    assert [e["day"] for e in calendar["entries"]] == ["2025-12-24"]
    india = api.call("GET", "us-desk", "/sosa/calendar/IN", params={"year": 2025}).json()
    assert {"day": "2025-10-20", "name": "Diwali"} in india["holidays"]
    entry = calendar["entries"][0]["id"]
    assert api.call("DELETE", "us-admin", f"/sosa/calendar/US/{entry}").status_code == 204
    assert api.call("GET", "us-desk", "/sosa/calendar/US", params={"year": 2025}).json()["entries"] == []


def test_the_history_names_no_user_the_reader_may_not_read(api: Client) -> None:
    """The attacker's side: the U.S. reads a shared request's history; India's officer stays a party and an id."""
    rid = api.call("POST", "in-desk", "/sosa", json=DRAFT).json()["id"]
    assert api.act("in-desk", rid, "submit", 1).status_code == 200
    history = api.call("GET", "us-desk", f"/sosa/{rid}/history")
    assert history.status_code == 200
    assert [(e["actor_party"], e["to_state"]) for e in history.json()["items"]] == [("IN", "SUBMITTED")]
    assert "in-desk" not in history.text and "desk_officer" not in history.text
    one = api.call("GET", "us-desk", f"/sosa/{rid}")
    assert one.status_code == 200 and "in-desk" not in one.text


def test_the_api_is_under_sosa_only(api: Client) -> None:
    """Issue 9 renamed /api/v1/requests to /api/v1/sosa: the old prefix answers 404."""
    assert api.call("GET", "in-analyst", "/sosa").status_code == 200
    assert api.call("GET", "in-analyst", "/requests").status_code == 404
    assert api.call("GET", "in-analyst", "/requests/calendar/US").status_code == 404
