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


class ResultRecord(Received, Marked, Base):
    """PI, TTS and REI of one scenario of a completed run; marked with the run's marking.

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
    at_risk: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    @property
    def tts_value(self) -> float:
        """TTS as a float: ``inf`` when unbounded, ``nan`` when not computed."""
        if self.tts is not None:
            return self.tts
        return float("inf") if self.tts_infinite else float("nan")


for _model in (ScenarioRecord, RunRecord, ResultRecord):
    guard_received(_model)
