"""HTTP API fixtures: the two-party world with a user per kind of reader, their API tokens, and a client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_HAL, IN_MOD, US_DOD, US_GE, seed
from setu.accounts.login import principal_of
from setu.accounts.passwords import configure_hasher
from setu.accounts.tokens import issue_token
from setu.accounts.users import create_user
from setu.api import create_app
from setu.db import transaction
from setu.models.base import Base
from setu.settings import ApiSettings
from setu.sharing.policy import Principal

PASSWORD = "correct horse battery staple"
# username -> (party, organization id, clearance, roles, groups)
USERS: dict[str, tuple[str, int, int, tuple[str, ...], tuple[str, ...]]] = {
    "in-analyst": ("IN", IN_MOD, 2, ("analyst",), ("ENGINE",)),
    "us-analyst": ("US", US_DOD, 2, ("analyst",), ("ENGINE",)),
    "in-industry": ("IN", IN_HAL, 2, ("industry",), ()),
    "us-industry": ("US", US_GE, 2, ("industry",), ()),
    "auditor": ("IN", IN_MOD, 2, ("auditor",), ()),
}
TEST_SETTINGS = ApiSettings(
    max_upload_bytes=1024 * 1024, max_zip_files=16, max_zip_bytes=4 * 1024 * 1024, secure_cookies=False
)
FINAL = ("completed", "failed", "cancelled")


@pytest.fixture(autouse=True)
def fast_hasher() -> Iterator[None]:
    """Cheap argon2 parameters for tests; the defaults come back afterwards."""
    configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    yield
    configure_hasher()


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


def add_users(sessions: sessionmaker[Session]) -> tuple[dict[str, str], dict[str, Principal]]:
    """Create the test users; an API token and the principal of each."""
    tokens: dict[str, str] = {}
    principals: dict[str, Principal] = {}
    with transaction(sessions) as session:
        for name, (party, org, clearance, roles, groups) in USERS.items():
            user = create_user(
                session, name, PASSWORD, party=party, organization=org, clearance=clearance, roles=roles, groups=groups
            )
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


@pytest.fixture
def api(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Api]:
    """The app on a seeded database, and a token for each test user."""
    yield from make_api(engine, sessions)


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table."""
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }
