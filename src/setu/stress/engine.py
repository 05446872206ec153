"""Run a set of scenarios through the warm TTR and TTS models, on any executor, streaming to resumable parts."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from setu.network.compile import CompiledNetwork, FloatArray
from setu.stress.baseline import Baseline, baseline, baseline_losses, sustainable
from setu.stress.executors import Executor, ProcessExecutor, SerialExecutor
from setu.stress.scenarios import Scenario, validate_scenario
from setu.stress.solver import BatchResult, Task

if TYPE_CHECKING:
    import pandas as pd

    from setu.stress.parts import ResultParts

Progress = Callable[[int, int], None]
"""Called with (scenarios done, scenarios in all) as work completes."""

RESULT_COLUMNS = ("scenario_id", "disrupted", "ttr", "lost_profit", "tts", "rei")
BASELINE_TTS_TOLERANCE = 1e-9
"""Relative gap under which a scenario's TTS is the undisrupted network's own."""
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
    baseline: Baseline | None = None
    """The undisrupted network's shortfall, when the run measured from it (``relative``)."""
    baseline_loss: FloatArray | None = None
    """Per scenario, PI of the undisrupted network over its TTR (zeros on a network that never runs short)."""
    tts_relative: FloatArray | None = None
    """Per scenario, TTS measured from the baseline: its own TTS where it runs short before the undisrupted
    network does; otherwise how long the network keeps delivering what it sustains undisrupted (at least the
    baseline's TTS). Equal to ``tts`` on a network that never runs short."""

    @property
    def excess_loss(self) -> FloatArray:
        """PI beyond the baseline: what the disruption itself costs (PI where no baseline was measured)."""
        if self.baseline_loss is None:
            return self.lost_profit
        return np.clip(self.lost_profit - self.baseline_loss, 0.0, None)

    @property
    def rei(self) -> FloatArray:
        """Risk exposure index: loss beyond the baseline over its largest in the scenario set (0 when all are 0)."""
        loss = self.excess_loss
        top = float(loss.max()) if len(loss) else 0.0
        if top <= 0:
            return np.zeros_like(loss)
        return loss / top

    @property
    def ttr(self) -> FloatArray:
        return np.array([s.ttr for s in self.scenarios], dtype=np.float64)

    @property
    def at_risk(self) -> np.ndarray:
        """Scenarios whose TTS (relative to the baseline, when measured) is shorter than their TTR."""
        tts = self.tts if self.tts_relative is None else self.tts_relative
        return tts < self.ttr

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
    relative: bool = False,
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
    relative
        Also measure from the undisrupted network (:mod:`setu.stress.baseline`): each scenario's baseline
        loss (REI then ranks the loss beyond it) and its TTS relative to the baseline
        (:attr:`StressResult.tts_relative`). ``lost_profit`` and ``tts`` stay the plain figures. Not with
        ``parts``.

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
    if relative:
        if parts is not None:
            raise ValueError("a relative run does not stream to parts")
        return _relative(net, scenarios, executor, compute_tts, progress)
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


def _relative(
    net: CompiledNetwork,
    scenarios: Sequence[Scenario],
    executor: Executor,
    compute_tts: bool,
    progress: Progress | None,
) -> StressResult:
    """:func:`run_scenarios` measured from the baseline too (see ``relative`` and :attr:`StressResult.tts_relative`)."""
    started = time.perf_counter()
    base = baseline(net)
    n = len(scenarios)
    second = base.short and compute_tts

    def first_half(done: int, _total: int) -> None:
        if progress:
            progress(done // 2 if second else done, n)

    result = run_scenarios(net, scenarios, executor=executor, compute_tts=compute_tts, progress=first_half)
    result.baseline = base
    result.baseline_loss = np.zeros(n)
    result.tts_relative = result.tts.copy()
    if base.short:
        losses = baseline_losses(net, (s.ttr for s in scenarios))
        result.baseline_loss = np.array([losses.get(float(s.ttr), 0.0) for s in scenarios])
    if second:

        def second_half(done: int, _total: int) -> None:
            if progress:
                progress(n // 2 + done // 2 if done < n else n, n)

        sustained = run_scenarios(
            sustainable(net, base), scenarios, executor=executor, compute_tts=True, progress=second_half
        )
        # A scenario that runs short before the undisrupted network does keeps its own TTS; one whose TTS is the
        # baseline's own is measured against what the network sustains instead (never less than the baseline's).
        own = result.tts < base.tts * (1 - BASELINE_TTS_TOLERANCE)
        result.tts_relative = np.where(own, result.tts, np.maximum(sustained.tts, base.tts))
    result.wall_seconds = time.perf_counter() - started
    return result
