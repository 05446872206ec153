"""One real browser through a stress test: a country scenario, its run followed live, sorted results, explanation."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from browser import ARGS, CHROMIUM, needs_chromium, serve_in_thread
from clients import PASSWORD, add_users
from networks.world import build_world
from setu.db import transaction
from setu.network.model import Network
from setu.runs import service

pytestmark = needs_chromium


@pytest.fixture
def slow_server(
    engine: Engine, sessions: sessionmaker[Session], world: Network, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app on the world network, its runs held back a moment so that the page sees them running."""
    compute = service.run_scenarios

    def held(*args: Any, **kwargs: Any) -> Any:
        time.sleep(2.0)
        return compute(*args, **kwargs)

    monkeypatch.setattr(service, "run_scenarios", held)
    with transaction(sessions) as session:
        build_world(session, world)
    add_users(sessions)
    with serve_in_thread(engine) as url:
        yield url


def test_browser_creates_runs_follows_sorts_and_explains_a_scenario(slow_server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    server = slow_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            external: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(server) else external.append(r.url))
            page.goto(f"{server}/accounts/login")
            page.get_by_label("Username").fill("in-analyst")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{server}/")

            page.get_by_role("navigation", name="Main").get_by_role("link", name="Scenarios").click()
            page.wait_for_url(f"{server}/runs/scenarios*")
            page.get_by_label("Kind").select_option("country")
            page.get_by_label("Site, organization, party, country, material or chokepoint").fill("US")
            page.get_by_label("Time to recover (TTR)").fill("40")
            page.get_by_role("button", name="Create the scenario").click()
            page.wait_for_url(f"{server}/runs/scenarios?network=*&created=*")
            expect(page.get_by_role("status")).to_contain_text("The scenario was created")

            page.get_by_label("Run country:US").check()
            page.get_by_role("button", name="Run the chosen scenarios").click()
            page.wait_for_url(re.compile(re.escape(server) + r"/runs/\d+$"))  # a run, not /runs/scenarios
            status = page.get_by_test_id("run-status")
            expect(status).to_contain_text(re.compile("Queued|Running"))
            assert page.locator("#run-progress").get_attribute("value") == "0"
            # run.js polls the API and reloads the page once the run has completed.
            expect(status).to_contain_text("Completed: 1 scenario", timeout=30_000)
            progress = page.locator("#run-progress")
            assert progress.get_attribute("value") == progress.get_attribute("max") == "1"

            table = page.get_by_test_id("results")
            expect(table.locator("th[aria-sort]")).to_have_text("REI ▼")
            page.get_by_role("link", name="TTS (time units)", exact=True).click()
            page.wait_for_url("**sort=-tts**")
            expect(table.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")
            expect(table.locator("th[aria-sort]")).to_contain_text("TTS")
            # The arrow is hidden from assistive technology: the link is still named "TTS".
            page.get_by_role("link", name="TTS (time units)", exact=True).click()
            page.wait_for_url("**sort=tts**")
            expect(table.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
            assert page.locator("figure[data-testid=chart] svg circle, figure[data-testid=chart] svg polygon").count()

            page.get_by_role("link", name="Explain country: US").click()
            page.wait_for_url("**/scenarios/country*/explain")
            expect(page.get_by_role("heading", level=1)).to_have_text("country: US")
            expect(page.get_by_role("heading", name="Products that lose")).to_be_visible()
            assert page.get_by_test_id("losses").locator("tbody tr").count() > 0
            assert external == []
        finally:
            browser.close()
