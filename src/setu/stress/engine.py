"""Run a set of scenarios through the warm TTR and TTS models: serially or in worker processes."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from setu.network.compile import CompiledNetwork, FloatArray
from setu.stress.local import LocalTTS
from setu.stress.local_ttr import LocalTTR
from setu.stress.lp import StressLP
from setu.stress.scenarios import Scenario, validate_scenario

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[int, int], None]
"""Called with (scenarios done, scenarios in all) as work completes."""

RESULT_COLUMNS = ("scenario_id", "disrupted", "ttr", "lost_profit", "tts", "rei")


@dataclass
class StressResult:
    """PI (lost profit over the TTR), TTS and REI of each scenario, in the order given."""

    network: str
    scenarios: list[Scenario]
    lost_profit: FloatArray
    tts: FloatArray
    ttr_seconds: FloatArray
    """Wall time of each scenario's TTR solve (0 where the undisrupted optimum answered it)."""
    tts_seconds: FloatArray
    wall_seconds: float = 0.0
    jobs: int = 1
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def rei(self) -> FloatArray:
        """Risk exposure index: PI over the largest PI of the scenario set (0 when all PI are 0)."""
        top = float(self.lost_profit.max()) if len(self.lost_profit) else 0.0
        if top <= 0:
            return np.zeros_like(self.lost_profit)
        return self.lost_profit / top

    @property
    def ttr(self) -> FloatArray:
        return np.array([s.ttr for s in self.scenarios], dtype=np.float64)

    @property
    def at_risk(self) -> np.ndarray:
        """Scenarios whose TTS is shorter than their TTR: they need mitigation."""
        return self.tts < self.ttr

    def ranking(self, limit: int | None = None) -> np.ndarray:
        """Scenario positions from riskiest down: by REI, then by how far TTS falls short of TTR."""
        shortfall = np.nan_to_num(self.ttr - self.tts, nan=-np.inf)
        order = np.lexsort((-shortfall, -self.rei))
        return order if limit is None else order[:limit]

    def to_frame(self) -> pd.DataFrame:
        """The results as a pandas DataFrame with the CSV columns, plus kind and label."""
        import pandas as pd

        return pd.DataFrame(
            {
                "scenario_id": [s.id for s in self.scenarios],
                "disrupted": [";".join(s.nodes) for s in self.scenarios],
                "ttr": self.ttr,
                "lost_profit": self.lost_profit,
                "tts": self.tts,
                "rei": self.rei,
                "kind": [s.kind for s in self.scenarios],
                "label": [s.label for s in self.scenarios],
            }
        )


@dataclass(frozen=True, slots=True)
class _Task:
    position: int
    nodes: np.ndarray
    remaining: np.ndarray
    ttr: float


class _Worker:
    """The warm models one process holds; built once, reused for every batch it gets."""

    def __init__(self, net: CompiledNetwork, compute_tts: bool) -> None:
        self.ttr_model = StressLP(net, "ttr")
        self.local_ttr: LocalTTR | None = None
        self.tts_model = StressLP(net, "tts") if compute_tts else None
        self.local = LocalTTS(self.tts_model) if self.tts_model is not None else None

    def lost_profit(self, nodes: np.ndarray, remaining: np.ndarray, ttr: float) -> float:
        """PI of one scenario: from the base plan, else the certified local LP, else the full model."""
        if self.ttr_model.horizon != ttr or self.local_ttr is None:
            self.ttr_model.set_horizon(ttr)
            self.ttr_model.solve_base()
            self.local_ttr = LocalTTR(self.ttr_model)
        if self.ttr_model.survives_with_base(nodes, remaining):
            return self.ttr_model.base.value
        value = self.local_ttr.solve(nodes, remaining)
        if value is None:
            value = self.ttr_model.solve_scenario(nodes, remaining, use_shortcut=False).value
        return value

    def time_to_survive(self, nodes: np.ndarray, remaining: np.ndarray) -> float:
        """TTS of one scenario: from the base plan, else the local bracket, else the full model."""
        assert self.tts_model is not None and self.local is not None
        if self.tts_model.survives_with_base(nodes, remaining):
            return self.tts_model.base.value
        value = self.local.solve(nodes, remaining)
        if value is None or math.isnan(value):
            value = self.tts_model.solve_scenario(nodes, remaining, use_shortcut=False).value
        return value

    def run(self, tasks: Sequence[_Task]) -> tuple[np.ndarray, FloatArray, FloatArray, FloatArray, FloatArray]:
        k = len(tasks)
        positions = np.empty(k, dtype=np.int64)
        pi, tts = np.empty(k), np.full(k, math.nan)
        pi_time, tts_time = np.empty(k), np.zeros(k)
        # Horizons are sorted within a batch, so each TTR base is solved once per distinct TTR.
        for i, task in enumerate(sorted(tasks, key=lambda task: task.ttr)):
            positions[i] = task.position
            start = time.perf_counter()
            pi[i] = self.lost_profit(task.nodes, task.remaining, task.ttr)
            pi_time[i] = time.perf_counter() - start
            if self.tts_model is not None:
                start = time.perf_counter()
                tts[i] = self.time_to_survive(task.nodes, task.remaining)
                tts_time[i] = time.perf_counter() - start
        return positions, pi, tts, pi_time, tts_time


_worker: _Worker | None = None


def _init_worker(net: CompiledNetwork, compute_tts: bool) -> None:
    global _worker
    _worker = _Worker(net, compute_tts)


def _run_batch(tasks: Sequence[_Task]) -> tuple[np.ndarray, FloatArray, FloatArray, FloatArray, FloatArray]:
    assert _worker is not None, "worker process was not initialised"
    return _worker.run(tasks)


def _batches(tasks: list[_Task], jobs: int) -> list[list[_Task]]:
    """Contiguous runs of TTR-sorted tasks: few horizon changes per batch, enough batches to balance."""
    ordered = sorted(tasks, key=lambda task: task.ttr)
    count = max(1, min(len(ordered), jobs * 16))
    size = math.ceil(len(ordered) / count)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def run_scenarios(
    net: CompiledNetwork,
    scenarios: Sequence[Scenario],
    *,
    jobs: int = 1,
    compute_tts: bool = True,
    progress: Progress | None = None,
) -> StressResult:
    """Compute PI, TTS and REI for each scenario.

    Parameters
    ----------
    net
        The compiled network.
    scenarios
        The scenarios; each is validated against ``net`` first.
    jobs
        Worker processes, each holding its own warm models; 1 runs in this process.
        0 means one per CPU.
    compute_tts
        Also solve the TTS program (otherwise ``tts`` is ``nan``).
    progress
        Called with (done, total) as batches complete.

    Returns
    -------
    StressResult
        Results in the order of ``scenarios``.
    """
    for scenario in scenarios:
        validate_scenario(net, scenario)
    if jobs <= 0:
        jobs = os.cpu_count() or 1
    tasks = [_Task(i, s.node_indices(net), s.remaining(), float(s.ttr)) for i, s in enumerate(scenarios)]
    n = len(tasks)
    pi, tts = np.zeros(n), np.full(n, math.nan)
    pi_time, tts_time = np.zeros(n), np.zeros(n)
    started = time.perf_counter()

    def store(out: tuple[np.ndarray, FloatArray, FloatArray, FloatArray, FloatArray]) -> int:
        positions, batch_pi, batch_tts, batch_pi_time, batch_tts_time = out
        pi[positions], tts[positions] = batch_pi, batch_tts
        pi_time[positions], tts_time[positions] = batch_pi_time, batch_tts_time
        return len(positions)

    done = 0
    batches = _batches(tasks, jobs)
    if jobs == 1 or len(batches) <= 1:
        worker = _Worker(net, compute_tts)
        for batch in batches:
            done += store(worker.run(batch))
            if progress:
                progress(done, n)
    else:
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(batches)), initializer=_init_worker, initargs=(net, compute_tts)
        ) as pool:
            pending: set[Future[tuple[np.ndarray, FloatArray, FloatArray, FloatArray, FloatArray]]] = {
                pool.submit(_run_batch, batch) for batch in batches
            }
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done += store(future.result())
                if progress:
                    progress(done, n)
    return StressResult(
        network=net.name,
        scenarios=list(scenarios),
        lost_profit=pi,
        tts=tts,
        ttr_seconds=pi_time,
        tts_seconds=tts_time,
        wall_seconds=time.perf_counter() - started,
        jobs=jobs,
    )
