"""``setu framework`` on SQLite and PostgreSQL: seed, actions (overdue), ics and posture, acting as a named user."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from clients import create_users
from networks.world import audit_count
from principals import IN_ANALYST, US_ANALYST, seed
from setu.cli import app
from setu.db import transaction

TODAY = date(2026, 3, 16)


@pytest.fixture
def setu(engine: Engine, sessions: sessionmaker[Session]) -> CliRunner:
    """A runner on the test database, which holds the parties and a reader of each party."""
    with transaction(sessions) as session:
        seed(session)
        create_users(session, {"asha": IN_ANALYST, "bob": US_ANALYST})
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner(env={"SETU_DATABASE_URL": url, "COLUMNS": "240"})


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["framework", *args])


def test_seed_then_list_export_and_count_as_each_party(
    setu: CliRunner, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    day = ["--today", TODAY.isoformat()]
    seeded = run(setu, "seed", *day)
    assert seeded.exit_code == 0, seeded.output
    assert "seeded 6 pillars, 5 bodies, 5 projects" in seeded.output
    assert "seeded already" in run(setu, "seed").output
    india = run(setu, "actions", "--overdue", "--user", "asha", *day)
    us = run(setu, "actions", "--overdue", "--user", "bob", *day)
    assert india.exit_code == us.exit_code == 0, india.output + us.output
    assert "3 action items overdue" in india.output and "Raksha Mantri" in india.output
    assert "2 action items overdue" in us.output and "Raksha Mantri" not in us.output
    assert "14 d" in us.output and "RESTRICTED // REL TO IN, US" in us.output
    out = tmp_path / "bob.ics"
    exported = run(setu, "ics", str(out), "--user", "bob")
    assert exported.exit_code == 0, exported.output
    events = Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert len(events) == 6 and not any("Raksha" in str(e["SUMMARY"]) for e in events)
    posture = run(setu, "posture", "--user", "asha", *day)
    assert posture.exit_code == 0 and "Supply-chain integration" in posture.output
    with sessions() as session:
        assert audit_count(session, "framework.seed") == 1
        assert audit_count(session, "framework.actions.ics") == 1


def test_errors_exit_2_with_a_message(setu: CliRunner) -> None:
    unknown = run(setu, "actions", "--user", "nobody")
    assert unknown.exit_code == 2 and "error:" in unknown.output
    bad_day = run(setu, "actions", "--user", "asha", "--today", "someday")
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output
    bad_status = run(setu, "actions", "--user", "asha", "--status", "later")
    assert bad_status.exit_code == 2 and "status" in bad_status.output
