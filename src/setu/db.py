"""The database engine and sessions: embedded SQLite by default, PostgreSQL through SETU_DATABASE_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///setu.db"


def database_url() -> str:
    """The URL in ``SETU_DATABASE_URL``, else an SQLite file ``setu.db`` in the working folder."""
    return os.environ.get("SETU_DATABASE_URL", DEFAULT_URL)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers go on while a run writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_lock_for_update(
    connection: Any, cursor: Any, _statement: str, _parameters: Any, context: Any, _executemany: bool
) -> None:
    """Take SQLite's write lock before a ``SELECT ... FOR UPDATE``, as PostgreSQL takes the row's.

    Python's sqlite3 runs a SELECT outside any transaction and begins one only at the first write, so a
    read-check-write (a worker's progress against a give-back, a request's state against a decision)
    could check a row another writer then changed and undo that change. SQLite drops ``FOR UPDATE``
    from the SQL; ``BEGIN IMMEDIATE`` makes the rest of the transaction the only writer, waiting out
    ``busy_timeout`` for the current one.
    """
    compiled = getattr(context, "compiled", None)
    if compiled is None or getattr(compiled.statement, "_for_update_arg", None) is None:
        return
    if not connection.connection.dbapi_connection.in_transaction:
        cursor.execute("BEGIN IMMEDIATE")


def _create_private(path: Path) -> None:
    """Create the SQLite file readable and writable by its owner only, if it does not exist yet.

    The file holds every party's records and the audit log; SQLite gives its journal and WAL files
    the database file's permissions, so they stay private too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def make_engine(
    url: str | None = None, *, pool_size: int = 5, max_overflow: int = 10, pool_timeout: float = 30.0
) -> Engine:
    """An engine for ``url`` (default :func:`database_url`), with SQLite made safe for concurrent use.

    Parameters
    ----------
    url
        The database URL.
    pool_size
        Connections held open.
    max_overflow
        Connections opened beyond them when all are in use (closed when given back).
    pool_timeout
        Seconds a checkout waits for a free connection before it raises ``sqlalchemy.exc.TimeoutError``.
    """
    url = url or database_url()
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        _, separator, path = url.partition("///")
        path = path.split("?", 1)[0]
        if separator and path and path != ":memory:" and not path.startswith("file:"):
            _create_private(Path(path))
        memory = not path or path == ":memory:"  # one shared connection (SingletonThreadPool/StaticPool)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **({} if memory else pool))
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _sqlite_lock_for_update)
        return engine
    # Pre-ping: a connection the server closed (restart, pg_terminate_backend) is replaced at checkout.
    return create_engine(url, pool_pre_ping=True, **pool)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    session = factory()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the packaged Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def create_schema(engine: Engine) -> None:
    """Create every table of the current models (the migrations' head, for tests and new files)."""
    import setu.models  # noqa: F401  (registers every model)
    from setu.models.base import Base

    Base.metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    """Drop every table of the current models (tests reuse one PostgreSQL database)."""
    import setu.models  # noqa: F401
    from setu.models.base import Base
    from setu.sharing.markings import forget_markings

    Base.metadata.drop_all(engine)
    forget_markings(engine)


def prepare(engine: Engine) -> None:
    """Bring a database to the current schema with the migrations before a command uses it.

    A schema made by :func:`create_schema` (tests) has no migration history and is left alone.
    """
    from sqlalchemy import inspect

    tables = set(inspect(engine).get_table_names())
    if tables and "alembic_version" not in tables:
        return
    upgrade(engine)
