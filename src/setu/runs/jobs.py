"""Stress runs executing in the background of the HTTP server: a bounded pool of workers fed by a queue.

A run is admitted only if its user and the server have room for it: one user may have at most
``per_user`` runs queued or running (429 beyond), and one server process at most ``workers + queue``
runs in all (503 beyond). Both answers carry ``Retry-After`` and come before anything is stored, so a
flood of requests can neither start unbounded threads nor fill the runs table. Admitted runs wait
``queued`` until one of ``workers`` threads takes them, in the order they came.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.errors import TooManyRequests, Unavailable
from setu.models.accounts import User
from setu.models.stress import RunRecord
from setu.runs.service import claim_run, execute_run, fail_orphaned_runs, finish_run
from setu.settings import DEFAULT_MAX_ACTIVE_RUNS, DEFAULT_RUN_QUEUE, DEFAULT_RUN_WORKERS, ApiSettings
from setu.sharing.policy import Principal
from setu.sharing.read import count_unfiltered, unfiltered

log = logging.getLogger("setu.api.runs")

USER_RETRY_AFTER = 30
"""Seconds a user at their cap is told to wait: about the time a small run takes."""
SERVER_RETRY_AFTER = 60
"""Seconds everyone is told to wait when the server's queue is full."""
ACTIVE = ("queued", "running")


@dataclass(frozen=True, slots=True)
class RunLimits:
    """How much run work a server process takes.

    Attributes
    ----------
    workers
        Runs executing at once (threads); more wait ``queued``.
    queue
        Most runs waiting for a worker; one more is refused with 503.
    per_user
        Most runs one user may have queued or running (in any process); one more is refused with 429.
    """

    workers: int = DEFAULT_RUN_WORKERS
    queue: int = DEFAULT_RUN_QUEUE
    per_user: int = DEFAULT_MAX_ACTIVE_RUNS

    @classmethod
    def of(cls, settings: ApiSettings) -> RunLimits:
        """The limits ``settings`` set (``SETU_RUN_WORKERS``, ``SETU_RUN_QUEUE``, ``SETU_MAX_ACTIVE_RUNS``)."""
        return cls(settings.run_workers, settings.run_queue, settings.max_active_runs)


@dataclass(frozen=True, slots=True)
class Job:
    """A run queued or executing in this process; ``done`` is set when it leaves, however it ends."""

    run_id: int
    principal: Principal
    cancel: threading.Event
    done: threading.Event


def active_runs(session: Session, user_id: int) -> int:
    """How many runs ``user_id`` has queued or running, in any server process.

    On PostgreSQL the user's row is locked until the caller's transaction ends, so two servers
    admitting runs for one user count one after the other.
    """
    # Admission, not a read: every run the user started counts, whatever marking it now carries.
    session.execute(unfiltered(User.id).where(User.id == user_id).with_for_update())
    return count_unfiltered(session, RunRecord, RunRecord.created_by == user_id, RunRecord.status.in_(ACTIVE))


class RunJobs:
    """The runs this process executes: admitted, queued, executed by a bounded pool, cancelled.

    Parameters
    ----------
    sessions
        Sessions to the app's database (each step of a run is its own transaction).
    limits
        Workers, queue and per-user cap (default: :class:`RunLimits`).
    """

    def __init__(self, sessions: sessionmaker[Session], limits: RunLimits | None = None) -> None:
        self._sessions = sessions
        self.limits = limits or RunLimits()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: dict[int, Job] = {}
        self._waiting: deque[int] = deque()
        self._reserved = 0
        self._users: dict[int, threading.Lock] = {}
        self._workers: list[threading.Thread] = []
        self._stopping = False
        self.host = socket.gethostname()
        self.runner = f"{self.host}:{os.getpid()}:{secrets.token_hex(4)}"
        """This process, as the runs it executes record it."""

    def recover(self) -> list[int]:
        """Fail the runs a dead server process on this host left unfinished; their ids.

        Called when the server starts: a run's thread dies with its process, so nothing else would
        ever end it.
        """
        orphans = fail_orphaned_runs(self._sessions, self.host, _alive)
        if orphans:
            log.warning("runs %s were left unfinished by a stopped server: marked failed", orphans)
        return orphans

    def submit(self, session: Session, principal: Principal, queue_run: Callable[[], RunRecord]) -> RunRecord:
        """Queue a run with ``queue_run`` if ``principal`` and this server have room, commit it, and start it.

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
            If this server has as many runs as its workers and queue take (503).
        """
        with self._user_lock(principal.user_id), self._slot(session, principal):

            def message(count: int) -> str:
                return (
                    f"you have {count} stress runs queued or running, the most one user may have at once "
                    f"({self.limits.per_user}); wait for one to finish, or cancel one, and start this run again"
                )

            active = active_runs(session, principal.user_id)
            if active >= self.limits.per_user:  # refused before the run's view is computed
                self._refuse(session, principal, "user limit", active)
                raise TooManyRequests(message(active), USER_RETRY_AFTER)
            run = queue_run()
            session.flush()
            # Counted again with the run written: on SQLite the write holds the database's write lock, on
            # PostgreSQL the user's row is locked, so another server admitting a run for this user waits.
            active = active_runs(session, principal.user_id)
            if active > self.limits.per_user:
                self._refuse(session, principal, "user limit", active - 1)
                raise TooManyRequests(message(active - 1), USER_RETRY_AFTER)
            session.commit()
            self.start(run.id, principal)
        return run

    @contextmanager
    def _user_lock(self, user_id: int) -> Iterator[None]:
        """One admission at a time per user in this process (the database row lock covers other processes)."""
        with self._lock:
            lock = self._users.setdefault(user_id, threading.Lock())
        with lock:
            yield

    @contextmanager
    def _slot(self, session: Session, principal: Principal) -> Iterator[None]:
        """A place in this server's queue, held while the run is admitted; refused when none is left."""
        with self._lock:
            taken = len(self._jobs) + self._reserved
            full = taken >= self.limits.workers + self.limits.queue
            if not full:
                self._reserved += 1
        if full:
            self._refuse(session, principal, "server queue full", taken)
            raise Unavailable(
                f"the server is executing {self.limits.workers} stress runs and has {self.limits.queue} more "
                "waiting, as many as it takes; start this run again in a minute",
                SERVER_RETRY_AFTER,
            )
        try:
            yield
        finally:
            with self._lock:
                self._reserved -= 1

    def _refuse(self, session: Session, principal: Principal, reason: str, count: int) -> None:
        """Audit a refused run start (and nothing else: the caller stored nothing yet)."""
        session.rollback()
        details = {"reason": reason, "active": count, "limits": [self.limits.per_user, self.limits.queue]}
        record(session, principal, "run.start", "run", "", decision="deny", details=details)
        session.commit()

    def start(self, run_id: int, principal: Principal) -> Job:
        """Queue the committed run ``run_id`` for a worker, as ``principal`` (no admission check).

        Parameters
        ----------
        run_id
            A run queued (and committed) by :func:`setu.runs.service.start_run`.
        principal
            The user who queued it.

        Returns
        -------
        Job
            The job, registered until the run ends.
        """
        claim_run(self._sessions, run_id, self.runner)
        job = Job(run_id, principal, threading.Event(), threading.Event())
        with self._wake:
            self._jobs[run_id] = job
            self._waiting.append(run_id)
            if len(self._workers) < min(self.limits.workers, len(self._jobs)):
                worker = threading.Thread(target=self._work, name=f"setu-run-worker-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()
            self._wake.notify()
        return job

    def _work(self) -> None:
        """A worker: takes the oldest waiting run and executes it, until the server stops."""
        while True:
            with self._wake:
                while not self._waiting and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                job = self._jobs[self._waiting.popleft()]
            self._execute(job)

    def _execute(self, job: Job) -> None:
        try:
            ended = execute_run(self._sessions, job.run_id, job.principal, job.cancel)
            log.info("run %s ended %s", job.run_id, ended.status)
        except Exception:
            log.exception("run %s could not be executed", job.run_id)
        finally:
            self._leave(job)

    def _leave(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.run_id, None)
        job.done.set()

    def _cancel_waiting(self, job: Job) -> None:
        """End a run no worker took yet as ``cancelled``, at once."""
        job.cancel.set()
        try:
            finish_run(self._sessions, job.run_id, job.principal, "cancelled", "")
        except Exception:
            log.exception("run %s could not be cancelled", job.run_id)
        finally:
            self._leave(job)

    def cancel(self, run_id: int) -> bool:
        """Stop the run ``run_id``: a waiting one ends ``cancelled`` now, an executing one at its next step.

        Parameters
        ----------
        run_id
            The run.

        Returns
        -------
        bool
            False if the run is not queued or executing in this process.
        """
        with self._lock:
            job = self._jobs.get(run_id)
            waiting = run_id in self._waiting
            if waiting:
                self._waiting.remove(run_id)
        if job is None:
            return False
        if waiting:
            self._cancel_waiting(job)
        else:
            job.cancel.set()
        return True

    def running(self) -> list[int]:
        """Ids of the runs queued or executing in this process, in start order."""
        with self._lock:
            return list(self._jobs)

    def wait(self, run_id: int, timeout: float | None = None) -> bool:
        """Wait for the run ``run_id`` to leave this process; True if it has (False: timed out)."""
        with self._lock:
            job = self._jobs.get(run_id)
        return job is None or job.done.wait(timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every run still queued or executing and wait for them to record it (the server is stopping).

        Parameters
        ----------
        timeout
            Seconds to wait for each worker.
        """
        with self._wake:
            self._stopping = True
            waiting = [self._jobs[run_id] for run_id in self._waiting]
            executing = [job for run_id, job in self._jobs.items() if run_id not in self._waiting]
            self._waiting.clear()
            workers = list(self._workers)
            self._wake.notify_all()
        for job in executing:
            job.cancel.set()
        for job in waiting:
            self._cancel_waiting(job)
        for worker in workers:
            worker.join(timeout)
        with self._wake:
            # A later start (the app started again) gets fresh workers.
            self._workers = [worker for worker in self._workers if worker.is_alive()]
            self._stopping = False


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
