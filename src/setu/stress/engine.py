"""Run a set of scenarios through the warm TTR and TTS models, on any executor, streaming to resumable parts."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from setu.network.compile import CompiledNetwork, FloatArray
from setu.stress.executors import Executor, ProcessExecutor, SerialExecutor
from setu.stress.scenarios import Scenario, validate_scenario
from setu.stress.solver import BatchResult, Task

if TYPE_CHECKING:
    import pandas as pd

    from setu.stress.parts import ResultParts

Progress = Callable[[int, int], None]
"""Called with (scenarios done, scenarios in all) as work completes."""

RESULT_COLUMNS = ("scenario_id", "disrupted", "ttr", "lost_profit", "tts", "rei")
BATCH_LIMIT = 500
"""Most scenarios in one batch: what a lost worker or a killed sweep has to solve again."""


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


def _batches(tasks: list[Task], workers: int) -> list[list[Task]]:
    """Contiguous runs of TTR-sorted tasks: few horizon changes per batch, enough batches to balance the
    workers, and none over :data:`BATCH_LIMIT` so that a lost worker or a killed sweep costs little."""
    ordered = sorted(tasks, key=lambda task: task.ttr)
    count = max(1, min(len(ordered), max(workers * 16, math.ceil(len(ordered) / BATCH_LIMIT))))
    size = math.ceil(len(ordered) / count)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def run_scenarios(
    net: CompiledNetwork,
    scenarios: Sequence[Scenario],
    *,
    jobs: int = 1,
    executor: Executor | None = None,
    compute_tts: bool = True,
    progress: Progress | None = None,
    parts: ResultParts | None = None,
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
        0 means one per CPU. Ignored when ``executor`` is given.
    executor
        Where the batches run (:mod:`setu.stress.executors`): serial, local processes or a Ray cluster.
    compute_tts
        Also solve the TTS program (otherwise ``tts`` is ``nan``).
    progress
        Called with (done, total) as batches complete.
    parts
        Stream each completed batch to these Parquet parts, and skip the scenarios they already hold
        (a killed sweep resumes where it stopped).

    Returns
    -------
    StressResult
        Results in the order of ``scenarios``.

    Examples
    --------
    >>> from setu.network.compile import compile_network
    >>> from setu.network.generate import three_tier
    >>> from setu.stress.scenarios import node_sweep
    >>> net = compile_network(three_tier(4, 6, 8, seed=1))
    >>> result = run_scenarios(net, node_sweep(net, ttr=2.0))
    >>> len(result.scenarios) == len(result.lost_profit) and bool((result.rei <= 1).all())
    True
    """
    for scenario in scenarios:
        validate_scenario(net, scenario)
    if executor is None:
        executor = SerialExecutor() if jobs == 1 else ProcessExecutor(jobs)
    n = len(scenarios)
    pi, tts = np.zeros(n), np.full(n, math.nan)
    pi_time, tts_time = np.zeros(n), np.zeros(n)
    solved = np.zeros(n, dtype=bool)
    started = time.perf_counter()

    def store(out: BatchResult) -> int:
        positions, batch_pi, batch_tts, batch_pi_time, batch_tts_time = out
        if solved[positions].any() or len(np.unique(positions)) != len(positions):
            raise RuntimeError("a scenario's result arrived twice; the sweep's results are not trusted")
        solved[positions] = True
        pi[positions], tts[positions] = batch_pi, batch_tts
        pi_time[positions], tts_time[positions] = batch_pi_time, batch_tts_time
        return len(positions)

    done = sum(store(out) for out in parts.completed()) if parts is not None else 0
    resumed = done
    tasks = [
        Task(i, s.node_indices(net), s.remaining(), float(s.ttr)) for i, s in enumerate(scenarios) if not solved[i]
    ]
    if resumed and progress:
        progress(done, n)
    for out in executor.run(net, compute_tts, _batches(tasks, executor.workers())):
        if parts is not None:
            parts.write(out)
        done += store(out)
        if progress:
            progress(done, n)
    if not solved.all():
        raise RuntimeError(f"{int((~solved).sum())} scenarios got no result")
    return StressResult(
        network=net.name,
        scenarios=list(scenarios),
        lost_profit=pi,
        tts=tts,
        ttr_seconds=pi_time,
        tts_seconds=tts_time,
        wall_seconds=time.perf_counter() - started,
        jobs=executor.workers(),
        meta={"executor": executor.name, "resumed": resumed, "retried": executor.retried},
    )
