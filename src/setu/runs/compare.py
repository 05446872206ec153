"""Two runs side by side: the same scenarios, what changed between them, the largest changes first.

Runs are compared scenario by scenario (by scenario id), whichever network version each was computed on,
so a sweep before and after a mitigation, two TTR assumptions, or two versions of a network line up. REI
is rescaled to one yardstick for both: the largest loss beyond the baseline in the reader's reference
sweep of the first run's network (or, without one, in the two runs together), so an REI of 0.4 means the
same in both columns. Both runs, every result and the reference sweep are read through the marking
filter, and the comparison carries the most restrictive marking of all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError, TooLarge
from setu.models.stress import ResultRecord, RunRecord
from setu.runs.reference import reference_run
from setu.runs.results import require_run
from setu.sharing.markings import MarkingSpec, combine, marking_specs
from setu.sharing.policy import Principal
from setu.sharing.read import count_readable, readable

MAX_COMPARED = 100_000
"""Most results of one run a comparison reads (a country-sized sweep); above it the comparison is refused."""
CHANGED = 1e-9
"""Relative change below which two figures are the same."""


@dataclass(frozen=True, slots=True)
class Figures:
    """One scenario's figures in one run: loss beyond the baseline, TTS (relative), TTR, at risk, rescaled REI."""

    loss: float
    tts: float
    ttr: float
    at_risk: bool
    rei: float


@dataclass(frozen=True, slots=True)
class ScenarioChange:
    """A scenario both runs hold, with its figures in each."""

    scenario_id: str
    label: str
    disrupted: str
    a: Figures
    b: Figures

    @property
    def loss_change(self) -> float:
        """Loss beyond the baseline in the second run minus the first."""
        return self.b.loss - self.a.loss

    @property
    def tts_change(self) -> float:
        """TTS in the second run minus the first (``nan`` when either is unbounded or not computed)."""
        if math.isfinite(self.a.tts) and math.isfinite(self.b.tts):
            return self.b.tts - self.a.tts
        return math.nan

    @property
    def changed(self) -> bool:
        """Whether any figure differs between the runs."""
        same = _same(self.a.loss, self.b.loss) and _same(self.a.tts, self.b.tts) and self.a.at_risk == self.b.at_risk
        return not same


def _same(x: float, y: float) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= CHANGED * max(1.0, abs(x), abs(y))


@dataclass(frozen=True)
class Comparison:
    """Two runs compared; ``changes`` holds every scenario both hold, largest change first.

    Attributes
    ----------
    a, b
        The runs.
    changes
        Scenarios both runs hold, by the size of the change in loss, then in TTS, then by scenario id.
    only_a, only_b
        How many scenarios only one of the runs holds.
    newly_at_risk, no_longer_at_risk
        Scenarios at risk in ``b`` but not in ``a``, and the reverse.
    scale, scale_run
        The loss REI is rescaled by in both columns, and the reference sweep it comes from (None: the
        largest loss of the two runs).
    spec
        The most restrictive marking of the runs, their results and the reference sweep.
    """

    a: RunRecord
    b: RunRecord
    changes: list[ScenarioChange]
    only_a: int
    only_b: int
    newly_at_risk: int
    no_longer_at_risk: int
    scale: float
    scale_run: RunRecord | None
    spec: MarkingSpec

    @property
    def changed(self) -> int:
        """How many of the scenarios both runs hold changed."""
        return sum(1 for change in self.changes if change.changed)


def _results(session: Session, principal: Principal, run_id: int) -> dict[str, tuple[Any, ...]]:
    total = count_readable(session, principal, ResultRecord, ResultRecord.run_id == run_id)
    if total > MAX_COMPARED:
        raise TooLarge(f"run {run_id} has {total:,} results; a comparison reads at most {MAX_COMPARED:,} a run")
    rows = session.execute(
        readable(
            principal,
            ResultRecord.scenario_id,
            ResultRecord.label,
            ResultRecord.disrupted,
            ResultRecord.ttr,
            ResultRecord.lost_profit,
            ResultRecord.baseline_loss,
            ResultRecord.tts,
            ResultRecord.tts_infinite,
            ResultRecord.tts_relative,
            ResultRecord.tts_relative_infinite,
            ResultRecord.at_risk,
            ResultRecord.marking_id,
        ).where(ResultRecord.run_id == run_id)
    ).all()
    return {row.scenario_id: tuple(row) for row in rows}


def _tts(row: tuple[Any, ...]) -> float:
    tts, infinite, relative, relative_infinite = row[6], row[7], row[8], row[9]
    if relative is not None:
        return float(relative)
    if relative_infinite or infinite:
        return math.inf
    return math.nan if tts is None else float(tts)


def _figures(row: tuple[Any, ...], scale: float) -> Figures:
    loss = max(float(row[4]) - float(row[5]), 0.0)
    return Figures(loss, _tts(row), float(row[3]), bool(row[10]), loss / scale if scale > 0 else 0.0)


def _reference_scale(session: Session, principal: Principal, network_id: int) -> tuple[float, RunRecord | None]:
    """The largest loss beyond the baseline in the reader's reference sweep of ``network_id`` (0 without one)."""
    reference = reference_run(session, principal, network_id).run
    if reference is None:
        return 0.0, None
    # A column of the model first, so that the read filter applies to the aggregate.
    row = session.execute(
        readable(principal, ResultRecord.run_id, func.max(ResultRecord.lost_profit - ResultRecord.baseline_loss))
        .where(ResultRecord.run_id == reference.id)
        .group_by(ResultRecord.run_id)
    ).first()
    return (max(float(row[1] or 0.0), 0.0) if row else 0.0), reference


def compare_runs(session: Session, principal: Principal, a: int, b: int) -> Comparison:
    """Compare run ``a`` with run ``b``, scenario by scenario.

    Parameters
    ----------
    session
        The caller's session (the read is audited as ``run.compare``; the caller commits).
    principal
        The reader.
    a, b
        The runs: ``b`` is compared with ``a`` (changes are ``b`` minus ``a``).

    Returns
    -------
    Comparison
        Every scenario both runs hold, the largest change first, with counts of the rest.

    Raises
    ------
    setu.errors.NotFound
        If either run does not exist or the reader may not see it (audited as a denied ``run.compare``).
    setu.errors.InputError
        If a run has not completed, or both are the same run.
    setu.errors.TooLarge
        If a run has more than :data:`MAX_COMPARED` results.
    """
    if a == b:
        raise InputError("choose two different runs", "b")
    first, second = require_run(session, principal, a, "run.compare"), require_run(session, principal, b, "run.compare")
    for run, name in ((first, "a"), (second, "b")):
        if run.status != "completed":
            raise InputError(f"run {run.id} is {run.status}; only completed runs can be compared", name)
    rows_a, rows_b = _results(session, principal, a), _results(session, principal, b)
    scale, scale_run = _reference_scale(session, principal, first.network_id)
    if scale <= 0:
        scale_run = None
        losses = [max(float(r[4]) - float(r[5]), 0.0) for r in (*rows_a.values(), *rows_b.values())]
        scale = max(losses, default=0.0)
    both = sorted(rows_a.keys() & rows_b.keys())
    changes = [
        ScenarioChange(key, rows_b[key][1], rows_b[key][2], _figures(rows_a[key], scale), _figures(rows_b[key], scale))
        for key in both
    ]

    def size(change: ScenarioChange) -> tuple[float, float, str]:
        tts = change.tts_change
        return (-abs(change.loss_change), -(abs(tts) if math.isfinite(tts) else 0.0), change.scenario_id)

    changes.sort(key=size)
    used = {first.marking_id, second.marking_id, *(r[11] for r in (*rows_a.values(), *rows_b.values()))}
    if scale_run is not None:
        used.add(scale_run.marking_id)
    spec = combine(marking_specs(session, used), principal.party)
    comparison = Comparison(
        a=first,
        b=second,
        changes=changes,
        only_a=len(rows_a.keys() - rows_b.keys()),
        only_b=len(rows_b.keys() - rows_a.keys()),
        newly_at_risk=sum(1 for c in changes if c.b.at_risk and not c.a.at_risk),
        no_longer_at_risk=sum(1 for c in changes if c.a.at_risk and not c.b.at_risk),
        scale=scale,
        scale_run=scale_run,
        spec=spec,
    )
    details = {"a": a, "b": b, "both": len(changes), "changed": comparison.changed}
    record(session, principal, "run.compare", "run", f"{a}:{b}", details=details)
    return comparison
