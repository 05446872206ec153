"""The durable queues: the ``stress_runs`` and ``jobs`` tables themselves, claimed by workers, watched by heartbeats.

Every function here works on either table (:data:`RUNS`, :data:`JOBS`), as the run is described below.
A queued run is claimed by exactly one worker (on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so
workers never wait on each other; on SQLite, which admits one writer at a time, by a conditional
update), in the order runs were queued. The worker writes a heartbeat every second or so; a run
whose heartbeat is older than the stale limit belongs to a worker that died (killed, out of memory,
its machine gone, its database connection lost) and is queued again, or failed with the reason once
it has been tried as often as allowed. A cancel from any process is a flag the executing worker
reads with its heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.db import transaction
from setu.models.accounts import User
from setu.models.base import utcnow
from setu.models.jobs import JobRecord
from setu.models.stress import RunRecord
from setu.sharing.read import count_unfiltered, unfiltered, unfiltered_update

WORKER = "setu worker"
"""How the audit log names the worker when it acts for no user (requeueing or failing a run)."""


@dataclass(frozen=True, slots=True)
class QueueTable:
    """A table that is a queue: its model, what the audit log calls its rows, and what a fresh start resets.

    Attributes
    ----------
    model
        The queued records (``status``, ``runner``, ``heartbeat_at``, ``attempts``, ``cancel_requested``,
        ``error``, ``started_at``, ``finished_at``, ``created_by``, ``origin_party``).
    kind
        The audit log's object type and action prefix (``run`` gives ``run.retry``, ``run.fail`` ...).
    restart
        Columns set back whenever a worker takes a row or gives it back (a run's progress).
    ended
        Columns cleared whenever a row ends, however it ends (a job's uploaded file).
    """

    model: type[RunRecord] | type[JobRecord]
    kind: str
    restart: Mapping[str, Any] = field(default_factory=dict)
    ended: Mapping[str, Any] = field(default_factory=dict)


RUNS = QueueTable(RunRecord, "run", {"done": 0})
"""Stress runs."""
JOBS = QueueTable(JobRecord, "job", ended={"upload": None})
"""Network imports and registry what-ifs (:mod:`setu.jobs`)."""


ACTIVE = ("queued", "running")
"""The statuses of a row that still takes a place in its queue."""


def active(session: Session, table: QueueTable, user_id: int | None = None) -> int:
    """How many rows of ``table`` ``user_id`` (None: anyone) has queued or running: admission's count.

    On PostgreSQL the user's row is locked until the caller's transaction ends, so two servers
    admitting work for one user count one after the other.
    """
    model = table.model
    # Admission, not a read: every row counts, whatever marking it now carries and whoever asks.
    if user_id is None:
        return count_unfiltered(session, model, model.status.in_(ACTIVE))
    session.execute(unfiltered(User.id).where(User.id == user_id).with_for_update())
    return count_unfiltered(session, model, model.created_by == user_id, model.status.in_(ACTIVE))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A record a worker took from a queue: its id, its owner, which attempt this is, and its queue."""

    run_id: int
    owner_id: int
    attempt: int
    table: QueueTable = RUNS

    @property
    def id(self) -> int:
        """The claimed record's id (a run's or a job's)."""
        return self.run_id


def _changed(session: Session, statement: Update) -> int:
    """Execute an UPDATE; how many rows it changed (the condition in its WHERE decides who wins a race)."""
    result = cast("CursorResult[Any]", session.execute(statement))
    return int(result.rowcount)


def claim_next(factory: sessionmaker[Session], runner: str, table: QueueTable = RUNS) -> Claimed | None:
    """Take the oldest queued run for worker ``runner`` (``host:pid:token``): it is ``running`` under it.

    Parameters
    ----------
    factory
        Sessions to the database.
    runner
        The worker.
    table
        The queue (:data:`RUNS` or :data:`JOBS`).

    Returns
    -------
    Claimed or None
        The run taken, or None if none is queued.
    """
    model = table.model
    with transaction(factory) as session:
        # The worker claims for the run's owner: a queue read, not a user's, so unfiltered.
        candidate = session.execute(
            unfiltered(model.id, model.created_by, model.attempts)
            .where(model.status == "queued")
            .order_by(model.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if candidate is None:
            return None
        record_id, owner_id, attempts = candidate
        now = utcnow()
        taken = _changed(
            session,
            unfiltered_update(model)
            .where(model.id == record_id, model.status == "queued")
            .values(
                status="running",
                runner=runner,
                heartbeat_at=now,
                started_at=now,
                attempts=attempts + 1,
                **table.restart,
            ),
        )
        if taken != 1:  # another worker took it between the read and the write (SQLite)
            return None
        return Claimed(int(record_id), int(owner_id), int(attempts) + 1, table)


def beat(factory: sessionmaker[Session], run_id: int, runner: str, table: QueueTable = RUNS) -> bool | None:
    """Record that ``runner`` is alive and executing ``run_id``; whether a cancel was asked.

    Returns
    -------
    bool or None
        True when someone asked to cancel the run, False when not, None when the run is no longer
        ``running`` under this worker (the reaper gave it to another, or it ended): stop at once.
    """
    model = table.model
    with transaction(factory) as session:
        held = _changed(
            session,
            unfiltered_update(model)
            .where(model.id == run_id, model.status == "running", model.runner == runner)
            .values(heartbeat_at=utcnow()),
        )
        if held != 1:
            return None
        return bool(session.scalar(unfiltered(model.cancel_requested).where(model.id == run_id)))


def reap_stale(
    factory: sessionmaker[Session],
    stale_seconds: float,
    max_attempts: int,
    now: datetime | None = None,
    table: QueueTable = RUNS,
) -> list[tuple[int, str]]:
    """Queue again, or fail, every running run whose worker's heartbeat is older than ``stale_seconds``.

    Parameters
    ----------
    factory
        Sessions to the database.
    stale_seconds
        How long a worker may be silent before it is presumed dead.
    max_attempts
        Most times a run is taken by a worker; a run that has had them all is failed.
    now
        The time (tests).
    table
        The queue (:data:`RUNS` or :data:`JOBS`).

    Returns
    -------
    list of (int, str)
        Each run reaped and what became of it: ``queued`` (to be tried again) or ``failed``.
    """
    now = now or utcnow()
    limit = now - timedelta(seconds=stale_seconds)
    model, kind = table.model, table.kind
    reaped: list[tuple[int, str]] = []
    with transaction(factory) as session:
        # Runs of any owner and marking: the queue's upkeep, for no user.
        stale = session.execute(
            unfiltered(model.id, model.attempts, model.runner, model.cancel_requested)
            .where(model.status == "running", model.runner != "", model.heartbeat_at < limit)
            .with_for_update(skip_locked=True)
        ).all()
        for record_id, attempts, runner, cancel_requested in stale:
            silent = f"the worker executing it ({runner}) stopped answering for more than {stale_seconds:g} s"
            values: dict[str, Any]
            if cancel_requested:
                values = {"status": "cancelled", "error": "", "finished_at": now, **table.ended}
                action, details = f"{kind}.cancel", {"reason": silent}
            elif attempts >= max_attempts:
                error = f"{silent}, on attempt {attempts} of {max_attempts}; start the {kind} again"
                values = {"status": "failed", "error": error, "finished_at": now, **table.ended}
                action, details = f"{kind}.fail", {"error": error}
            else:
                values = {"status": "queued", "runner": "", "heartbeat_at": None, **table.restart}
                action, details = f"{kind}.retry", {"reason": silent, "attempts": attempts}
            moved = _changed(
                session,
                unfiltered_update(model)
                .where(model.id == record_id, model.status == "running", model.runner == runner)
                .values(**values),
            )
            if moved == 1:
                party = _party(session, table, record_id)
                record(session, None, action, kind, record_id, actor_name=WORKER, details=details, party=party)
                reaped.append((int(record_id), str(values["status"])))
    return reaped


def fail_held(
    factory: sessionmaker[Session], run_id: int, runner: str, error: str, table: QueueTable = RUNS, result: str = ""
) -> bool:
    """End as ``failed`` with ``error`` the run ``runner`` holds; False if it holds it no longer.

    ``result`` is kept on a job (an input error's problems, each at its place); runs have no such column.
    """
    model, kind = table.model, table.kind
    more = {"result": result} if result and model is JobRecord else {}
    with transaction(factory) as session:
        ended = _changed(
            session,
            unfiltered_update(model)
            .where(model.id == run_id, model.status == "running", model.runner == runner)
            .values(status="failed", error=error, finished_at=utcnow(), **more, **table.ended),
        )
        if ended != 1:
            return False
        party = _party(session, table, run_id)
        record(session, None, f"{kind}.fail", kind, run_id, actor_name=WORKER, details={"error": error}, party=party)
        return True


def give_back(factory: sessionmaker[Session], run_id: int, runner: str, table: QueueTable = RUNS) -> bool:
    """Queue again the run ``runner`` holds, as if it had never been taken (its worker is stopping)."""
    model, kind = table.model, table.kind
    with transaction(factory) as session:
        given = _changed(
            session,
            unfiltered_update(model)
            .where(model.id == run_id, model.status == "running", model.runner == runner)
            .values(status="queued", runner="", heartbeat_at=None, attempts=model.attempts - 1, **table.restart),
        )
        if given != 1:
            return False
        record(
            session,
            None,
            f"{kind}.retry",
            kind,
            run_id,
            actor_name=WORKER,
            details={"reason": "its worker stopped"},
            party=_party(session, table, run_id),
        )
        return True


def _party(session: Session, table: QueueTable, record_id: int) -> str:
    """The party of the record's owner: a reaped record's audit entry is that party's data."""
    model = table.model
    found = session.scalar(unfiltered(model.origin_party).where(model.id == record_id))
    return str(found or "")


def request_cancel(session: Session, run_id: int, table: QueueTable = RUNS) -> str:
    """Ask that the run ``run_id`` stop, from any process; what became of it.

    A queued run ends ``cancelled`` at once; a running one is flagged, and its worker stops it at its
    next heartbeat. The caller has checked the user may cancel it (:func:`setu.runs.service.cancel_run`,
    :func:`setu.jobs.service.cancel_job`) and commits.

    Returns
    -------
    str
        ``cancelled`` (it was waiting), ``cancelling`` (its worker will stop it), or ``ended`` (it
        ended meanwhile).
    """
    model = table.model
    waiting = _changed(
        session,
        unfiltered_update(model)
        .where(model.id == run_id, model.status == "queued")
        .values(status="cancelled", finished_at=utcnow(), cancel_requested=True, **table.ended),
    )
    if waiting == 1:
        return "cancelled"
    flagged = _changed(
        session,
        unfiltered_update(model).where(model.id == run_id, model.status == "running").values(cancel_requested=True),
    )
    return "cancelling" if flagged == 1 else "ended"
