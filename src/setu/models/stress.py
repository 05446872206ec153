"""Stored scenarios, stress runs and their results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base, Marked, Received, guard_received, utcnow

RUN_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
FINAL_STATUSES = ("completed", "failed", "cancelled")


class ScenarioRecord(Received, Marked, Base):
    """A user's disruption scenario on one network: the nodes it disrupts, for how long, how badly.

    ``nodes`` holds the disrupted node ids (as users know them) in order, ``severities`` one capacity
    fraction lost per node or ``None`` for full outages. The marking is the most restrictive of the
    network's and of every named node's, computed when the scenario is created: a scenario naming a
    record is as sensitive as the record. Scenario ids are unique per network and creating user.
    """

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("network_id", "created_by", "scenario_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    scenario_id: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="custom")
    label: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    ttr: Mapped[float] = mapped_column(Float, nullable=False)
    nodes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    severities: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class RunRecord(Received, Marked, Base):
    """One stress run: a set of scenarios (or the node sweep) computed on a user's view of a network.

    ``status`` moves queued -> running -> completed | failed | cancelled; ``done``/``total`` count
    scenarios. ``parameters`` holds ``scenarios`` (scenario record ids, or ``"sweep"``), ``ttr``,
    ``jobs`` and ``compute_tts``. The marking is derived: the most restrictive of the marking of every
    record the run used (the network, each node, edge, BOM line, product and site capacity of the
    runner's view, each scenario), with the runner's party as origin, so only users who could see all
    of those see the run.
    """

    __tablename__ = "stress_runs"
    __table_args__ = (
        Index("ix_stress_runs_network_status", "network_id", "status"),
        Index("ix_stress_runs_status_id", "status", "id"),
        Index("ix_stress_runs_reference", "network_id", "reference", "view_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    origin_party: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    wall_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    runner: Mapped[str] = mapped_column(String(128), nullable=False, default="", server_default="")
    """The worker process executing the run (``host:pid:token``); empty while it waits in the queue and
    for runs computed in the caller's own process."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When the executing worker last said it is alive; a run whose heartbeat stops is retried or failed."""
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    """Set by a cancel from any process; the executing worker sees it at its next heartbeat and stops."""
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    """How many times a worker took the run (a run whose worker died is queued again, up to a limit)."""
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="", server_default="")
    """What its owner calls the run (empty: shown as "Run N")."""
    reference: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    """A reference sweep: the node sweep the dashboard, the map and node pages use for readers of its view."""
    view_digest: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    """The digest of the view the run was computed on (:func:`setu.networks.stamps.view_digest`): readers
    whose view has the same digest see exactly the records the run used."""
    baseline: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """What the view loses with nothing disrupted (:mod:`setu.stress.baseline`): ``loss_rate`` (weighted
    loss per time unit), ``tts`` (None when unbounded), ``short`` (product node id -> demand per time unit it
    cannot meet). None for runs computed before baselines were measured."""


class ResultRecord(Received, Marked, Base):
    """PI, TTS and REI of one scenario of a completed run; marked with the run's marking.

    ``lost_profit`` and ``tts`` are the plain figures (the paper's, the published data sets'). On a view that
    runs short with nothing disrupted they include the view's own shortfall, so the run also stores what it
    loses anyway (``baseline_loss``) and TTS measured from the baseline (``tts_relative``); REI ranks the loss
    beyond the baseline and ``at_risk`` compares the relative TTS with the TTR.

    TTS round-trips through two columns: ``tts`` holds a finite value; an unbounded TTS (the
    network survives indefinitely) is ``tts = NULL`` with ``tts_infinite = True``; a TTS that was
    not computed (``nan``) is ``tts = NULL`` with ``tts_infinite = False``. ``at_risk`` (TTS < TTR)
    is stored so lists can filter on it in SQL.
    """

    __tablename__ = "stress_results"
    __table_args__ = (
        Index("ix_stress_results_run_position", "run_id", "position"),
        Index("ix_stress_results_run_rei", "run_id", "rei"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("stress_runs.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    """The scenario's place in the run (the order results were computed in)."""
    scenario_id: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    label: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    disrupted: Mapped[str] = mapped_column(Text, nullable=False)
    """Disrupted node ids joined by ``;``."""
    ttr: Mapped[float] = mapped_column(Float, nullable=False)
    lost_profit: Mapped[float] = mapped_column(Float, nullable=False)
    tts: Mapped[float | None] = mapped_column(Float, nullable=True)
    tts_infinite: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    rei: Mapped[float] = mapped_column(Float, nullable=False)
    """Loss beyond the baseline over the largest such loss in the run."""
    at_risk: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    baseline_loss: Mapped[float] = mapped_column(Float, nullable=False, default=0.0, server_default="0")
    """PI of the undisrupted view over the scenario's TTR: what it loses anyway (0 on a view that never runs
    short). ``lost_profit`` includes it; :attr:`excess_loss` does not."""

    tts_relative: Mapped[float | None] = mapped_column(Float, nullable=True)
    """TTS measured from the baseline (:attr:`setu.stress.engine.StressResult.tts_relative`) where it differs
    from ``tts``: a finite value, or NULL with ``tts_relative_infinite``; NULL and False: the same as ``tts``."""
    tts_relative_infinite: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())

    @property
    def tts_relative_value(self) -> float:
        """TTS measured from the baseline, as a float (``tts_value`` where they are the same); ``at_risk`` uses it."""
        if self.tts_relative is not None:
            return self.tts_relative
        return float("inf") if self.tts_relative_infinite else self.tts_value

    @property
    def excess_loss(self) -> float:
        """PI beyond the baseline: what the disruption itself costs."""
        return max(self.lost_profit - self.baseline_loss, 0.0)

    @property
    def tts_value(self) -> float:
        """TTS as a float: ``inf`` when unbounded, ``nan`` when not computed."""
        if self.tts is not None:
            return self.tts
        return float("inf") if self.tts_infinite else float("nan")


for _model in (ScenarioRecord, RunRecord, ResultRecord):
    guard_received(_model)
