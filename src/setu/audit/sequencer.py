"""The sequencer: moves recorded audit entries into the log in batches, every T ms or once N are waiting.

:func:`setu.audit.log.record` only inserts into ``audit_pending``; this thread of ``setu serve`` calls
:func:`~setu.audit.log.integrate` in short transactions of its own. Several server processes may each
run one: the log lock makes them take turns, and a turn that finds nothing pending costs one query.
Readers of the log do not wait for it: they integrate first themselves. Settings (environment):

- ``SETU_AUDIT_SEQUENCE_MS``: integrate this often (default 200 ms);
- ``SETU_AUDIT_SEQUENCE_BATCH``: at most this many entries a transaction, and integrate at once when
  this process has recorded as many since the last turn (default 1000);
- ``SETU_AUDIT_SEQUENCER``: ``0`` turns the thread off (another process, or ``setu audit sequence``
  from cron, sequences then; readers still integrate).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import integrate, on_record
from setu.db import transaction

log = logging.getLogger("setu.audit.sequencer")

DEFAULT_INTERVAL_MS = 200.0
DEFAULT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class SequencerSettings:
    """How often the sequencer integrates, and how many entries a transaction."""

    interval_ms: float = DEFAULT_INTERVAL_MS
    batch: int = DEFAULT_BATCH
    auto: bool = True

    @classmethod
    def from_env(cls) -> SequencerSettings:
        """The settings of ``SETU_AUDIT_SEQUENCE_MS``, ``_SEQUENCE_BATCH`` and ``SETU_AUDIT_SEQUENCER``."""
        interval = os.environ.get("SETU_AUDIT_SEQUENCE_MS", "").strip()
        batch = os.environ.get("SETU_AUDIT_SEQUENCE_BATCH", "").strip()
        settings = cls(
            interval_ms=float(interval) if interval else DEFAULT_INTERVAL_MS,
            batch=int(batch) if batch else DEFAULT_BATCH,
            auto=os.environ.get("SETU_AUDIT_SEQUENCER", "1").strip().lower() not in ("0", "false", "no", "off"),
        )
        if settings.interval_ms <= 0 or settings.batch < 1:
            raise ValueError("SETU_AUDIT_SEQUENCE_MS must be above 0 and SETU_AUDIT_SEQUENCE_BATCH at least 1")
        return settings


def integrate_pending(sessions: sessionmaker[Session], batch: int = DEFAULT_BATCH) -> int:
    """Sequence every entry pending now, ``batch`` at a time, each batch in a transaction of its own.

    Short transactions keep the log lock briefly; a batch that commits stays in the log whatever
    happens to the next one.

    Parameters
    ----------
    sessions
        Where the log is.
    batch
        At most this many entries a transaction.

    Returns
    -------
    int
        The number of entries sequenced.
    """
    total = 0
    while True:
        with transaction(sessions) as session:
            moved = integrate(session, batch, if_pending=True)
        total += moved
        if moved < batch:
            return total


class Sequencer:
    """A daemon thread of the server that integrates pending entries (see :func:`integrate_pending`)."""

    def __init__(self, sessions: sessionmaker[Session], settings: SequencerSettings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._recorded = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name="setu-audit-sequencer", daemon=True)

    def start(self) -> None:
        """Start the thread (unless the settings turn it off)."""
        if not self._settings.auto:
            return
        self._unsubscribe = on_record(self._count)
        # A new thread each start: an app may be started again after a stop (tests, an embedding server).
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name="setu-audit-sequencer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after one last turn, so entries recorded before shutdown are sequenced."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _count(self, committed: int) -> None:
        # Called in the recording request's thread after its commit: count only; the thread does the work.
        with self._lock:
            self._recorded += committed
            if self._recorded >= self._settings.batch:
                self._wake.set()

    def _run(self) -> None:
        interval = self._settings.interval_ms / 1000
        while True:
            self._wake.wait(interval)
            stopping = self._stop.is_set()
            self._wake.clear()
            with self._lock:
                self._recorded = 0
            try:
                integrate_pending(self._sessions, self._settings.batch)
            except Exception:  # the database is away: the entries stay pending; try again next turn
                log.exception("audit sequencing failed")
            if stopping:
                return
