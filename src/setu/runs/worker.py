"""A worker: takes queued runs and jobs from the database one at a time and executes them, with a heartbeat.

The worker knows its queues as :class:`Source` values, a queue table and what executes its records:
stress runs here (:data:`RUN_SOURCE`), jobs from :mod:`setu.jobs.execute` (the wiring passes both).
``setu worker`` runs one in each of its processes; ``setu serve`` starts some next to the web
processes, and an app made for tests or embedding may run them as threads (``SETU_RUN_WORKERS``).
Whatever happens to a worker, its run does not stay ``running``: errors end it ``failed`` with the
reason, a stop (SIGTERM) gives it back to the queue, and a worker that dies silently stops its
heartbeat, so another worker's reaper queues the run again or fails it within
``SETU_RUN_STALE_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.login import principal_of
from setu.errors import SetuError
from setu.models.accounts import User
from setu.runs.queue import RUNS, Claimed, QueueTable, beat, claim_next, fail_held, give_back, reap_stale
from setu.runs.service import ERROR_CHARS, execute_run
from setu.settings import ApiSettings
from setu.sharing.policy import Principal
from setu.sharing.read import unfiltered

log = logging.getLogger("setu.runs.worker")


@dataclass(frozen=True, slots=True)
class WorkerTimings:
    """How often a worker speaks and how long silence means death.

    Attributes
    ----------
    heartbeat
        Seconds between heartbeats of an executing worker (``SETU_RUN_HEARTBEAT_SECONDS``).
    stale
        Seconds without a heartbeat after which a run's worker is presumed dead (``SETU_RUN_STALE_SECONDS``).
    attempts
        Most times a run is taken by a worker before it is failed (``SETU_RUN_ATTEMPTS``).
    poll
        Seconds an idle worker waits before it looks at the queue again (``SETU_RUN_POLL_SECONDS``).
    """

    heartbeat: float = 1.0
    stale: float = 10.0
    attempts: int = 2
    poll: float = 0.5

    @classmethod
    def of(cls, settings: ApiSettings) -> WorkerTimings:
        """The timings ``settings`` set."""
        return cls(
            settings.run_heartbeat_seconds, settings.run_stale_seconds, settings.run_attempts, settings.run_poll_seconds
        )


Execute = Callable[[sessionmaker[Session], int, Principal, threading.Event, str], str]
"""Executes one claimed record for its owner: ``(sessions, id, owner, cancel, runner) -> final status``.

It ends the record itself (completed, failed, cancelled) while ``runner`` still holds it; what it
raises (:class:`setu.errors.SetuError` or a database error) fails the record with the reason.
"""


@dataclass(frozen=True, slots=True)
class Source:
    """A queue a worker takes from: its table and what executes a record of it."""

    table: QueueTable
    execute: Execute


def _execute_run(
    sessions: sessionmaker[Session], run_id: int, owner: Principal, cancel: threading.Event, runner: str
) -> str:
    return execute_run(sessions, run_id, owner, cancel, runner=runner).status


RUN_SOURCE = Source(RUNS, _execute_run)
"""Stress runs (:func:`setu.runs.service.execute_run`)."""


def runner_name() -> str:
    """A name for a new worker, unique across machines and restarts: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Worker:
    """Executes queued runs and jobs, one at a time, until stopped.

    Parameters
    ----------
    sessions
        Sessions to the database.
    timings
        Heartbeat, stale limit, attempts and polling (default: :class:`WorkerTimings`).
    wake
        Set it to make an idle worker look at the queue at once (an app sets it when it queues a run).
    sources
        The queues it takes from, in turn so that none starves (default: stress runs only).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        timings: WorkerTimings | None = None,
        wake: threading.Event | None = None,
        sources: Sequence[Source] = (RUN_SOURCE,),
    ) -> None:
        self._sessions = sessions
        self.sources = tuple(sources)
        self._turn = 0
        self.timings = timings or WorkerTimings()
        self.runner = runner_name()
        self.stopping = threading.Event()
        self._wake = wake or threading.Event()
        self._lock = threading.Lock()
        # Held from the check of ``stopping`` to the claimed record being ``_current``: stopping waits for it.
        # Reentrant: a stop() that interrupts the claim in its own thread must not wait for itself.
        self._claiming = threading.RLock()
        self._current: tuple[Claimed, threading.Event] | None = None
        self._last_reap = -float("inf")

    def serve(self) -> None:
        """Execute runs until :meth:`stop`; database errors are logged and waited out, never fatal."""
        log.info("worker %s started", self.runner)
        failures = 0
        while not self.stopping.is_set():
            try:
                worked = self.step()
                failures = 0
            except SQLAlchemyError as exc:
                failures += 1
                pause = min(30.0, self.timings.poll * 2**failures)
                log.warning("worker %s: database unavailable (%s); trying again in %.1f s", self.runner, exc, pause)
                self.stopping.wait(pause)
                continue
            if not worked:
                self._wake.wait(self.timings.poll)
                self._wake.clear()
        log.info("worker %s stopped", self.runner)

    def step(self) -> bool:
        """Reap stale runs and jobs when due, then execute the oldest queued record of the next queue that has one."""
        now = time.monotonic()
        if now - self._last_reap >= self.timings.stale / 2:
            self._last_reap = now
            for source in self.sources:
                table = source.table
                for record_id, became in reap_stale(
                    self._sessions, self.timings.stale, self.timings.attempts, table=table
                ):
                    log.warning("%s %s: its worker stopped answering; it is %s", table.kind, record_id, became)
        for offset in range(len(self.sources)):
            source = self.sources[(self._turn + offset) % len(self.sources)]
            with self._claiming:
                if self.stopping.is_set():
                    return False
                claimed = claim_next(self._sessions, self.runner, source.table)
                if claimed is None:
                    continue
                cancel = threading.Event()
                with self._lock:
                    self._current = (claimed, cancel)
            # The next step looks at the following queue first: a long run queue cannot starve the jobs.
            self._turn = (self._turn + offset + 1) % len(self.sources)
            self._execute(claimed, source, cancel)
            return True
        return False

    def quiesce(self, timeout: float = 10.0) -> None:
        """Take no more work: once this returns, no claim of this worker's is in flight or still to come.

        A claim that hangs on an unreachable database is waited for ``timeout`` seconds at most, so a
        stopping server never hangs with it (the claim, should it ever succeed, is then given back).
        """
        self.stopping.set()
        self._wake.set()
        if self._claiming.acquire(timeout=timeout):
            self._claiming.release()

    def _execute(self, claimed: Claimed, source: Source, cancel: threading.Event) -> None:
        record_id, kind = claimed.id, claimed.table.kind
        if self.stopping.is_set():
            # Stopped since the claim: give it back unless stop() already has (whoever takes it gives it back).
            self._give_back_current()
            return
        done = threading.Event()
        heart = threading.Thread(
            target=self._beat, args=(claimed, cancel, done), name=f"setu-heartbeat-{kind}-{record_id}"
        )
        heart.daemon = True
        heart.start()
        try:
            owner = self._owner(claimed.owner_id)
            if owner is None:
                self._fail(claimed, f"the account that started the {kind} is disabled or gone")
                return
            ended = source.execute(self._sessions, record_id, owner, cancel, self.runner)
            log.info("%s %s ended %s (attempt %s)", kind, record_id, ended, claimed.attempt)
        except (SetuError, SQLAlchemyError) as exc:
            # Raised before the computation began (the owner may no longer see the run or its network), or
            # the database failed while ending it: end it failed if we still hold it; else the reaper will.
            log.warning("%s %s could not be executed: %s", kind, record_id, exc)
            self._fail(claimed, f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
        finally:
            done.set()
            heart.join()
            with self._lock:
                self._current = None

    def _beat(self, claimed: Claimed, cancel: threading.Event, done: threading.Event) -> None:
        """Keep the record's heartbeat, and pass on a cancel asked from any process, until it ends."""
        while not done.wait(self.timings.heartbeat):
            try:
                asked = beat(self._sessions, claimed.id, self.runner, claimed.table)
            except SQLAlchemyError as exc:  # the database is away: keep trying; the reaper judges silence
                log.warning("%s %s: heartbeat failed: %s", claimed.table.kind, claimed.id, exc)
                continue
            if asked is None or asked:  # cancelled, or no longer ours: stop computing at the next step
                cancel.set()

    def _owner(self, user_id: int) -> Principal | None:
        with self._sessions() as session:
            # The worker acts for the run's owner: it needs their account whatever its marking.
            user = session.scalars(unfiltered(User).where(User.id == user_id)).unique().one_or_none()
            if user is None or user.disabled:
                return None
            return principal_of(user)

    def _fail(self, claimed: Claimed, error: str) -> None:
        try:
            fail_held(self._sessions, claimed.id, self.runner, error, claimed.table)
        except SQLAlchemyError:
            log.exception("%s %s could not be marked failed; the reaper will", claimed.table.kind, claimed.id)

    def stop(self) -> None:
        """Stop taking work and give the record executing back to its queue for another worker (SIGTERM)."""
        self.quiesce()  # a claim in flight ends as the record executing, given back below
        self._give_back_current()

    def _give_back_current(self) -> None:
        """Give the record executing back and cancel its computation; once, whichever thread comes first."""
        with self._lock:
            current, self._current = self._current, None
        if current is None:
            return
        claimed, cancel = current
        try:
            give_back(self._sessions, claimed.id, self.runner, claimed.table)
        except SQLAlchemyError:
            log.exception("%s %s could not be given back; the reaper will", claimed.table.kind, claimed.id)
        cancel.set()
