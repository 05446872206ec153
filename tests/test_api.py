"""The app as wired in setu.api, served for real: uvicorn on a free localhost port, and `setu serve` as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from browser import free_port, serve_in_thread
from clients import PASSWORD, add_users
from principals import seed
from setu.db import transaction


@pytest.fixture
def server(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[str]:
    """The app under uvicorn in a thread; its base URL."""
    with transaction(sessions) as session:
        seed(session)
    add_users(sessions)
    with serve_in_thread(engine) as url:
        yield url


def test_real_http_login_upload_run_export(server: str, generated_data: Path) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        assert client.get("/api/v1/health").json()["status"] == "ok"
        assert client.get("/openapi.json").json()["openapi"].startswith("3.")
        assert client.get("/api/v1/networks").status_code == 401
        login = client.post("/api/v1/accounts/login", json={"username": "in-analyst", "password": PASSWORD})
        assert login.status_code == 200
        assert login.cookies.get("setu_session")
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        data = (generated_data / "dataset_small.json").read_bytes()
        queued = client.post("/api/v1/networks", headers=auth, files={"file": ("small.json", data)})
        assert queued.status_code == 202, queued.text
        location = queued.headers["location"]
        assert location == f"/api/v1/jobs/{queued.json()['id']}"
        for _ in range(600):  # a worker of the server imports it
            job = client.get(location, headers=auth).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.05)
        assert job["status"] == "succeeded", job
        nid = job["result_id"]
        nodes = client.get(f"/api/v1/networks/{nid}/nodes", headers=auth, params={"limit": 5}).json()
        assert nodes["total"] == 35 and len(nodes["items"]) == 5
        run = client.post("/api/v1/runs", headers=auth, json={"network_id": nid, "sweep": True, "ttr": 3})
        assert run.status_code == 202
        rid = run.json()["id"]
        for _ in range(600):
            status = client.get(f"/api/v1/runs/{rid}", headers=auth).json()
            if status["status"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        assert status["status"] == "completed" and status["done"] == status["total"] == 30
        export = client.get(f"/api/v1/runs/{rid}/export", headers=auth, params={"format": "csv"})
        assert export.status_code == 200
        lines = export.text.splitlines()
        assert (
            lines[1] == "scenario_id,disrupted,ttr,lost_profit,tts,rei,baseline_loss,tts_relative" and len(lines) == 33
        )
        banner = export.headers["x-setu-marking"]
        assert lines[0].strip('"') == lines[-1].strip('"') == banner  # the banner, inside the file
        # The session cookie signs in a browser-like client (the tests serve plain HTTP, so not Secure).
        client.cookies.clear()
        client.cookies.set("setu_session", login.cookies["setu_session"])
        assert client.get("/api/v1/accounts/me").json()["username"] == "in-analyst"
        assert client.post("/api/v1/accounts/logout").status_code == 403  # a cookie alone signs no write
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        assert client.post("/api/v1/accounts/logout", headers=csrf).status_code == 204
        client.cookies.clear()
        client.cookies.set("setu_session", login.cookies["setu_session"])
        assert client.get("/api/v1/accounts/me").status_code == 401


def test_setu_serve_migrates_and_serves(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path / 'served.db'}"
    env = {**os.environ, "SETU_COOKIE_SECURE": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "setu", "serve", "--port", str(port), "--database-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
                assert time.monotonic() < deadline, "setu serve did not start"
                time.sleep(0.1)
        assert answer.json()["status"] == "ok"
        denied = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/accounts/login", json={"username": "nobody", "password": "x"}
        )
        assert denied.status_code == 401 and denied.json() == {"detail": "invalid username or password"}
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert "Setu on http://127.0.0.1" in output and "(web)" in output
    assert (tmp_path / "served.db").exists()
