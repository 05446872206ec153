"""Jobs survive their workers: executed by a real ``setu worker``, failed with the reason when they raise,
retried then failed when their worker dies, cancelled while queued or running from another process.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_ANALYST
from registry.world import RegistryWorld, build
from setu.accounts.login import principal_of
from setu.audit.log import integrate
from setu.db import transaction
from setu.jobs import execute
from setu.jobs.execute import JOB_SOURCE, spec_to_json
from setu.jobs.service import JobLimits, cancel_job, enqueue
from setu.models.accounts import User
from setu.models.audit import AuditEntry
from setu.models.base import utcnow
from setu.models.jobs import JobRecord
from setu.models.networks import NetworkRecord
from setu.networks.uploads import UploadLimits
from setu.runs.queue import JOBS, claim_next, reap_stale
from setu.runs.worker import Worker, WorkerTimings
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal

Factory = sessionmaker[Session]
QUICK = WorkerTimings(heartbeat=0.1, stale=1, poll=0.05)


@pytest.fixture
def owner(sessions: Factory) -> tuple[Principal, RegistryWorld]:
    """The registry world, and the Indian analyst with an account (a worker acts for a job's owner as it stands)."""
    from clients import create_users

    with transaction(sessions) as session:
        world = build(session)
        user = create_users(session, {"in-analyst": IN_ANALYST})["in-analyst"]
        return principal_of(user), world


def queue_what_if(sessions: Factory, principal: Principal, world: RegistryWorld) -> int:
    payload = {"scenario": world.scenario, "capability_id": world.capabilities["HAL Nashik"], "concern": ["CN"]}
    with sessions() as session:
        return enqueue(session, principal, "registry.what_if", payload, limits=JobLimits()).id


def job_of(sessions: Factory, job_id: int) -> JobRecord:
    with sessions() as session:
        return session.scalars(select(JobRecord).where(JobRecord.id == job_id)).one()


def actions(sessions: Factory, job_id: int) -> list[str]:
    with sessions() as session:
        integrate(session)
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "job", AuditEntry.object_id == str(job_id))
                .order_by(AuditEntry.seq)
            )
        )


def wait_for(check: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_setu_worker_process_executes_a_job(
    sessions: Factory, owner: tuple[Principal, RegistryWorld], workers: Callable[..., subprocess.Popen[bytes]]
) -> None:
    principal, world = owner
    job_id = queue_what_if(sessions, principal, world)
    child = workers()
    wait_for(lambda: job_of(sessions, job_id).status == "succeeded", what="the job")
    done = job_of(sessions, job_id)
    assert done.runner.split(":")[1] == str(child.pid) and done.attempts == 1 and done.error == ""
    assert '"pi_saved": 28.0' in done.result and done.result_marking_id is not None
    assert actions(sessions, job_id) == ["job.queue", "job.execute", "job.complete"]


def test_a_job_whose_executor_raises_ends_failed_with_the_reason(
    sessions: Factory, owner: tuple[Principal, RegistryWorld], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> Any:
        raise ZeroDivisionError("the alternate's capacity divided by nothing")

    monkeypatch.setitem(execute.EXECUTORS, "registry.what_if", broken)
    job_id = queue_what_if(sessions, *owner)
    assert Worker(sessions, QUICK, sources=(JOB_SOURCE,)).step()
    failed = job_of(sessions, job_id)
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.error == "ZeroDivisionError: the alternate's capacity divided by nothing"
    assert failed.result == "" and failed.result_marking_id is None
    assert actions(sessions, job_id) == ["job.queue", "job.execute", "job.fail"]


def test_a_job_whose_worker_died_is_retried_then_failed_with_the_reason(
    sessions: Factory, owner: tuple[Principal, RegistryWorld]
) -> None:
    job_id = queue_what_if(sessions, *owner)
    for attempt in (1, 2):
        claimed = claim_next(sessions, f"gone-host:{attempt}:dead", JOBS)
        assert claimed is not None and (claimed.id, claimed.attempt, claimed.table) == (job_id, attempt, JOBS)
        later = utcnow() + timedelta(seconds=60)  # nobody heard from that worker for a minute
        became = "queued" if attempt == 1 else "failed"
        assert reap_stale(sessions, 10, 2, now=later, table=JOBS) == [(job_id, became)]
    failed = job_of(sessions, job_id)
    assert failed.status == "failed" and "gone-host:2:dead" in failed.error and "attempt 2 of 2" in failed.error
    assert actions(sessions, job_id) == ["job.queue", "job.retry", "job.fail"]
    # A live worker takes the next one from the start.
    again = queue_what_if(sessions, *owner)
    assert Worker(sessions, QUICK, sources=(JOB_SOURCE,)).step()
    assert job_of(sessions, again).status == "succeeded"


def test_a_queued_job_is_cancelled_at_once(sessions: Factory, owner: tuple[Principal, RegistryWorld]) -> None:
    principal, world = owner
    job_id = queue_what_if(sessions, principal, world)
    with sessions() as session:
        assert cancel_job(session, principal, job_id).status == "cancelled"
        session.commit()
    assert not Worker(sessions, QUICK, sources=(JOB_SOURCE,)).step()  # nothing left to take
    assert job_of(sessions, job_id).status == "cancelled"
    assert actions(sessions, job_id) == ["job.queue", "job.cancel"]


def test_a_running_import_cancelled_from_another_process_stores_nothing(
    sessions: Factory,
    owner: tuple[Principal, RegistryWorld],
    monkeypatch: pytest.MonkeyPatch,
    generated_data: Path,
) -> None:
    principal, _world = owner
    reached, gate = threading.Event(), threading.Event()
    real = execute.EXECUTORS["network.import"]

    def held(*args: Any) -> Any:
        reached.set()
        assert gate.wait(60)
        return real(*args)  # the network is written in the job's transaction, then thrown away

    monkeypatch.setitem(execute.EXECUTORS, "network.import", held)
    limits = UploadLimits(max_upload_bytes=1 << 20, max_zip_files=16, max_zip_bytes=1 << 22)
    payload = {
        "filename": "dataset_small.json",
        "format": "auto",
        "name": "cancelled",
        "marking": spec_to_json(MarkingSpec(0, "IN", frozenset({"IN"}))),
        "limits": asdict(limits),
    }
    data = (generated_data / "dataset_small.json").read_bytes()
    with sessions() as session:
        job_id = enqueue(session, principal, "network.import", payload, limits=JobLimits(), upload=data).id
    worker = Worker(sessions, QUICK, sources=(JOB_SOURCE,))
    stepping = threading.Thread(target=worker.step)
    stepping.start()
    assert reached.wait(60)
    with sessions() as session:  # this is not the worker's thread, nor its session
        flagged = cancel_job(session, principal, job_id)
        assert (flagged.status, flagged.cancel_requested) == ("running", True)
        session.commit()
    time.sleep(0.5)  # a heartbeat or more: the worker has read the flag
    gate.set()
    stepping.join(60)
    assert job_of(sessions, job_id).status == "cancelled"
    with sessions() as session:
        stored = select(func.count()).select_from(NetworkRecord).where(NetworkRecord.name == "cancelled")
        assert session.scalar(stored) == 0
    assert actions(sessions, job_id) == ["job.queue", "job.execute", "job.cancel", "job.cancel"]


def test_an_import_ended_by_a_cancel_or_a_dead_worker_keeps_no_copy_of_its_file(
    sessions: Factory, owner: tuple[Principal, RegistryWorld], generated_data: Path
) -> None:
    principal, _world = owner
    limits = UploadLimits(max_upload_bytes=1 << 20, max_zip_files=16, max_zip_bytes=1 << 22)
    payload = {
        "filename": "dataset_small.json",
        "format": "auto",
        "name": "kept",
        "marking": spec_to_json(MarkingSpec(0, "IN", frozenset({"IN"}))),
        "limits": asdict(limits),
    }
    data = (generated_data / "dataset_small.json").read_bytes()

    def queued() -> int:
        with sessions() as session:
            return enqueue(session, principal, "network.import", payload, limits=JobLimits(), upload=data).id

    waiting, abandoned = queued(), queued()
    with sessions() as session:
        assert cancel_job(session, principal, waiting).status == "cancelled"
        session.commit()
    assert claim_next(sessions, "gone-host:1:dead", JOBS) is not None
    assert reap_stale(sessions, 10, 1, now=utcnow() + timedelta(seconds=60), table=JOBS) == [(abandoned, "failed")]
    for job_id in (waiting, abandoned):
        assert job_of(sessions, job_id).upload is None


def test_the_worker_checks_the_owners_access_as_it_stands_when_it_executes(
    sessions: Factory, owner: tuple[Principal, RegistryWorld]
) -> None:
    principal, world = owner
    job_id = queue_what_if(sessions, principal, world)
    # Between queueing and executing, the analyst's clearance drops below the network's RESTRICTED marking.
    with transaction(sessions) as session:
        session.execute(update(User).where(User.id == principal.user_id).values(clearance=0))
    assert Worker(sessions, QUICK, sources=(JOB_SOURCE,)).step()
    failed = job_of(sessions, job_id)
    assert failed.status == "failed" and failed.error == f"no such scenario: {world.scenario}"
    assert failed.result_marking_id is None and '"http_status": 404' in failed.result
