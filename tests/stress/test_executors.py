"""Executors: serial, local processes and a local Ray cluster give the same results, each exactly once,
also when a worker is killed mid-sweep."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from setu.errors import SetuError
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.industrial_base import industrial_base
from setu.stress.engine import StressResult, run_scenarios
from setu.stress.executors import ProcessExecutor, RayExecutor, SerialExecutor, make_executor
from setu.stress.graph import Downstream
from setu.stress.scenarios import Scenario, by_attribute, node_sweep
from setu.stress.solver import PI_HALF, TTS_HALF, BatchResult, Task


@pytest.fixture(scope="module")
def net() -> CompiledNetwork:
    return compile_network(industrial_base(240, seed=11))


@pytest.fixture(scope="module")
def scenarios(net: CompiledNetwork) -> list[Scenario]:
    # Single nodes at two horizons and two countries, so batches change horizon and hold multi-node scenarios.
    sweep = node_sweep(net, ttr=4.0)
    longer = [Scenario(f"{s.id}@9", s.nodes, 9.0, kind="node") for s in sweep[::3]]
    countries = sorted(set(net.attributes["country"]))[:2]
    return sweep + longer + [by_attribute(net, "country", c, 6.0) for c in countries]


@pytest.fixture(scope="module")
def serial(net: CompiledNetwork, scenarios: list[Scenario]) -> StressResult:
    return run_scenarios(net, scenarios, executor=SerialExecutor())


def assert_same(got: StressResult, want: StressResult) -> None:
    assert [s.id for s in got.scenarios] == [s.id for s in want.scenarios]
    np.testing.assert_allclose(got.lost_profit, want.lost_profit, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(got.tts, want.tts, rtol=1e-7, atol=1e-7)
    assert not np.isnan(got.lost_profit).any()


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def pool_workers() -> list[int]:
    """The local executor's worker processes: forked by the fork server, a child of this process."""
    return [worker for child in children(os.getpid()) for worker in children(child)]


class Counting:
    """A progress callback that counts calls and runs ``action`` once, at the first batch."""

    def __init__(self, action: object = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.action = action

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        if self.action is not None and len(self.calls) == 1:
            self.action()  # type: ignore[operator]


def test_the_sweep_does_lose_something(serial: StressResult) -> None:
    # Otherwise every comparison below would compare zeros.
    assert (serial.lost_profit > 0).sum() >= 5
    assert np.isfinite(serial.tts).sum() > 10


def test_local_processes_equal_serial(net: CompiledNetwork, scenarios: list[Scenario], serial: StressResult) -> None:
    progress = Counting()
    result = run_scenarios(net, scenarios, executor=ProcessExecutor(2), progress=progress)
    assert_same(result, serial)
    assert result.meta == {"executor": "process", "resumed": 0, "retried": 0}
    assert progress.calls[-1] == (len(scenarios), len(scenarios))


def test_a_killed_worker_process_costs_only_its_batches(
    net: CompiledNetwork, scenarios: list[Scenario], serial: StressResult
) -> None:
    killed: list[int] = []

    def kill_a_worker() -> None:
        pid = pool_workers()[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    executor = ProcessExecutor(2)
    progress = Counting(kill_a_worker)
    result = run_scenarios(net, scenarios, executor=executor, progress=progress)
    assert killed, "no worker process was found to kill"
    assert executor.retried >= 1
    assert_same(result, serial)
    # Every scenario counted once: progress never passes the total and ends on it.
    assert [done for done, _ in progress.calls] == sorted(done for done, _ in progress.calls)
    assert progress.calls[-1][0] == len(scenarios)


def test_an_unknown_executor_is_named() -> None:
    with pytest.raises(SetuError, match=r"unknown executor 'dask'; expected one of serial, process, ray"):
        make_executor("dask")


# -- Ray -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    ray = pytest.importorskip("ray", reason="Ray is the optional extra setu[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def test_ray_equals_serial(
    ray_cluster: object, net: CompiledNetwork, scenarios: list[Scenario], serial: StressResult
) -> None:
    executor = RayExecutor(jobs=2)
    result = run_scenarios(net, scenarios, executor=executor)
    assert_same(result, serial)
    assert result.meta == {"executor": "ray", "resumed": 0, "retried": 0}
    assert result.jobs == 2
    assert executor.pids == [], "the sweep's actors are released when it ends"


def test_a_killed_ray_worker_costs_only_its_batch(
    ray_cluster: object, net: CompiledNetwork, scenarios: list[Scenario], serial: StressResult
) -> None:
    executor = RayExecutor(jobs=2)
    killed: list[int] = []

    def kill_an_actor() -> None:
        pid = executor.pids[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    progress = Counting(kill_an_actor)
    result = run_scenarios(net, scenarios, executor=executor, progress=progress)
    assert killed and executor.retried >= 1
    assert_same(result, serial)
    assert progress.calls[-1][0] == len(scenarios)


class Recording(SerialExecutor):
    """The serial executor, keeping the batches it was given; ``twice`` sends the first result again."""

    def __init__(self, twice: bool = False) -> None:
        self.batches: list[list[Task]] = []
        self.twice = twice

    def run(self, net: CompiledNetwork, compute_tts: bool, batches: Sequence[Sequence[Task]]) -> Iterator[BatchResult]:
        self.batches = [list(batch) for batch in batches]
        for k, out in enumerate(super().run(net, compute_tts, batches)):
            yield out
            if self.twice and k == 0:
                yield out


def test_a_sweep_batches_pi_by_horizon_and_tts_by_the_products_reached(
    net: CompiledNetwork, scenarios: list[Scenario], serial: StressResult
) -> None:
    executor = Recording()
    assert_same(run_scenarios(net, scenarios, executor=executor), serial)
    downstream = Downstream(net)
    kinds = [{task.halves for task in batch} for batch in executor.batches]
    assert all(len(kind) == 1 for kind in kinds), "a batch holds one half of its scenarios"
    pi = [task for batch in executor.batches if batch[0].halves == PI_HALF for task in batch]
    tts = [task for batch in executor.batches if batch[0].halves == TTS_HALF for task in batch]
    assert sorted(task.position for task in pi) == sorted(task.position for task in tts) == list(range(len(scenarios)))
    assert [task.ttr for task in pi] == sorted(task.ttr for task in pi)
    keys = [downstream.products(task.nodes).tobytes() for task in tts]
    assert keys == sorted(keys), "scenarios that reach the same products are taken together"
    assert [kind.pop() for kind in kinds[:2]] == [PI_HALF, TTS_HALF], "the two halves advance together"


def test_a_result_sent_twice_is_refused(net: CompiledNetwork, scenarios: list[Scenario]) -> None:
    with pytest.raises(RuntimeError, match="arrived twice"):
        run_scenarios(net, scenarios, executor=Recording(twice=True))
