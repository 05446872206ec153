"""The DX request in a real browser across two instances: India's officer on India's, the U.S. officer on the U.S.'s.

Each instance is the app on its own database under uvicorn; between steps the instances exchange signed
bundles as a guard would carry them. India files; the U.S. determines and issues the order; GE rejects it;
India escalates, which is an ask applied on the U.S. instance; both auditors see every step, and both
logs verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from browser import ARGS, CHROMIUM, needs_chromium, serve_in_thread
from clients import PASSWORD, create_users
from federation.conftest import Link
from principals import IN_AUDITOR, IN_DESK, US_AUDITOR, US_DESK, US_GE_INDUSTRY
from setu.audit.log import integrate
from setu.db import transaction
from setu.models.audit import AuditEntry

pytestmark = [needs_chromium, pytest.mark.parametrize("engine", ["postgresql"], indirect=True)]

DELIVERY = (date.today() + timedelta(days=240)).isoformat()
EARLIEST = (date.today() + timedelta(days=400)).isoformat()
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def servers(parties: Link) -> Iterator[tuple[Link, str, str]]:
    """India's and the U.S.'s instances serving their own users; their base URLs."""
    with transaction(parties.india.sessions) as session:
        create_users(session, {"in-desk": IN_DESK, "in-auditor": IN_AUDITOR})
    with transaction(parties.us.sessions) as session:
        create_users(session, {"us-desk": US_DESK, "us-ge": US_GE_INDUSTRY, "us-auditor": US_AUDITOR})
    india_engine, us_engine = parties.india.sessions.kw["bind"], parties.us.sessions.kw["bind"]
    with serve_in_thread(india_engine) as india, serve_in_thread(us_engine) as us:
        yield parties, india, us


def _logged(side: Any, party: str) -> list[tuple[str, str, str]]:
    with transaction(side.sessions) as session:
        integrate(session)
        rows = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "sosa.transition").order_by(AuditEntry.seq)
        )
        return [(d["action"], d["from"], d["to"]) for d in (json.loads(r) for r in rows)]


def test_a_dx_request_across_two_instances(servers: tuple[Link, str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    link, india, us = servers
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

            def log_in(server: str, username: str) -> None:
                page.goto(f"{server}/accounts/login")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill(PASSWORD)
                page.keyboard.press("Enter")
                page.wait_for_url(f"{server}/")

            def log_out(server: str) -> None:
                page.get_by_role("button", name="Log out").click()
                page.wait_for_url(f"{server}/accounts/login")

            def act(button: str) -> None:
                url = page.url.split("?")[0]
                page.get_by_role("button", name=button, exact=True).click()
                page.wait_for_url(f"{url}?done=*")

            def open_request(server: str) -> None:
                page.goto(f"{server}/sosa")
                page.get_by_test_id("requests").get_by_role("link").first.click()
                page.wait_for_url(f"{server}/sosa/*")

            # India's desk officer files a DX request with GE, on India's instance.
            log_in(india, "in-desk")
            page.goto(f"{india}/sosa/new")
            page.get_by_label("Title").fill("F414 turbine blades for the Tejas Mk2 line")
            page.get_by_label("Supplier party").select_option("US")
            page.get_by_label("DX").check()
            page.get_by_label("Program identification symbol").fill("A1")
            page.get_by_label("Program", exact=True).fill("Tejas Mk2")
            page.get_by_label("Quantity").fill("40")
            page.get_by_label("Unit").fill("sets")
            page.get_by_label("Delivery date").fill(DELIVERY)
            firm = page.get_by_label("Supplier firm")
            firm.select_option(firm.locator("option", has_text="GE Aerospace").get_attribute("value"))
            page.get_by_label("Authorized signer").fill("J. Smith, DPAS officer")
            page.get_by_label("Justification").fill("The engine line stops in the blade-out scenario.")
            page.get_by_role("button", name="Save the draft").click()
            page.wait_for_url(f"{india}/sosa/*?created=1")
            act("Submit")
            expect(page.get_by_test_id("state")).to_contain_text("SUBMITTED")
            expect(page.get_by_test_id("federated")).to_contain_text("US's instance holds this request's state")
            log_out(india)
            link.sync()

            # The U.S. desk officer, on the U.S. instance, takes it to a rated order.
            log_in(us, "us-desk")
            open_request(us)
            expect(page.get_by_test_id("federated")).to_contain_text("Filed on IN's instance and received here")
            act("Begin determination")
            act("Authorize")
            page.get_by_test_id("action-issue_order").get_by_label("The order carries the certification").check()
            act("Issue order")
            expect(page.get_by_test_id("deadlines")).to_contain_text("working days left on US's calendar")
            log_out(us)

            # GE, the firm the order names, answers it on the U.S. instance: it rejects, offering a date.
            log_in(us, "us-ge")
            open_request(us)
            reject = page.get_by_test_id("action-reject")
            reject.get_by_label("Reason").fill("Furnace rebuild: no capacity before next year.")
            reject.get_by_label("Earliest date the firm can meet").fill(EARLIEST)
            act("Reject")
            expect(page.get_by_test_id("state")).to_contain_text("REJECTED")
            log_out(us)
            link.sync()

            # India sees the rejection and escalates: an ask, applied when the U.S. instance receives it.
            log_in(india, "in-desk")
            open_request(india)
            expect(page.get_by_test_id("reason")).to_contain_text("Furnace rebuild")
            expect(page.get_by_test_id("earliest")).to_have_text(EARLIEST)
            expect(page.get_by_test_id("deadlines")).to_contain_text("on US's calendar")
            escalate = page.get_by_test_id("action-escalate")
            escalate.get_by_label("Reason").fill("The line stops in March; we need assistance under 700.50.")
            act("Escalate")
            expect(page.get_by_test_id("notice")).to_contain_text("goes to US's instance")
            expect(page.get_by_test_id("state")).to_contain_text("REJECTED")
            expect(page.get_by_test_id("no-actions")).to_contain_text("has yet to answer your escalate")
            page.screenshot(path=str(SHOTS / "federation-request-asked.png"), full_page=True)
            link.sync()
            link.sync()
            page.reload()
            expect(page.get_by_test_id("state")).to_contain_text("ESCALATED")
            expect(page.get_by_test_id("history").locator("tbody tr")).to_have_count(7)  # six steps and the ask
            log_out(india)

            # Each auditor verifies their own instance's log on its page.
            for server, auditor in ((india, "in-auditor"), (us, "us-auditor")):
                log_in(server, auditor)
                page.goto(f"{server}/audit")
                page.get_by_role("button", name="Verify the log").click()
                expect(page.get_by_test_id("verification")).to_contain_text("Log intact")
                log_out(server)
            assert errors == []
        finally:
            browser.close()

    steps = [
        ("submit", "DRAFT", "SUBMITTED"),
        ("begin_determination", "SUBMITTED", "UNDER_DETERMINATION"),
        ("authorize", "UNDER_DETERMINATION", "AUTHORIZED"),
        ("issue_order", "AUTHORIZED", "RATED_ORDER_ISSUED"),
        ("reject", "RATED_ORDER_ISSUED", "REJECTED"),
        ("escalate", "REJECTED", "ESCALATED"),
    ]
    assert _logged(link.india, "IN") == _logged(link.us, "US") == steps
