"""Scenarios of every kind, runs in the background, progress, results, exports equal to the engine's, cancel."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from clients import Api, csv_export_rows, import_file, outcome
from networks.world import expected_small, published_small_network, small_network
from setu.audit.log import integrate
from setu.models.audit import AuditEntry
from setu.models.stress import RunRecord
from setu.network.compile import compile_network
from setu.network.io.loader import read_network
from setu.network.io.setu_format import write_setu
from setu.network.model import Network
from setu.sharing.files import parquet_marking, read_marked_csv
from setu.stress.engine import run_scenarios
from setu.stress.export import write_results
from setu.stress.scenarios import Scenario

API = "/api/v1"


@pytest.fixture
def network() -> Network:
    return small_network()


@pytest.fixture
def shared_net(api: Api, network: Network, tmp_path: Path) -> int:
    """The dressed small network uploaded by the Indian analyst, released to both parties."""
    path = write_setu(network, tmp_path / "small.xlsx")
    answer = outcome(
        api,
        "in-analyst",
        api.post(
            "in-analyst",
            f"{API}/networks",
            files={"file": ("small.xlsx", path.read_bytes())},
            data={"releases": ["IN", "US"], "classification": "RESTRICTED"},
        ),
    )
    assert answer.status_code == 201, answer.text
    network_id: int = answer.json()["id"]
    return network_id


def scenario(api: Api, network_id: int, body: dict[str, Any], user: str = "us-analyst") -> dict[str, Any]:
    answer = api.post(user, f"{API}/runs/scenarios", json={"network_id": network_id, **body})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def start(api: Api, network_id: int, body: dict[str, Any], user: str = "us-analyst") -> dict[str, Any]:
    answer = api.post(user, f"{API}/runs", json={"network_id": network_id, **body})
    assert answer.status_code == 202, answer.text
    run: dict[str, Any] = answer.json()
    assert run["status"] == "queued" and run["done"] == 0
    return run


def test_scenarios_of_every_kind(api: Api, shared_net: int, network: Network) -> None:
    nodes = {node.id: node for node in network.nodes}
    country = scenario(api, shared_net, {"kind": "country", "value": "US", "ttr": 4})
    assert (country["scenario_id"], country["kind"], country["label"], country["ttr"]) == (
        "country:US",
        "country",
        "country: US",
        4.0,
    )
    assert set(country["nodes"]) == {n for n, node in nodes.items() if node.country == "US"}
    assert country["severities"] is None
    assert country["marking"]["banner"] == "RESTRICTED // REL TO IN, US"

    site = scenario(api, shared_net, {"kind": "site", "value": "Lynn"})  # TTR: the longest estimate there
    assert site["ttr"] == max(nodes[n].ttr or 0 for n in site["nodes"])
    org = scenario(api, shared_net, {"kind": "organization", "value": "HAL", "ttr": 2, "id": "hal-out"})
    assert org["scenario_id"] == "hal-out"
    party = scenario(api, shared_net, {"kind": "party", "value": "IN", "ttr": 2})
    assert set(party["nodes"]) == {n for n, node in nodes.items() if node.party == "IN"}
    material = scenario(api, shared_net, {"kind": "material", "value": "aaf", "ttr": 1})
    assert material["nodes"] == ["T3_3", "T3_4"]
    node = scenario(api, shared_net, {"kind": "node", "nodes": ["T2_1"], "ttr": 3, "label": "forge fire"})
    assert (node["scenario_id"], node["label"]) == ("node:T2_1", "forge fire")
    export = scenario(
        api,
        shared_net,
        {"kind": "export_control", "materials": ["tier3"], "countries": ["US"], "severity": 0.5, "ttr": 6},
    )
    assert export["severities"] == [0.5] * len(export["nodes"])
    assert {nodes[n].country for n in export["nodes"]} == {"US"}
    custom = scenario(
        api, shared_net, {"kind": "custom", "nodes": ["T3_2", "T3_4"], "severities": [0.5, 1], "ttr": 3, "id": "two"}
    )
    assert custom["severities"] == [0.5, 1.0]

    listing = api.get("in-analyst", f"{API}/runs/scenarios", params={"network_id": shared_net}).json()
    assert listing["total"] == 8  # released to both, as the network and its nodes are
    assert api.get("in-industry", f"{API}/runs/scenarios/{country['id']}").json()["nodes"] == country["nodes"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (
            {"kind": "country", "value": "FR", "ttr": 1},
            422,
            "country FR (France): no node of the network is there; it has IN (India), US (United States)",
        ),
        ({"kind": "node", "nodes": ["NOPE"], "ttr": 1}, 404, "no such node: 'NOPE'"),
        ({"kind": "node", "nodes": ["T2_1"], "ttr": -1}, 422, "invalid request"),
        ({"kind": "country", "ttr": 1}, 422, "invalid request"),
        ({"kind": "export_control", "materials": ["x"]}, 422, "invalid request"),
        ({"kind": "node", "nodes": ["T2_1", "T2_2"], "severities": [1], "ttr": 1}, 422, "invalid request"),
        ({"kind": "tsunami", "value": "x"}, 422, "invalid request"),
        ({"kind": "country", "value": "US", "ttr": 1, "colour": "red"}, 422, "invalid request"),
    ],
)
def test_bad_scenarios(api: Api, shared_net: int, body: dict[str, Any], status: int, detail: str) -> None:
    answer = api.post("us-analyst", f"{API}/runs/scenarios", json={"network_id": shared_net, **body})
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"] == detail


def test_a_scenario_id_is_unique_per_user(api: Api, shared_net: int) -> None:
    scenario(api, shared_net, {"kind": "country", "value": "US", "ttr": 1})
    again = api.post(
        "us-analyst", f"{API}/runs/scenarios", json={"network_id": shared_net, "kind": "country", "value": "US"}
    )
    assert again.status_code == 422
    assert again.json() == {"detail": "you already have a scenario 'country:US' on this network"}
    scenario(api, shared_net, {"kind": "country", "value": "US", "ttr": 1}, user="in-analyst")


def test_a_run_of_stored_scenarios_results_and_exports(
    api: Api, shared_net: int, network: Network, tmp_path: Path
) -> None:
    bodies = [
        {"kind": "country", "value": "US", "ttr": 4},
        {"kind": "country", "value": "IN", "ttr": 4},
        {"kind": "organization", "value": "GE Aerospace", "ttr": 8},
        {"kind": "node", "nodes": ["T3_4"], "ttr": 2},
        {"kind": "custom", "nodes": ["T2_1", "T2_2"], "severities": [0.5, 0.25], "ttr": 3, "id": "half"},
    ]
    made = [scenario(api, shared_net, body) for body in bodies]
    run = start(api, shared_net, {"scenario_ids": [s["id"] for s in made]})
    assert (run["total"], run["scenarios"], run["ttr"], run["compute_tts"]) == (5, [s["id"] for s in made], None, True)
    final = api.wait("us-analyst", run["id"])
    assert (final["status"], final["done"], final["total"], final["error"]) == ("completed", 5, 5, "")
    assert final["started_at"] and final["finished_at"] and final["wall_seconds"] is not None

    # The engine on the same network and scenarios gives the same numbers.
    local = [
        Scenario(
            s["scenario_id"],
            tuple(s["nodes"]),
            s["ttr"],
            None if s["severities"] is None else tuple(s["severities"]),
            s["kind"],
            s["label"],
        )
        for s in made
    ]
    result = run_scenarios(compile_network(network), local)
    expected = pd.read_csv(write_results(result, tmp_path / "engine.csv"))
    exported = api.get("us-analyst", f"{API}/runs/{run['id']}/export", params={"format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == f'attachment; filename="setu-run-{run["id"]}-results.csv"'
    assert exported.headers["x-setu-marking"] == "RESTRICTED // REL TO IN, US"
    top, bottom, got = read_marked_csv(exported.content)
    assert top == bottom == "RESTRICTED // REL TO IN, US"
    assert list(got.columns) == [*expected.columns, "baseline_loss", "tts_relative"]
    assert (got["baseline_loss"] == 0).all()  # the analyst's view meets every demand undisrupted
    pd.testing.assert_frame_equal(got[list(expected.columns)], expected, rtol=1e-9)
    pd.testing.assert_series_equal(got["tts_relative"], got["tts"], check_names=False)

    rows = api.get("us-analyst", f"{API}/runs/{run['id']}/results").json()
    assert rows["total"] == 5 and rows["banner"] == "RESTRICTED // REL TO IN, US"
    reis = [r["rei"] for r in rows["items"]]
    assert reis == sorted(reis, reverse=True) and max(reis) == pytest.approx(1.0)
    by_id = {r["scenario_id"]: r for r in rows["items"]}
    for _, row in expected.iterrows():
        mine = by_id[row["scenario_id"]]
        assert mine["lost_profit"] == pytest.approx(row["lost_profit"], rel=1e-9, abs=1e-9)
        assert mine["rei"] == pytest.approx(row["rei"], rel=1e-9, abs=1e-12)
        assert mine["disrupted"] == row["disrupted"].split(";")
        assert mine["at_risk"] == (float(row["tts"]) < row["ttr"])
    at_risk = api.get("us-analyst", f"{API}/runs/{run['id']}/results", params={"at_risk": True}).json()
    assert {r["scenario_id"] for r in at_risk["items"]} == {r["scenario_id"] for r in rows["items"] if r["at_risk"]}
    assert at_risk["total"] == len(at_risk["items"])
    strong = api.get("us-analyst", f"{API}/runs/{run['id']}/results", params={"min_rei": 0.5}).json()
    assert all(r["rei"] >= 0.5 for r in strong["items"]) and strong["total"] == sum(x >= 0.5 for x in reis)
    texts = api.get("us-analyst", f"{API}/runs/{run['id']}/results", params={"q": "COUNTRY", "sort": "scenario_id"})
    assert [r["scenario_id"] for r in texts.json()["items"]] == ["country:IN", "country:US"]
    by_tts = api.get("us-analyst", f"{API}/runs/{run['id']}/results", params={"sort": "tts", "limit": 2}).json()
    assert by_tts["total"] == 5 and len(by_tts["items"]) == 2 and by_tts["limit"] == 2

    as_json = api.get("us-analyst", f"{API}/runs/{run['id']}/export", params={"format": "json"})
    assert as_json.headers["content-type"] == "application/json"
    document = json.loads(as_json.text)
    assert document["marking"]["banner"] == as_json.headers["x-setu-marking"] == "RESTRICTED // REL TO IN, US"
    assert [r["scenario_id"] for r in document["results"]] == [s["scenario_id"] for s in made]
    parquet = api.get("us-analyst", f"{API}/runs/{run['id']}/export", params={"format": "parquet"})
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert parquet.headers["content-disposition"].endswith('results.parquet"')
    frame = pd.read_parquet(io.BytesIO(parquet.content))
    assert list(frame["scenario_id"]) == [s["scenario_id"] for s in made]
    assert parquet_marking(parquet.content)["banner"] == "RESTRICTED // REL TO IN, US"
    excel = api.get("us-analyst", f"{API}/runs/{run['id']}/export", params={"format": "xlsx"})
    assert excel.status_code == 200 and excel.headers["content-disposition"].endswith('results.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(excel.content)).active
    assert sheet is not None
    assert sheet.cell(1, 1).value == sheet.cell(sheet.max_row, 1).value == "RESTRICTED // REL TO IN, US"
    assert [sheet.cell(r, 1).value for r in range(3, sheet.max_row)] == [s["scenario_id"] for s in made]
    assert api.get("us-analyst", f"{API}/runs/{run['id']}/export", params={"format": "ods"}).status_code == 422

    listing = api.get("in-industry", f"{API}/runs", params={"network_id": shared_net}).json()
    assert [r["id"] for r in listing["items"]] == [run["id"]]
    assert api.get("in-industry", f"{API}/runs", params={"status": "failed"}).json()["total"] == 0


def test_a_sweep_matches_the_reference_values(api: Api, shared_data: Path, tmp_path: Path) -> None:
    network = published_small_network(shared_data)
    data = write_setu(network, tmp_path / "small.xlsx").read_bytes()  # with each node's TTR estimate
    answer = import_file(api, "in-analyst", "small.xlsx", data)
    run = start(api, answer.json()["id"], {"sweep": True}, user="in-analyst")
    assert run["scenarios"] == "sweep" and run["ttr"] is None and run["total"] == 30
    assert api.wait("in-analyst", run["id"])["status"] == "completed"
    exported = api.get("in-analyst", f"{API}/runs/{run['id']}/export").text
    rows = {row["scenario_id"]: row for row in csv_export_rows(exported)}
    expected = expected_small(shared_data)
    assert set(rows) == set(expected)
    for node, (pi, _tts) in expected.items():
        assert float(rows[node]["lost_profit"]) == pytest.approx(pi, abs=1e-6)
    assert api.get("us-analyst", f"{API}/runs/{run['id']}").status_code == 404  # the upload was India's only


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"sweep": True, "scenario_ids": [1]}, 422),
        ({"scenario_ids": []}, 422),
        ({"scenario_ids": [999]}, 404),
        ({"sweep": True, "ttr": -2}, 422),
        ({"scenario_ids": [2**40]}, 422),
    ],
)
def test_bad_runs(api: Api, shared_net: int, body: dict[str, Any], status: int) -> None:
    answer = api.post("us-analyst", f"{API}/runs", json={"network_id": shared_net, **body})
    assert answer.status_code == status, answer.text
    if status == 404:
        assert answer.json() == {"detail": "no such scenario: 999"}


@pytest.mark.parametrize(
    ("path", "body", "where", "message"),
    [
        ("/runs", {"scenario_ids": [7, 3, 7] + [7] * 9_997}, "body.scenario_ids", "scenario id 7 is listed twice"),
        (
            "/runs/scenarios",
            {"kind": "node", "nodes": ["T2_1", "T2_2", "T2_1"]},
            "body.nodes",
            "'T2_1' is listed twice",
        ),
        (
            "/runs/scenarios",
            {"kind": "export_control", "materials": ["x"], "countries": ["CN", "CN"]},
            "body.countries",
            "'CN' is listed twice",
        ),
    ],
)
def test_a_repeated_item_is_refused_naming_it(
    api: Api, shared_net: int, path: str, body: dict[str, Any], where: str, message: str
) -> None:
    """A run of one scenario ten thousand times over would solve it ten thousand times: refused, and said why."""
    before = api.get("us-analyst", f"{API}/runs").json()["total"]
    answer = api.post("us-analyst", f"{API}{path}", json={"network_id": shared_net, **body})
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert [p["where"] for p in problems] == [where]
    assert problems[0]["message"].startswith(message)
    assert api.get("us-analyst", f"{API}/runs").json()["total"] == before


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Hold every run at the start of its computation until the event is set."""
    from setu.runs import service

    gate = threading.Event()
    real: Callable[..., Any] = service.run_scenarios

    def held(*args: Any, **kwargs: Any) -> Any:
        assert gate.wait(30), "the test never opened the gate"
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "run_scenarios", held)
    yield gate
    gate.set()


def test_cancel_a_running_run(api: Api, shared_net: int, gate: threading.Event) -> None:
    run = start(api, shared_net, {"sweep": True, "ttr": 2})
    url = f"{API}/runs/{run['id']}/cancel"
    assert api.post("in-analyst", url).status_code == 403  # not theirs (they see it: it is released to both)
    assert api.post("us-industry", url).status_code == 403
    answer = api.post("us-analyst", url)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] in ("queued", "running")
    gate.set()
    final = api.wait("us-analyst", run["id"])
    assert final["status"] == "cancelled"
    results = api.get("us-analyst", f"{API}/runs/{run['id']}/results").json()
    assert (results["total"], results["items"]) == (0, [])
    again = api.post("us-analyst", url)
    assert again.status_code == 409 and again.json() == {"detail": f"run {run['id']} already ended: cancelled"}
    export = api.get("us-analyst", f"{API}/runs/{run['id']}/export")
    assert export.status_code == 409
    assert api.post("us-analyst", f"{API}/runs/999/cancel").status_code == 404


def test_stopping_the_server_gives_its_runs_back_to_the_queue(api: Api, shared_net: int, gate: threading.Event) -> None:
    run = start(api, shared_net, {"sweep": True, "ttr": 2})
    for _ in range(200):  # a worker thread takes it
        with api.sessions() as session:
            if session.scalar(select(RunRecord.status).where(RunRecord.id == run["id"])) == "running":
                break
        time.sleep(0.05)

    def open_once_given_back() -> None:
        # The run is released only after the stopping worker gave it back: released any earlier, a fast
        # machine finishes the whole sweep before the stop reaches the worker, and nothing is tested.
        for _ in range(400):
            with api.sessions() as session:
                if session.scalar(select(RunRecord.status).where(RunRecord.id == run["id"])) == "queued":
                    break
            time.sleep(0.025)
        gate.set()

    opener = threading.Thread(target=open_once_given_back)
    opener.start()
    api.client.__exit__(None, None, None)  # the app's shutdown stops its workers, which give their run back
    opener.join()
    with api.sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        stored = session.scalars(select(RunRecord).where(RunRecord.id == run["id"])).one()
        assert (stored.status, stored.runner, stored.attempts, stored.done) == ("queued", "", 0, 0)
        retried = session.scalar(select(func.count()).where(AuditEntry.action == "run.retry"))
    assert retried == 1


def test_a_failed_run_reports_its_error(api: Api, shared_net: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from setu.runs import service

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(service, "run_scenarios", broken)
    run = start(api, shared_net, {"sweep": True, "ttr": 2})
    final = api.wait("us-analyst", run["id"])
    assert (final["status"], final["error"]) == ("failed", "RuntimeError: solver exploded")


def test_read_network_helper_is_the_uploaded_network(network: Network, tmp_path: Path) -> None:
    path = write_setu(network, tmp_path / "n.xlsx")
    assert [n.id for n in read_network(path).nodes] == [n.id for n in network.nodes]


def test_scenarios_and_runs_live_under_one_prefix(api: Api) -> None:
    """Issue 9: the whole concept is under /api/v1/runs; the scenario routes come before /runs/{run_id}."""
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths[f"{API}/runs/scenarios"]) and "get" in paths[
        f"{API}/runs/scenarios/{{scenario_id}}"
    ]
    assert {"post", "get"} <= set(paths[f"{API}/runs"])
    assert not [p for p in paths if p.startswith((f"{API}/scenarios", f"{API}/networks/{{network_id}}/scenarios"))]
    assert f"{API}/networks/{{network_id}}/runs" not in paths
    missing = api.get("in-analyst", f"{API}/runs/scenarios", params={"network_id": 999})
    assert missing.status_code == 404 and missing.json() == {"detail": "no such network: 999"}
    assert api.get("in-analyst", f"{API}/runs/scenarios").status_code == 422  # the network is required
    assert api.get("in-analyst", f"{API}/runs/scenarios/999").json() == {"detail": "no such scenario: 999"}
    assert api.post("in-analyst", f"{API}/networks/1/runs", json={"sweep": True}).status_code == 404
    refused = api.post("in-industry", f"{API}/runs", json={"network_id": 999, "sweep": True})
    assert refused.status_code == 403  # the role is checked first, in the service
