"""Shared fixtures: the shared data sets, and a fresh database on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
POSTGRES_ADMIN_URL = os.environ.get("SETU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The data sets in ../shared/data next to the repository (skips if absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session (the suite runs against it and SQLite).

    The server is required: .ci/run starts one. SETU_TEST_SKIP_POSTGRES=1 skips these runs locally.
    """
    if os.environ.get("SETU_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("SETU_TEST_SKIP_POSTGRES=1")
    name = f"setu_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty, current schema: an SQLite file, or the session's PostgreSQL database."""
    from setu.db import create_schema, drop_schema, make_engine

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'setu.db'}")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        drop_schema(engine)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    from setu.db import session_factory

    return session_factory(engine)
