"""The authorization matrix over HTTP: every reader x every kind of record x every read path; nothing leaks,
and a hidden record is answered exactly as a missing one.

The readers are the users of every API test (:data:`clients.USERS`), on the two-party world network
(the ``web`` fixture: IN-only, US-only, HAL-proprietary, need-to-know and shared nodes).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import httpx
import pytest

from clients import USERS, Api, import_file
from networks.world import (
    HAL_NODES,
    IN_ONLY_NODES,
    NTK_NODES,
    SECRET_WORDS,
    US_ONLY_NODES,
    counter,
    edge_spec,
    visible_ids,
)
from setu.network.model import Network
from setu.sharing.policy import Principal, allows

API = "/api/v1"
READERS = tuple(USERS)
US_WORDS = ("Liberty", "Annex")
HAL_WORDS = ("Koraput",)


def network_id(api: Api) -> int:
    listing = api.get("in-analyst", f"{API}/networks").json()
    found: int = listing["items"][0]["id"]
    return found


def visible_edges(world: Network, principal: Principal, seen: set[str]) -> list[tuple[str, str]]:
    return [
        (s.supplier, s.customer)
        for s in world.supplies
        if s.supplier in seen and s.customer in seen and allows(principal, edge_spec(s.supplier, s.customer))
    ]


def same_but_key(hidden: httpx.Response, missing: httpx.Response, hidden_key: str, missing_key: str) -> None:
    """A hidden record's answer is the missing one's, word for word, with only the asked-for key differing."""
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(hidden_key, "KEY") == missing.text.replace(missing_key, "KEY")
    drop = {"content-length", "date"}
    assert {k: v for k, v in hidden.headers.items() if k not in drop} == {
        k: v for k, v in missing.headers.items() if k not in drop
    }


class Reader:
    """One user's view of the world: what the oracle says they see, and everything the API showed them."""

    def __init__(self, api: Api, user: str, world: Network) -> None:
        self.api, self.user, self.world = api, user, world
        self.principal = api.principals[user]
        self.seen = visible_ids(world, self.principal)
        self.texts: list[str] = []

    def get(self, url: str, **params: Any) -> httpx.Response:
        answer = self.api.get(self.user, url, params=params)
        self.texts.append(answer.text)
        return answer

    def ok(self, url: str, **params: Any) -> Any:
        answer = self.get(url, **params)
        assert answer.status_code == 200, (self.user, url, answer.text)
        return answer.json()

    def nodes(self) -> list[Any]:
        return [n for n in self.world.nodes if n.id in self.seen]


@pytest.mark.parametrize("user", READERS)
def test_every_read_path_shows_exactly_what_the_user_may_see(web: Api, world: Network, user: str) -> None:
    check_every_read_path(web, world, user)


def check_every_read_path(api: Api, world: Network, user: str) -> None:
    """Every read path of the world network, as ``user``, against the oracle (also run on a partner's instance)."""
    reader = Reader(api, user, world)
    nid = network_id(api)
    base = f"{API}/networks/{nid}"
    visible = reader.nodes()
    assert reader.ok(base)["nodes"] == len(visible)
    assert reader.ok(f"{API}/networks")["total"] == 1

    page = reader.ok(f"{base}/nodes", limit=1000)
    assert sorted(item["node_id"] for item in page["items"]) == sorted(reader.seen)
    assert page["total"] == len(reader.seen)
    for item in page["items"]:
        assert item["marking"]["banner"]  # every item carries its marking

    for word in ("Vikram", "Nashik", "Agni", "Liberty", "Koraput", "Mishra"):
        found = reader.ok(f"{base}/nodes", q=word, limit=1000)
        expected = {
            n.id
            for n in visible
            if any(word.lower() in v.lower() for v in (n.id, n.name, n.site, n.organization, n.material))
        }
        assert {i["node_id"] for i in found["items"]} == expected and found["total"] == len(expected), word
    for field in ("party", "country", "organization", "site", "material", "material_class", "program"):
        for value in {getattr(n, field) for n in world.nodes if getattr(n, field)}:
            filtered = reader.ok(f"{base}/nodes", limit=1000, **{field: value})
            assert filtered["total"] == sum(getattr(n, field) == value for n in visible), (field, value)

    for field in ("organization", "site", "program", "node_id", "name", "material"):
        values = [s["value"] for s in reader.ok(f"{base}/suggest", field=field, limit=100)["items"]]
        attr = "id" if field == "node_id" else field
        assert sorted(values) == sorted({getattr(n, attr) for n in visible if getattr(n, attr)}), field
    assert [s["value"] for s in reader.ok(f"{base}/suggest", field="site", prefix="n")["items"]] == (
        ["Nashik Secret Forge"] if set(IN_ONLY_NODES) <= reader.seen else []
    )
    for path, field in (("sites", "site"), ("organizations", "organization"), ("materials", "material")):
        counts = reader.ok(f"{base}/{path}")
        assert [(i["value"], i["nodes"]) for i in counts["items"]] == counter([getattr(n, field) for n in visible])

    # Neighbourhoods over visible nodes and edges only.
    edges = visible_edges(world, reader.principal, reader.seen)
    for node in ("T1_1", "T2_7", "T2_9", "T3_1", "T2_6", "T3_11"):
        if node not in reader.seen:
            continue
        hood = reader.ok(f"{base}/nodes/{node}/neighbourhood")
        assert [n["node_id"] for n in hood["suppliers"]] == sorted(s for s, c in edges if c == node)
        assert [n["node_id"] for n in hood["customers"]] == sorted(c for s, c in edges if s == node)
        downstream: set[str] = set()
        queue = deque([node])
        while queue:
            for s, c in edges:
                if s == queue[0] and c not in downstream:
                    downstream.add(c)
                    queue.append(c)
            queue.popleft()
        assert {n["node_id"] for n in hood["dependents"]} == downstream

    # Hidden nodes answer exactly as missing ones, on every path naming them.
    missing = "T9_99"
    for hidden in sorted({n.id for n in world.nodes} - reader.seen):
        for suffix in ("", "/neighbourhood"):
            same_but_key(
                reader.get(f"{base}/nodes/{hidden}{suffix}"),
                reader.get(f"{base}/nodes/{missing}{suffix}"),
                repr(hidden),
                repr(missing),
            )

    everything = "\n".join(reader.texts)
    hidden_texts = "\n".join(t for t in reader.texts if '"detail":"no such' not in t)
    if not set(IN_ONLY_NODES) & reader.seen:
        assert not [w for w in SECRET_WORDS if w in hidden_texts], user
    if not set(US_ONLY_NODES) & reader.seen:
        assert not [w for w in US_WORDS if w in everything], user
    if not set(HAL_NODES) & reader.seen:
        assert not [w for w in HAL_WORDS if w in everything], user


def test_the_oracle_gives_each_reader_a_different_view(web: Api, world: Network) -> None:
    views = {user: visible_ids(world, web.principals[user]) for user in READERS}
    everything = {n.id for n in world.nodes}
    assert everything - views["in-analyst"] == set(US_ONLY_NODES)
    assert everything - views["us-analyst"] == set(IN_ONLY_NODES) | set(HAL_NODES)
    assert everything - views["in-industry"] == set(US_ONLY_NODES) | set(NTK_NODES)
    assert everything - views["us-industry"] == set(IN_ONLY_NODES) | set(HAL_NODES) | set(NTK_NODES)
    assert everything - views["auditor"] == set(US_ONLY_NODES) | set(NTK_NODES)


def test_scenarios_runs_results_and_exports_follow_what_they_used(web: Api, world: Network) -> None:
    api = web
    nid = network_id(api)
    scenarios, runs_url = f"{API}/runs/scenarios", f"{API}/runs"

    # A scenario naming a node the analyst cannot see is answered as one naming a missing node.
    for user, hidden in (("us-analyst", "T2_9"), ("in-analyst", "T3_1"), ("us-analyst", "T2_6")):
        answers = [
            api.post(user, scenarios, json={"network_id": nid, "kind": "node", "nodes": [node], "ttr": 2})
            for node in (hidden, "T9_99")
        ]
        same_but_key(answers[0], answers[1], repr(hidden), "'T9_99'")
    # ... also when it is one node among visible ones, and without a TTR (which needs the view).
    mixed = api.post("us-analyst", scenarios, json={"network_id": nid, "kind": "custom", "nodes": ["T2_1", "T2_9"]})
    assert mixed.status_code == 404 and mixed.json() == {"detail": "no such node: 'T2_9'"}

    # Country scenarios are built on each analyst's own view.
    country_in = {"network_id": nid, "kind": "country", "value": "IN", "ttr": 3}
    in_country = api.post("in-analyst", scenarios, json=country_in).json()
    assert set(IN_ONLY_NODES) <= set(in_country["nodes"])
    assert in_country["marking"]["banner"].startswith("RESTRICTED // IN ONLY")
    us_country = api.post("us-analyst", scenarios, json=country_in).json()
    assert not set(us_country["nodes"]) & (set(IN_ONLY_NODES) | set(HAL_NODES))
    shared = api.post(
        "us-analyst", scenarios, json={"network_id": nid, "kind": "node", "nodes": ["T2_1"], "ttr": 3}
    ).json()

    in_run = api.post("in-analyst", runs_url, json={"network_id": nid, "sweep": True}).json()
    chosen = {"network_id": nid, "scenario_ids": [us_country["id"], shared["id"]]}
    us_run = api.post("us-analyst", runs_url, json=chosen).json()
    for user, run in (("in-analyst", in_run), ("us-analyst", us_run)):
        assert api.wait(user, run["id"])["status"] == "completed"

    # Who may see what: each run used its runner's whole view, so only those who see all of it see it.
    sees_in_run = {"in-analyst"}
    sees_us_run = {"us-analyst"}
    # A scenario is as sensitive as the nodes it names: seen by those who see every one of them.
    scenario_seers = {
        made["id"]: {u for u in READERS if set(made["nodes"]) <= visible_ids(world, api.principals[u])}
        for made in (in_country, us_country, shared)
    }
    assert scenario_seers[in_country["id"]] == {"in-analyst"}
    assert scenario_seers[us_country["id"]] == {"in-analyst", "us-analyst"}  # it names the ENGINE node
    assert scenario_seers[shared["id"]] == set(READERS)
    for user in READERS:
        reader = Reader(api, user, world)
        listed = reader.ok(scenarios, network_id=nid)
        assert {s["id"] for s in listed["items"]} == {pk for pk, seers in scenario_seers.items() if user in seers}
        assert listed["total"] == len(listed["items"])
        for pk, seers in scenario_seers.items():
            answer = reader.get(f"{scenarios}/{pk}")
            if user in seers:
                assert answer.status_code == 200
            else:
                same_but_key(answer, reader.get(f"{scenarios}/99999"), str(pk), "99999")
        runs = reader.ok(f"{API}/runs")
        expected_runs = {run["id"] for run, seers in ((in_run, sees_in_run), (us_run, sees_us_run)) if user in seers}
        assert {r["id"] for r in runs["items"]} == expected_runs and runs["total"] == len(expected_runs)
        for run, seers in ((in_run, sees_in_run), (us_run, sees_us_run)):
            rid = run["id"]
            for suffix in ("", "/results", "/export", "/export?format=json"):
                answer = reader.get(f"{API}/runs/{rid}{suffix}")
                if user in seers:
                    assert answer.status_code == 200, (user, suffix, answer.text)
                else:
                    same_but_key(answer, reader.get(f"{API}/runs/99999{suffix}"), str(rid), "99999")
            cancel = api.post(user, f"{API}/runs/{rid}/cancel")
            if user not in seers:
                if user.endswith("analyst"):
                    same_but_key(cancel, api.post(user, f"{API}/runs/99999/cancel"), str(rid), "99999")
                else:
                    assert cancel.status_code == 403  # the role is checked first
        everything = "\n".join(t for t in reader.texts if '"detail":"no such' not in t)
        if not set(IN_ONLY_NODES) & reader.seen:
            assert not [w for w in SECRET_WORDS if w in everything], user

    # The sweep's results name India-only nodes; its banner says so.
    results = api.get("in-analyst", f"{API}/runs/{in_run['id']}/results", params={"limit": 1000}).json()
    assert {r["scenario_id"] for r in results["items"]} & set(IN_ONLY_NODES)
    assert "IN ONLY" in results["banner"] and "NTK ENGINE" in results["banner"]
    assert api.get("in-analyst", f"{API}/runs/{in_run['id']}/export").headers["x-setu-marking"] == results["banner"]


def test_a_hidden_network_is_answered_as_a_missing_one(web: Api, world: Network, tmp_path: Path) -> None:
    from setu.network.io.setu_format import write_setu

    api = web
    path = write_setu(world, tmp_path / "mine.xlsx")
    mine = import_file(api, "us-analyst", "mine.xlsx", path.read_bytes(), national_only="true").json()
    nid = mine["id"]
    for user in ("in-analyst", "in-industry", "auditor"):
        for suffix in (
            "",
            "/nodes",
            "/nodes/T1_1",
            "/nodes/T1_1/neighbourhood",
            "/sites",
            "/organizations",
            "/materials",
            "/suggest?field=site",
        ):
            same_but_key(
                api.get(user, f"{API}/networks/{nid}{suffix}"),
                api.get(user, f"{API}/networks/99999{suffix}"),
                str(nid),
                "99999",
            )
        same_but_key(
            api.get(user, f"{API}/runs/scenarios", params={"network_id": nid}),
            api.get(user, f"{API}/runs/scenarios", params={"network_id": 99999}),
            str(nid),
            "99999",
        )
        writes: tuple[tuple[str, dict[str, Any]], ...] = (
            ("/runs/scenarios", {"kind": "country", "value": "US", "ttr": 1}),
            ("/runs", {"sweep": True}),
        )
        for path, body in writes if user == "in-analyst" else ():
            same_but_key(
                api.post(user, f"{API}{path}", json={"network_id": nid, **body}),
                api.post(user, f"{API}{path}", json={"network_id": 99999, **body}),
                str(nid),
                "99999",
            )
        assert nid not in {n["id"] for n in api.get(user, f"{API}/networks").json()["items"]}
    assert api.get("us-industry", f"{API}/networks/{nid}").status_code == 200
