"""The database file: what another account on the server can read of it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

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
