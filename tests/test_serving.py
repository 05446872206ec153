"""``setu serve`` as an operator runs it: web processes that only enqueue, run workers next to them, a clean stop.

The server is a real ``setu serve`` process tree on an SQLite file, driven over HTTP.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from clients import add_users
from networks.world import build_world, small_network
from setu.db import create_schema, make_engine, session_factory, transaction
from setu.serving import default_web_workers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_default_web_workers_follow_the_cpus() -> None:
    assert [default_web_workers(n) for n in (1, 2, 16)] == [1, 2, 8]


def test_serve_runs_web_processes_and_a_run_worker_and_stops_them_all_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'setu.db'}"
    engine = make_engine(url)
    create_schema(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        network_id = build_world(session, small_network()).id
    token = add_users(sessions)[0]["in-analyst"]
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "setu", "serve", "--port", str(port), "--database-url", url, "--workers", "2"],
        stdout=log,
        stderr=log,
        env={**os.environ, "SETU_COOKIE_SECURE": "0"},
    )
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        started = httpx.post(
            f"{base}/api/v1/runs", json={"network_id": network_id, "sweep": True, "ttr": 2}, headers=auth, timeout=10
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        for _ in range(600):
            run = httpx.get(f"{base}/api/v1/runs/{run_id}", headers=auth, timeout=10).json()
            if run["status"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.1)
        assert run["status"] == "completed", run
        with sessions() as session:
            from setu.models.stress import RunRecord

            runner = session.get(RunRecord, run_id).runner  # type: ignore[union-attr]
        worker_pid = int(runner.split(":")[1])
        assert worker_pid != server.pid and alive(worker_pid)  # executed by a worker process, not the web
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)
        log.close()
        engine.dispose()
    output = (tmp_path / "serve.log").read_text()
    assert code == 0, output
    assert "2 web process(es), 1 run worker(s)" in output
    for _ in range(50):  # the worker was sent SIGTERM and waited for
        if not alive(worker_pid):
            break
        time.sleep(0.1)
    assert not alive(worker_pid), "the run worker outlived the server"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/api/v1/health", timeout=2)
