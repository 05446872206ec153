"""Checkpoints on a schedule: every N entries or M minutes, only for parties whose key this instance holds,
exported to the auditors' folder, and issued by the server's own thread."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from setu.api import create_app
from setu.audit.checkpoints import held_key
from setu.audit.cli import audit_app
from setu.audit.log import record
from setu.audit.schedule import CheckpointSchedule, auto_checkpoints
from setu.models.audit import Checkpoint
from setu.models.base import utcnow


def entries(sessions: sessionmaker[Session], count: int) -> None:
    with sessions.begin() as session:
        for i in range(count):
            record(session, None, "node.read", "node", f"N{i}")


def checkpoints(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Checkpoint)) or 0)


def test_every_n_entries_or_m_minutes(sessions: sessionmaker[Session]) -> None:
    schedule = CheckpointSchedule(every=5, minutes=60)
    entries(sessions, 4)
    assert auto_checkpoints(sessions, schedule) == []  # no party holds a key here: nothing to sign with
    with sessions.begin() as session:
        held_key(session, "IN")
    assert auto_checkpoints(sessions, schedule) == []  # 4 uncovered, the oldest fresh
    entries(sessions, 1)
    (issued,) = auto_checkpoints(sessions, schedule)
    assert (issued.party, issued.tree_size) == ("IN", 6)  # 5 entries and the key's own
    # The checkpoint's own entry is not a reason for the next one.
    assert auto_checkpoints(sessions, schedule, now=utcnow() + timedelta(days=1)) == []
    entries(sessions, 2)
    assert auto_checkpoints(sessions, schedule) == []
    (later,) = auto_checkpoints(sessions, schedule, now=utcnow() + timedelta(minutes=61))
    assert later.tree_size == 9


def test_checkpoints_are_exported_for_the_auditors(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "auditors"
    entries(sessions, 3)
    with sessions.begin() as session:
        held_key(session, "US")
    (issued,) = auto_checkpoints(sessions, CheckpointSchedule(every=1, export_dir=folder))
    exported = folder / "US" / f"checkpoints-{issued.id}.json"
    assert exported.is_file()
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    monkeypatch.setenv("SETU_DATABASE_URL", url)
    run = CliRunner().invoke(audit_app, ["verify", "--checkpoint", str(exported)])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(audit_app, ["checkpoint", "--auto"])
    assert run.exit_code == 0 and "no checkpoint due" in run.output


def test_the_server_issues_them_itself(sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    entries(sessions, 3)
    with sessions.begin() as session:
        held_key(session, "IN")
    monkeypatch.setenv("SETU_CHECKPOINT_AUTO", "1")
    monkeypatch.setenv("SETU_CHECKPOINT_EVERY", "2")
    monkeypatch.setenv("SETU_CHECKPOINT_MINUTES", "0.05")  # a tick a second
    app = create_app(sessions.kw["bind"])
    with TestClient(app):
        deadline = time.monotonic() + 60  # a wait for the thread, not a speed check
        while not checkpoints(sessions) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert checkpoints(sessions) == 1
