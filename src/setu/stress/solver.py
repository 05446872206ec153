"""The warm TTR and TTS models one worker holds, and the batch of scenarios it solves with them."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from setu.network.compile import CompiledNetwork, FloatArray, IntArray
from setu.stress.local import LocalTTS
from setu.stress.local_ttr import LocalTTR
from setu.stress.lp import StressLP

PI_HALF = 1
"""A task's or a result's PI (lost profit over the TTR)."""
TTS_HALF = 2
"""A task's or a result's TTS."""
BOTH_HALVES = PI_HALF | TTS_HALF


@dataclass(frozen=True, slots=True)
class Task:
    """One scenario as a worker needs it: its position in the sweep, node indices, capacity kept, TTR.

    ``halves`` says what to compute of it: :data:`PI_HALF`, :data:`TTS_HALF` or both. A sweep sends the
    two apart, each in the order its solver works fastest in (PI by TTR, TTS by the products reached).
    """

    position: int
    nodes: IntArray
    remaining: FloatArray
    ttr: float
    halves: int = BOTH_HALVES


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch gives back, a row per task in one order: what each row holds, and its values.

    A value a row does not hold (its ``halves`` lacks it) is NaN, with 0 seconds.
    """

    positions: IntArray
    halves: NDArray[np.uint8]
    lost_profit: FloatArray
    tts: FloatArray
    ttr_seconds: FloatArray
    tts_seconds: FloatArray


class WarmSolver:
    """The warm models one process holds; built once, reused for every batch it gets.

    Examples
    --------
    >>> from setu.network.generate import three_tier
    >>> from setu.network.compile import compile_network
    >>> net = compile_network(three_tier(4, 6, 8, seed=1))
    >>> solver = WarmSolver(net, compute_tts=False)
    >>> out = solver.run([Task(0, np.array([5]), np.zeros(1), 2.0)])
    >>> bool(out.lost_profit[0] >= 0) and math.isnan(out.tts[0]) and int(out.halves[0]) == PI_HALF
    True
    """

    def __init__(self, net: CompiledNetwork, compute_tts: bool) -> None:
        self.ttr_model = StressLP(net, "ttr")
        self.local_ttr: LocalTTR | None = None
        self.tts_model = StressLP(net, "tts") if compute_tts else None
        self.local = LocalTTS(self.tts_model) if self.tts_model is not None else None
        self.answered: Counter[tuple[str, str]] = Counter()
        """How each answer was found: ("ttr" or "tts", "plan", "local" or "full") -> scenarios (for benchmarks)."""

    def prepare(self, ttr: float) -> LocalTTR:
        """The TTR model at horizon ``ttr``: its undisrupted optimum solved, and the local LP built on it."""
        if self.ttr_model.horizon != ttr or self.local_ttr is None:
            self.ttr_model.set_horizon(ttr)
            self.ttr_model.solve_base()
            self.local_ttr = LocalTTR(self.ttr_model)
        return self.local_ttr

    def lost_profit(self, nodes: IntArray, remaining: FloatArray, ttr: float) -> float:
        """PI of one scenario: from the base plan, else the certified local LP, else the full model (at once for
        a wide scenario, which the full model solves cold faster than any local LP)."""
        local_ttr = self.prepare(ttr)
        if self.ttr_model.survives_with_base(nodes, remaining):
            self.answered["ttr", "plan"] += 1
            return self.ttr_model.base.value
        value = None if self.ttr_model.is_wide(nodes, remaining) else local_ttr.solve(nodes, remaining)
        if value is None:
            self.answered["ttr", "full"] += 1
            return self.ttr_model.solve_scenario(nodes, remaining, use_shortcut=False).value
        self.answered["ttr", "local"] += 1
        return value

    def time_to_survive(self, nodes: IntArray, remaining: FloatArray) -> float:
        """TTS of one scenario: from the base plan, else the local bracket, else the full model."""
        assert self.tts_model is not None and self.local is not None
        if self.tts_model.survives_with_base(nodes, remaining):
            self.answered["tts", "plan"] += 1
            return self.tts_model.base.value
        value = None if self.tts_model.is_wide(nodes, remaining) else self.local.solve(nodes, remaining)
        if value is None or math.isnan(value):
            self.answered["tts", "full"] += 1
            return self.tts_model.solve_scenario(nodes, remaining, use_shortcut=False).value
        self.answered["tts", "local"] += 1
        return value

    def run(self, tasks: Sequence[Task]) -> BatchResult:
        """Solve every task of a batch; results come back with each task's position.

        PI in order of TTR, so that each TTR base is solved once per distinct TTR; then TTS in order of the
        products each scenario reaches, so that scenarios sharing a local restriction LP take it in turn.
        A worker without the TTS model computes no TTS, whatever a task asks.
        """
        k = len(tasks)
        ordered = sorted(tasks, key=lambda task: task.ttr)
        positions = np.array([task.position for task in ordered], dtype=np.int64)
        kept = BOTH_HALVES if self.local is not None else PI_HALF
        halves = np.array([task.halves & kept for task in ordered], dtype=np.uint8)
        pi, tts = np.full(k, math.nan), np.full(k, math.nan)
        pi_time, tts_time = np.zeros(k), np.zeros(k)
        for i in np.flatnonzero(halves & PI_HALF):
            task = ordered[i]
            start = time.perf_counter()
            pi[i] = self.lost_profit(task.nodes, task.remaining, task.ttr)
            pi_time[i] = time.perf_counter() - start
        if self.local is not None:
            local = self.local
            asked = np.flatnonzero(halves & TTS_HALF)
            for i in sorted(asked, key=lambda i: local.key(ordered[i].nodes)):
                start = time.perf_counter()
                tts[i] = self.time_to_survive(ordered[i].nodes, ordered[i].remaining)
                tts_time[i] = time.perf_counter() - start
        return BatchResult(positions, halves, pi, tts, pi_time, tts_time)
