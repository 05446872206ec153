"""Jobs: heavy work a web request queues for the worker processes (network imports, registry what-ifs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base, Owned, utcnow

JOB_KINDS = ("network.import", "registry.what_if")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
JOB_FINAL_STATUSES = ("succeeded", "failed", "cancelled")


class JobRecord(Owned, Base):
    """One queued computation: its request, its state in the queue, and its outcome.

    ``status`` moves queued -> running -> succeeded | failed | cancelled, as a run's does, under the same
    queue (:mod:`setu.runs.queue`): a worker claims it, beats while executing it, and the reaper queues it
    again or fails it when the worker dies. ``payload`` is the validated request as JSON (an import's file
    bytes in ``upload``); ``result`` the answer as JSON, ``result_id`` the record it made (an import's
    network), ``error`` why it failed (an input error's problems are in ``result`` as well). Only its
    creator reads it, and a result only while they may read ``result_marking_id`` (:class:`Owned`).
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    origin_party: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    runner: Mapped[str] = mapped_column(String(128), nullable=False, default="", server_default="")
    """The worker process executing the job (``host:pid:token``); empty while it waits in the queue."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When the executing worker last said it is alive; a job whose heartbeat stops is retried or failed."""
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    """How many times a worker took the job."""
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    """Set by a cancel from any process; the executing worker sees it at its next heartbeat and stops."""
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    payload: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    upload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """An import's file, as uploaded (its size is capped by ``SETU_MAX_UPLOAD_BYTES`` before it is queued)."""
    result: Mapped[str] = mapped_column(Text, nullable=False, default="")
    result_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
