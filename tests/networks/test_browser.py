"""The network explorer in a real browser (Debian's chromium via Playwright): zoom, filter, click, search, offline."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from browser import ARGS, CHROMIUM, log_in, needs_chromium, serve_in_thread
from clients import PASSWORD, add_users
from networks.world import build_world, visible_ids
from principals import IN_ANALYST
from setu.db import transaction
from setu.network.model import Network

pytestmark = needs_chromium


@pytest.fixture
def explorer_server(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[tuple[str, int]]:
    """The app on the world network under uvicorn in a thread; its base URL and the network's id."""
    with transaction(sessions) as session:
        network_id = build_world(session, world).id
    add_users(sessions)
    with serve_in_thread(engine) as url:
        yield url, network_id


def scale_of(transform: str | None) -> float:
    found = re.search(r"scale\(([\d.e+-]+)\)", transform or "")
    assert found, f"no scale in {transform!r}"
    return float(found.group(1))


# The map behaves alike on either database; one browser run is enough.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_map_zooms_filters_and_opens_a_node_offline(explorer_server: tuple[str, int], world: Network) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, network_id = explorer_server
    seen = visible_ids(world, IN_ANALYST)
    country = {node.id: node.country for node in world.nodes if node.id in seen}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            # wait_for_function evaluates its predicate with eval, which the app's content security policy
            # forbids; the policy itself is checked by the end-to-end browser test.
            page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
            external: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(server) else external.append(r.url))
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))

            page.goto(f"{server}/accounts/login")
            page.fill("#username", "in-analyst")
            page.fill("#password", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{server}/")
            page.goto(f"{server}/networks/{network_id}/map")
            page.wait_for_selector('#explorer[data-ready="true"]')
            circles = page.locator("#map-nodes circle")
            assert circles.count() == len(seen)
            assert page.get_by_role("link", name="Node table of small").is_visible()

            # Keyboard zoom: focus the map, press +, the view's scale grows; 0 fits it back.
            view = page.locator("#map-view")
            expect(view).to_have_attribute("transform", re.compile("scale"))
            fitted = scale_of(view.get_attribute("transform"))
            page.locator("#map-frame").focus()
            page.keyboard.press("+")
            page.keyboard.press("+")
            scale = "parseFloat(document.getElementById('map-view').getAttribute('transform').split('scale(')[1])"
            page.wait_for_function(f"{scale} > {fitted * 1.5}")
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("0")
            page.wait_for_function(f"Math.abs({scale} - {fitted}) < 1e-9")

            # Filter by country: every node of another country is dimmed, the status says how many match.
            page.get_by_label("Country").select_option("US")
            others = sum(1 for c in country.values() if c != "US")
            expect(page.locator("#map-nodes circle.dim")).to_have_count(others)
            matching = f"{len(seen) - others} of {len(seen)} nodes on the map match"
            expect(page.locator("#map-status")).to_contain_text(matching)
            page.get_by_label("Non-matching nodes").select_option("hide")
            expect(page.locator("#map-nodes circle.off")).to_have_count(others)
            page.get_by_label("Non-matching nodes").select_option("dim")

            # Click a node: the side panel shows its details and neighbours.
            page.locator('#map-nodes circle[data-id="T2_7"]').click()
            panel = page.locator("#map-panel")
            expect(panel).to_be_visible()
            expect(panel.locator("#panel-heading")).to_contain_text("T2_7")
            expect(panel.locator('[data-section="alternates"]')).to_contain_text("T2_9")
            expect(panel.locator('[data-section="suppliers"] h3')).to_contain_text("Suppliers")
            expect(page.locator("#map-ring")).to_have_attribute("display", "inline")

            # Colour by risk: no reference sweep yet, and the legend says so.
            page.get_by_label("Colour by").select_option("risk")
            expect(page.locator("#map-legend")).to_contain_text("no reference sweep of your view yet")

            # Find a node by name and press Enter: the panel follows, focus moves to it.
            page.get_by_label("Find a node").fill("T3_2")
            expect(page.locator("#map-results [role=option]").first).to_contain_text("T3_2")
            page.keyboard.press("Enter")
            expect(panel.locator("#panel-heading")).to_contain_text("T3_2")
            expect(panel.locator("#panel-heading")).to_be_focused()
            page.keyboard.press("Escape")
            expect(panel).to_be_hidden()

            assert errors == []
            assert external == []
        finally:
            browser.close()


@pytest.fixture
def big_server(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[tuple[str, int]]:
    """The world, and a generated 2,000-node network spread over twelve countries, served; the big one's id."""
    import dataclasses

    from principals import SHARED
    from setu.network.generate import three_tier
    from setu.networks import import_network

    countries = ("IN", "US", "JP", "DE", "FR", "GB", "KR", "AU", "CN", "RU", "BR", "ZA")
    big = three_tier(products=40, suppliers=960, sub_suppliers=1000, seed=7)
    big.nodes = [
        dataclasses.replace(
            n, country=countries[i // 3 % len(countries)], site=f"site-{i // 3}", chokepoints=("Suez Canal",)
        )
        for i, n in enumerate(big.nodes)
    ]
    with transaction(sessions) as session:
        build_world(session, world)
        network_id = import_network(
            session, IN_ANALYST, big, name="big", format="json", source="big.json", marking=SHARED
        ).id
    add_users(sessions)
    with serve_in_thread(engine) as url:
        yield url, network_id


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_world_map_and_the_tree_render_2000_nodes_from_this_server_alone(big_server: tuple[str, int]) -> None:
    from playwright.sync_api import sync_playwright

    server, network_id = big_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            external: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(server) else external.append(r.url))
            log_in(page, server, "in-analyst")
            page.goto(f"{server}/networks/{network_id}/geo")
            page.wait_for_load_state("networkidle")
            assert page.locator("svg.geo circle.site").count() == 667  # 2,000 nodes, three to a site
            assert page.locator("svg.geo .chokepoint").count() == 1
            assert page.locator("svg.geo path.land.concern").count() >= 2  # CN and RU, shaded
            box = page.locator("svg.geo").bounding_box()
            assert box is not None and box["width"] > 1000
            page.goto(f"{server}/networks/{network_id}/tree")
            page.wait_for_load_state("networkidle")
            assert page.get_by_test_id("tree").locator("li").count() >= 2000
            assert external == []
        finally:
            browser.close()


@pytest.fixture
def demo_server(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[tuple[str, dict[str, str]]]:
    """The demo's parties, users and network served; the base URL and the users' one-time passwords."""
    from setu.demo.seed import seed_demo

    passwords = {user.username: user.password for user in seed_demo(sessions)}
    with serve_in_thread(engine) as url:
        yield url, passwords


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_demos_world_map_and_tree_render_from_this_server_alone(demo_server: tuple[str, dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    server, passwords = demo_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            external: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(server) else external.append(r.url))
            log_in(page, server, "us.analyst", passwords["us.analyst"])
            page.goto(f"{server}/networks/1/geo")
            page.wait_for_load_state("networkidle")
            sites = page.locator("svg.geo circle.site").count()
            assert sites > 100 and page.locator("svg.geo .chokepoint").count() == 6  # the demo's six straits
            assert page.get_by_test_id("geo-sites").locator("tbody tr").count() == sites
            page.goto(f"{server}/networks/1/tree?program=F414-engine")
            page.wait_for_load_state("networkidle")
            assert page.get_by_test_id("tree").locator("li").count() > 20
            assert external == []
        finally:
            browser.close()
