"""Child processes of ``setu serve``: run workers started, restarted when they die, stopped with the server.

``setu serve`` answers HTTP in its web processes (uvicorn's) and leaves runs and jobs (imports,
what-ifs) to ``setu worker`` processes. This keeps a fixed number of them alive: one that exits (killed,
out of memory) is started again after a pause, and all are sent SIGTERM when the server stops, so each
gives its run or job back to the queue before it exits.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping

log = logging.getLogger("setu.serve")

RESTART_PAUSE = 1.0
"""Seconds before a worker that exited is started again (a worker that cannot start does not spin)."""
STOP_GRACE = 15.0
"""Seconds a worker has to give its run back after SIGTERM before it is killed."""


def default_web_workers(cpus: int | None = None) -> int:
    """Web processes by default: one per CPU, at least 1 and at most 8.

    Examples
    --------
    >>> default_web_workers(2), default_web_workers(64), default_web_workers(None) >= 1
    (2, 8, True)
    """
    return max(1, min(8, cpus if cpus is not None else (os.cpu_count() or 1)))


class WorkerProcesses:
    """Keep ``count`` ``setu worker`` processes running on the database the environment names.

    Parameters
    ----------
    count
        How many (0: none; the runs are left to workers started elsewhere).
    environment
        The environment of the children (``SETU_DATABASE_URL`` among it; kept out of their command
        line, where any local user could read a password in it).
    """

    def __init__(self, count: int, environment: Mapping[str, str]) -> None:
        self.count = count
        self._environment = {"SETU_LOG_LEVEL": "WARNING", **environment}
        self._children: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="setu-worker-watch", daemon=True)
        self.restarts = 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "setu", "worker"], env=self._environment)

    def start(self) -> None:
        """Start the workers and watch them."""
        self._children = [self._spawn() for _ in range(self.count)]
        if self.count:
            self._watcher.start()

    def pids(self) -> list[int]:
        """Process ids of the workers now."""
        return [child.pid for child in self._children]

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_PAUSE):
            for index, child in enumerate(self._children):
                code = child.poll()
                if code is not None and not self._stopping.is_set():
                    log.warning("run worker %s exited with %s; starting another", child.pid, code)
                    self._children[index] = self._spawn()
                    self.restarts += 1

    def stop(self) -> None:
        """SIGTERM every worker (each gives its run back to the queue), wait, kill any still there."""
        self._stopping.set()
        for child in self._children:
            if child.poll() is None:
                child.terminate()
        for child in self._children:
            try:
                child.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
