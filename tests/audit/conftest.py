"""Audit fixtures: the app with a user per kind of reader (``api``), or on the world network (``web``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.conftest import Api, fast_hasher, make_api
from web.conftest import web, world

__all__ = ["fast_hasher", "web", "world"]


@pytest.fixture
def api(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Api]:
    """The app on the shared principals' parties and organizations, and a token for each test user."""
    yield from make_api(engine, sessions)
