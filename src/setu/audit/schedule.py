"""Checkpoints issued on a schedule: every N entries or M minutes, by each party this instance signs for.

What no checkpoint covers can be rewritten by whoever holds the database without a trace, so the
server issues them itself (a thread of ``setu serve``, or ``setu audit checkpoint --auto`` from cron)
and, with ``SETU_CHECKPOINT_EXPORT_DIR`` set, writes each party's signed checkpoints to a folder the
auditors collect from. Settings (environment):

- ``SETU_CHECKPOINT_EVERY``: issue once this many entries are uncovered (default 1000);
- ``SETU_CHECKPOINT_MINUTES``: or once the oldest uncovered entry is this old (default 60);
- ``SETU_CHECKPOINT_AUTO``: ``0`` turns the server's thread off (cron or a person issues them then);
- ``SETU_CHECKPOINT_EXPORT_DIR``: where each issued checkpoint's file goes, one folder per party.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.checkpoints import issue_checkpoint, latest_checkpoint
from setu.audit.export import checkpoints_document
from setu.audit.keys import key_store, signing_parties
from setu.audit.log import AuditError
from setu.audit.sequencer import integrate_pending
from setu.db import transaction
from setu.models.audit import AuditEntry, SigningKey
from setu.models.base import utcnow

log = logging.getLogger("setu.audit.schedule")

DEFAULT_EVERY = 1000
DEFAULT_MINUTES = 60.0
BOOKKEEPING = ("audit.checkpoint", "audit.countersign", "audit.key.create")
"""Entries the schedule does not count: else two parties' checkpoints would call for each other for ever."""


@dataclass(frozen=True, slots=True)
class CheckpointSchedule:
    """When checkpoints are due, and where they are exported."""

    every: int = DEFAULT_EVERY
    minutes: float = DEFAULT_MINUTES
    auto: bool = True
    export_dir: Path | None = None

    @classmethod
    def from_env(cls) -> CheckpointSchedule:
        """The schedule of ``SETU_CHECKPOINT_EVERY``, ``_MINUTES``, ``_AUTO`` and ``_EXPORT_DIR``."""
        every = os.environ.get("SETU_CHECKPOINT_EVERY", "").strip()
        minutes = os.environ.get("SETU_CHECKPOINT_MINUTES", "").strip()
        folder = os.environ.get("SETU_CHECKPOINT_EXPORT_DIR", "").strip()
        schedule = cls(
            every=int(every) if every else DEFAULT_EVERY,
            minutes=float(minutes) if minutes else DEFAULT_MINUTES,
            auto=os.environ.get("SETU_CHECKPOINT_AUTO", "1").strip().lower() not in ("0", "false", "no", "off"),
            export_dir=Path(folder) if folder else None,
        )
        if schedule.every < 1 or schedule.minutes <= 0:
            raise ValueError("SETU_CHECKPOINT_EVERY must be at least 1 and SETU_CHECKPOINT_MINUTES above 0")
        return schedule


@dataclass(frozen=True, slots=True)
class Issued:
    """A checkpoint the schedule issued."""

    id: int
    party: str
    tree_size: int


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def due(session: Session, party: str, schedule: CheckpointSchedule, now: datetime) -> bool:
    """Whether ``party``'s next checkpoint is due: N uncovered entries, or the oldest uncovered M minutes old."""
    newest = latest_checkpoint(session, party)
    covered = -1 if newest is None else newest.tree_size
    uncovered = (AuditEntry.seq > covered) & AuditEntry.action.not_in(BOOKKEEPING)
    count, oldest = session.execute(select(func.count(), func.min(AuditEntry.at)).where(uncovered)).one()
    if not count:
        return False
    return int(count) >= schedule.every or now - _as_utc(oldest) >= timedelta(minutes=schedule.minutes)


def parties(session: Session) -> list[str]:
    """The parties this instance signs for on schedule: those allowed whose key its store holds."""
    allowed = signing_parties()
    known = set(session.scalars(select(SigningKey.party).distinct())) | set(allowed or ())
    store = key_store()
    return sorted(p for p in known if (allowed is None or p in allowed) and store.keys(p))


def export_checkpoints(session: Session, party: str, checkpoint_id: int, folder: Path) -> Path:
    """Write every signed checkpoint to ``folder/<party>/checkpoints-<id>.json`` for the party's auditors."""
    target = folder / party
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"checkpoints-{checkpoint_id}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(checkpoints_document(session), indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)  # an auditor never reads half a file
    return path


def auto_checkpoints(
    sessions: sessionmaker[Session], schedule: CheckpointSchedule, now: datetime | None = None
) -> list[Issued]:
    """Issue each due checkpoint (one transaction per party) and export it when a folder is set.

    Parameters
    ----------
    sessions
        Where the log is.
    schedule
        When checkpoints are due.
    now
        The time (tests).

    Returns
    -------
    list of Issued
        What was issued.
    """
    issued: list[Issued] = []
    # Counted and signed over the sequenced log: sequence what is pending first.
    integrate_pending(sessions)
    with sessions() as session:
        candidates = parties(session)
    for party in candidates:
        with transaction(sessions) as session:
            if not due(session, party, schedule, now or utcnow()):
                continue
            checkpoint = issue_checkpoint(session, party, actor_name="checkpoint schedule")
            issued.append(Issued(checkpoint.id, party, checkpoint.tree_size))
            if schedule.export_dir is not None:
                export_checkpoints(session, party, checkpoint.id, schedule.export_dir)
    return issued


class CheckpointScheduler:
    """A daemon thread of the server that issues checkpoints when due (see :func:`auto_checkpoints`)."""

    def __init__(self, sessions: sessionmaker[Session], schedule: CheckpointSchedule) -> None:
        self._sessions = sessions
        self._schedule = schedule
        self._stop = threading.Event()
        # Often enough that N entries are not overshot by much, and within the minutes given.
        self._tick = max(1.0, min(30.0, schedule.minutes * 60 / 4))
        self._thread = threading.Thread(target=self._run, name="setu-checkpoints", daemon=True)

    def start(self) -> None:
        if self._schedule.auto:
            # A new thread each start, as the sequencer does: an app may be started again after a stop.
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="setu-checkpoints", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            try:
                auto_checkpoints(self._sessions, self._schedule)
            except (AuditError, OSError, ValueError) as exc:
                # A log that no longer reproduces a checkpoint is refused here: say so loudly, keep running.
                log.error("scheduled checkpoint refused: %s", exc)
            except Exception:  # the database is away: try again next tick
                log.exception("scheduled checkpoint failed")
