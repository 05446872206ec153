"""Runs are admitted within limits: one user's active runs are capped (429), and so is the instance's queue (503).

An analyst cannot start unbounded concurrent runs: workers execute them one each, the rest wait
queued, and nothing is stored when a start is refused.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, create_users, csrf_of, make_api, sign_in
from networks.world import build_world, small_network
from principals import IN_ANALYST
from setu.accounts.login import principal_of
from setu.audit.log import integrate
from setu.db import transaction
from setu.errors import TooManyRequests
from setu.models.audit import AuditEntry
from setu.models.stress import RunRecord
from setu.runs.jobs import RunJobs, RunLimits
from setu.runs.service import start_run

Factory = sessionmaker[Session]
API = "/api/v1"


LIMITED = replace(TEST_SETTINGS, run_workers=1, run_queue=3, max_active_runs=2)
"""One worker, three runs queued or running at most, two active runs per user."""


@pytest.fixture
def limited(engine: Engine, sessions: Factory) -> Iterator[tuple[Api, int]]:
    """The app under :data:`LIMITED` on the world network; the network's id."""
    made: dict[str, int] = {}

    def prepare(session: Session) -> None:
        made["network"] = build_world(session, small_network()).id

    for api in make_api(engine, sessions, LIMITED, prepare):
        yield api, made["network"]


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Hold every run at the start of its computation until the event is set."""
    from setu.runs import service

    gate = threading.Event()
    real: Callable[..., Any] = service.run_scenarios

    def held(*args: Any, **kwargs: Any) -> Any:
        assert gate.wait(60), "the test never opened the gate"
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "run_scenarios", held)
    yield gate
    gate.set()


def statuses(api: Api, ids: list[int]) -> list[str]:
    with api.sessions() as session:
        found = dict(session.execute(select(RunRecord.id, RunRecord.status).where(RunRecord.id.in_(ids))).all())
    return [found[run_id] for run_id in ids]


def settle(api: Api, ids: list[int], expected: list[str]) -> None:
    """Wait until the runs ``ids`` have the ``expected`` statuses (a worker takes a run soon after it is queued)."""
    for _ in range(600):
        if statuses(api, ids) == expected:
            return
        time.sleep(0.05)
    assert statuses(api, ids) == expected


def run_count(api: Api) -> int:
    with api.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(RunRecord)) or 0)


def test_one_analyst_cannot_start_unbounded_concurrent_runs(limited: tuple[Api, int], gate: threading.Event) -> None:
    api, network_id = limited
    body = {"network_id": network_id, "sweep": True, "ttr": 2}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.post("us-analyst", f"{API}/runs", json=body), range(8)))
    assert sorted(a.status_code for a in answers) == [202, 202] + [429] * 6, [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["retry-after"] == "30"
    assert "the most one user may have at once (2)" in refused.json()["detail"]
    assert run_count(api) == 2  # nothing stored for the refused starts
    accepted = sorted(a.json()["id"] for a in answers if a.status_code == 202)
    settle(api, accepted, ["running", "queued"])  # one worker: the second run waits its turn
    with api.sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        denied = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "run.start", AuditEntry.decision == "deny")
        )
    assert denied == 6
    gate.set()
    for run_id in accepted:
        assert api.wait("us-analyst", run_id)["status"] == "completed"
    assert api.post("us-analyst", f"{API}/runs", json=body).status_code == 202  # room again once they ended


def test_a_full_server_queue_refuses_everyone_and_a_cancelled_waiting_run_frees_its_place(
    limited: tuple[Api, int], gate: threading.Event
) -> None:
    api, network_id = limited
    body = {"network_id": network_id, "sweep": True, "ttr": 2}
    first, second = (api.post("us-analyst", f"{API}/runs", json=body).json()["id"] for _ in range(2))
    third = api.post("in-analyst", f"{API}/runs", json=body)
    assert third.status_code == 202, third.text
    full = api.post("in-analyst", f"{API}/runs", json=body)
    assert full.status_code == 503, full.text
    assert full.headers["retry-after"] == "60"
    assert "3 stress runs queued or running, as many as it takes" in full.json()["detail"]
    assert run_count(api) == 3
    settle(api, [first, second, third.json()["id"]], ["running", "queued", "queued"])

    cancelled = api.post("us-analyst", f"{API}/runs/{second}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    assert statuses(api, [second]) == ["cancelled"]  # at once: no worker had taken it
    again = api.post("in-analyst", f"{API}/runs", json=body)
    assert again.status_code == 202, again.text
    gate.set()
    for run_id in (first, third.json()["id"], again.json()["id"]):
        assert api.wait("in-analyst" if run_id != first else "us-analyst", run_id)["status"] == "completed"
    assert statuses(api, [second]) == ["cancelled"]


def test_the_run_form_answers_429_with_the_reason_and_stores_nothing(
    limited: tuple[Api, int], gate: threading.Event
) -> None:
    api, network_id = limited
    client = api.client
    sign_in(client, "in-analyst")
    for expected in (303, 303, 429):
        page = client.get("/runs/scenarios", params={"network": network_id}).text
        form = {"csrf": csrf_of(page), "network": str(network_id), "mode": "sweep", "ttr": "2"}
        answer = client.post("/runs", data=form, follow_redirects=False)
        assert answer.status_code == expected, answer.text
    assert answer.headers["retry-after"] == "30"
    assert "the most one user may have at once (2)" in html.unescape(answer.text)
    assert run_count(api) == 2


def test_two_servers_on_one_database_admit_no_more_than_a_users_cap(sessions: Factory, gate: threading.Event) -> None:
    # Two server processes (two RunJobs) each admit a run for the same analyst at the same moment: the
    # per-user count is taken under the user's row lock (PostgreSQL) or the write fails on a stale
    # snapshot (SQLite), so at most the cap is stored either way.
    with transaction(sessions) as session:
        network_id = build_world(session, small_network()).id
        analyst = principal_of(create_users(session, {"in-analyst": IN_ANALYST})["in-analyst"])
    limits = RunLimits(workers=1, queue=4, per_user=1)
    servers = [RunJobs(sessions, limits), RunJobs(sessions, limits)]
    outcomes: list[str] = []

    def admit(jobs: RunJobs, pause: float) -> None:
        def queue() -> RunRecord:
            time.sleep(pause)  # hold the admission open while the other server counts
            return start_run(session, analyst, network_id, "sweep", ttr=2)

        with sessions() as session:
            try:
                jobs.submit(session, analyst, queue)
                outcomes.append("admitted")
            except TooManyRequests:
                outcomes.append("429")
            except OperationalError:
                outcomes.append("busy")

    threads = [
        threading.Thread(target=admit, args=(jobs, pause)) for jobs, pause in zip(servers, (0.5, 0.0), strict=True)
    ]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    for thread in threads:
        thread.join(60)
    gate.set()
    for jobs in servers:
        jobs.shutdown()
    assert sorted(outcomes) in (["429", "admitted"], ["admitted", "busy"]), outcomes
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(RunRecord)) == 1
