"""Accessibility of every main page, measured in the browser with axe-core (WCAG 2.1 A and AA, contrast included)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from browser import ARGS, CHROMIUM, needs_chromium, serve_in_thread, violations
from clients import PASSWORD, USERS, add_users, execute_here
from networks.world import build_world
from setu.accounts.login import principal_of
from setu.accounts.lookups import get_user
from setu.db import transaction
from setu.demo.framework import seed_framework
from setu.jobs.execute import spec_to_json
from setu.jobs.service import JobLimits, enqueue
from setu.network.model import Network
from setu.networks.uploads import UploadLimits
from setu.runs.scenarios import create_scenario
from setu.runs.service import start_run
from setu.sharing.markings import MarkingSpec
from setu.stress.scenarios import Scenario

pytestmark = needs_chromium


@pytest.fixture
def server(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[str]:
    """The world network with a completed run of a stored scenario and of the node sweep, as the IN analyst."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the markup does not depend on the database: checked once, on SQLite")
    with transaction(sessions) as session:
        build_world(session, world)
    add_users(sessions)
    with transaction(sessions) as session:
        principal = principal_of(get_user(session, "in-analyst"))
        stored = create_scenario(session, principal, 1, Scenario(id="forge", nodes=("T3_19",), ttr=30.0, kind="custom"))
        runs = [start_run(session, principal, 1, [stored.id]).id, start_run(session, principal, 1, "sweep").id]
        seed_framework(session, network_id=1)
    for run_id in runs:
        execute_here(sessions, run_id, principal)
    with sessions() as session:  # an import of a broken file: its job page lists the problems
        payload = {
            "filename": "broken.json",
            "format": "auto",
            "name": "broken",
            "marking": spec_to_json(MarkingSpec(0, "IN", frozenset({"IN"}))),
            "limits": asdict(UploadLimits(1 << 20, 16, 1 << 22)),
        }
        enqueue(session, principal, "network.import", payload, limits=JobLimits(), upload=b'{"tier1": "x"}')
    with serve_in_thread(engine) as url:
        yield url


def test_main_pages_have_no_wcag_a_or_aa_violations_and_fit_a_phone(server: str) -> None:
    from playwright.sync_api import sync_playwright

    assert USERS["auditor"].roles == frozenset({"auditor"})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            # axe is injected by evaluating its source, which the app's content security policy forbids.
            page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
            found: dict[str, list[str]] = {}

            overflow: dict[str, list[int]] = {}

            def check(path: str) -> None:
                page.goto(server + path)
                page.wait_for_load_state("networkidle")
                found[path] = violations(page)
                # On a phone (390 px) nothing makes the page scroll sideways; wide tables scroll in their box.
                page.set_viewport_size({"width": 390, "height": 844})
                widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                if widths[0] > widths[1]:
                    overflow[path] = widths
                page.set_viewport_size({"width": 1280, "height": 900})

            check("/accounts/login")
            for username, paths in (
                ("in-analyst", ["/", "/networks", "/networks/1", "/networks/1/nodes/T2_7", "/networks/1/map"]),
                ("in-analyst", ["/runs/compare?a=1&b=2", "/networks/1/tree?program=Tejas"]),
                ("in-analyst", ["/networks/1/geo", "/networks/1/standins"]),
                (
                    "in-analyst",
                    ["/runs/scenarios?network=1", "/runs", "/runs/1", "/runs/2", "/networks/import", "/jobs/1"],
                ),
                ("in-analyst", ["/sosa", "/registry", "/registry/codes", "/registry/sources?material=superalloy"]),
                ("in-analyst", ["/framework", "/framework/actions", "/framework/actions/1"]),
                ("auditor", ["/audit"]),
            ):
                page.context.clear_cookies()
                page.goto(f"{server}/accounts/login")
                page.fill("#username", username)
                page.fill("#password", PASSWORD)
                page.press("#password", "Enter")
                page.wait_for_url(f"{server}/")
                for path in paths:
                    check(path)
                if username == "in-analyst" and "/runs/1" in paths:
                    page.goto(f"{server}/runs/1")
                    link = page.locator("a[href*='/explain']").first.get_attribute("href")
                    assert link
                    check(link)
            assert len(found) == 25
            assert {path: problems for path, problems in found.items() if problems} == {}
            assert overflow == {}
            # The check can fail: grey text on white is reported.
            page.evaluate(
                "document.querySelector('main').insertAdjacentHTML('beforeend',"
                " '<p style=\"color:#b0b0b0;background:#fff\">faint</p>')"
            )
            assert any(problem.startswith("color-contrast") for problem in violations(page))
        finally:
            browser.close()
