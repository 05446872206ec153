"""Runs survive their workers: killed, stopped or failing, a worker never leaves a run ``running``.

The workers here are real ``setu worker`` processes on the test's database (an SQLite file or the
PostgreSQL database), killed with real signals; the run is a 1,500-scenario sweep of the generated
large network, long enough to be caught mid-run.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

import generated
from clients import create_users
from networks.world import build_world, small_network
from principals import IN_ANALYST
from setu.accounts.login import principal_of
from setu.audit.log import integrate
from setu.audit.verify import verify_log
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.models.base import utcnow
from setu.models.stress import ResultRecord, RunRecord
from setu.runs.jobs import RunJobs, RunLimits
from setu.runs.queue import claim_next, reap_stale
from setu.runs.service import start_run
from setu.runs.worker import Worker, WorkerTimings
from setu.sharing.policy import Principal

Factory = sessionmaker[Session]
World = Callable[[bool], tuple[Principal, int]]


@pytest.fixture
def world_of(sessions: Factory) -> Callable[[bool], tuple[Principal, int]]:
    """Import the large (or small) generated network and give the Indian analyst an account.

    A worker acts for the run's owner as their account stands, so the owner needs one.
    """

    def build(large: bool = True) -> tuple[Principal, int]:
        with transaction(sessions) as session:
            network_id = build_world(session, generated.large() if large else small_network()).id
            owner = principal_of(create_users(session, {"in-analyst": IN_ANALYST})["in-analyst"])
        return owner, network_id

    return build


def queue_sweep(sessions: Factory, owner: Principal, network_id: int) -> int:
    with transaction(sessions) as session:
        return start_run(session, owner, network_id, "sweep", ttr=2.0).id


def run_of(sessions: Factory, run_id: int) -> RunRecord:
    with sessions() as session:
        return session.scalars(select(RunRecord).where(RunRecord.id == run_id)).one()


def wait_for(check: Callable[[], bool], timeout: float = 60.0, what: str = "") -> float:
    """Poll ``check`` until true; seconds it took."""
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - began


def actions(sessions: Factory, run_id: int) -> list[str]:
    with sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        return list(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.object_id == str(run_id)).order_by(AuditEntry.seq)
            )
        )


def test_a_killed_worker_run_is_queued_again_within_seconds_and_another_completes_it(
    sessions: Factory, workers: Callable[..., subprocess.Popen[bytes]], world_of: World
) -> None:
    owner, network_id = world_of(True)
    run_id = queue_sweep(sessions, owner, network_id)
    first = workers()
    wait_for(lambda: run_of(sessions, run_id).status == "running", what="the first worker to take the run")
    wait_for(lambda: run_of(sessions, run_id).done > 0, what="progress")
    holder = run_of(sessions, run_id).runner
    assert holder.split(":")[1] == str(first.pid)
    first.send_signal(signal.SIGKILL)  # no chance to say anything
    first.wait(10)
    second = workers()
    requeued = wait_for(lambda: run_of(sessions, run_id).runner not in ("", holder), what="another worker")
    assert requeued < 10, f"the run waited {requeued:.1f} s for another worker"
    wait_for(lambda: run_of(sessions, run_id).status == "completed", timeout=120, what="the retried run")
    final = run_of(sessions, run_id)
    assert final.attempts == 2 and final.runner.split(":")[1] == str(second.pid) and final.error == ""
    assert final.done == final.total > 1000
    trail = actions(sessions, run_id)
    assert trail.count("run.retry") == 1 and trail[-1] == "run.complete"
    with sessions() as session:
        assert verify_log(session).ok


def test_a_stopped_worker_gives_its_run_back_and_exits_at_once(
    sessions: Factory, workers: Callable[..., subprocess.Popen[bytes]], world_of: World
) -> None:
    owner, network_id = world_of(True)
    run_id = queue_sweep(sessions, owner, network_id)
    child = workers()
    wait_for(lambda: run_of(sessions, run_id).done > 0, what="progress")
    child.send_signal(signal.SIGTERM)
    assert child.wait(15) == 0
    given = run_of(sessions, run_id)
    assert (given.status, given.runner, given.attempts, given.done) == ("queued", "", 0, 0)
    assert "run.retry" in actions(sessions, run_id)
    workers()  # a fresh worker takes it from the start
    wait_for(lambda: run_of(sessions, run_id).status == "completed", timeout=120, what="the run")
    assert run_of(sessions, run_id).attempts == 1


def test_a_worker_stopped_between_its_claim_and_the_run_gives_the_run_back_and_never_computes_it(
    sessions: Factory, world_of: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM can arrive after the claim commits and before the worker records what it holds, when stop()
    finds nothing to give back: the worker itself must give the run back, not compute it after all."""
    from setu.runs import worker as worker_module

    owner, network_id = world_of(False)
    run_id = queue_sweep(sessions, owner, network_id)
    worker = Worker(sessions, WorkerTimings(poll=0.05))
    real_claim = worker_module.claim_next

    def claim_then_stop(*args: Any, **kwargs: Any) -> Any:
        claimed = real_claim(*args, **kwargs)
        worker.stop()  # in the gap: nothing is recorded as held yet
        return claimed

    monkeypatch.setattr(worker_module, "claim_next", claim_then_stop)
    assert worker.step()
    given = run_of(sessions, run_id)
    assert (given.status, given.runner, given.attempts, given.done) == ("queued", "", 0, 0)
    assert actions(sessions, run_id).count("run.retry") == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).where(ResultRecord.run_id == run_id)) == 0


def test_stopping_the_app_gives_a_run_back_once_while_another_worker_is_claiming(
    sessions: Factory, world_of: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's shutdown stops all its workers: one gives its run back while another is in the middle of a
    claim. That claim must not take the run just given back, only to give it back (and audit it) again."""
    from setu.runs import service
    from setu.runs import worker as worker_module

    owner, network_id = world_of(False)
    run_id = queue_sweep(sessions, owner, network_id)
    gate, armed, entered, release = threading.Event(), threading.Event(), threading.Event(), threading.Event()
    real_run, real_claim = service.run_scenarios, worker_module.claim_next

    def held_run(*args: Any, **kwargs: Any) -> Any:
        assert gate.wait(30), "the test never opened the gate"
        return real_run(*args, **kwargs)

    def slow_claim(*args: Any, **kwargs: Any) -> Any:
        if armed.is_set() and not entered.is_set():
            entered.set()  # this claim is in flight when the shutdown begins
            assert release.wait(30)
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(service, "run_scenarios", held_run)
    monkeypatch.setattr(worker_module, "claim_next", slow_claim)
    jobs = RunJobs(sessions, RunLimits(workers=2), WorkerTimings(poll=0.02))
    jobs.start_workers()
    try:
        wait_for(lambda: run_of(sessions, run_id).status == "running", what="a worker to take the run")
        armed.set()
        wait_for(entered.is_set, what="the other worker's next claim")
        stopping = threading.Thread(target=jobs.shutdown)
        stopping.start()
        time.sleep(0.3)  # long enough for the holder to give its run back, if nothing waits for the claim
        release.set()
        gate.set()
        stopping.join(30)
        assert not stopping.is_alive()
    finally:
        release.set()
        gate.set()
        jobs.shutdown()
    given = run_of(sessions, run_id)
    assert (given.status, given.runner, given.attempts) == ("queued", "", 0)
    assert actions(sessions, run_id).count("run.retry") == 1


def test_a_cancel_from_another_process_stops_the_run_its_worker_executes(
    sessions: Factory, workers: Callable[..., subprocess.Popen[bytes]], world_of: World
) -> None:
    from setu.runs.manage import cancel_run

    owner, network_id = world_of(True)
    run_id = queue_sweep(sessions, owner, network_id)
    workers()
    wait_for(lambda: run_of(sessions, run_id).done > 0, what="progress")
    with sessions() as session:  # this test's process is not the worker's
        assert cancel_run(session, owner, run_id).cancel_requested
        session.commit()
    took = wait_for(lambda: run_of(sessions, run_id).status == "cancelled", timeout=30, what="the cancel")
    assert took < 5
    with sessions() as session:
        results = session.scalar(select(func.count()).where(ResultRecord.run_id == run_id))
    assert results == 0 and "run.cancel" in actions(sessions, run_id)


def test_a_run_out_of_attempts_fails_with_the_reason_and_can_be_started_again(
    sessions: Factory, world_of: World
) -> None:
    owner, network_id = world_of(False)
    run_id = queue_sweep(sessions, owner, network_id)
    for attempt in (1, 2):
        claimed = claim_next(sessions, f"gone-host:{attempt}:dead")
        assert claimed is not None and (claimed.run_id, claimed.attempt) == (run_id, attempt)
        # Nobody heard from that worker for a minute.
        later = utcnow() + timedelta(seconds=60)
        became = "queued" if attempt == 1 else "failed"
        assert reap_stale(sessions, stale_seconds=10, max_attempts=2, now=later) == [(run_id, became)]
    failed = run_of(sessions, run_id)
    assert failed.status == "failed" and failed.finished_at is not None
    assert "gone-host:2:dead" in failed.error and "attempt 2 of 2" in failed.error
    assert "start the run again" in failed.error
    assert reap_stale(sessions, 10, 2, now=utcnow() + timedelta(seconds=120)) == []  # nothing twice
    # Started again, it runs like any other.
    again = queue_sweep(sessions, owner, network_id)
    Worker(sessions, WorkerTimings(heartbeat=0.1, stale=1, poll=0.05)).step()
    assert run_of(sessions, again).status == "completed"


def test_a_worker_that_meets_a_database_error_fails_the_run_with_it(
    sessions: Factory, monkeypatch: pytest.MonkeyPatch, world_of: World
) -> None:
    from setu.runs import service

    def lost(*_args: Any, **_kwargs: Any) -> Any:
        raise OperationalError("UPDATE stress_runs", {}, Exception("server closed the connection unexpectedly"))

    run_id = queue_sweep(sessions, *world_of(False))
    monkeypatch.setattr(service, "run_scenarios", lost)
    monkeypatch.setattr(service, "finish_run", lost)  # and ending it the usual way fails too
    assert Worker(sessions, WorkerTimings(heartbeat=0.1)).step()
    ended = run_of(sessions, run_id)
    assert ended.status == "failed" and "server closed the connection unexpectedly" in ended.error


def test_a_worker_presumed_dead_cannot_finish_the_run_its_successor_holds(sessions: Factory, world_of: World) -> None:
    run_id = queue_sweep(sessions, *world_of(False))
    slow = Worker(sessions, WorkerTimings(heartbeat=30, stale=1, poll=0.05))
    gate = threading.Event()
    from setu.runs import service

    real = service.run_scenarios

    reached = threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        assert gate.wait(60)
        return real(*args, **kwargs)

    service.run_scenarios = held  # type: ignore[assignment]
    try:
        first = threading.Thread(target=slow.step)
        first.start()
        # At the gate: past the step that holds the run's row lock (the reaper skips locked rows).
        assert reached.wait(60), "the slow worker never began computing"
        # Its heartbeat is late: the reaper queues the run again and a second worker takes it.
        with transaction(sessions) as session:
            session.execute(
                update(RunRecord).where(RunRecord.id == run_id).values(heartbeat_at=utcnow() - timedelta(seconds=5))
            )
        assert reap_stale(sessions, 1, 3) == [(run_id, "queued")]
        successor = claim_next(sessions, "successor:1:aaaa")
        assert successor is not None and successor.run_id == run_id
        gate.set()
        first.join(60)
    finally:
        service.run_scenarios = real  # type: ignore[assignment]
    # The slow worker computed everything, yet stored nothing: the run is its successor's.
    kept = run_of(sessions, run_id)
    assert (kept.status, kept.runner, kept.done) == ("running", "successor:1:aaaa", 0)
