"""A run worker: takes queued runs from the database one at a time and executes them, with a heartbeat.

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
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.login import principal_of
from setu.errors import SetuError
from setu.models.accounts import User
from setu.runs.queue import Claimed, beat, claim_next, fail_held, give_back, reap_stale
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


def runner_name() -> str:
    """A name for a new worker, unique across machines and restarts: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Worker:
    """Executes queued runs, one at a time, until stopped.

    Parameters
    ----------
    sessions
        Sessions to the database.
    timings
        Heartbeat, stale limit, attempts and polling (default: :class:`WorkerTimings`).
    wake
        Set it to make an idle worker look at the queue at once (an app sets it when it queues a run).
    """

    def __init__(
        self, sessions: sessionmaker[Session], timings: WorkerTimings | None = None, wake: threading.Event | None = None
    ) -> None:
        self._sessions = sessions
        self.timings = timings or WorkerTimings()
        self.runner = runner_name()
        self.stopping = threading.Event()
        self._wake = wake or threading.Event()
        self._lock = threading.Lock()
        self._current: tuple[int, threading.Event] | None = None
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
        """Reap stale runs when due, then execute the oldest queued run if there is one; whether one ran."""
        now = time.monotonic()
        if now - self._last_reap >= self.timings.stale / 2:
            self._last_reap = now
            for run_id, became in reap_stale(self._sessions, self.timings.stale, self.timings.attempts):
                log.warning("run %s: its worker stopped answering; it is %s", run_id, became)
        if self.stopping.is_set():
            return False
        claimed = claim_next(self._sessions, self.runner)
        if claimed is None:
            return False
        self._execute(claimed)
        return True

    def _execute(self, claimed: Claimed) -> None:
        run_id = claimed.run_id
        cancel = threading.Event()
        with self._lock:
            self._current = (run_id, cancel)
        done = threading.Event()
        heart = threading.Thread(target=self._beat, args=(run_id, cancel, done), name=f"setu-heartbeat-{run_id}")
        heart.daemon = True
        heart.start()
        try:
            owner = self._owner(claimed.owner_id)
            if owner is None:
                self._fail(run_id, "the account that started the run is disabled or gone")
                return
            ended = execute_run(self._sessions, run_id, owner, cancel, runner=self.runner)
            log.info("run %s ended %s (attempt %s)", run_id, ended.status, claimed.attempt)
        except (SetuError, SQLAlchemyError) as exc:
            # Raised before the computation began (the owner may no longer see the run or its network), or
            # the database failed while ending it: end it failed if we still hold it; else the reaper will.
            log.warning("run %s could not be executed: %s", run_id, exc)
            self._fail(run_id, f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
        finally:
            done.set()
            heart.join()
            with self._lock:
                self._current = None

    def _beat(self, run_id: int, cancel: threading.Event, done: threading.Event) -> None:
        """Keep the run's heartbeat, and pass on a cancel asked from any process, until the run ends."""
        while not done.wait(self.timings.heartbeat):
            try:
                asked = beat(self._sessions, run_id, self.runner)
            except SQLAlchemyError as exc:  # the database is away: keep trying; the reaper judges silence
                log.warning("run %s: heartbeat failed: %s", run_id, exc)
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

    def _fail(self, run_id: int, error: str) -> None:
        try:
            fail_held(self._sessions, run_id, self.runner, error)
        except SQLAlchemyError:
            log.exception("run %s could not be marked failed; the reaper will", run_id)

    def stop(self) -> None:
        """Stop taking runs and give the one executing back to the queue for another worker (SIGTERM)."""
        self.stopping.set()
        self._wake.set()
        with self._lock:
            current = self._current
        if current is None:
            return
        run_id, cancel = current
        try:
            give_back(self._sessions, run_id, self.runner)
        except SQLAlchemyError:
            log.exception("run %s could not be given back; the reaper will", run_id)
        cancel.set()
