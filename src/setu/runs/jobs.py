"""Stress runs executing in the background of the HTTP server: one thread per run, each with its cancel event."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from setu.runs.service import claim_run, execute_run, fail_orphaned_runs
from setu.sharing.policy import Principal

log = logging.getLogger("setu.api.runs")


@dataclass(frozen=True, slots=True)
class Job:
    """A run executing in this process."""

    run_id: int
    thread: threading.Thread
    cancel: threading.Event


class RunJobs:
    """The registry of runs this process executes; a run leaves it when it ends, however it ends.

    Parameters
    ----------
    sessions
        Sessions to the app's database (each step of a run is its own transaction).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}
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

    def start(self, run_id: int, principal: Principal) -> Job:
        """Execute the queued run ``run_id`` as ``principal`` in a new thread.

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
        cancel = threading.Event()
        thread = threading.Thread(
            target=self._execute, args=(run_id, principal, cancel), name=f"setu-run-{run_id}", daemon=True
        )
        job = Job(run_id, thread, cancel)
        with self._lock:
            self._jobs[run_id] = job
        thread.start()
        return job

    def _execute(self, run_id: int, principal: Principal, cancel: threading.Event) -> None:
        try:
            ended = execute_run(self._sessions, run_id, principal, cancel)
            log.info("run %s ended %s", run_id, ended.status)
        except Exception:
            log.exception("run %s could not be executed", run_id)
        finally:
            with self._lock:
                self._jobs.pop(run_id, None)

    def cancel(self, run_id: int) -> bool:
        """Ask the run ``run_id`` to stop; it ends ``cancelled`` at its next step.

        Parameters
        ----------
        run_id
            The run.

        Returns
        -------
        bool
            False if the run is not executing in this process.
        """
        with self._lock:
            job = self._jobs.get(run_id)
        if job is None:
            return False
        job.cancel.set()
        return True

    def running(self) -> list[int]:
        """Ids of the runs executing in this process.

        Returns
        -------
        list of int
            The run ids, in start order.
        """
        with self._lock:
            return list(self._jobs)

    def wait(self, run_id: int, timeout: float | None = None) -> bool:
        """Wait for the run ``run_id`` to end in this process.

        Parameters
        ----------
        run_id
            The run.
        timeout
            Seconds to wait at most (None: no limit).

        Returns
        -------
        bool
            True if it is no longer executing.
        """
        with self._lock:
            job = self._jobs.get(run_id)
        if job is not None:
            job.thread.join(timeout)
            return not job.thread.is_alive()
        return True

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every run still executing and wait for them to record it (the server is stopping).

        Parameters
        ----------
        timeout
            Seconds to wait for each run.
        """
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        for job in jobs:
            job.thread.join(timeout)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
