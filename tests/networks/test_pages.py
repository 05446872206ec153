"""The network pages: the list, a network's node table and a node's page show only visible records, each labelled."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from clients import Api, sign_in
from networks.world import IN_ONLY_NODES, SECRET_WORDS, visible_ids
from setu.network.model import Network

IN_NODE = IN_ONLY_NODES[0]


def network_id(client: TestClient) -> int:
    found = re.search(r'href="/networks/(\d+)"', client.get("/").text)
    assert found, "no network on the dashboard"
    return int(found.group(1))


def banner(html: str) -> str:
    found = re.search(r'data-testid="banner">([^<]*)<', html)
    assert found, "no banner"
    return found.group(1)


def count_text(html: str) -> str:
    found = re.search(r'data-testid="count">([^<]*)<', html)
    assert found, "no count"
    return found.group(1)


def test_in_analyst_sees_the_in_only_node(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    nid = network_id(client)
    page = client.get(f"/networks/{nid}", params={"q": IN_NODE})
    assert page.status_code == 200
    assert f">{IN_NODE}</a>" in page.text
    assert "IN ONLY" in page.text or "NOFORN" in page.text or "IN EYES ONLY" in page.text
    assert banner(page.text) in page.text
    detail = client.get(f"/networks/{nid}/nodes/{IN_NODE}")
    assert detail.status_code == 200 and "Vikram Alloys" in detail.text
    assert "Suppliers" in detail.text and "Customers" in detail.text


def test_us_analyst_does_not_see_the_in_only_nodes(web: Api, world: Network) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    nid = network_id(client)
    in_total = int(count_text(client.get(f"/networks/{nid}").text).split(" of ")[1])
    assert in_total == len(visible_ids(world, web.principals["in-analyst"]))
    sign_in(client, "us-analyst")
    full = client.get(f"/networks/{nid}", params={"page": 1})
    us_seen = visible_ids(world, web.principals["us-analyst"])
    assert count_text(full.text) == f"Nodes 1 to {min(25, len(us_seen))} of {len(us_seen)}"
    assert not us_seen & set(IN_ONLY_NODES)
    pages = [client.get(f"/networks/{nid}", params={"page": n}).text for n in (1, 2, 3)]
    for page in pages:
        for word in SECRET_WORDS:
            assert word not in page
    for node in IN_ONLY_NODES:
        found = client.get(f"/networks/{nid}", params={"q": node})
        assert found.status_code == 200 and f">{node}</a>" not in found.text and "Vikram" not in found.text
        assert count_text(found.text).startswith("No nodes found")
    hidden = client.get(f"/networks/{nid}/nodes/{IN_NODE}")
    missing = client.get(f"/networks/{nid}/nodes/NO_SUCH_NODE")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text
    # Neighbours of shared nodes never list the hidden ones.
    for node in ("T1_1", "T2_1"):
        around = client.get(f"/networks/{nid}/nodes/{node}")
        for word in SECRET_WORDS:
            assert word not in around.text
    assert client.get(f"/networks/{nid + 999}").status_code == 404


def test_banner_is_the_highest_marking_on_the_page(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    nid = network_id(client)
    expected = {
        "T1_1": "RESTRICTED // REL TO IN, US",
        "T2_9": "RESTRICTED // IN ONLY",
        "T2_6": "RESTRICTED // REL TO IN, US // PROPRIETARY HAL",
        "T3_11": "RESTRICTED // REL TO IN, US // NTK ENGINE",
        "": "RESTRICTED // IN ONLY // PROPRIETARY HAL // NTK ENGINE",
    }
    for q, text in expected.items():
        page = client.get(f"/networks/{nid}", params={"q": q}).text
        assert banner(page) == text, q
        assert page.count(f">{text}</div>") == 2, "the banner is shown at the top and the bottom"
    assert banner(client.get(f"/networks/{nid}/nodes/T2_9").text) == "RESTRICTED // IN ONLY"
    sign_in(client, "us-analyst")
    assert banner(client.get(f"/networks/{nid}").text) == "RESTRICTED // US ONLY // NTK ENGINE"


def test_networks_page_lists_visible_networks_with_map_links(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    page = client.get("/networks")
    assert page.status_code == 200
    identifier = network_id(client)
    assert f'href="/networks/{identifier}/map"' in page.text and 'class="mark mark-' in page.text
    assert 'aria-current="page"' in page.text
