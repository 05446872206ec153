"""Network page and endpoint fixtures: the app on a seeded database or on the two-party world network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.conftest import TEST_SETTINGS, Api, api, fast_hasher, make_api
from networks.world import build_world, small_network
from setu.network.model import Network

__all__ = ["api", "fast_hasher"]


@pytest.fixture
def world() -> Network:
    """The generated small network the world is built on."""
    return small_network()


@pytest.fixture
def web(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    """The app on the world network (IN-only, US-only, proprietary, need-to-know and shared nodes)."""
    yield from make_api(engine, sessions, TEST_SETTINGS, lambda session: build_world(session, world))
