"""The database file: what another account on the server can read of it."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, column, select, table, text
from sqlalchemy.orm import sessionmaker

from setu.db import create_schema, make_engine


def test_a_new_sqlite_database_is_private_to_its_owner(tmp_path: Path) -> None:
    """Another local account must not read every party's records off the disk (its WAL included)."""
    previous = os.umask(0o022)  # the common default: new files readable by everyone
    try:
        path = tmp_path / "data" / "setu.db"
        engine = make_engine(f"sqlite:///{path}")
        create_schema(engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
            connection.execute(text("INSERT INTO probe VALUES (1)"))
        files = [p for p in path.parent.iterdir() if p.name.startswith("setu.db")]
        assert path in files and len(files) >= 2  # the database and its write-ahead log
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, f"{file.name} is readable by others"
        engine.dispose()
    finally:
        os.umask(previous)


def test_an_existing_database_keeps_its_permissions(tmp_path: Path) -> None:
    """An operator who chose the file's mode keeps it: only a file Setu creates is made private."""
    path = tmp_path / "setu.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_an_in_memory_database_creates_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite://", "sqlite:///:memory:"):
        make_engine(url).dispose()
    assert list(tmp_path.iterdir()) == []


def test_a_row_read_for_update_cannot_change_under_its_reader(engine: Engine) -> None:
    """Read-check-write under ``FOR UPDATE`` holds on both databases (a worker's progress and a give-back).

    Python's sqlite3 runs a SELECT outside any transaction, so without a lock taken at the read another
    writer could commit between the check and the write, and the write would undo it: a run given back to
    its queue came back with the stopped worker's progress.
    """
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE probe_lock (id INTEGER PRIMARY KEY, status TEXT, done INTEGER)"))
        connection.execute(text("INSERT INTO probe_lock VALUES (1, 'running', 0)"))
    factory = sessionmaker(bind=engine)
    probe = table("probe_lock", column("id"), column("status"), column("done"))
    given_back = threading.Event()

    def give_back() -> None:
        with factory.begin() as other:
            other.execute(text("UPDATE probe_lock SET status = 'queued', done = 0 WHERE id = 1"))
        given_back.set()

    try:
        with factory.begin() as session:
            held = session.execute(
                select(probe.c.status).where(probe.c.id == 1, probe.c.status == "running").with_for_update()
            ).scalar_one_or_none()
            assert held == "running"
            rival = threading.Thread(target=give_back)
            rival.start()
            # The rival must wait for this transaction; without the lock it commits at once.
            assert not given_back.wait(0.5), "another writer changed a row locked FOR UPDATE"
            session.execute(text("UPDATE probe_lock SET done = 94 WHERE id = 1"))
        rival.join(15)
        assert given_back.is_set()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT status, done FROM probe_lock")).one() == ("queued", 0)
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE probe_lock"))
