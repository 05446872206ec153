"""Web fixtures: the two-party world behind the app, and a browser-like client per test user."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.conftest import PASSWORD, TEST_SETTINGS, Api, fast_hasher, make_api
from networks.world import build_world, small_network
from setu.network.model import Network

__all__ = ["fast_hasher"]


@pytest.fixture
def world() -> Network:
    return small_network()


@pytest.fixture
def web(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    """The app on the world network (IN-only, US-only, proprietary, need-to-know and shared nodes)."""
    yield from make_api(engine, sessions, TEST_SETTINGS, lambda session: build_world(session, world))


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Log in through the form, as a browser would."""
    client.cookies.clear()
    return client.post("/accounts/login", data={"username": username, "password": password}, follow_redirects=False)


def csrf_of(html: str) -> str:
    """The form token on a page."""
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)
