"""One real browser through the analyst's picture: the dashboard keeps the reference sweep when an ad-hoc run
finishes, two runs compared, and a node page's actions leading to a scenario and its what-if."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from browser import ARGS, CHROMIUM, needs_chromium, serve_in_thread
from clients import PASSWORD, add_users, execute_here
from networks.world import build_world
from principals import IN_ANALYST
from setu.db import transaction
from setu.network.model import Network
from setu.runs import start_run
from setu.runs.reference import start_reference_sweep

pytestmark = needs_chromium


@pytest.fixture
def server(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[tuple[str, int, int]]:
    """The world with the Indian analyst's reference sweep and, finished after it, an ad-hoc short sweep."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the pages do not depend on the database: checked once, on SQLite")
    with transaction(sessions) as session:
        network_id = build_world(session, world).id
        reference = start_reference_sweep(session, IN_ANALYST, network_id).id
    execute_here(sessions, reference, IN_ANALYST)
    with transaction(sessions) as session:
        adhoc = start_run(session, IN_ANALYST, network_id, "sweep", ttr=0.01, name="A short ad-hoc sweep").id
    execute_here(sessions, adhoc, IN_ANALYST)
    add_users(sessions)
    with serve_in_thread(engine) as url:
        yield url, reference, adhoc


def test_the_reference_holds_runs_compare_and_a_node_leads_to_a_what_if(server: tuple[str, int, int]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, reference, adhoc = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            external: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(url) else external.append(r.url))
            page.goto(f"{url}/accounts/login")
            page.get_by_label("Username").fill("in-analyst")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{url}/")
            # The ad-hoc run finished last; the dashboard still takes the reference sweep.
            note = page.get_by_test_id("run-note")
            expect(note).to_contain_text("Risk figures from your reference sweep")
            expect(note.locator("a")).to_have_attribute("href", f"/runs/{reference}")
            # The ad-hoc run's page compares it with the reference sweep.
            page.goto(f"{url}/runs/{adhoc}")
            page.get_by_label("Compare with", exact=True).select_option(str(reference))
            page.get_by_test_id("compare-with").get_by_role("button", name="Compare").click()
            page.wait_for_url(re.compile(re.escape(url) + r"/runs/compare\?a=\d+&b=\d+"))
            expect(page.get_by_test_id("compare-summary")).to_contain_text("scenarios both runs hold changed")
            expect(page.get_by_test_id("changes").locator("tbody tr").first).to_be_visible()
            # A risky node: its risk, then "Disrupt it" fills the scenario form, which stores the scenario.
            page.goto(f"{url}/networks/1/nodes/T3_8")
            expect(page.get_by_test_id("node-risk")).to_contain_text("TTS < TTR")
            page.get_by_test_id("action-disrupt").click()
            expect(page.get_by_label("Kind")).to_have_value("custom")
            page.get_by_label("Time to recover (TTR)").fill("20")
            page.get_by_role("button", name="Create the scenario").click()
            expect(page.get_by_role("status")).to_contain_text("The scenario was created")
            # Back on the node, the scenario's what-if is one click away.
            page.goto(f"{url}/networks/1/nodes/T3_8")
            page.get_by_test_id("action-what-if").first.click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Mitigation what-if")
            assert external == []
        finally:
            browser.close()
