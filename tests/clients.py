"""HTTP test clients: the app with a user per kind of reader and their API tokens, and a browser-like sign-in.

The users are the shared principals of :mod:`principals` (:data:`USERS`); the root conftest turns
:func:`make_api` into the ``api`` and ``web`` fixtures every test folder gets.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_ANALYST, IN_AUDITOR, IN_HAL_INDUSTRY, US_ANALYST, US_GE_INDUSTRY, seed
from setu.accounts.login import principal_of
from setu.accounts.tokens import issue_token
from setu.accounts.users import create_user
from setu.api import create_app
from setu.audit.sequencer import integrate_pending
from setu.db import transaction
from setu.models.accounts import User
from setu.models.base import Base, utcnow
from setu.models.stress import RunRecord
from setu.runs import execute_run
from setu.runs.queue import beat
from setu.settings import ApiSettings
from setu.sharing.markings import LEVELS
from setu.sharing.policy import Principal

PASSWORD = "correct horse battery staple"
USERS: dict[str, Principal] = {
    "in-analyst": IN_ANALYST,
    "us-analyst": US_ANALYST,
    "in-industry": IN_HAL_INDUSTRY,
    "us-industry": US_GE_INDUSTRY,
    "auditor": IN_AUDITOR,
}
"""Every API and page test's users: username -> the principal whose party, org, clearance, roles and groups it has."""
TEST_SETTINGS = ApiSettings(
    max_upload_bytes=1024 * 1024,
    max_zip_files=16,
    max_zip_bytes=4 * 1024 * 1024,
    secure_cookies=False,
    # Tests count and gate the runs they start; tests/runs/test_reference.py turns it on.
    reference_on_import=False,
)
FINAL = ("completed", "failed", "cancelled")
LEVEL_NAMES = tuple(LEVELS.values())
JOB_FINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Api:
    """A client of the app with a token per test user."""

    client: TestClient
    app: FastAPI
    sessions: sessionmaker[Session]
    tokens: dict[str, str] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(url, headers=self.auth(user), **kwargs)

    def post(self, user: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(url, headers=self.auth(user), **kwargs)

    def wait(self, user: str, run_id: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll a run until it ends."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(user, f"/api/v1/runs/{run_id}")
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            if body["status"] in FINAL:
                return body
            assert time.monotonic() < deadline, f"run {run_id} did not end: {body}"
            time.sleep(0.05)

    def wait_job(self, user: str, job_id: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll a job until it ends; its last answer."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(user, f"/api/v1/jobs/{job_id}")
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            if body["status"] in JOB_FINAL:
                return body
            assert time.monotonic() < deadline, f"job {job_id} did not end: {body}"
            time.sleep(0.05)

    def finished(self, user: str, answer: httpx.Response, timeout: float = 120.0) -> dict[str, Any]:
        """The job a ``202`` answer queued (its ``Location`` checked), polled until it ends."""
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["id"]
        assert answer.headers["location"] == f"/api/v1/jobs/{job_id}"
        return self.wait_job(user, job_id, timeout)


@dataclass
class Answer:
    """What a queued request came to, told as the request would have been answered had it computed at once."""

    status_code: int
    body: dict[str, Any]
    job: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return self.body

    @property
    def text(self) -> str:
        return json.dumps(self.body)


def outcome(api: Api, user: str, answer: httpx.Response, timeout: float = 120.0) -> Answer | httpx.Response:
    """A job-queueing request's end: the job's result as a 201 (an import: the network as ``GET`` answers it),
    or its failure with the status and problems the request would have carried; a refusal as it came."""
    if answer.status_code != 202:
        return answer
    job = api.finished(user, answer, timeout)
    if job["status"] == "succeeded":
        if job["result_url"]:
            made = api.get(user, job["result_url"])
            assert made.status_code == 200, made.text
            return Answer(201, made.json(), job)
        return Answer(200, job["result"], job)
    result = job["result"] or {}
    body: dict[str, Any] = {"detail": job["error"]}
    if "problems" in result:
        body = {"detail": f"{len(result['problems'])} problem(s) in input", "problems": result["problems"]}
    return Answer(int(result.get("http_status", 500)), body, job)


def import_file(api: Api, user: str, filename: str, data: bytes, **form: Any) -> Answer | httpx.Response:
    """Upload a network file through ``POST /api/v1/networks`` and wait for its import job (:func:`outcome`)."""
    return outcome(api, user, api.post(user, "/api/v1/networks", files={"file": (filename, data)}, data=form))


def wait_job_page(client: TestClient, location: str, timeout: float = 120.0) -> httpx.Response:
    """Follow a page's redirect to a job page until the job has ended; the final page."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(location)
        assert page.status_code == 200, page.text
        if 'id="job-live"' in page.text and any(f'data-status="{s}"' in page.text for s in JOB_FINAL):
            return page
        assert time.monotonic() < deadline, f"the job of {location} did not end"
        time.sleep(0.05)


def create_users(
    session: Session, users: Mapping[str, Principal], password: str = PASSWORD, **details: Any
) -> dict[str, User]:
    """A user per name with the party, organization, clearance, roles and groups of its principal.

    ``details`` go to :func:`setu.accounts.users.create_user` as they are (``display_name``, ``marking``).
    """
    return {
        name: create_user(
            session,
            name,
            password,
            party=principal.party,
            organization=principal.org_id,
            clearance=principal.clearance,
            roles=sorted(principal.roles),
            groups=sorted(principal.groups),
            **details,
        )
        for name, principal in users.items()
    }


def add_users(sessions: sessionmaker[Session]) -> tuple[dict[str, str], dict[str, Principal]]:
    """Create the test users (:data:`USERS`); an API token and the principal of each."""
    tokens: dict[str, str] = {}
    principals: dict[str, Principal] = {}
    with transaction(sessions) as session:
        for name, user in create_users(session, USERS).items():
            tokens[name] = issue_token(session, user, "api")
            principals[name] = principal_of(user)
    return tokens, principals


def make_api(
    engine: Engine,
    sessions: sessionmaker[Session],
    settings: ApiSettings = TEST_SETTINGS,
    prepare: Callable[[Session], object] = seed,
) -> Iterator[Api]:
    """Seed parties and organizations (``prepare``) and the users; yield a client of a fresh app."""
    with transaction(sessions) as session:
        prepare(session)
    tokens, principals = add_users(sessions)
    app = create_app(engine, settings=settings)
    with TestClient(app) as client:
        yield Api(client, app, sessions, tokens, principals)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Log in through the form, as a browser would."""
    client.cookies.clear()
    return client.post("/accounts/login", data={"username": username, "password": password}, follow_redirects=False)


def csrf_of(html: str) -> str:
    """The form token on a page."""
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table, after sequencing pending audit entries (so ``audit_entries`` counts them all)."""
    integrate_pending(sessionmaker(bind=engine))
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def csv_export_rows(text: str) -> list[dict[str, str]]:
    """The rows of an exported CSV file, between its banner rows (which it checks are there and equal)."""
    lines = text.splitlines(keepends=True)
    top, bottom = next(csv.reader([lines[0]])), next(csv.reader([lines[-1]]))
    assert len(top) == 1 and top == bottom and (" // " in top[0] or top[0] in LEVEL_NAMES), (top, bottom)
    return list(csv.DictReader(io.StringIO("".join(lines[1:-1]))))


TEST_RUNNER = "test:0:here"
"""The worker name under which a test executes a run in its own thread."""


def execute_here(sessions: sessionmaker[Session], run_id: int, principal: Principal) -> RunRecord:
    """Execute a queued run in the test's thread, or wait for the app's worker that took it first.

    A test that queues a run in the database while an app is serving races the app's worker threads,
    which take any queued run: executing it unclaimed would fail when a worker had just claimed it. The
    run is claimed here first, as a worker claims it; if a worker was quicker, its result is awaited.
    """
    with transaction(sessions) as session:
        now = utcnow()
        claimed = session.execute(
            update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.status == "queued")
            .values(
                status="running", runner=TEST_RUNNER, heartbeat_at=now, started_at=now, attempts=RunRecord.attempts + 1
            )
        ).rowcount
    if claimed:
        # A worker's heartbeat, so that the app's reaper never takes the run from a slow test for a dead worker.
        done = threading.Event()

        def heartbeat() -> None:
            while not done.wait(0.5):
                beat(sessions, run_id, TEST_RUNNER)

        beating = threading.Thread(target=heartbeat, daemon=True)
        beating.start()
        try:
            return execute_run(sessions, run_id, principal, runner=TEST_RUNNER)
        finally:
            done.set()
            beating.join()
    for _ in range(1200):
        with sessions() as session:
            run = session.scalars(select(RunRecord).where(RunRecord.id == run_id)).one()
            if run.status in ("completed", "failed", "cancelled"):
                return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end within 60 s")
