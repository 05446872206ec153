"""The durable run queue: the ``stress_runs`` table itself, claimed by worker processes, watched by heartbeats.

A queued run is claimed by exactly one worker (on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so
workers never wait on each other; on SQLite, which admits one writer at a time, by a conditional
update), in the order runs were queued. The worker writes a heartbeat every second or so; a run
whose heartbeat is older than the stale limit belongs to a worker that died (killed, out of memory,
its machine gone, its database connection lost) and is queued again, or failed with the reason once
it has been tried as often as allowed. A cancel from any process is a flag the executing worker
reads with its heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.db import transaction
from setu.models.base import utcnow
from setu.models.stress import RunRecord
from setu.sharing.read import unfiltered, unfiltered_update

WORKER = "setu worker"
"""How the audit log names the worker when it acts for no user (requeueing or failing a run)."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A run a worker took from the queue: its id, its owner and which attempt this is."""

    run_id: int
    owner_id: int
    attempt: int


def _changed(session: Session, statement: Update) -> int:
    """Execute an UPDATE; how many rows it changed (the condition in its WHERE decides who wins a race)."""
    result = cast("CursorResult[Any]", session.execute(statement))
    return int(result.rowcount)


def claim_next(factory: sessionmaker[Session], runner: str) -> Claimed | None:
    """Take the oldest queued run for worker ``runner`` (``host:pid:token``): it is ``running`` under it.

    Parameters
    ----------
    factory
        Sessions to the database.
    runner
        The worker.

    Returns
    -------
    Claimed or None
        The run taken, or None if none is queued.
    """
    with transaction(factory) as session:
        # The worker claims for the run's owner: a queue read, not a user's, so unfiltered.
        candidate = session.execute(
            unfiltered(RunRecord.id, RunRecord.created_by, RunRecord.attempts)
            .where(RunRecord.status == "queued")
            .order_by(RunRecord.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if candidate is None:
            return None
        run_id, owner_id, attempts = candidate
        now = utcnow()
        taken = _changed(
            session,
            unfiltered_update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.status == "queued")
            .values(status="running", runner=runner, heartbeat_at=now, started_at=now, done=0, attempts=attempts + 1),
        )
        if taken != 1:  # another worker took it between the read and the write (SQLite)
            return None
        return Claimed(int(run_id), int(owner_id), int(attempts) + 1)


def beat(factory: sessionmaker[Session], run_id: int, runner: str) -> bool | None:
    """Record that ``runner`` is alive and executing ``run_id``; whether a cancel was asked.

    Returns
    -------
    bool or None
        True when someone asked to cancel the run, False when not, None when the run is no longer
        ``running`` under this worker (the reaper gave it to another, or it ended): stop at once.
    """
    with transaction(factory) as session:
        held = _changed(
            session,
            unfiltered_update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.status == "running", RunRecord.runner == runner)
            .values(heartbeat_at=utcnow()),
        )
        if held != 1:
            return None
        return bool(session.scalar(unfiltered(RunRecord.cancel_requested).where(RunRecord.id == run_id)))


def reap_stale(
    factory: sessionmaker[Session], stale_seconds: float, max_attempts: int, now: datetime | None = None
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

    Returns
    -------
    list of (int, str)
        Each run reaped and what became of it: ``queued`` (to be tried again) or ``failed``.
    """
    now = now or utcnow()
    limit = now - timedelta(seconds=stale_seconds)
    reaped: list[tuple[int, str]] = []
    with transaction(factory) as session:
        # Runs of any owner and marking: the queue's upkeep, for no user.
        stale = session.execute(
            unfiltered(RunRecord.id, RunRecord.attempts, RunRecord.runner, RunRecord.cancel_requested)
            .where(RunRecord.status == "running", RunRecord.runner != "", RunRecord.heartbeat_at < limit)
            .with_for_update(skip_locked=True)
        ).all()
        for run_id, attempts, runner, cancel_requested in stale:
            silent = f"the worker executing it ({runner}) stopped answering for more than {stale_seconds:g} s"
            if cancel_requested:
                values = {"status": "cancelled", "error": "", "finished_at": now}
                action, details = "run.cancel", {"reason": silent}
            elif attempts >= max_attempts:
                error = f"{silent}, on attempt {attempts} of {max_attempts}; start the run again"
                values = {"status": "failed", "error": error, "finished_at": now}
                action, details = "run.fail", {"error": error}
            else:
                values = {"status": "queued", "runner": "", "heartbeat_at": None, "done": 0}
                action, details = "run.retry", {"reason": silent, "attempts": attempts}
            moved = _changed(
                session,
                unfiltered_update(RunRecord)
                .where(RunRecord.id == run_id, RunRecord.status == "running", RunRecord.runner == runner)
                .values(**values),
            )
            if moved == 1:
                record(
                    session,
                    None,
                    action,
                    "run",
                    run_id,
                    actor_name=WORKER,
                    details=details,
                    party=_party(session, run_id),
                )
                reaped.append((int(run_id), str(values["status"])))
    return reaped


def fail_held(factory: sessionmaker[Session], run_id: int, runner: str, error: str) -> bool:
    """End as ``failed`` with ``error`` the run ``runner`` holds; False if it holds it no longer."""
    with transaction(factory) as session:
        ended = _changed(
            session,
            unfiltered_update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.status == "running", RunRecord.runner == runner)
            .values(status="failed", error=error, finished_at=utcnow()),
        )
        if ended != 1:
            return False
        details = {"error": error}
        record(
            session, None, "run.fail", "run", run_id, actor_name=WORKER, details=details, party=_party(session, run_id)
        )
        return True


def give_back(factory: sessionmaker[Session], run_id: int, runner: str) -> bool:
    """Queue again the run ``runner`` holds, as if it had never been taken (its worker is stopping)."""
    with transaction(factory) as session:
        given = _changed(
            session,
            unfiltered_update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.status == "running", RunRecord.runner == runner)
            .values(status="queued", runner="", heartbeat_at=None, done=0, attempts=RunRecord.attempts - 1),
        )
        if given != 1:
            return False
        record(
            session,
            None,
            "run.retry",
            "run",
            run_id,
            actor_name=WORKER,
            details={"reason": "its worker stopped"},
            party=_party(session, run_id),
        )
        return True


def _party(session: Session, run_id: int) -> str:
    """The party of the run's owner: a reaped run's audit entry is that party's data."""
    found = session.scalar(unfiltered(RunRecord.origin_party).where(RunRecord.id == run_id))
    return str(found or "")


def request_cancel(session: Session, run_id: int) -> str:
    """Ask that the run ``run_id`` stop, from any process; what became of it.

    A queued run ends ``cancelled`` at once; a running one is flagged, and its worker stops it at its
    next heartbeat. The caller has checked the user may cancel it (:func:`setu.runs.service.cancel_run`)
    and commits.

    Returns
    -------
    str
        ``cancelled`` (it was waiting), ``cancelling`` (its worker will stop it), or ``ended`` (it
        ended meanwhile).
    """
    waiting = _changed(
        session,
        unfiltered_update(RunRecord)
        .where(RunRecord.id == run_id, RunRecord.status == "queued")
        .values(status="cancelled", finished_at=utcnow(), cancel_requested=True),
    )
    if waiting == 1:
        return "cancelled"
    flagged = _changed(
        session,
        unfiltered_update(RunRecord)
        .where(RunRecord.id == run_id, RunRecord.status == "running")
        .values(cancel_requested=True),
    )
    return "cancelling" if flagged == 1 else "ended"
