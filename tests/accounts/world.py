"""The accounts tests' helpers: their clock, password and organizations; adding users, signing in, reading the audit."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.login import LoginAttempt, authenticate
from setu.accounts.lookups import get_user
from setu.accounts.users import create_user
from setu.audit.log import integrate
from setu.db import transaction
from setu.models.accounts import User
from setu.models.audit import AuditEntry

T = TypeVar("T")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
# name -> (party, kind)
ORGS = {
    "Ministry of Defence": ("IN", "ministry"),
    "Bharat Forge": ("IN", "firm"),
    "Department of War": ("US", "ministry"),
    "Acme Castings": ("US", "firm"),
}


def add_user(
    sessions: sessionmaker[Session],
    username: str = "asha",
    *,
    party: str = "IN",
    org: str = "Ministry of Defence",
    clearance: int | str = 2,
    roles: tuple[str, ...] = ("analyst",),
    groups: tuple[str, ...] = ("ENGINE",),
    password: str = PASSWORD,
) -> User:
    with transaction(sessions) as session:
        return create_user(
            session,
            username,
            password,
            party=party,
            organization=org,
            clearance=clearance,
            roles=roles,
            groups=groups,
            now=T0,
        )


def attempt(sessions: sessionmaker[Session], username: str, password: str, minutes: float = 0) -> LoginAttempt:
    return authenticate(sessions, username, password, now=T0 + timedelta(minutes=minutes))


def entries(sessions: sessionmaker[Session], action: str | None = None) -> list[AuditEntry]:
    with transaction(sessions) as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def reload(sessions: sessionmaker[Session], username: str) -> User:
    with transaction(sessions) as session:
        user = get_user(session, username)
        user.marking  # noqa: B018 -- loaded now: a marking is loaded only when read, and the session closes here
        return user


@contextlib.contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn in a thread on a free port (real HTTP, real concurrency); its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def at_once(count: int, action: Callable[[int], T]) -> list[T]:
    """Run ``action(i)`` for ``i < count`` in as many threads, released together by a barrier."""
    barrier = threading.Barrier(count)

    def go(i: int) -> T:
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(go, range(count)))
