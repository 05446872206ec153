"""Scenarios, runs and results: computed on each user's view, marked by what they used, never half-stored."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from networks.world import (
    IN_BEL_USER,
    SECRET_WORDS,
    US_GE_USER,
    USERS,
    audit_count,
    build_world,
    expected_small,
    published_small_network,
    small_network,
)
from principals import IN_ANALYST, IN_ONLY, SHARED, US_ANALYST, US_ONLY, seed
from setu.errors import AccessDenied, InputError, NotFound, ScenarioError
from setu.models.networks import NodeRecord
from setu.models.stress import ResultRecord, RunRecord
from setu.network.compile import CompiledNetwork
from setu.networks import compiled_view, import_network
from setu.runs import (
    RESULT_SORTS,
    RunStateError,
    cancel_run,
    execute_run,
    export_results,
    get_run,
    get_scenario,
    list_results,
    list_runs,
    list_scenarios,
    start_run,
)
from setu.runs.scenarios import build_scenario, create_scenario
from setu.runs.schemas import ScenarioIn
from setu.sharing.markings import MarkingSpec, most_restrictive, store
from setu.sharing.policy import Principal, allows
from setu.stress.engine import RESULT_COLUMNS, StressResult
from setu.stress.scenarios import Scenario

Factory = sessionmaker[Session]


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of an exported CSV, between its two banner rows."""
    lines = data.decode().splitlines(keepends=True)
    return list(csv.DictReader(io.StringIO("".join(lines[1:-1]))))


@pytest.fixture
def shared_net(sessions: Factory) -> int:
    """The small network, every record released to both parties."""
    with sessions() as session, session.begin():
        seed(session)
        return import_network(
            session, IN_ANALYST, small_network(), name="small", format="", source="", marking=SHARED
        ).id


@pytest.fixture
def published_net(sessions: Factory, shared_data: Path) -> int:
    """The published small network, every record released to both parties (for its expected values)."""
    with sessions() as session, session.begin():
        seed(session)
        network = published_small_network(shared_data)
        return import_network(session, IN_ANALYST, network, name="small", format="", source="", marking=SHARED).id


@pytest.fixture
def world(sessions: Factory) -> int:
    """The small network with India-only, US-only, proprietary and need-to-know nodes."""
    with sessions() as session, session.begin():
        return build_world(session, small_network()).id


def queue(factory: Factory, user: Principal, nid: int, scenarios: list[int] | str = "sweep", **options: Any) -> int:
    with factory() as session, session.begin():
        return start_run(session, user, nid, scenarios, **options).id  # type: ignore[arg-type]


def run(factory: Factory, user: Principal, nid: int, scenarios: list[int] | str = "sweep", **options: Any) -> int:
    run_id = queue(factory, user, nid, scenarios, **options)
    assert execute_run(factory, run_id, user).status == "completed"
    return run_id


def raised(call: Callable[[], Any]) -> NotFound:
    with pytest.raises(NotFound) as info:
        call()
    return info.value


def result_count(factory: Factory, run_id: int) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).where(ResultRecord.run_id == run_id)) or 0


def test_a_sweep_reproduces_the_reference_values(sessions: Factory, published_net: int, shared_data: Path) -> None:
    run_id = queue(sessions, US_ANALYST, published_net)
    with sessions() as session:
        queued = get_run(session, US_ANALYST, run_id)
        assert (queued.status, queued.done, queued.total, queued.origin_party) == ("queued", 0, 30, "US")
        session.commit()
    seen: list[tuple[int, int]] = []
    finished = execute_run(sessions, run_id, US_ANALYST, progress=lambda done, total: seen.append((done, total)))
    assert (finished.status, finished.done, finished.total, finished.error) == ("completed", 30, 30, "")
    assert finished.wall_seconds is not None and finished.started_at and finished.finished_at
    assert seen[-1] == (30, 30)
    expected = expected_small(shared_data)
    with sessions() as session:
        assert MarkingSpec.of(get_run(session, US_GE_USER, run_id).marking) == SHARED
        rows, total = list_results(session, US_ANALYST, run_id, limit=1000)
        assert total == len(rows) == len(expected)
        top = max(pi for pi, _ in expected.values())
        for row in rows:
            pi, tts = expected[row.scenario_id]
            assert row.lost_profit == pytest.approx(pi, abs=1e-6)
            assert row.tts_value == pytest.approx(tts, rel=1e-6)
            assert row.rei == pytest.approx(pi / top, abs=1e-9)
            assert row.at_risk == (tts < row.ttr)
            assert MarkingSpec.of(row.marking) == SHARED
        session.commit()
        assert audit_count(session, "run.start") == audit_count(session, "run.complete") == 1


def test_results_sort_filter_page_and_export(sessions: Factory, shared_net: int) -> None:
    run_id = run(sessions, US_ANALYST, shared_net)
    with sessions() as session:
        everything, _ = list_results(session, US_ANALYST, run_id, sort="position", limit=1000)
        for sort in RESULT_SORTS:
            for descending in (False, True):
                rows, _ = list_results(session, US_ANALYST, run_id, sort=("-" if descending else "") + sort, limit=1000)
                keys = [getattr(r, "tts_value" if sort == "tts" else sort) for r in rows]
                assert keys == sorted(keys, reverse=descending), sort
        rows, total = list_results(session, US_ANALYST, run_id, min_rei=0.2, limit=2)
        assert total == sum(r.rei >= 0.2 for r in everything) > 2 and len(rows) == 2
        assert rows[0].rei == 1.0
        rows, total = list_results(session, US_ANALYST, run_id, at_risk_only=True, limit=1000)
        assert {r.scenario_id for r in rows} == {r.scenario_id for r in everything if r.at_risk} and total == len(rows)
        rows, total = list_results(session, US_ANALYST, run_id, text="t3_1", sort="scenario_id", limit=3)
        assert total == 11 and [r.scenario_id for r in rows] == ["T3_1", "T3_10", "T3_11"]

        table = csv_rows(export_results(session, US_ANALYST, run_id, "csv")[0])
        assert tuple(table[0]) == (*RESULT_COLUMNS, "baseline_loss", "tts_relative") and len(table) == 30
        assert [row["scenario_id"] for row in table] == [r.scenario_id for r in everything]
        records = json.loads(export_results(session, US_ANALYST, run_id, "json")[0])["results"]
        assert [r["lost_profit"] for r in records] == [r.lost_profit for r in everything]
        frame = pd.read_parquet(io.BytesIO(export_results(session, US_ANALYST, run_id, "parquet")[0]))
        assert (
            list(frame.columns) == [*RESULT_COLUMNS, "kind", "label", "at_risk", "baseline_loss", "tts_relative"]
            and len(frame) == 30
        )
        with pytest.raises(Exception, match="format"):
            export_results(session, US_ANALYST, run_id, "ods")
        session.commit()
        assert audit_count(session, "results.export") == 3
        assert audit_count(session, "results.list") == 2 * len(RESULT_SORTS) + 4


def test_scenarios_naming_hidden_nodes_answer_like_unknown_ones(sessions: Factory, world: int) -> None:
    # A BEL analyst: creating scenarios needs the role, and BEL may not see HAL's proprietary T2_6.
    bel_analyst = dataclasses.replace(IN_BEL_USER, roles=frozenset({"analyst"}))
    with sessions() as session:
        for user, hidden in ((US_ANALYST, "T2_9"), (IN_ANALYST, "T3_1"), (bel_analyst, "T2_6")):
            h = raised(lambda u=user, n=hidden: create_scenario(session, u, world, Scenario("s", ("T2_2", n), 5.0)))
            m = raised(lambda u=user: create_scenario(session, u, world, Scenario("s", ("T2_2", "NOPE"), 5.0)))
            assert type(h) is type(m) is NotFound
            assert str(h) == f"no such node: {hidden!r}" and str(m) == "no such node: 'NOPE'"
        session.rollback()
        assert audit_count(session, "scenario.create", "deny") == 6
        assert list_scenarios(session, US_ANALYST, world) == ([], 0)


def test_a_scenario_is_as_restricted_as_the_nodes_it_names(sessions: Factory, world: int) -> None:
    with sessions() as session, session.begin():
        agni = create_scenario(session, IN_ANALYST, world, Scenario("agni", ("T2_9", "T2_2"), 4.0, kind="site"))
        forge = create_scenario(session, US_ANALYST, world, Scenario("forge", ("T2_2", "T2_3"), 8.0, (0.5, 1.0)))
        agni_id, forge_id = agni.id, forge.id
        assert MarkingSpec.of(agni.marking) == IN_ONLY and MarkingSpec.of(forge.marking) == SHARED
        with pytest.raises(ScenarioError, match="already"):
            create_scenario(session, US_ANALYST, world, Scenario("forge", ("T2_4",), 8.0))
        with pytest.raises(ScenarioError, match="TTR"):
            create_scenario(session, US_ANALYST, world, Scenario("bad", ("T2_4",), -1.0))
        with pytest.raises(ScenarioError, match="severity"):
            create_scenario(session, US_ANALYST, world, Scenario("bad", ("T2_4",), 1.0, (0.5, 0.5)))
    with sessions() as session:
        rows, total = list_scenarios(session, US_ANALYST, world)
        assert [r.scenario_id for r in rows] == ["forge"] and total == 1
        assert list_scenarios(session, IN_ANALYST, world)[1] == 2
        assert get_scenario(session, US_ANALYST, forge_id).severities == [0.5, 1.0]
        h, m = (
            raised(lambda: get_scenario(session, US_ANALYST, agni_id)),
            raised(lambda: get_scenario(session, US_ANALYST, 999)),
        )
        assert str(h).replace(str(agni_id), "N") == str(m).replace("999", "N") == "no such scenario: N"
        # Running someone else's hidden scenario answers like running a missing one.
        h = raised(lambda: start_run(session, US_ANALYST, world, [forge_id, agni_id]))
        assert str(h) == f"no such scenario: {agni_id}"
    run_id = run(sessions, US_ANALYST, world, [forge_id])
    with sessions() as session:
        rows, total = list_results(session, US_ANALYST, run_id)
        assert total == 1 and (rows[0].scenario_id, rows[0].disrupted, rows[0].ttr) == ("forge", "T2_2;T2_3", 8.0)
    run_id = run(sessions, IN_ANALYST, world, [agni_id], ttr=2.0)
    with sessions() as session:
        rows, _ = list_results(session, IN_ANALYST, run_id)
        assert (rows[0].scenario_id, rows[0].kind, rows[0].ttr) == ("agni", "site", 2.0)


def test_a_run_is_visible_only_to_users_who_see_every_record_it_used(sessions: Factory, world: int) -> None:
    us_run = run(sessions, US_ANALYST, world, ttr=5.0)
    in_run = run(sessions, IN_ANALYST, world, ttr=5.0)
    with sessions() as session:
        us_marking = MarkingSpec.of(get_run(session, US_ANALYST, us_run).marking)
        in_marking = MarkingSpec.of(get_run(session, IN_ANALYST, in_run).marking)
        us_view, us_used = compiled_view(session, US_ANALYST, world)
        in_view, in_used = compiled_view(session, IN_ANALYST, world)
        session.commit()
    # The US view holds the US-only node: its run is US-only. India's holds India-only ones.
    assert us_marking.effective_releases == {"US"} and in_marking.effective_releases == {"IN"}
    assert not allows(IN_ANALYST, us_marking) and not allows(US_ANALYST, in_marking)
    for user in USERS:
        assert allows(user, us_marking) == all(allows(user, m) for m in us_used)
        assert allows(user, in_marking) == allows(user, most_restrictive(in_used, "IN"))

    reads: list[Callable[[Session, Principal, int], object]] = [
        get_run,
        lambda s, p, r: list_results(s, p, r),
        lambda s, p, r: list_results(s, p, r, at_risk_only=True),
        lambda s, p, r: export_results(s, p, r, "csv"),
        lambda s, p, r: export_results(s, p, r, "json"),
        lambda s, p, r: export_results(s, p, r, "parquet"),
    ]
    with sessions() as session:
        for reader, hidden in ((IN_ANALYST, us_run), (US_ANALYST, in_run), (IN_BEL_USER, in_run)):
            for read in reads:
                h = raised(lambda read=read, u=reader, r=hidden: read(session, u, r))
                m = raised(lambda read=read, u=reader: read(session, u, 999))
                assert str(h).replace(str(hidden), "N") == str(m).replace("999", "N") == "no such run: N"
            rows, total = list_runs(session, reader, network_id=world)
            assert hidden not in {r.id for r in rows} and total == len(rows)
        assert [r.id for r in list_runs(session, IN_ANALYST)[0]] == [in_run]
        assert list_runs(session, US_ANALYST, status="completed") == ([get_run(session, US_ANALYST, us_run)], 1)
        assert list_runs(session, US_GE_USER) == ([], 0)
        session.commit()
        assert audit_count(session, "results.export", "deny") == 3 * 3 * 2
        # What the US analyst does see holds nothing of India's national-only records.
        exported = b"".join(export_results(session, US_ANALYST, us_run, f)[0] for f in ("csv", "json"))
        rows, total = list_results(session, US_ANALYST, us_run, limit=1000)
        india_rows, india_total = list_results(session, IN_ANALYST, in_run, limit=1000)
    assert total == len(rows) == len(us_view.supplying_nodes()) < 30
    assert india_total == len(india_rows) == len(in_view.supplying_nodes()) < 30
    text = exported.decode() + " ".join(f"{r.scenario_id} {r.label} {r.disrupted}" for r in rows)
    for word in SECRET_WORDS:
        assert word not in text
    assert "T2_9" in {r.scenario_id for r in india_rows}


def test_a_run_that_fails_part_way_is_failed_with_no_results(
    sessions: Factory, shared_net: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(net: CompiledNetwork, scenarios: list[Scenario], **options: Any) -> StressResult:
        options["progress"](1, len(scenarios))
        raise RuntimeError("solver exploded")

    monkeypatch.setattr("setu.runs.service.run_scenarios", explode)
    run_id = queue(sessions, US_ANALYST, shared_net)
    finished = execute_run(sessions, run_id, US_ANALYST)
    assert (finished.status, finished.done, finished.error) == ("failed", 1, "RuntimeError: solver exploded")
    assert finished.finished_at is not None and result_count(sessions, run_id) == 0
    with sessions() as session:
        assert list_results(session, US_ANALYST, run_id) == ([], 0)
        session.commit()
        assert audit_count(session, "run.fail") == 1
    with pytest.raises(RunStateError, match="failed"):
        execute_run(sessions, run_id, US_ANALYST)


def test_a_cancelled_run_is_cancelled_with_no_results(sessions: Factory, shared_net: int) -> None:
    cancel = threading.Event()
    run_id = queue(sessions, US_ANALYST, shared_net, compute_tts=False)
    finished = execute_run(sessions, run_id, US_ANALYST, cancel, progress=lambda done, total: cancel.set())
    assert (finished.status, finished.error) == ("cancelled", "") and 0 < finished.done < finished.total
    assert result_count(sessions, run_id) == 0
    run_id = queue(sessions, US_ANALYST, shared_net)
    assert execute_run(sessions, run_id, US_ANALYST, cancel).status == "cancelled"
    assert result_count(sessions, run_id) == 0
    with sessions() as session:
        assert audit_count(session, "run.cancel") == 2


def test_only_the_runner_executes_a_queued_run_once(sessions: Factory, shared_net: int) -> None:
    run_id = queue(sessions, US_ANALYST, shared_net, ttr=3.0, compute_tts=False, jobs=1)
    with pytest.raises(RunStateError, match="another user"):
        execute_run(sessions, run_id, US_GE_USER)
    with sessions() as session:
        assert audit_count(session, "run.execute", "deny") == 1
    with pytest.raises(NotFound):
        execute_run(sessions, 999, US_ANALYST)
    finished = execute_run(sessions, run_id, US_ANALYST)
    assert finished.status == "completed" and finished.parameters == {
        "scenarios": "sweep",
        "ttr": 3.0,
        "jobs": 1,
        "compute_tts": False,
    }
    with pytest.raises(RunStateError, match="completed"):
        execute_run(sessions, run_id, US_ANALYST)
    assert result_count(sessions, run_id) == 30
    with sessions() as session:
        rows, _ = list_results(session, US_ANALYST, run_id, limit=1000)
        assert all(math.isnan(r.tts_value) and r.tts is None and not r.tts_infinite for r in rows)
        assert all(r.ttr == 3.0 for r in rows)


def test_an_unbounded_tts_round_trips(sessions: Factory, shared_net: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(net: CompiledNetwork, scenarios: list[Scenario], **options: Any) -> StressResult:
        n = len(scenarios)
        tts = np.linspace(1.0, 10.0, n)
        tts[0], tts[1] = math.inf, math.nan
        pi = np.linspace(0.0, 100.0, n)
        return StressResult(net.name, list(scenarios), pi, tts, np.zeros(n), np.zeros(n), wall_seconds=0.5)

    monkeypatch.setattr("setu.runs.service.run_scenarios", fake)
    run_id = run(sessions, US_ANALYST, shared_net)
    with sessions() as session:
        rows, _ = list_results(session, US_ANALYST, run_id, sort="tts", limit=1000)
        assert math.isinf(rows[-2].tts_value) and math.isnan(rows[-1].tts_value)
        assert [r.tts_value for r in rows[:-2]] == sorted(r.tts_value for r in rows[:-2])
        rows, _ = list_results(session, US_ANALYST, run_id, sort="-tts", limit=1000)
        assert math.isinf(rows[0].tts_value) and math.isnan(rows[-1].tts_value)
        assert not rows[0].at_risk and not rows[-1].at_risk
        table = csv_rows(export_results(session, US_ANALYST, run_id, "csv")[0])
        assert (table[0]["tts"], table[1]["tts"]) == ("inf", "")
        records = json.loads(export_results(session, US_ANALYST, run_id, "json")[0])["results"]
        assert (records[0]["tts"], records[1]["tts"]) == ("inf", None)
        frame = pd.read_parquet(io.BytesIO(export_results(session, US_ANALYST, run_id, "parquet")[0]))
        assert math.isinf(frame["tts"][0]) and math.isnan(frame["tts"][1])
        stored = session.scalars(select(RunRecord).where(RunRecord.id == run_id)).one()
        assert stored.wall_seconds == 0.5


def test_a_run_takes_the_marking_of_the_view_it_executes_on(sessions: Factory, shared_net: int) -> None:
    run_id = queue(sessions, US_ANALYST, shared_net, ttr=2.0, compute_tts=False)
    with sessions() as session:
        assert MarkingSpec.of(get_run(session, IN_ANALYST, run_id).marking) == SHARED
        session.commit()
    # Before it executes, the US side marks its node T3_1 US-only: the run now uses a US-only record.
    with sessions() as session, session.begin():
        us_only = store(session, US_ONLY).id
        session.execute(
            update(NodeRecord)
            .where(NodeRecord.network_id == shared_net, NodeRecord.node_id == "T3_1")
            .values(marking_id=us_only)
        )
    assert execute_run(sessions, run_id, US_ANALYST).status == "completed"
    with sessions() as session:
        assert MarkingSpec.of(get_run(session, US_ANALYST, run_id).marking) == US_ONLY
        assert str(raised(lambda: get_run(session, IN_ANALYST, run_id))) == f"no such run: {run_id}"
        assert str(raised(lambda: list_results(session, IN_ANALYST, run_id))) == f"no such run: {run_id}"
        assert list_results(session, US_ANALYST, run_id)[1] == 30


def test_only_analysts_and_admins_create_scenarios_and_start_and_cancel_runs(sessions: Factory, world: int) -> None:
    """The role checks live in the services, so every caller (API, page, script) gets them; refusals are audited."""
    body = ScenarioIn(network_id=world, kind="node", nodes=["T2_2"], ttr=3.0)
    run_id = queue(sessions, US_ANALYST, world, ttr=2.0)
    with sessions() as session:
        for user in (US_GE_USER, IN_BEL_USER):
            with pytest.raises(AccessDenied):
                build_scenario(session, user, world, body)
            with pytest.raises(AccessDenied):
                create_scenario(session, user, world, Scenario("s", ("T2_2",), 3.0))
            with pytest.raises(AccessDenied):
                start_run(session, user, world, "sweep")
            with pytest.raises(AccessDenied):
                cancel_run(session, user, run_id)
        assert audit_count(session, "scenario.create", "deny") == 4
        assert audit_count(session, "run.start", "deny") == audit_count(session, "run.cancel", "deny") == 2
        # The role is not enough to cancel: only the run's starter, or an admin.
        another = dataclasses.replace(US_ANALYST, user_id=US_ANALYST.user_id + 90)
        with pytest.raises(AccessDenied, match="only the user who started"):
            cancel_run(session, another, run_id)
        assert cancel_run(session, US_ANALYST, run_id).status == "cancelled"  # queued: cancelled at once
        session.commit()
    run_id = queue(sessions, US_ANALYST, world, ttr=2.0)
    assert execute_run(sessions, run_id, US_ANALYST).status == "completed"
    with sessions() as session:
        with pytest.raises(RunStateError) as ended:
            cancel_run(session, US_ANALYST, run_id)
        assert ended.value.run_status == "completed"
        assert build_scenario(session, US_ANALYST, world, body).nodes == ("T2_2",)


def test_a_run_on_local_processes_stores_what_a_serial_run_stores(sessions: Factory, shared_net: int) -> None:
    serial = run(sessions, US_ANALYST, shared_net)
    spread = run(sessions, US_ANALYST, shared_net, jobs=2, executor="process")
    with sessions() as session:
        want, _ = list_results(session, US_ANALYST, serial, sort="position", limit=1000)
        got, _ = list_results(session, US_ANALYST, spread, sort="position", limit=1000)
        assert [r.scenario_id for r in got] == [r.scenario_id for r in want] and len(want) == 30
        assert [r.lost_profit for r in got] == pytest.approx([r.lost_profit for r in want], rel=1e-9)
        assert [r.at_risk for r in got] == [r.at_risk for r in want]
        record = session.scalars(select(RunRecord).where(RunRecord.id == spread)).one()
        assert record.parameters["executor"] == "process" and record.parameters["jobs"] == 2
    with sessions() as session, session.begin(), pytest.raises(InputError, match="unknown executor 'dask'"):
        start_run(session, US_ANALYST, shared_net, "sweep", executor="dask")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(RunRecord)) == 2, "nothing stored for the refused run"
