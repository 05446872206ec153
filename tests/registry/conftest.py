"""Registry fixtures: the registry test world stored on each database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from registry.world import RegistryWorld, build
from setu.db import transaction


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> RegistryWorld:
    """The sites, capabilities, hand network and S-out scenario of :func:`registry.world.build`."""
    with transaction(sessions) as session:
        return build(session)
