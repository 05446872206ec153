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
from setu.stress.graph import Downstream
from setu.stress.scenarios import Scenario, validate_scenario
from setu.stress.solver import BOTH_HALVES, PI_HALF, TTS_HALF, BatchResult, Task

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


def _chunks(ordered: list[Task], workers: int) -> list[list[Task]]:
    """Contiguous runs of ``ordered``: enough to balance the workers, none over :data:`BATCH_LIMIT` so that a
    lost worker or a killed sweep costs little."""
    if not ordered:
        return []
    count = max(1, min(len(ordered), max(workers * 16, math.ceil(len(ordered) / BATCH_LIMIT))))
    size = math.ceil(len(ordered) / count)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _batches(net: CompiledNetwork, pi: list[Task], tts: list[Task], workers: int) -> list[list[Task]]:
    """The PI halves by TTR (each batch then solves few TTR bases) and the TTS halves by the products they
    reach (scenarios that share a local restriction LP then meet in one batch, in turn), alternating, so
    that both advance together."""
    by_ttr = _chunks(sorted(pi, key=lambda task: task.ttr), workers)
    downstream = Downstream(net)
    keys = {task.position: downstream.products(task.nodes).tobytes() for task in tts}
    by_products = _chunks(sorted(tts, key=lambda task: keys[task.position]), workers)
    batches: list[list[Task]] = []
    for k in range(max(len(by_ttr), len(by_products))):
        batches.extend(chunk[k] for chunk in (by_ttr, by_products) if k < len(chunk))
    return batches


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
    wanted = BOTH_HALVES if compute_tts else PI_HALF
    stored = np.zeros(n, dtype=np.uint8)
    """Per scenario, the halves whose results are in."""
    started = time.perf_counter()

    def store(out: BatchResult) -> None:
        for half, values, seconds, into, into_seconds in (
            (PI_HALF, out.lost_profit, out.ttr_seconds, pi, pi_time),
            (TTS_HALF, out.tts, out.tts_seconds, tts, tts_time),
        ):
            rows = (out.halves & half) != 0
            at = out.positions[rows]
            if (stored[at] & half).any() or len(np.unique(at)) != len(at):
                raise RuntimeError("a scenario's result arrived twice; the sweep's results are not trusted")
            stored[at] |= half
            into[at], into_seconds[at] = values[rows], seconds[rows]

    def done() -> int:
        """Scenarios' worth of work done: halves stored, over the halves a scenario needs."""
        halves = np.count_nonzero(stored & PI_HALF) + (np.count_nonzero(stored & TTS_HALF) if compute_tts else 0)
        return int(halves) // (2 if compute_tts else 1)

    if parts is not None:
        for out in parts.completed():
            store(out)
    resumed = done()
    pi_tasks: list[Task] = []
    tts_tasks: list[Task] = []
    for i, scenario in enumerate(scenarios):
        missing = wanted & ~int(stored[i])
        if missing:
            nodes, remaining, ttr = scenario.node_indices(net), scenario.remaining(), float(scenario.ttr)
            if missing & PI_HALF:
                pi_tasks.append(Task(i, nodes, remaining, ttr, halves=PI_HALF))
            if missing & TTS_HALF:
                tts_tasks.append(Task(i, nodes, remaining, ttr, halves=TTS_HALF))
    if resumed and progress:
        progress(resumed, n)
    for out in executor.run(net, compute_tts, _batches(net, pi_tasks, tts_tasks, executor.workers())):
        if parts is not None:
            parts.write(out)
        store(out)
        if progress:
            progress(done(), n)
    if (stored != wanted).any():
        raise RuntimeError(f"{int((stored != wanted).sum())} scenarios got no result")
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
