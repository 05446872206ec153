"""Issue 5 in a real browser: India files a DX request, the U.S. rejects it, India escalates, the log verifies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from browser import ARGS, CHROMIUM, needs_chromium, serve_in_thread, violations
from clients import PASSWORD, create_users
from principals import IN_AUDITOR, IN_DESK, US_AUDITOR, US_DESK, US_GE
from setu.audit.log import integrate
from setu.db import transaction
from setu.models.audit import AuditEntry
from sosa.world import build

pytestmark = needs_chromium

# A desk officer and an auditor on each side.
USERS = {"in-desk": IN_DESK, "us-desk": US_DESK, "in-auditor": IN_AUDITOR, "us-auditor": US_AUDITOR}
DELIVERY = (date.today() + timedelta(days=240)).isoformat()
EARLIEST = (date.today() + timedelta(days=400)).isoformat()


@pytest.fixture
def server(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[str]:
    """The app on the request world (a tiny network, GE's registry sites) under uvicorn; its base URL."""
    with transaction(sessions) as session:
        build(session)
        create_users(session, USERS)
    with serve_in_thread(engine) as url:
        yield url


def test_india_files_a_dx_request_the_us_rejects_it_india_escalates_and_the_log_verifies(
    server: str, sessions: sessionmaker[Session]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            external: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(server) else external.append(r.url))
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            # Chromium asks for /favicon.ico on its own (Setu has none); any other console error counts.
            page.on(
                "console",
                lambda message: (
                    errors.append(f"{message.text} {message.location.get('url', '')}")
                    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
                    else None
                ),
            )

            def log_in(username: str) -> None:
                page.goto(f"{server}/accounts/login")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill(PASSWORD)
                page.keyboard.press("Enter")
                page.wait_for_url(f"{server}/")

            def log_out() -> None:
                page.get_by_role("button", name="Log out").click()
                page.wait_for_url(f"{server}/accounts/login")

            def act(button: str, state: str) -> None:
                page.get_by_role("button", name=button, exact=True).click()
                page.wait_for_url(f"{request_url}?done=*")
                expect(page.get_by_test_id("state")).to_contain_text(state)

            # India's desk officer drafts a DX request to the U.S. on the form and files it.
            log_in("in-desk")
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
            page.wait_for_url(f"{server}/sosa")
            page.get_by_role("link", name="New request").click()
            page.wait_for_url(f"{server}/sosa/new")
            page.get_by_label("Title").fill("F414 turbine blades for the Tejas Mk2 line")
            page.get_by_label("Supplier party").select_option("US")
            page.get_by_label("DX").check()
            page.get_by_label("Program identification symbol").fill("A1")
            page.get_by_label("Program", exact=True).fill("Tejas Mk2")
            page.get_by_label("Item (a node of the chosen network)").fill("BLADE")
            page.get_by_label("Quantity").fill("40")
            page.get_by_label("Unit").fill("sets")
            page.get_by_label("Delivery date").fill(DELIVERY)
            page.get_by_label("Supplier firm").select_option(str(US_GE))
            page.get_by_label("Supplier site (from the registry)").fill("Lynn")
            page.get_by_label("Authorized signer").fill("J. Smith, DPAS officer")
            page.get_by_label("Justification").fill("The engine line stops in the blade-out scenario.")
            page.get_by_role("button", name="Save the draft").click()
            page.wait_for_url(f"{server}/sosa/*?created=1")
            request_url = page.url.split("?")[0]
            expect(page.get_by_test_id("notice")).to_contain_text("Draft saved")
            expect(page.get_by_role("heading", level=1)).to_contain_text("F414 turbine blades")
            act("Submit", "SUBMITTED")
            log_out()

            # The U.S. desk officer takes it through determination to a rated order, then rejects it.
            log_in("us-desk")
            page.goto(f"{server}/sosa")
            board = page.get_by_test_id("requests")
            expect(board).to_contain_text("DX-A1")
            expect(board).to_contain_text("submitted")
            board.get_by_role("link").first.click()
            page.wait_for_url(request_url)
            act("Begin determination", "UNDER_DETERMINATION")
            act("Authorize", "AUTHORIZED")
            issue = page.get_by_test_id("action-issue_order")
            issue.get_by_label("The order carries the certification").check()
            act("Issue order", "RATED_ORDER_ISSUED")
            expect(page.get_by_test_id("deadlines")).to_contain_text("working days left on US's calendar")

            # The U.S. desk officer rejects the order, offering the earliest date the firm can meet.
            reject = page.get_by_test_id("action-reject")
            reject.get_by_label("Reason").fill("Furnace rebuild: no capacity before next year.")
            reject.get_by_label("Earliest date the firm can meet").fill(EARLIEST)
            act("Reject", "REJECTED")
            expect(page.get_by_test_id("earliest")).to_have_text(EARLIEST)
            assert page.get_by_test_id("no-actions").count() == 1
            log_out()

            # India sees the rejection and its earliest date, and escalates for special priorities assistance.
            log_in("in-desk")
            page.goto(request_url)
            expect(page.get_by_test_id("reason")).to_contain_text("Furnace rebuild")
            expect(page.get_by_test_id("earliest")).to_have_text(EARLIEST)
            escalate = page.get_by_test_id("action-escalate")
            escalate.get_by_label("Reason").fill("The line stops in March; we need assistance under 700.50.")
            act("Escalate", "ESCALATED")
            history = page.get_by_test_id("history")
            expect(history.locator("tbody tr")).to_have_count(6)
            for state in (
                "SUBMITTED",
                "UNDER_DETERMINATION",
                "AUTHORIZED",
                "RATED_ORDER_ISSUED",
                "REJECTED",
                "ESCALATED",
            ):
                expect(history).to_contain_text(state)
            log_out()

            # Each party's auditor sees its side's transitions in the log, and the log verifies.
            for auditor, actions in (
                ("in-auditor", ["escalate", "submit"]),
                ("us-auditor", ["reject", "issue_order", "authorize", "begin_determination"]),
            ):
                log_in(auditor)
                page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
                page.wait_for_url(f"{server}/audit")
                page.get_by_label("Action").fill("sosa.transition")
                page.get_by_role("button", name="Filter").click()
                page.wait_for_url(f"{server}/audit?*action=sosa.transition*")
                rows = page.get_by_test_id("entries").locator("tbody tr")
                expect(rows).to_have_count(len(actions))
                shown = [json.loads(rows.nth(i).locator("pre").text_content() or "{}") for i in range(len(actions))]
                assert [entry["action"] for entry in shown] == actions
                page.get_by_role("button", name="Verify the log").click()
                expect(page.get_by_test_id("verification")).to_contain_text("Log intact")
                log_out()

            with sessions() as session:
                integrate(session)  # sequence what is pending, as every reader of the log does
                stored: list[Any] = list(
                    session.scalars(
                        select(AuditEntry.details)
                        .where(AuditEntry.action == "sosa.transition", AuditEntry.decision == "permit")
                        .order_by(AuditEntry.seq)
                    )
                )
            steps = [json.loads(d)["action"] if isinstance(d, str) else d["action"] for d in stored]
            assert steps == [
                "submit",
                "begin_determination",
                "authorize",
                "issue_order",
                "reject",
                "escalate",
            ]
            assert external == [] and errors == []

            # The request pages meet WCAG 2.1 A and AA (contrast included), as measured by axe-core;
            # axe is injected by evaluating its source, which only a page bypassing the CSP allows.
            checked = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
            page = checked
            log_in("us-desk")
            found: dict[str, list[str]] = {}
            for path in ("/sosa", "/sosa/calendar/US", request_url.removeprefix(server)):
                checked.goto(server + path)
                found[path] = violations(checked)
            log_out()
            log_in("in-desk")
            for path in ("/sosa/new", "/sosa?state=BOGUS"):
                checked.goto(server + path)
                found[path] = violations(checked)
            assert found == {path: [] for path in found}
        finally:
            browser.close()
