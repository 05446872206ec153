"""Printed pages: the banner at the top and the bottom of every page, read back from the PDF Chromium prints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from browser import ARGS, CHROMIUM, needs_chromium, serve_in_thread
from clients import PASSWORD, add_users, execute_here
from networks.world import build_world
from principals import IN_ANALYST
from setu.db import transaction
from setu.network.model import Network
from setu.runs.reference import start_reference_sweep

pytestmark = needs_chromium

BANNER = "RESTRICTED // IN ONLY // PROPRIETARY HAL // NTK ENGINE"
"""The Indian analyst's view of the world holds India-only, proprietary and need-to-know records."""


@pytest.fixture
def server(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[tuple[str, int]]:
    with transaction(sessions) as session:
        network_id = build_world(session, world).id
        run_id = start_reference_sweep(session, IN_ANALYST, network_id).id
    execute_here(sessions, run_id, IN_ANALYST)
    add_users(sessions)
    with serve_in_thread(engine) as url:
        yield url, run_id


def page_texts(pdf: bytes) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def test_every_printed_page_carries_the_banner_top_and_bottom(server: tuple[str, int], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, run_id = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/accounts/login")
            page.get_by_label("Username").fill("in-analyst")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{url}/")
            printed = {}
            for name, path in (("dashboard", "/"), ("run", f"/runs/{run_id}")):
                page.goto(f"{url}{path}")
                assert page.get_by_test_id("banner").inner_text() == BANNER
                printed[name] = page.pdf(format="A4", print_background=True)
                (tmp_path / f"{name}.pdf").write_bytes(printed[name])
        finally:
            browser.close()
    for name, pdf in printed.items():
        texts = page_texts(pdf)
        assert len(texts) >= 2, f"the {name} page should run to several printed pages"
        for number, text in enumerate(texts, start=1):
            # The first and the last line of every page (rows of the tables hold the marking too).
            lines = text.strip().splitlines()
            assert lines[0] == lines[-1] == BANNER, f"{name}, page {number} of {len(texts)}: {lines[:2]}, {lines[-2:]}"
