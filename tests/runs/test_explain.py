"""Explaining a scenario of a stored run: the engine's explanation on the reader's view, under the run's marking."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, make_api
from networks.world import IN_ONLY_NODES, SECRET_WORDS, audit_count, build_world, small_network
from principals import IN_ANALYST, US_ANALYST
from setu.db import transaction
from setu.errors import NotFound
from setu.models.stress import RunRecord
from setu.network.model import Network
from setu.networks import compiled_view
from setu.runs.explanations import explain_result
from setu.runs.scenarios import create_scenario
from setu.runs.service import RunStateError, execute_run, start_run
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.stress.explain import explain
from setu.stress.scenarios import Scenario

Factory = sessionmaker[Session]


@pytest.fixture
def world_network() -> Network:
    return small_network()


@pytest.fixture
def world(sessions: Factory, world_network: Network) -> int:
    with transaction(sessions) as session:
        return build_world(session, world_network).id


def run_now(factory: Factory, user: Principal, nid: int, scenarios: list[int] | Literal["sweep"]) -> int:
    with transaction(factory) as session:
        run_id = start_run(session, user, nid, scenarios).id
    assert execute_run(factory, run_id, user).status == "completed"
    return run_id


def test_an_explanation_is_the_engines_on_the_readers_view(sessions: Factory, world: int) -> None:
    nodes = ("T2_1", "T2_2")
    scenario = Scenario("half", nodes, 30.0, (0.5, 0.5), "custom", "half of two forges")
    with transaction(sessions) as session:
        pk = create_scenario(session, IN_ANALYST, world, scenario).id
    run_id = run_now(sessions, IN_ANALYST, world, [pk])
    with transaction(sessions) as session:
        explained = explain_result(session, IN_ANALYST, run_id, "half")
        view, _ = compiled_view(session, IN_ANALYST, world)
        run = session.get(RunRecord, run_id)
        assert run is not None
        run_spec = MarkingSpec.of(run.marking)
        result_lost = explained.result.lost_profit
    expected = explain(view, scenario)
    got = explained.explanation
    # The stored severities are used: a full outage would lose more than half of two forges.
    assert got.scenario.severity == (0.5, 0.5)
    assert got.lost_profit == pytest.approx(expected.lost_profit) == pytest.approx(result_lost)
    assert [loss.product for loss in got.losses] == [loss.product for loss in expected.losses]
    assert [(f.supplier, f.customer) for f in got.rerouted] == [(f.supplier, f.customer) for f in expected.rerouted]
    full = explain(view, Scenario("full", nodes, 30.0))
    assert full.lost_profit > got.lost_profit
    assert explained.marking == run_spec
    with sessions() as session:
        assert audit_count(session, "results.explain") == 1


def test_hidden_missing_and_unfinished_runs_are_refused(sessions: Factory, world: int) -> None:
    in_run = run_now(sessions, IN_ANALYST, world, "sweep")
    with transaction(sessions) as session:
        explained = explain_result(session, IN_ANALYST, in_run, IN_ONLY_NODES[0])
        assert explained.explanation.scenario.nodes == (IN_ONLY_NODES[0],)
        assert explained.marking.national_only
    with sessions() as session:
        for key in (IN_ONLY_NODES[0], "T1_1", "nothing"):
            with pytest.raises(NotFound) as hidden:
                explain_result(session, US_ANALYST, in_run, key)
            assert hidden.value.kind == "run"
        with pytest.raises(NotFound) as missing:
            explain_result(session, US_ANALYST, 999_999, "T1_1")
        assert missing.value.kind == hidden.value.kind
        assert audit_count(session, "results.explain", "deny") == 4

    us_run = run_now(sessions, US_ANALYST, world, "sweep")
    with sessions() as session:
        with pytest.raises(NotFound) as no_scenario:
            explain_result(session, US_ANALYST, us_run, IN_ONLY_NODES[0])
        assert no_scenario.value.kind == "scenario"
        shown = explain_result(session, US_ANALYST, us_run, "T2_1").explanation
        text = shown.to_text() + repr(shown.to_dict())
        for word in SECRET_WORDS:
            assert word not in text
    with transaction(sessions) as session:
        queued = start_run(session, US_ANALYST, world, "sweep").id
    with sessions() as session, pytest.raises(RunStateError):
        explain_result(session, US_ANALYST, queued, "T2_1")


@pytest.fixture
def app(engine: Engine, sessions: Factory, world_network: Network) -> Iterator[Api]:
    yield from make_api(engine, sessions, prepare=lambda session: build_world(session, world_network))


def test_the_api_explains_a_scenario_of_a_run(app: Api) -> None:
    nid = app.get("in-analyst", "/api/v1/networks").json()["items"][0]["id"]
    body = {"network_id": nid, "kind": "country", "value": "US", "ttr": 40}
    made = app.post("in-analyst", "/api/v1/runs/scenarios", json=body)
    assert made.status_code == 201, made.text
    run = app.post("in-analyst", "/api/v1/runs", json={"network_id": nid, "scenario_ids": [made.json()["id"]]})
    assert run.status_code == 202, run.text
    run_body = app.wait("in-analyst", run.json()["id"])
    run_id = run_body["id"]
    answer = app.get("in-analyst", f"/api/v1/runs/{run_id}/explain", params={"scenario": "country:US"})
    assert answer.status_code == 200, answer.text
    out = answer.json()
    with app.sessions() as session:
        explained = explain_result(session, app.principals["in-analyst"], run_id, "country:US").explanation
    assert out["scenario_id"] == "country:US" and out["kind"] == "country" and out["ttr"] == 40
    assert out["disrupted"] == list(explained.scenario.nodes) and out["severities"] is None
    assert out["lost_profit"] == pytest.approx(explained.lost_profit)
    assert out["tts_infinite"] == math.isinf(explained.tts)
    assert out["at_risk"] == (explained.tts < 40)
    assert [loss["product"] for loss in out["losses"]] == [loss.product for loss in explained.losses]
    assert [loss["binding"] for loss in out["losses"]] == [loss.binding for loss in explained.losses]
    assert len(out["rerouted"]) == len(explained.rerouted)
    for flow in out["rerouted"]:
        assert flow["change"] == pytest.approx(flow["scenario"] - flow["base"])
    assert out["marking"] == run_body["marking"]

    # The run used India-only records: to the US analyst it does not exist.
    hidden = app.get("us-analyst", f"/api/v1/runs/{run_id}/explain", params={"scenario": "country:US"})
    missing = app.get("us-analyst", "/api/v1/runs/999999/explain", params={"scenario": "country:US"})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == f"no such run: {run_id}"
    unknown = app.get("in-analyst", f"/api/v1/runs/{run_id}/explain", params={"scenario": "nope"})
    assert unknown.status_code == 404
    assert app.get("in-analyst", f"/api/v1/runs/{run_id}/explain").status_code == 422
    schema = app.client.get("/openapi.json").json()
    assert "/api/v1/runs/{run_id}/explain" in schema["paths"]
