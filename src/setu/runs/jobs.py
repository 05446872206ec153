"""Stress runs as the web app sees them: admitted within limits, queued in the database, woken workers.

The app only enqueues: a run is a ``queued`` row that a worker (:mod:`setu.runs.worker`, in a
``setu worker`` process or a thread of this app) claims. A run is admitted only if its user and the
instance have room for it: one user may have at most ``per_user`` runs queued or running (429
beyond), and the instance at most ``queue`` in all (503 beyond). Both answers carry ``Retry-After``
and come before anything is stored, so a flood of requests can fill neither the queue nor the runs
table.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.errors import TooManyRequests, Unavailable
from setu.models.stress import RunRecord
from setu.runs.queue import RUNS, active
from setu.runs.worker import RUN_SOURCE, Source, Worker, WorkerTimings
from setu.settings import DEFAULT_MAX_ACTIVE_RUNS, DEFAULT_RUN_QUEUE, DEFAULT_RUN_WORKERS, ApiSettings
from setu.sharing.policy import Principal

log = logging.getLogger("setu.api.runs")

USER_RETRY_AFTER = 30
"""Seconds a user at their cap is told to wait: about the time a small run takes."""
SERVER_RETRY_AFTER = 60
"""Seconds everyone is told to wait when the instance's queue is full."""


@dataclass(frozen=True, slots=True)
class RunLimits:
    """How much run work the instance takes, and how many workers this app runs itself.

    Attributes
    ----------
    workers
        Worker threads this app runs (0: ``setu worker`` processes execute the runs).
    queue
        Most runs queued or running on the instance; one more is refused with 503.
    per_user
        Most runs one user may have queued or running; one more is refused with 429.
    """

    workers: int = DEFAULT_RUN_WORKERS
    queue: int = DEFAULT_RUN_QUEUE
    per_user: int = DEFAULT_MAX_ACTIVE_RUNS

    @classmethod
    def of(cls, settings: ApiSettings) -> RunLimits:
        """The limits ``settings`` set (``SETU_RUN_WORKERS``, ``SETU_RUN_QUEUE``, ``SETU_MAX_ACTIVE_RUNS``)."""
        return cls(settings.run_workers, settings.run_queue, settings.max_active_runs)


class RunJobs:
    """The app's side of the run queue: admission, waking workers, and the workers it runs itself.

    Parameters
    ----------
    sessions
        Sessions to the app's database.
    limits
        Worker threads, the instance's queue and the per-user cap (default: :class:`RunLimits`).
    timings
        Heartbeat, stale limit, attempts and polling of the worker threads.
    sources
        The queues the worker threads take from (the app passes runs and jobs).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        limits: RunLimits | None = None,
        timings: WorkerTimings | None = None,
        sources: Sequence[Source] = (RUN_SOURCE,),
    ) -> None:
        self._sessions = sessions
        self.sources = tuple(sources)
        self.limits = limits or RunLimits()
        self.timings = timings or WorkerTimings()
        self._lock = threading.Lock()
        self._users: dict[int, threading.Lock] = {}
        self._wake = threading.Event()
        self.workers: list[Worker] = []
        self._threads: list[threading.Thread] = []

    def start_workers(self) -> None:
        """Start :attr:`RunLimits.workers` worker threads (the app is starting)."""
        for index in range(self.limits.workers - len(self._threads)):
            worker = Worker(self._sessions, self.timings, self._wake, self.sources)
            thread = threading.Thread(target=worker.serve, name=f"setu-run-worker-{index}", daemon=True)
            self.workers.append(worker)
            self._threads.append(thread)
            thread.start()

    def submit(self, session: Session, principal: Principal, queue_run: Callable[[], RunRecord]) -> RunRecord:
        """Queue a run with ``queue_run`` if ``principal`` and the instance have room, commit it, wake a worker.

        Parameters
        ----------
        session
            The caller's session, holding no other pending work; committed here.
        principal
            The user starting the run.
        queue_run
            Stores the queued run in ``session`` (e.g. :func:`setu.runs.service.start_run`).

        Returns
        -------
        RunRecord
            The run, committed and queued for a worker.

        Raises
        ------
        setu.errors.TooManyRequests
            If the user has as many runs queued or running as :attr:`RunLimits.per_user` (429).
        setu.errors.Unavailable
            If the instance has as many runs queued or running as :attr:`RunLimits.queue` (503).
        """
        with self._user_lock(principal.user_id):
            self._admit(session, principal, active(session, RUNS, principal.user_id), active(session, RUNS))
            run = queue_run()
            session.flush()
            # Counted again with the run written: on SQLite the write holds the database's write lock, on
            # PostgreSQL the user's row is locked, so another server admitting a run for this user waits.
            self._admit(session, principal, active(session, RUNS, principal.user_id) - 1, active(session, RUNS) - 1)
            session.commit()
        self._wake.set()
        return run

    def _admit(self, session: Session, principal: Principal, mine: int, everyone: int) -> None:
        """Refuse (and audit) a run start beyond the user's or the instance's limit; nothing is stored."""
        if mine >= self.limits.per_user:
            self._refuse(session, principal, "user limit", mine)
            raise TooManyRequests(
                f"you have {mine} stress runs queued or running, the most one user may have at once "
                f"({self.limits.per_user}); wait for one to finish, or cancel one, and start this run again",
                USER_RETRY_AFTER,
            )
        if everyone >= self.limits.queue:
            self._refuse(session, principal, "server queue full", everyone)
            raise Unavailable(
                f"the server has {everyone} stress runs queued or running, as many as it takes; "
                "start this run again in a minute",
                SERVER_RETRY_AFTER,
            )

    @contextmanager
    def _user_lock(self, user_id: int) -> Iterator[None]:
        """One admission at a time per user in this process (the database row lock covers other processes)."""
        with self._lock:
            lock = self._users.setdefault(user_id, threading.Lock())
        with lock:
            yield

    def _refuse(self, session: Session, principal: Principal, reason: str, count: int) -> None:
        """Audit a refused run start (and nothing else: the caller stored nothing yet)."""
        session.rollback()
        details = {"reason": reason, "active": count, "limits": [self.limits.per_user, self.limits.queue]}
        record(session, principal, "run.start", "run", "", decision="deny", details=details)
        session.commit()

    def wake(self) -> None:
        """Make an idle worker thread look at the queue now."""
        self._wake.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the worker threads; each gives the run it executes back to the queue (the app is stopping).

        Parameters
        ----------
        timeout
            Seconds to wait for each worker.
        """
        # Every worker stops taking work before any gives its run back: else a run one gives back could be
        # claimed by another that has not been told yet, and given back (and audited) a second time.
        for worker in self.workers:
            worker.quiesce()
        for worker in self.workers:
            worker.stop()
        for thread in self._threads:
            thread.join(timeout)
        self.workers, self._threads = [], []
