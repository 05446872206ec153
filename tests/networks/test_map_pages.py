"""The network explorer: the map page, its JSON, the side panel and the no-script list show only visible records."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import generated
from clients import TEST_SETTINGS, Api, make_api, sign_in
from networks.world import IN_ONLY_NODES, SECRET_WORDS, build_world, visible_ids
from principals import IN_ANALYST, IN_ONLY, SHARED
from setu.db import transaction
from setu.models.networks import NetworkRecord
from setu.network.io.willems import read_willems
from setu.network.model import Network
from setu.networks import import_network
from setu.networks.pages.map import NO_RUN

STATIC = Path(__file__).parents[2] / "src" / "setu" / "web" / "static"
NODE_KEYS = {"id", "name", "material", "organization", "site", "country", "party", "program", "tier", "x", "y"}
NODE_KEYS |= {"product", "risk", "marking"}


def world_id(web: Api) -> int:
    with web.sessions() as session:
        return session.scalars(select(NetworkRecord.id).where(NetworkRecord.name == "small")).one()


def map_of(web: Api, user: str, network_id: int) -> dict[str, Any]:
    sign_in(web.client, user)
    answer = web.client.get(f"/networks/{network_id}/map.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body: dict[str, Any] = answer.json()
    return body


def banner(html: str) -> str:
    found = re.search(r'data-testid="banner">([^<]*)<', html)
    assert found, "no banner"
    return found.group(1)


def test_map_json_holds_exactly_the_visible_graph_with_labels(web: Api, world: Network) -> None:
    nid = world_id(web)
    for user in ("in-analyst", "us-analyst", "in-industry"):
        body = map_of(web, user, nid)
        seen = visible_ids(world, web.principals[user])
        ids = [node["id"] for node in body["nodes"]]
        assert sorted(ids) == sorted(seen), user
        assert all(set(node) == NODE_KEYS for node in body["nodes"])
        assert all(node["marking"]["banner"] and node["marking"]["level"] for node in body["nodes"])
        edges = {(ids[s], ids[c]) for s, c in body["edges"]}
        assert edges == {(s.supplier, s.customer) for s in world.supplies if {s.supplier, s.customer} <= seen}
        # Coordinates from the visible graph: suppliers left of their customers, all inside the map.
        at = {node["id"]: node for node in body["nodes"]}
        assert all(at[s]["x"] < at[c]["x"] and at[s]["tier"] > at[c]["tier"] for s, c in edges)
        assert all(0 <= node["x"] <= 1 and 0 <= node["y"] <= 1 for node in body["nodes"])
        assert body["columns"] == max(node["tier"] for node in body["nodes"]) + 1
        products = {p.node for p in world.products} & seen
        assert {node["id"] for node in body["nodes"] if node["product"]} == products
        for field in ("program", "country", "material", "organization"):
            assert body["filters"][field] == sorted({getattr(n, field) for n in world.nodes if n.id in seen} - {""})
        assert body["run"] is None and body["risk_note"] == NO_RUN
        assert all(node["risk"] is None for node in body["nodes"])
    us = map_of(web, "us-analyst", nid)
    text = json.dumps(us)
    assert not [word for word in SECRET_WORDS if word in text]
    assert "Project Agni" not in us["filters"]["program"] and "Vikram Alloys" not in us["filters"]["organization"]
    assert us["banner"] == "RESTRICTED // US ONLY // NTK ENGINE"
    india = map_of(web, "in-analyst", nid)
    assert set(IN_ONLY_NODES) <= {node["id"] for node in india["nodes"]}
    assert "Project Agni" in india["filters"]["program"]
    assert {node["marking"]["banner"] for node in india["nodes"] if node["id"] in IN_ONLY_NODES} == {
        "RESTRICTED // IN ONLY"
    }


def test_map_page_links_styles_script_and_table_for_each_user(web: Api, world: Network) -> None:
    nid = world_id(web)
    sign_in(web.client, "us-analyst")
    page = web.client.get(f"/networks/{nid}/map")
    assert page.status_code == 200
    html = page.text
    assert '<script src="/static/explorer.js" defer></script>' in html
    assert 'href="/static/explorer.css"' in html
    assert f'href="/networks/{nid}"' in html and "Node table of small" in html
    assert f'data-json="/networks/{nid}/map.json"' in html
    assert banner(html) == "RESTRICTED // US ONLY // NTK ENGINE"
    seen = visible_ids(world, web.principals["us-analyst"])
    assert f"{len(seen)} node(s)" in html and NO_RUN in html
    assert not [word for word in SECRET_WORDS if word in html]
    for field in ("filter-program", "filter-country", "filter-material", "filter-organization", "colour-by"):
        assert f'<label for="{field}">' in html
    # The list works without a script: the first page of nodes by tier, each a link with its marking.
    rows = re.findall(r'<td><a href="/networks/\d+/nodes/([^"]+)">', html)
    assert len(rows) == min(25, len(seen)) and set(rows) <= seen
    assert html.count('class="mark mark-') >= len(rows)
    for network_page in (f"/networks/{nid}", f"/networks/{nid}/nodes/T1_1"):
        assert f'href="/networks/{nid}/map"' in web.client.get(network_page).text
    sign_in(web.client, "in-analyst")
    html = web.client.get(f"/networks/{nid}/map").text
    assert banner(html) == "RESTRICTED // IN ONLY // PROPRIETARY HAL // NTK ENGINE"
    assert "Project Agni" in html


def test_no_script_list_filters_on_visible_values_only(web: Api, world: Network) -> None:
    nid = world_id(web)
    sign_in(web.client, "us-analyst")
    html = web.client.get(f"/networks/{nid}/map", params={"country": "US"}).text
    rows = re.findall(r'<td><a href="/networks/\d+/nodes/([^"]+)">', html)
    seen = visible_ids(world, web.principals["us-analyst"])
    us_nodes = {n.id for n in world.nodes if n.country == "US" and n.id in seen}
    assert set(rows) == us_nodes and "(filtered)" in html
    assert re.search(r"<option selected>US</option>", html)
    # A hidden program is no option, and asking for it filters nothing and is not echoed back.
    hidden = web.client.get(f"/networks/{nid}/map", params={"program": "Project Agni"}).text
    assert "Project Agni" not in hidden and "(filtered)" not in hidden
    assert f"Nodes 1 to {min(25, len(seen))} of {len(seen)}" in hidden
    # Paging keeps the filters.
    page_two = web.client.get(f"/networks/{nid}/map", params={"page": 2}).text
    assert re.findall(r'<td><a href="/networks/\d+/nodes/([^"]+)">', page_two)
    assert 'rel="prev"' in page_two


def test_side_panel_and_node_page_show_visible_neighbours_only(web: Api) -> None:
    nid = world_id(web)
    sign_in(web.client, "us-analyst")
    panel = web.client.get(f"/networks/{nid}/map/nodes/T2_7")
    assert panel.status_code == 200 and panel.headers["cache-control"] == "no-store"
    text = panel.text
    assert "<html" not in text and 'id="panel-heading"' in text
    alternates = re.search(r'data-section="alternates">(.*?)</section>', text, re.S)
    assert alternates and re.findall(r'data-node="([^"]+)"', alternates.group(1)) == ["T2_8"]
    assert 'class="mark mark-' in text and "Panel marking:" in text
    assert not [word for word in SECRET_WORDS if word in text]
    dependents = re.search(r'data-section="dependents">(.*?)</section>', text, re.S)
    assert dependents and re.findall(r'data-node="([^"]+)"', dependents.group(1))
    hidden = web.client.get(f"/networks/{nid}/map/nodes/{IN_ONLY_NODES[0]}")
    missing = web.client.get(f"/networks/{nid}/map/nodes/NO_SUCH_NODE")
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    assert IN_ONLY_NODES[0] not in hidden.text
    node_page = web.client.get(f"/networks/{nid}/nodes/T2_7").text
    section = re.search(r'<section id="alternates".*?</section>', node_page, re.S)
    assert section and re.findall(r'nodes/([^"]+)"', section.group(0)) == ["T2_8"]
    assert '<section id="dependents"' in node_page
    assert not [word for word in SECRET_WORDS if word in node_page]
    sign_in(web.client, "in-analyst")
    india = web.client.get(f"/networks/{nid}/map/nodes/T2_7").text
    alternates = re.search(r'data-section="alternates">(.*?)</section>', india, re.S)
    assert alternates and re.findall(r'data-node="([^"]+)"', alternates.group(1)) == ["T2_8", "T2_9"]
    node_page = web.client.get(f"/networks/{nid}/nodes/T2_7").text
    section = re.search(r'<section id="alternates".*?</section>', node_page, re.S)
    assert section and "T2_9" in section.group(0)


def test_hidden_and_missing_networks_answer_the_same_404(web: Api, world: Network) -> None:
    with transaction(web.sessions) as session:
        secret = import_network(
            session, IN_ANALYST, world, name="india only", format="accelerator", source="s.json", marking=IN_ONLY
        ).id
    sign_in(web.client, "us-analyst")
    for suffix in ("/map", "/map.json", "/map/nodes/T1_1"):
        hidden = web.client.get(f"/networks/{secret}{suffix}")
        missing = web.client.get(f"/networks/{secret + 100}{suffix}")
        assert hidden.status_code == missing.status_code == 404, suffix
        assert hidden.text == missing.text and "india only" not in hidden.text
    assert web.client.get(f"/networks/{secret}/map.json").json() == {"detail": "not found"}
    sign_in(web.client, "in-analyst")
    assert web.client.get(f"/networks/{secret}/map.json").status_code == 200
    web.client.cookies.clear()
    assert web.client.get(f"/networks/{secret}/map.json").status_code == 401
    assert web.client.get(f"/networks/{secret}/map", follow_redirects=False).headers["location"] == "/accounts/login"


def test_risk_comes_from_the_users_reference_sweep_never_an_ad_hoc_run(web: Api, world: Network) -> None:
    nid = world_id(web)
    started = web.post("in-analyst", "/api/v1/runs", json={"network_id": nid, "sweep": True, "reference": True})
    assert started.status_code == 202, started.text
    run = web.wait("in-analyst", started.json()["id"])
    assert run["status"] == "completed"
    ours = map_of(web, "in-analyst", nid)
    assert ours["run"]["id"] == run["id"] and ours["run"]["marking"]["banner"]
    assert ours["risk_note"] != NO_RUN and "reference sweep" in ours["risk_note"]
    risky = {node["id"]: node["risk"] for node in ours["nodes"] if node["risk"] is not None}
    # The sweep disrupts each supplying node alone; products ship to no one and have no scenario of their own.
    ids = [node["id"] for node in ours["nodes"]]
    assert set(risky) == {ids[s] for s, _c in ours["edges"]}
    assert all(0 <= r["rei"] <= 1 and r["pi"] >= 0 for r in risky.values())
    assert max(r["rei"] for r in risky.values()) == 1.0
    sign_in(web.client, "in-analyst")
    html = web.client.get(f"/networks/{nid}/map").text
    assert f"run {run['id']}" in html and NO_RUN not in html
    # A later ad-hoc sweep with another TTR does not recolour the map.
    adhoc = web.post("in-analyst", "/api/v1/runs", json={"network_id": nid, "sweep": True, "ttr": 0.5})
    assert web.wait("in-analyst", adhoc.json()["id"])["status"] == "completed"
    assert map_of(web, "in-analyst", nid) == ours
    # The run holds India-only nodes, so the US analyst cannot see it, nor learn from the map that it exists.
    us = map_of(web, "us-analyst", nid)
    assert us["run"] is None and us["risk_note"] == NO_RUN
    assert all(node["risk"] is None for node in us["nodes"])


def test_a_2025_node_chain_maps_every_node_in_a_small_answer(web: Api, shared_data: Path) -> None:
    chain = read_willems(shared_data / "willems2008" / "snc" / "willems_38.csv")
    with transaction(web.sessions) as session:
        nid = import_network(
            session, IN_ANALYST, chain, name="willems 38", format="willems", source="willems_38.csv", marking=SHARED
        ).id
    sign_in(web.client, "us-analyst")
    answer = web.client.get(f"/networks/{nid}/map.json")
    assert answer.status_code == 200
    assert len(answer.content) < 1_500_000
    body = answer.json()
    assert len(body["nodes"]) == 2025 and len(body["edges"]) == len(chain.supplies)
    assert len({(node["x"], node["y"]) for node in body["nodes"]}) == 2025
    page = web.client.get(f"/networks/{nid}/map")
    assert page.status_code == 200 and "2025 node(s)" in page.text
    # The no-script list stays one page long however large the network.
    assert len(re.findall(r'<td><a href="/networks/\d+/nodes/', page.text)) == 25


def test_a_1700_node_network_maps_every_node_in_a_small_answer(web: Api) -> None:
    large = generated.large()
    with transaction(web.sessions) as session:
        nid = import_network(
            session, IN_ANALYST, large, name="large", format="accelerator", source="dataset_large.json", marking=SHARED
        ).id
    sign_in(web.client, "us-analyst")
    answer = web.client.get(f"/networks/{nid}/map.json")
    assert answer.status_code == 200
    assert len(answer.content) < 1_500_000
    body = answer.json()
    assert len(body["nodes"]) == 1700 and len(body["edges"]) == len(large.supplies)
    assert len({(node["x"], node["y"]) for node in body["nodes"]}) == 1700
    page = web.client.get(f"/networks/{nid}/map")
    assert page.status_code == 200 and "1700 node(s)" in page.text
    # The no-script list stays one page long however large the network.
    assert len(re.findall(r'<td><a href="/networks/\d+/nodes/', page.text)) == 25


def test_explorer_assets_are_local_and_build_no_html_from_data() -> None:
    script = (STATIC / "explorer.js").read_text()
    style = (STATIC / "explorer.css").read_text()
    for text in (script, style):
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
        assert "@import" not in text
    # Data goes into the page as text; the one innerHTML is the server's escaped panel fragment.
    assert script.count("innerHTML") == 1 and "panelBody.innerHTML = html" in script
    assert "eval(" not in script and "document.write" not in script


def test_hidden_nodes_leave_no_trace_in_the_layout(web: Api, world: Network) -> None:
    """The US analyst's map equals the map of a network that never held the nodes hidden from them."""
    nid = world_id(web)
    seen = visible_ids(world, web.principals["us-analyst"])
    supplies = [s for s in world.supplies if {s.supplier, s.customer} <= seen]
    material = {node.id: node.material for node in world.nodes}
    sourced = {(s.customer, material[s.supplier]) for s in supplies}
    without = dataclasses.replace(
        world,
        nodes=[node for node in world.nodes if node.id in seen],
        products=[p for p in world.products if p.node in seen],
        bom=[line for line in world.bom if (line.node, line.material) in sourced],
        supplies=supplies,
    )
    with transaction(web.sessions) as session:
        twin = import_network(
            session, IN_ANALYST, without, name="twin", format="accelerator", source="twin.json", marking=SHARED
        ).id
    mine, theirs = map_of(web, "us-analyst", nid), map_of(web, "us-analyst", twin)
    place = {node["id"]: (node["tier"], node["x"], node["y"]) for node in theirs["nodes"]}
    assert {node["id"]: (node["tier"], node["x"], node["y"]) for node in mine["nodes"]} == place
    assert (mine["columns"], mine["rows"]) == (theirs["columns"], theirs["rows"])
    # The check has teeth: a map drawn with the India-only nodes places shared nodes elsewhere.
    india = {node["id"]: (node["tier"], node["x"], node["y"]) for node in map_of(web, "in-analyst", nid)["nodes"]}
    assert any(india[node] != spot for node, spot in place.items() if node in india)


def test_over_the_node_limit_the_map_sends_part_of_the_network_and_says_so(
    engine: Engine, sessions: sessionmaker[Session], world: Network
) -> None:
    # A network larger than SETU_MAP_NODES must not send every reader the whole graph.
    settings = dataclasses.replace(TEST_SETTINGS, map_nodes=10)
    for web in make_api(engine, sessions, settings, lambda session: build_world(session, world)):
        nid = world_id(web)
        for user in ("in-analyst", "us-analyst"):
            body = map_of(web, user, nid)
            seen = visible_ids(world, web.principals[user])
            assert len(body["nodes"]) == 10 and body["total"] == len(seen)
            assert {node["id"] for node in body["nodes"]} <= seen
            assert body["note"].startswith(f"showing 10 of {len(seen)} nodes you may see")
            page = web.client.get(f"/networks/{nid}/map")
            assert page.status_code == 200 and f"showing 10 of {len(seen)} nodes" in page.text
