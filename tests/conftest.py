"""Shared fixtures: the data sets, a fresh database on SQLite and on PostgreSQL, and the app's test clients.

Every test folder gets them: ``api`` (the app with a user per kind of reader, :mod:`clients`),
``web`` (the same on the two-party ``world`` network) and cheap password hashing for every test.
Plain helpers live in modules next to this one, imported by name: :mod:`principals`, :mod:`clients`,
:mod:`browser`, :mod:`generated`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from clients import Api
    from setu.network.model import Network

# Speed is measured in bench/, never asserted: no property test fails because one example ran slowly.
settings.register_profile("setu", deadline=None)
settings.load_profile("setu")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
POSTGRES_ADMIN_URL = os.environ.get("SETU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The published data sets in ../shared/data next to the repository (skips if absent).

    Only checks against the published files' own values take it; every other test runs on the
    networks the suite makes itself (``generated_data``, ``tests/generated.py``).
    """
    if not SHARED_DATA.is_dir():
        pytest.skip(f"checks against the published data sets, which are not at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def generated_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the generated small and large networks as accelerator files.

    ``dataset_small.json`` and ``ttr_small.csv`` (and ``_large``) in the published files' layout,
    written from :mod:`generated`, so that tests of readers, the CLI and uploads need no ../shared.
    """
    from generated import write_files

    return write_files(tmp_path_factory.mktemp("generated"))


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
        # A throwaway database need not wait for the disk at each commit (and each test's schema is
        # dozens of them); a crash loses only this test session's data.
        connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file at the current schema with no rows, made once; each test's database is a copy."""
    from setu.db import create_schema, make_engine

    path = tmp_path_factory.mktemp("template") / "setu.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file itself
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty, current schema: an SQLite file, or the session's PostgreSQL database."""
    from setu.db import make_engine

    if request.param == "sqlite":
        # A copy of the session's empty database: making the schema costs half a second a test.
        shutil.copy2(request.getfixturevalue("sqlite_template"), tmp_path / "setu.db")
        engine = make_engine(f"sqlite:///{tmp_path / 'setu.db'}")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        empty_postgres(engine)
    yield engine
    engine.dispose()


def empty_postgres(engine: Engine) -> None:
    """The session database at the current schema with no rows, as a fresh one would be.

    Emptying the tables of the last test takes a tenth of the time of dropping and creating them (about
    2 s a test on a slow disk); a schema that is not exactly the models' (a migration test's) is remade.
    """
    import setu.models  # noqa: F401  (registers every model)
    from setu.db import create_schema, drop_schema
    from setu.models.base import Base
    from setu.sharing.markings import forget_markings

    tables = Base.metadata.sorted_tables
    found = set(inspect(engine).get_table_names())
    if "alembic_version" in found:  # left by a test that migrated: a fresh schema has no history
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
        found.discard("alembic_version")
    if found != {table.name for table in tables}:
        drop_schema(engine)
        create_schema(engine)
        return
    with engine.begin() as connection:
        for table in reversed(tables):
            connection.execute(table.delete())
        connection.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))
    forget_markings(engine)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    from setu.db import session_factory

    return session_factory(engine)


@pytest.fixture(autouse=True)
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own folder of audit signing keys (``SETU_KEY_DIR``), never the user's."""
    folder = tmp_path / "audit-keys"
    monkeypatch.setenv("SETU_KEY_DIR", str(folder))
    for name in ("SETU_SIGNING_PARTIES", "SETU_PKCS11_MODULE", "SETU_CHECKPOINT_EXPORT_DIR"):
        monkeypatch.delenv(name, raising=False)
    # Tests issue checkpoints themselves: no server thread issuing one in the middle of a test.
    monkeypatch.setenv("SETU_CHECKPOINT_AUTO", "0")
    return folder


@pytest.fixture(autouse=True)
def fast_hasher() -> Iterator[None]:
    """Cheap argon2 parameters for tests; the defaults come back afterwards."""
    from setu.accounts.passwords import configure_hasher

    configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    yield
    configure_hasher()


@pytest.fixture
def api(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Api]:
    """The app on the shared principals' parties and organizations, and a token for each test user."""
    from clients import make_api

    yield from make_api(engine, sessions)


@pytest.fixture
def world() -> Network:
    """The generated small network the two-party world is built on."""
    from networks.world import small_network

    return small_network()


@pytest.fixture
def web(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    """The app on the world network (IN-only, US-only, proprietary, need-to-know and shared nodes)."""
    from clients import TEST_SETTINGS, make_api
    from networks.world import build_world

    yield from make_api(engine, sessions, TEST_SETTINGS, lambda session: build_world(session, world))


WORKER_TIMINGS = {"SETU_RUN_HEARTBEAT_SECONDS": "0.2", "SETU_RUN_STALE_SECONDS": "1.5", "SETU_RUN_POLL_SECONDS": "0.1"}
"""Worker timings for the tests' ``setu worker`` processes: a worker silent for 1.5 s is presumed dead."""


@pytest.fixture
def workers(engine: Engine, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``setu worker`` processes on the test's database; all are killed at the end (their logs shown)."""
    started: list[subprocess.Popen[bytes]] = []
    logs = tmp_path / "workers.log"

    def start(**environment: str) -> subprocess.Popen[bytes]:
        url = engine.url.render_as_string(hide_password=False)
        env = {**os.environ, **WORKER_TIMINGS, **environment, "SETU_DATABASE_URL": url}
        with logs.open("ab") as log:
            child = subprocess.Popen([sys.executable, "-m", "setu", "worker"], env=env, stdout=log, stderr=log)
        started.append(child)
        return child

    yield start
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(30)
    print(logs.read_text() if logs.exists() else "no worker log")
