"""Runs left unfinished by a server process that died are failed when a server starts again on that host."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS
from networks.world import build_world, small_network
from principals import IN_ANALYST
from setu.api import create_app
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.models.stress import RunRecord
from setu.runs.jobs import RunJobs
from setu.runs.service import start_run

Factory = sessionmaker[Session]
DEAD_PID = 2**22 + 17
"""Above Linux's default pid_max of 4,194,304: no process can have it."""


@pytest.fixture
def runs(sessions: Factory) -> dict[str, int]:
    """Four unfinished runs: on this host by a dead process (running and queued), by a live one, and elsewhere."""
    jobs = RunJobs(sessions)
    with transaction(sessions) as session:
        network_id = build_world(session, small_network()).id
        ids = {
            name: start_run(session, IN_ANALYST, network_id, "sweep").id for name in ("dead", "queued", "live", "away")
        }
    runners = {
        "dead": f"{jobs.host}:{DEAD_PID}:aaaa",
        "queued": f"{jobs.host}:{DEAD_PID}:bbbb",
        "live": jobs.runner,
        "away": f"another-host.example:{DEAD_PID}:cccc",
    }
    with transaction(sessions) as session:
        for name, runner in runners.items():
            status = "queued" if name == "queued" else "running"
            session.execute(update(RunRecord).where(RunRecord.id == ids[name]).values(runner=runner, status=status))
    return ids


def test_recover_fails_only_the_runs_of_dead_processes_on_this_host(sessions: Factory, runs: dict[str, int]) -> None:
    assert sorted(RunJobs(sessions).recover()) == sorted([runs["dead"], runs["queued"]])
    with sessions() as session:
        status = dict(session.execute(select(RunRecord.id, RunRecord.status)).all())
        errors = dict(session.execute(select(RunRecord.id, RunRecord.error)).all())
        audited = set(session.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "run.fail")))
    assert status[runs["dead"]] == status[runs["queued"]] == "failed"
    assert "server executing it stopped" in errors[runs["dead"]]
    # A live process's run and another host's run may still be computing: untouched.
    assert status[runs["live"]] == status[runs["away"]] == "running"
    assert audited == {str(runs["dead"]), str(runs["queued"])}
    assert RunJobs(sessions).recover() == []  # nothing left to recover


def test_a_starting_server_recovers_and_a_run_it_executes_is_claimed(engine: Engine, runs: dict[str, int]) -> None:
    app = create_app(engine, settings=TEST_SETTINGS)
    with TestClient(app):
        with app.state.setu.sessions() as session:
            assert session.get(RunRecord, runs["dead"]).status == "failed"  # type: ignore[union-attr]
        jobs = app.state.run_jobs
        with transaction(app.state.setu.sessions) as session:
            run_id = start_run(session, IN_ANALYST, 1, "sweep").id
        jobs.start(run_id, IN_ANALYST).thread.join(60)
        with app.state.setu.sessions() as session:
            run = session.get(RunRecord, run_id)
            assert run is not None and run.status == "completed" and run.runner == jobs.runner
