"""The supply tree: a program's products down through every tier of visible suppliers, with each node's risk."""

from __future__ import annotations

import re
from collections import deque

from clients import Api, sign_in
from networks.world import IN_ONLY_NODES, SECRET_WORDS, edge_spec, visible_ids
from setu.network.model import Network
from setu.networks.pages.tree import MAX_DEPTH
from setu.sharing.policy import allows

API = "/api/v1"


def closure(world: Network, user: str, web: Api, program: str) -> set[str]:
    """The oracle: the program's visible products and every visible node upstream of them."""
    principal = web.principals[user]
    seen = visible_ids(world, principal)
    suppliers: dict[str, list[str]] = {}
    for s in world.supplies:
        if s.supplier in seen and s.customer in seen and allows(principal, edge_spec(s.supplier, s.customer)):
            suppliers.setdefault(s.customer, []).append(s.supplier)
    program_of = {n.id: n.program for n in world.nodes}
    roots = {p.node for p in world.products if p.node in seen and program_of[p.node] == program}
    found, queue = set(roots), deque(roots)
    while queue:
        for supplier in suppliers.get(queue.popleft(), []):
            if supplier not in found:
                found.add(supplier)
                queue.append(supplier)
    return found


def tree_nodes(html: str) -> list[str]:
    section = html.split('data-testid="tree"', 1)[1]
    return re.findall(r'<a href="/networks/\d+/nodes/([^"]+)">', section)


def test_the_tree_holds_every_tier_of_the_program_and_nothing_hidden(web: Api, world: Network) -> None:
    nid = web.get("in-analyst", f"{API}/networks").json()["items"][0]["id"]
    for user in ("in-analyst", "us-analyst"):
        sign_in(web.client, user)
        page = web.client.get(f"/networks/{nid}/tree", params={"program": "Tejas"})
        assert page.status_code == 200
        listed = tree_nodes(page.text)
        assert set(listed) == closure(world, user, web, "Tejas"), user
        assert "no reference sweep of your view yet" in page.text
        if user == "us-analyst":
            assert not set(listed) & set(IN_ONLY_NODES)
            assert not [w for w in SECRET_WORDS if w in page.text]
    # A program no visible product has shows every product rather than echoing the text back.
    odd = web.client.get(f"/networks/{nid}/tree", params={"program": "<b>Agni</b>"}).text
    assert "&lt;b&gt;" not in odd and "<b>Agni" not in odd and "Every product you may see" in odd
    assert web.client.get(f"/networks/{nid + 100}/tree").status_code == 404


def test_the_tree_shows_each_nodes_risk_from_the_reference_sweep(web: Api, world: Network) -> None:
    nid = web.get("in-analyst", f"{API}/networks").json()["items"][0]["id"]
    started = web.post("in-analyst", f"{API}/runs", json={"network_id": nid, "sweep": True, "reference": True})
    run = web.wait("in-analyst", started.json()["id"])
    sign_in(web.client, "in-analyst")
    page = web.client.get(f"/networks/{nid}/tree", params={"program": "Tejas"}).text
    assert f'href="/runs/{run["id"]}"' in page and page.count('class="tree-risk') > 10
    results = web.get("in-analyst", f"{API}/runs/{run['id']}/results", params={"q": "T3_8", "limit": 5}).json()
    worst = next(r for r in results["items"] if r["disrupted"] == ["T3_8"])
    shown = re.search(r'nodes/T3_8">T3_8</a>.*?loss ([\d,.]+), REI ([\d.]+)', page, re.S)
    assert shown and float(shown.group(2)) == round(worst["rei"], 3)


def test_a_chain_deeper_than_the_tree_goes_is_cut_with_a_link_not_an_error(web: Api) -> None:
    # 1,200 stages: unfolded whole, it would nest past Python's and the renderer's recursion limits.
    from principals import SHARED
    from setu.network.model import BomLine, Node, Product, Supply
    from setu.networks import import_network

    stages = 1200
    chain = Network(
        name="chain",
        nodes=[Node(f"S{i}", f"m{i}", capacity=10.0, inventory=1.0, ttr=2.0) for i in range(stages)],
        products=[Product("S0", demand=1.0, weight=1.0)],
        bom=[BomLine(f"S{i}", f"m{i + 1}", 1.0) for i in range(stages - 1)],
        supplies=[Supply(f"S{i + 1}", f"S{i}") for i in range(stages - 1)],
    )
    with web.sessions() as session, session.begin():
        principal = web.principals["in-analyst"]
        nid = import_network(session, principal, chain, name="chain", format="generated", source="", marking=SHARED).id
    sign_in(web.client, "in-analyst")
    page = web.client.get(f"/networks/{nid}/tree")
    assert page.status_code == 200
    assert set(tree_nodes(page.text)) == {f"S{i}" for i in range(MAX_DEPTH + 1)}
    assert "1 supplier deeper than the tree goes" in page.text
