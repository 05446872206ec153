"""Two users acting on one request at once, in real concurrent PostgreSQL transactions: exactly one wins."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from principals import IN_DESK, US_DESK, US_GE_INDUSTRY
from setu.audit.log import integrate
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.models.sosa import PriorityRequest, RequestEvent
from setu.sharing.policy import Principal
from setu.sosa import service
from setu.sosa.service import RequestConflict
from sosa.world import DRAFT, TO_ORDER, TODAY, advance, build


@pytest.fixture
def ordered(engine: Engine, sessions: sessionmaker[Session]) -> tuple[int, int]:
    """A rated order awaiting the firm's answer: its id and version."""
    with transaction(sessions) as session:
        build(session)
        request_id = service.create_request(session, IN_DESK, "US", DRAFT).id
    with transaction(sessions) as session:
        return request_id, advance(session, request_id, TO_ORDER)


def act(
    sessions: sessionmaker[Session],
    barrier: threading.Barrier,
    principal: Principal,
    request_id: int,
    action: str,
    fields: dict[str, Any],
    version: int,
) -> str:
    """Take ``action`` once both threads are ready; "ok" or the conflict's message."""
    barrier.wait()
    try:
        with transaction(sessions) as session:
            service.transition(session, principal, request_id, action, fields, version, today=TODAY)
    except RequestConflict as exc:
        return str(exc)
    return "ok"


def counts(sessions: sessionmaker[Session], request_id: int) -> tuple[str, int, int, int]:
    with transaction(sessions) as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        request = session.get_one(PriorityRequest, request_id)
        events = session.scalar(select(func.count()).where(RequestEvent.request_id == request_id)) or 0
        permits = session.scalar(
            select(func.count()).where(AuditEntry.action == "sosa.transition", AuditEntry.decision == "permit")
        )
        return request.state, request.version, events, permits or 0


def test_accept_and_reject_at_once_exactly_one_succeeds(
    sessions: sessionmaker[Session], ordered: tuple[int, int]
) -> None:
    request_id, version = ordered
    before = counts(sessions, request_id)
    reject = {"reason": "conflicts with an earlier DX order", "earliest_date": "2026-09-01"}
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda job: act(sessions, barrier, job[0], request_id, job[1], job[2], version),
                [(US_GE_INDUSTRY, "accept", {}), (US_DESK, "reject", reject)],
            )
        )
    assert sorted(a == "ok" for a in answers) == [False, True], answers
    loser = next(a for a in answers if a != "ok")
    assert "changed by someone else since you loaded it" in loser
    state, new_version, events, permits = counts(sessions, request_id)
    winner = "ACCEPTED" if answers[0] == "ok" else "REJECTED"
    # One transition recorded, one version step, the state the winner set: nothing lost, nothing doubled.
    assert (state, new_version, events, permits) == (winner, version + 1, before[2] + 1, before[3] + 1)


def test_the_second_waits_on_the_row_lock_then_conflicts(
    sessions: sessionmaker[Session], ordered: tuple[int, int]
) -> None:
    request_id, version = ordered
    locked = threading.Event()
    hold = 0.5

    def first() -> None:
        with transaction(sessions) as session:
            service.transition(session, US_GE_INDUSTRY, request_id, "accept", {}, version, today=TODAY)
            locked.set()
            time.sleep(hold)  # keep the row locked while the other tries

    def second() -> tuple[str, float]:
        locked.wait(10)
        started = time.monotonic()
        try:
            with transaction(sessions) as session:
                service.transition(session, US_DESK, request_id, "accept", {}, version, today=TODAY)
        except RequestConflict as exc:
            return str(exc), time.monotonic() - started
        return "ok", time.monotonic() - started

    with ThreadPoolExecutor(2) as pool:
        done = pool.submit(first)
        answer, waited = pool.submit(second).result(30)
        done.result(30)
    assert "you had version 5, it is now version 6 in state ACCEPTED" in answer
    assert waited >= hold * 0.8, f"the second transaction did not wait for the lock ({waited:.3f} s)"
    assert counts(sessions, request_id)[:2] == ("ACCEPTED", version + 1)


def test_no_lost_update_even_without_the_service(sessions: sessionmaker[Session], ordered: tuple[int, int]) -> None:
    """Two plain ORM sessions load the row, change it and commit at once: the version column refuses the later one."""
    request_id, version = ordered
    barrier = threading.Barrier(2)

    def write(reason: str) -> str:
        session = sessions()
        try:
            request = session.get_one(PriorityRequest, request_id)
            barrier.wait()
            request.reason = reason
            session.commit()
        except StaleDataError:
            session.rollback()
            return "stale"
        finally:
            session.close()
        return "ok"

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(write, ["first", "second"]))
    assert sorted(answers) == ["ok", "stale"]
    with transaction(sessions) as session:
        request = session.get_one(PriorityRequest, request_id)
        assert request.version == version + 1
        assert request.reason == ("first" if answers[0] == "ok" else "second")
