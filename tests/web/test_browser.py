"""One real browser (Debian's chromium, driven by Playwright) against the real server: keyboard login, markings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.conftest import PASSWORD, add_users
from api.test_server import serve_in_thread
from networks.world import IN_ONLY_NODES, build_world
from setu.db import transaction
from setu.network.model import Network

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARGS += ["--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("SETU_WEB_SCREENSHOTS", "")
"""A folder to save screenshots of the dashboard and the network page in (for the docs), if set."""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM} (apt package chromium)")


@pytest.fixture
def server(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[str]:
    """The app on the world network under uvicorn in a thread; its base URL."""
    with transaction(sessions) as session:
        build_world(session, world)
    add_users(sessions)
    with serve_in_thread(engine) as url:
        yield url


def test_browser_keyboard_login_header_banner_and_hidden_node(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            external: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(server) else external.append(r.url))

            def log_in(username: str) -> None:
                page.goto(f"{server}/login")
                page.locator("#username").focus()
                page.keyboard.type(username)
                page.keyboard.press("Tab")
                page.keyboard.type(PASSWORD)
                page.keyboard.press("Enter")
                page.wait_for_url(f"{server}/")

            log_in("in-analyst")
            who = page.get_by_test_id("who").inner_text()
            assert "in-analyst" in who and "IN" in who and "Ministry of Defence" in who
            assert page.get_by_test_id("banner").inner_text() == "RESTRICTED // REL TO IN, US"
            if SHOTS:
                page.screenshot(path=str(Path(SHOTS) / "web-dashboard.png"), full_page=True)
            page.get_by_role("link", name="small").first.click()
            page.wait_for_url(f"{server}/networks/*")
            network_url = page.url
            banner = page.get_by_test_id("banner").inner_text()
            assert banner == "RESTRICTED // IN ONLY // PROPRIETARY HAL // NTK ENGINE"
            page.get_by_label("Search nodes").fill(IN_ONLY_NODES[0])
            # The search submits a new page: wait for it, not for the current one's load state.
            page.keyboard.press("Enter")
            page.wait_for_url(f"{network_url.split('?')[0]}?*q={IN_ONLY_NODES[0]}*")
            assert page.get_by_role("link", name=IN_ONLY_NODES[0], exact=True).count() == 1
            if SHOTS:
                page.goto(network_url)
                page.screenshot(path=str(Path(SHOTS) / "web-network.png"), full_page=False)

            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(f"{server}/login")
            log_in("us-analyst")
            who = page.get_by_test_id("who").inner_text()
            assert "us-analyst" in who and "US" in who
            page.goto(f"{network_url}?q={IN_ONLY_NODES[0]}")
            assert page.get_by_role("link", name=IN_ONLY_NODES[0], exact=True).count() == 0
            assert "Vikram" not in page.content()
            page.goto(network_url)
            assert "Vikram" not in page.content()
            assert page.get_by_test_id("banner").inner_text() == "RESTRICTED // US ONLY // NTK ENGINE"
            assert external == []
        finally:
            browser.close()
