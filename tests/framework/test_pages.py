"""The framework pages on both databases: overview against the service, filters, forms per role, refusals, markings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, create_users, csrf_of, make_api, sign_in
from principals import IN_ADMIN, IN_DESK, IN_MOD, US_DESK, seed
from setu.db import transaction
from setu.demo.framework import IN_ONLY, JOINT, seed_framework
from setu.framework.actions import StaleVersion, create_action
from setu.framework.common import today_utc
from setu.framework.posture import posture as pillar_posture
from setu.models.framework import ActionItem, Body, Decision, Meeting, Project
from setu.models.networks import NetworkRecord
from setu.sharing.markings import MarkingSpec, store

DESKS = {"in-desk": IN_DESK, "us-desk": US_DESK, "in-admin": IN_ADMIN}
IN_TITLE = "Brief the Raksha Mantri on Su-30MKI spares exposure"
US_TITLE = "Assess DPAS ratings for P-8I sustainment parts"
IN_NETWORK = "India-only F414 network"
FORGED = "0" * 64


def _network(session: Session, name: str, spec: MarkingSpec) -> int:
    row = NetworkRecord(name=name, version=1, created_by=0, org_id=IN_MOD, marking_id=store(session, spec).id)
    session.add(row)
    session.flush()
    return row.id


@pytest.fixture
def site(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Api]:
    """Parties, desk officers and an admin, and the demo framework seeded around today.

    The Stryker project links a joint network, the F414 project an India-only one.
    """

    def prepare(session: Session) -> None:
        seed(session)
        create_users(session, DESKS)
        seed_framework(session, today=today_utc())
        joint = _network(session, "Joint Stryker network", JOINT)
        india = _network(session, IN_NETWORK, IN_ONLY)
        for project in session.scalars(select(Project)):
            if project.program == "Stryker-AFV":
                project.network_id = joint
            elif project.program == "F414-engine":
                project.network_id = india

    yield from make_api(engine, sessions, TEST_SETTINGS, prepare)


def _action_id(api: Api, title: str) -> int:
    with api.sessions() as session:
        found = session.scalar(select(ActionItem.id).where(ActionItem.title == title))
        assert found is not None
        return found


def _action(api: Api, action_id: int) -> ActionItem:
    with api.sessions() as session:
        found = session.get(ActionItem, action_id)
        assert found is not None
        session.expunge(found)
        return found


def _count(api: Api, model: Any) -> int:
    with api.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _id_of(api: Api, model: Any, column: Any, value: str) -> int:
    with api.sessions() as session:
        found = session.scalar(select(model.id).where(column == value))
        assert found is not None
        return int(found)


def _cell(html: str, testid: str) -> int:
    found = re.search(rf'data-testid="{re.escape(testid)}">(\d+)<', html)
    assert found, f"no cell {testid}"
    return int(found.group(1))


def test_overview_numbers_are_the_services_posture_and_national_items_stay_national(site: Api) -> None:
    today = today_utc()
    for user in ("in-analyst", "us-analyst"):
        sign_in(site.client, user)
        answer = site.client.get("/framework")
        assert answer.status_code == 200
        html = answer.text
        with site.sessions() as session:
            posture = pillar_posture(session, site.principals[user], today)
        assert len(posture) == 6
        for row in posture:
            key = row.pillar.code if row.pillar else "none"
            for status in ("open", "in_progress", "done"):
                assert _cell(html, f"posture-{key}-{status}") == row.counts[status], (user, key, status)
            assert _cell(html, f"posture-{key}-overdue") == row.overdue
            assert _cell(html, f"posture-{key}-projects") == row.projects
        # The other party's national item adds nothing: SUPPLY counts only what this user may see.
        supply = next(r for r in posture if r.pillar is not None and r.pillar.code == "SUPPLY")
        assert supply.counts["open"] == 3 and supply.overdue == (3 if user == "in-analyst" else 2)
        overdue = html[html.index('data-testid="overdue"') : html.index('id="bodies-title"')]
        # India's national item is overdue: on India's overview only. The US one is not due yet: on neither.
        assert (IN_TITLE in overdue) == (user == "in-analyst") and (IN_TITLE in html) == (user == "in-analyst")
        assert US_TITLE not in html
        days = dict(re.findall(r'data-testid="days-(\d+)">(\d+)<', overdue))
        expected = {"Quarterly pillar progress report": 14, "Map the Stryker co-production supply chain": 3}
        if user == "in-analyst":
            expected[IN_TITLE] = 7
        assert {int(k): int(v) for k, v in days.items()} == {_action_id(site, t): d for t, d in expected.items()}
        assert overdue.index("Quarterly pillar") < overdue.index("Map the Stryker")  # oldest due first
        assert overdue.count('class="mark mark-') == len(expected)  # every overdue row is labelled
        assert "RESTRICTED // REL TO IN, US" in overdue
        # The bodies as a tree: the working groups sit inside the Defence Policy Group's item.
        dpg = _id_of(site, Body, Body.name, "Defence Policy Group")
        indus = _id_of(site, Body, Body.name, "INDUS-X")
        tree = html[html.index(f'data-body="{dpg}"') : html.index(f'data-body="{indus}"')]
        assert "Military Cooperation Group" in tree and "Defense Technology and Trade Initiative" in tree
        # A working group's item opens before the policy group's item closes: nested, not a sibling.
        items = re.sub(r'<ul class="fw-meetings">.*?</ul>', "", tree, flags=re.S)
        assert items.index('<li data-body="') < items.index("</li>")
        assert "Defence Policy Group (illustrative meeting)" in tree
        # Projects link their network only where the reader sees it.
        projects = html[html.index('id="projects-title"') :]
        assert "Joint Stryker network" in projects and "Javelin-ATGM" in projects
        assert (IN_NETWORK in projects) == (user == "in-analyst")
        assert "F414 engine co-production" in projects
        assert 'href="/api/v1/framework/actions.ics"' in html and "Download calendar (ICS)" in html
        assert "Record a meeting" not in html and 'href="/framework/actions/new"' not in html


def test_action_list_filters_sorts_pages_and_hides_national_items(site: Api) -> None:
    sign_in(site.client, "us-analyst")
    listing = site.client.get("/framework/actions")
    assert listing.status_code == 200
    html = listing.text
    assert "Action items 1 to 6 of 6" in html and US_TITLE in html and IN_TITLE not in html
    dues = re.findall(r"<td>(\d{4}-\d{2}-\d{2})", html)
    assert dues == sorted(dues) and len(dues) == 6
    overdue = site.client.get("/framework/actions?overdue=on").text
    assert "Action items 1 to 2 of 2" in overdue and "Quarterly pillar" in overdue
    assert "of 1<" in site.client.get("/framework/actions?status=done").text
    by_owner = site.client.get("/framework/actions?owner=south+ASIA").text
    assert "Action items 1 to 1 of 1" in by_owner and "Map the Stryker" in by_owner
    # The owner filter sees only visible items too: the India-only item's owner matches nothing here.
    assert "No action items found" in site.client.get("/framework/actions?owner=MoD+(Plans)").text
    exercises = _id_of(site, Body, Body.name, "Military Cooperation Group")
    by_body = site.client.get(f"/framework/actions?body={exercises}").text
    assert "Action items 1 to 1 of 1" in by_body and "Plan the next bilateral exercise cycle" in by_body
    assert site.client.get("/framework/actions?status=bogus").status_code == 422
    assert site.client.get("/framework/actions?pillar=x").status_code == 422
    # India's national item: a 404 exactly like a missing one, for the US.
    hidden = site.client.get(f"/framework/actions/{_action_id(site, IN_TITLE)}")
    missing = site.client.get("/framework/actions/999999")
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    assert IN_TITLE not in hidden.text
    assert site.client.get(f"/framework/actions/{2**40}").status_code == 404
    # The calendar through the session cookie: text/calendar, only the visible items.
    ics = site.client.get("/api/v1/framework/actions.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    events = [e for e in Calendar.from_ical(ics.content).walk("VEVENT")]
    assert len(events) == 6 and all(IN_TITLE not in str(e["SUMMARY"]) for e in events)
    assert f"action-{_action_id(site, IN_TITLE)}@framework.setu" not in ics.text
    open_only = site.client.get("/framework/actions?status=open").text
    assert 'href="/api/v1/framework/actions.ics?status=open"' in open_only
    # India sees its own item, and pages of 25.
    with transaction(site.sessions) as session:
        for n in range(20):
            create_action(
                session,
                IN_ADMIN,
                title=f"Later item {n:02}",
                due_on=today_utc() + timedelta(days=400 + n),
                marking=IN_ONLY,
            )
    sign_in(site.client, "in-analyst")
    first = site.client.get("/framework/actions").text
    assert "Action items 1 to 25 of 26" in first and IN_TITLE in first and 'rel="next"' in first
    second = site.client.get("/framework/actions?page=2").text
    assert "Action items 26 to 26 of 26" in second and "Later item 19" in second and "Later item 00" not in second
    overdue_in = site.client.get("/framework/actions?overdue=on").text
    assert "Action items 1 to 3 of 3" in overdue_in and IN_TITLE in overdue_in


def test_writers_get_forms_readers_are_refused_and_forged_forms_store_nothing(site: Api) -> None:
    action_id = _action_id(site, "Quarterly pillar progress report")
    meeting_id = _id_of(site, Meeting, Meeting.title, "Defence Policy Group (illustrative meeting)")
    dpg = _id_of(site, Body, Body.name, "Defence Policy Group")
    sign_in(site.client, "in-desk")
    page = site.client.get(f"/framework/actions/{action_id}").text
    assert 'data-testid="change-form"' in page and 'name="version" value="1"' in page and 'type="date"' in page
    assert "Record a meeting" in site.client.get("/framework").text
    assert "Record a decision" in site.client.get(f"/framework/meetings/{meeting_id}").text
    assert site.client.get("/framework/actions/new").status_code == 200
    token = csrf_of(page)
    forged = site.client.post(
        f"/framework/actions/{action_id}", data={"csrf": FORGED, "version": "1", "status": "done", "title": "x"}
    )
    assert forged.status_code == 403 and "did not come from Setu" in forged.text
    created = site.client.post("/framework/actions", data={"csrf": FORGED, "title": "Forged", "due_on": "2030-01-01"})
    assert created.status_code == 403
    assert site.client.post("/framework/meetings", data={"csrf": "", "body_id": str(dpg)}).status_code == 403
    assert token
    before = (_count(site, ActionItem), _count(site, Meeting), _count(site, Decision))
    for reader in ("in-analyst", "us-industry"):
        sign_in(site.client, reader)
        page = site.client.get(f"/framework/actions/{action_id}").text
        assert 'data-testid="change-form"' not in page and "Quarterly pillar progress report" in page
        assert "Record a meeting" not in site.client.get("/framework").text
        assert "Record a decision" not in site.client.get(f"/framework/meetings/{meeting_id}").text
        assert site.client.get("/framework/actions/new").status_code == 403
        token = csrf_of(page)
        refused = site.client.post(
            f"/framework/actions/{action_id}",
            data={"csrf": token, "version": "1", "status": "done", "title": "Quarterly pillar progress report"},
        )
        assert refused.status_code == 403 and "desk_officer" in refused.text
        fields = {"csrf": token, "title": "Sneaky", "due_on": "2030-01-01", "classification": "RESTRICTED"}
        assert site.client.post("/framework/actions", data=fields).status_code == 403
        meeting = {"csrf": token, "body_id": str(dpg), "held_on": "2030-01-01", "classification": "RESTRICTED"}
        assert site.client.post("/framework/meetings", data=meeting).status_code == 403
        decision = {"csrf": token, "text": "Sneaky", "classification": "RESTRICTED"}
        assert site.client.post(f"/framework/meetings/{meeting_id}/decisions", data=decision).status_code == 403
    assert (_count(site, ActionItem), _count(site, Meeting), _count(site, Decision)) == before
    stored = _action(site, action_id)
    assert (stored.status, stored.version) == ("open", 1)


def test_a_change_needs_the_current_version_and_a_stale_one_is_409_with_the_message(site: Api) -> None:
    action_id = _action_id(site, "Map the Stryker co-production supply chain")
    sign_in(site.client, "us-desk")
    page = site.client.get(f"/framework/actions/{action_id}").text
    token = csrf_of(page)
    form = {
        "csrf": token,
        "version": "1",
        "status": "done",
        "due_on": (today_utc() + timedelta(days=5)).isoformat(),
        "title": "Map the Stryker co-production supply chain",
        "owner": "OUSD(P) South Asia",
        "notes": "Mapped in Setu.",
    }
    saved = site.client.post(f"/framework/actions/{action_id}", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/framework/actions/{action_id}?saved=changed"
    shown = site.client.get(saved.headers["location"]).text
    assert "now version 2" in shown and f"completed {today_utc().isoformat()}" in shown
    stored = _action(site, action_id)
    assert (stored.status, stored.version, stored.notes) == ("done", 2, "Mapped in Setu.")
    # Somebody else's form, loaded at version 1, comes in late: refused with the service's message.
    stale = site.client.post(f"/framework/actions/{action_id}", data={**form, "status": "open", "notes": "Late."})
    assert stale.status_code == 409
    message = str(StaleVersion(action_id, 1, 2))
    assert message.replace("'", "&#39;") in stale.text
    assert 'name="version" value="2"' in stale.text  # the form reloaded at the current version
    stored = _action(site, action_id)
    assert (stored.status, stored.version, stored.notes) == ("done", 2, "Mapped in Setu.")
    bad = site.client.post(f"/framework/actions/{action_id}", data={**form, "version": "2", "due_on": "31/12/2030"})
    assert bad.status_code == 422 and "expected a date YYYY-MM-DD" in bad.text and 'aria-invalid="true"' in bad.text
    blank = site.client.post(f"/framework/actions/{action_id}", data={**form, "version": "2", "title": " "})
    assert blank.status_code == 422 and "must not be blank" in blank.text
    assert _action(site, action_id).version == 2


def test_writers_add_action_items_meetings_and_decisions_with_markings(site: Api) -> None:
    decision_id = _id_of(
        site, Decision, Decision.text, "Map the co-production supply chains into a shared Setu network."
    )
    meeting_id = _id_of(site, Meeting, Meeting.title, "Defence Policy Group (illustrative meeting)")
    dpg = _id_of(site, Body, Body.name, "Defence Policy Group")
    sign_in(site.client, "in-desk")
    form = site.client.get(f"/framework/actions/new?decision={decision_id}").text
    assert f'<option value="{decision_id}" selected>' in form and 'name="due_on" type="date"' in form
    token = csrf_of(form)
    before = _count(site, ActionItem)
    bad = site.client.post(
        "/framework/actions", data={"csrf": token, "title": "", "due_on": "soon", "classification": "RESTRICTED"}
    )
    assert bad.status_code == 422 and "expected a date YYYY-MM-DD" in bad.text
    missing = site.client.post(
        "/framework/actions",
        data={"csrf": token, "title": "Lost", "due_on": "2030-01-01", "decision_id": "999999",
              "classification": "RESTRICTED"},
    )  # fmt: skip
    assert missing.status_code == 422 and "no such decision" in missing.text
    secret = site.client.post(
        "/framework/actions",
        data={"csrf": token, "title": "Too high", "due_on": "2030-01-01", "classification": "SECRET"},
    )
    assert secret.status_code == 403 and "could not read them yourself" in secret.text
    assert _count(site, ActionItem) == before
    created = site.client.post(
        "/framework/actions",
        data={
            "csrf": token,
            "title": "Share the Javelin bill of materials",
            "due_on": "2030-01-15",
            "decision_id": str(decision_id),
            "owner": "DDP",
            "classification": "RESTRICTED",
            "releases": "IN",
            "national_only": "on",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    new_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    stored = _action(site, new_id)
    assert (stored.meeting_id, stored.body_id, stored.due_on.isoformat()) == (meeting_id, dpg, "2030-01-15")
    meeting = site.client.get(f"/framework/meetings/{meeting_id}").text
    assert "Share the Javelin bill of materials" in meeting and "RESTRICTED // IN ONLY" in meeting
    # A meeting and a decision through the forms; the India-only item stays off the US meeting page.
    recorded = site.client.post(
        "/framework/meetings",
        data={"csrf": token, "body_id": str(dpg), "held_on": "2030-02-01", "title": "DPG follow-up",
              "classification": "RESTRICTED", "releases": ["IN", "US"]},
        follow_redirects=False,
    )  # fmt: skip
    assert recorded.status_code == 303
    new_meeting = int(recorded.headers["location"].split("/")[-1].split("?")[0])
    nodate = site.client.post("/framework/meetings", data={"csrf": token, "body_id": str(dpg), "held_on": ""})
    assert nodate.status_code == 422 and "enter a date" in nodate.text
    decided = site.client.post(
        f"/framework/meetings/{new_meeting}/decisions",
        data={"csrf": token, "text": "Meet again in June.", "classification": "RESTRICTED", "releases": ["IN", "US"]},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    empty = site.client.post(
        f"/framework/meetings/{new_meeting}/decisions",
        data={"csrf": token, "text": " ", "classification": "RESTRICTED"},
    )
    assert empty.status_code == 422 and "must not be blank" in empty.text
    sign_in(site.client, "us-analyst")
    shown = site.client.get(f"/framework/meetings/{new_meeting}").text
    assert "DPG follow-up" in shown and "Meet again in June." in shown and "Defence Policy Group" in shown
    seeded = site.client.get(f"/framework/meetings/{meeting_id}").text
    assert "Quarterly pillar progress report" in seeded and "Share the Javelin bill of materials" not in seeded
    hidden = site.client.get(f"/framework/actions/{new_id}")
    assert hidden.status_code == 404 and hidden.text == site.client.get("/framework/actions/999999").text
    assert site.client.get("/framework/meetings/999999").status_code == 404
