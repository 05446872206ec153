"""Framework endpoints over HTTP: writes by role, markings on every item, hidden == missing, 409 on a stale version."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, create_users, make_api
from networks.world import audit_count
from principals import IN_ADMIN, IN_DESK, US_DESK, US_DOD
from setu.accounts.tokens import issue_token
from setu.db import transaction

API = "/api/v1/framework"
DESKS = {"in-desk": IN_DESK, "us-desk": US_DESK, "in-admin": IN_ADMIN}
"""A desk officer of each party and an Indian admin, added to the users of every API test."""
TODAY = date(2026, 3, 16)
JOINT: dict[str, Any] = {"classification": "RESTRICTED", "releases": ["IN", "US"]}
IN_ONLY: dict[str, Any] = {"classification": "RESTRICTED", "releases": ["IN"], "national_only": True}


@pytest.fixture
def api(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Api]:
    """The API fixtures' world, plus a desk officer of each party and an Indian admin."""
    for made in make_api(engine, sessions):
        with transaction(sessions) as session:
            for name, user in create_users(session, DESKS).items():
                made.tokens[name] = issue_token(session, user, "api")
        yield made


def _post(api: Api, user: str, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    answer = api.post(user, f"{API}/{path}", json=body)
    assert answer.status_code == status, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _structure(api: Api) -> dict[str, int]:
    pillar = _post(api, "in-desk", "pillars", {"code": "SUPPLY", "name": "Supply-chain integration", "marking": JOINT})
    dpg = _post(api, "in-desk", "bodies", {"name": "DPG", "kind": "policy_group", "marking": JOINT})
    group = _post(api, "us-desk", "bodies", {"name": "MCG", "parent_id": dpg["id"], "marking": JOINT})
    meeting = _post(api, "in-admin", "meetings", {"body_id": dpg["id"], "held_on": "2026-01-10", "marking": JOINT})
    decision = _post(api, "us-desk", "decisions", {"meeting_id": meeting["id"], "text": "Map it.", "marking": JOINT})
    return {"pillar": pillar["id"], "dpg": dpg["id"], "group": group["id"], "decision": decision["id"]}


def test_desk_officers_write_readers_read_and_items_carry_markings(api: Api) -> None:
    ids = _structure(api)
    action = _post(
        api,
        "us-desk",
        "actions",
        {
            "title": "Map Stryker",
            "due_on": "2026-03-01",
            "decision_id": ids["decision"],
            "pillar_id": ids["pillar"],
            "owner_organization_id": US_DOD,
            "marking": JOINT,
        },
    )
    assert (action["body_id"], action["body"], action["pillar"]) == (ids["dpg"], "DPG", "Supply-chain integration")
    assert action["owner"] == "Department of Defense" and action["version"] == 1
    assert action["marking"]["banner"] == "RESTRICTED // REL TO IN, US"
    page = api.get("in-analyst", f"{API}/actions", params={"today": TODAY.isoformat()}).json()
    assert page["total"] == 1 and page["banner"] == "RESTRICTED // REL TO IN, US"
    assert page["items"][0]["overdue"] is True and page["items"][0]["days_overdue"] == 15
    bodies = api.get("us-analyst", f"{API}/bodies", params={"parent_id": ids["dpg"]}).json()
    assert [b["name"] for b in bodies["items"]] == ["MCG"] and bodies["items"][0]["parent"] == "DPG"
    # Analysts and industry users read but do not write.
    refused = api.post("in-analyst", f"{API}/actions", json={"title": "x", "due_on": "2026-03-01"})
    assert refused.status_code == 403 and "desk_officer" in refused.json()["detail"]
    with api.sessions() as session:
        assert audit_count(session, "framework.action.create", "deny") == 1
        assert audit_count(session, "framework.action.create") == 1


def test_bad_input_is_422_naming_the_field(api: Api) -> None:
    answer = api.post("in-desk", f"{API}/actions", json={"title": "", "due_on": "soon", "status": "later"})
    assert answer.status_code == 422
    where = {p["where"] for p in answer.json()["problems"]}
    assert {"body.title", "body.due_on", "body.status"} <= where
    answer = api.post("in-desk", f"{API}/bodies", json={"name": "WG"})
    assert answer.status_code == 422
    assert answer.json()["problems"] == [
        {"where": "parent_id", "message": "a working group needs the body it reports to"}
    ]
    answer = api.post("in-desk", f"{API}/pillars", json={"code": "X", "name": "x", "marking": {"releases": ["FR"]}})
    assert answer.status_code == 422 and answer.json()["problems"][0]["where"] == "releases"
    marked_up = api.post(
        "in-desk", f"{API}/pillars", json={"code": "X", "name": "x", "marking": {"classification": "SECRET"}}
    )
    assert marked_up.status_code == 403


def test_a_national_only_item_is_missing_for_the_other_party(api: Api) -> None:
    ids = _structure(api)
    hidden = _post(
        api,
        "in-desk",
        "actions",
        {"title": "Raksha Mantri brief", "due_on": "2026-03-01", "pillar_id": ids["pillar"], "marking": IN_ONLY},
    )
    today = {"today": TODAY.isoformat()}
    assert api.get("us-analyst", f"{API}/actions").json()["total"] == 0
    assert api.get("us-analyst", f"{API}/actions/overdue", params=today).json()["total"] == 0
    assert api.get("in-analyst", f"{API}/actions/overdue", params=today).json()["total"] == 1
    one = api.get("us-analyst", f"{API}/actions/{hidden['id']}")
    none = api.get("us-analyst", f"{API}/actions/2000000")
    assert one.status_code == none.status_code == 404
    assert one.json()["detail"].replace(str(hidden["id"]), "N") == none.json()["detail"].replace("2000000", "N")
    patched = api.client.patch(
        f"{API}/actions/{hidden['id']}", headers=api.auth("us-desk"), json={"version": 1, "status": "done"}
    )
    assert patched.status_code == 404
    ics = api.get("us-analyst", f"{API}/actions.ics")
    assert ics.status_code == 200 and b"Raksha" not in ics.content
    posture = api.get("us-analyst", f"{API}/posture", params=today).json()
    assert [(p["code"], p["open"], p["overdue"]) for p in posture["items"]] == [("SUPPLY", 0, 0)]
    posture = api.get("in-analyst", f"{API}/posture", params=today).json()
    assert [(p["code"], p["open"], p["overdue"]) for p in posture["items"]] == [("SUPPLY", 1, 1)]
    assert posture["banner"] == "RESTRICTED // IN ONLY"


def test_a_stale_version_is_409_and_done_records_the_completion_date(api: Api) -> None:
    action = _post(api, "in-desk", "actions", {"title": "Report", "due_on": "2026-03-01", "marking": JOINT})
    url = f"{API}/actions/{action['id']}"
    first = api.client.patch(url, headers=api.auth("us-desk"), json={"version": 1, "status": "done"})
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2 and first.json()["completed_on"] is not None
    stale = api.client.patch(url, headers=api.auth("in-desk"), json={"version": 1, "status": "cancelled"})
    assert stale.status_code == 409
    assert "you sent version 1; it is now version 2" in stale.json()["detail"]
    assert api.get("in-analyst", url).json()["status"] == "done"
    reader = api.client.patch(url, headers=api.auth("in-analyst"), json={"version": 2, "status": "open"})
    assert reader.status_code == 403


def test_the_calendar_export_is_an_ics_file_with_marked_events(api: Api) -> None:
    ids = _structure(api)
    _post(api, "in-desk", "actions", {"title": "Report", "due_on": "2026-03-01", "owner": "DPG secretariat",
                                      "pillar_id": ids["pillar"], "marking": JOINT})  # fmt: skip
    answer = api.get("us-analyst", f"{API}/actions.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    assert answer.headers["x-setu-marking"] == "RESTRICTED // REL TO IN, US"
    (event,) = Calendar.from_ical(answer.content).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Report (DPG secretariat)"
    assert str(event["DESCRIPTION"]).startswith("RESTRICTED // REL TO IN, US\n")
    with api.sessions() as session:
        assert audit_count(session, "framework.actions.ics") == 1


def test_projects_link_only_networks_the_writer_sees(api: Api) -> None:
    ids = _structure(api)
    missing = api.post("us-desk", f"{API}/projects", json={"name": "Stryker", "network_id": 12345})
    assert missing.status_code == 404 and missing.json()["detail"] == "no such network: 12345"
    project = _post(api, "us-desk", "projects", {"name": "Stryker", "program": "Stryker-AFV",
                                                 "pillar_id": ids["pillar"], "marking": JOINT})  # fmt: skip
    page = api.get("in-analyst", f"{API}/projects", params={"program": "Stryker-AFV"}).json()
    assert [p["id"] for p in page["items"]] == [project["id"]] and page["items"][0][
        "pillar"
    ] == "Supply-chain integration"
