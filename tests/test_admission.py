"""A server process under more load than it takes refuses the excess at once and recovers by itself.

Real HTTP: the app is served by uvicorn in a thread of the test, on a port of its own; clients are
raw sockets (a client that stops sending its body) and httpx.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, add_users, seed
from setu.admission import InFlightLimit
from setu.api import create_app
from setu.db import make_engine, transaction
from setu.settings import ApiSettings

Factory = sessionmaker[Session]
Sender = Callable[[dict[str, object]], Awaitable[None]]


@contextmanager
def serving(engine: Engine, settings: ApiSettings, app: FastAPI | None = None) -> Iterator[str]:
    """The app on ``engine`` (or ``app``) served over HTTP on a free loopback port; its base URL."""
    app = app if app is not None else create_app(engine, settings=settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def in_flight_limit(app: FastAPI) -> InFlightLimit:
    """The admission gate of a started app (the outermost layers of its middleware stack)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, InFlightLimit):
        layer = layer.app
    return layer


def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there in time"
        time.sleep(0.005)


@pytest.fixture
def tokens(sessions: Factory) -> dict[str, str]:
    with transaction(sessions) as session:
        seed(session)
    return add_users(sessions)[0]


def stalled_upload(base: str, path: str = "/api/v1/runs/scenarios") -> socket.socket:
    """A client that announces a 100-byte body and sends 10 bytes of it: its request stays in flight."""
    host, port = base.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)))
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    client.sendall(head.encode() + b'{"username')
    return client


def answer_of(client: socket.socket, timeout: float = 10.0) -> bytes:
    client.settimeout(timeout)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = client.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def test_requests_beyond_the_limit_are_refused_at_once_and_a_stalled_body_is_answered_408(
    engine: Engine, tokens: dict[str, str]
) -> None:
    settings = replace(TEST_SETTINGS, max_in_flight=2, admission_queue=0, read_timeout=1.5, run_workers=0)
    with serving(engine, settings) as base:
        stalled = [stalled_upload(base), stalled_upload(base)]  # the two places in flight, held
        time.sleep(0.3)
        auth = {"Authorization": f"Bearer {tokens['in-analyst']}"}
        began = time.monotonic()
        refused = httpx.get(f"{base}/api/v1/networks", headers=auth, timeout=10)
        assert refused.status_code == 503, refused.text
        assert time.monotonic() - began < 1.0  # refused, not queued
        assert refused.headers["retry-after"] == "1"
        assert "as many requests as it takes (2)" in refused.json()["detail"]
        assert httpx.get(f"{base}/api/v1/health", timeout=5).status_code == 200  # exempt: the operator's check
        # The stalled clients are answered 408 once they have sent nothing for the read timeout ...
        for client in stalled:
            head = answer_of(client)
            assert head.startswith(b"HTTP/1.1 408"), head
            client.close()
        # ... which frees their places.
        assert httpx.get(f"{base}/api/v1/networks", headers=auth, timeout=10).status_code == 200
        # Sign-ins have their own gate: stalled ones take no place from signed-in users.
        logins = [stalled_upload(base, "/api/v1/accounts/login") for _ in range(3)]
        time.sleep(0.3)
        assert httpx.get(f"{base}/api/v1/networks", headers=auth, timeout=10).status_code == 200
        for client in logins:
            assert answer_of(client).startswith(b"HTTP/1.1 408")
            client.close()


def test_a_request_waits_a_moment_for_a_place_but_the_queue_and_the_wait_are_bounded(
    engine: Engine, tokens: dict[str, str]
) -> None:
    settings = replace(
        TEST_SETTINGS, max_in_flight=1, admission_queue=1, admission_wait=5.0, read_timeout=3.0, run_workers=0
    )
    auth = {"Authorization": f"Bearer {tokens['in-analyst']}"}
    app = create_app(engine, settings=settings)
    with serving(engine, settings, app) as base, ThreadPoolExecutor(1) as pool:
        limit = in_flight_limit(app)
        began = time.monotonic()
        held = stalled_upload(base)  # the one place, until its body times out (408 after 3 s)
        until(lambda: limit.in_flight == 1)
        waiting = pool.submit(httpx.get, f"{base}/api/v1/networks", headers=auth, timeout=10)
        # Waited for, not slept on: on a busy machine the waiting request may take a while to arrive.
        until(lambda: len(limit._waiting) == 1)
        # The queue's one place is taken: the next request is refused at once, not queued.
        refused = httpx.get(f"{base}/api/v1/networks", headers=auth, timeout=10)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert time.monotonic() - began < 3.0  # refused before the stalled upload's place came free
        # The waiting one gets the place the stalled upload frees, and is answered.
        assert waiting.result().status_code == 200
        assert time.monotonic() - began >= 2.9  # it waited for the stalled upload to time out
        assert answer_of(held).startswith(b"HTTP/1.1 408")
        held.close()

    settings = replace(settings, admission_wait=0.3)
    with serving(engine, settings) as base:
        held = stalled_upload(base)
        time.sleep(0.3)
        began = time.monotonic()
        # No place frees within the wait: refused when it is over, and the place count stays whole.
        late = httpx.get(f"{base}/api/v1/networks", headers=auth, timeout=10)
        assert late.status_code == 503, late.text
        assert 0.25 <= time.monotonic() - began < 1.2
        assert answer_of(held).startswith(b"HTTP/1.1 408")
        held.close()
        assert httpx.get(f"{base}/api/v1/networks", headers=auth, timeout=10).status_code == 200
        assert httpx.get(f"{base}/api/v1/networks", headers=auth, timeout=10).status_code == 200


@given(
    limit=st.integers(1, 4),
    queue=st.integers(0, 6),
    durations=st.lists(st.sampled_from([0.0, 0.001, 0.005, 0.02]), min_size=1, max_size=24),
    gone=st.sets(st.integers(0, 23), max_size=4),
)
@examples(max_examples=40, deadline=None)
def test_never_more_in_flight_than_the_limit_and_every_place_comes_back(
    limit: int, queue: int, durations: list[float], gone: set[int]
) -> None:
    """A burst of requests, some of whose clients go away while they wait: the places always add up."""
    running = 0
    most = 0

    async def app(scope: dict[str, object], receive: object, send: Sender) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await anyio.sleep(float(scope["duration"]))  # type: ignore[arg-type]
        finally:
            running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})

    limited = InFlightLimit(app, limit=limit, queue=queue, wait=0.01)
    statuses: list[int] = []

    async def request(number: int, duration: float) -> None:
        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))  # type: ignore[call-overload]

        scope = {"type": "http", "path": "/api/v1/networks", "duration": duration}
        with anyio.move_on_after(0.002 if number in gone else 10):  # some clients hang up early
            await limited(scope, None, send)

    async def burst() -> None:
        async with anyio.create_task_group() as group:
            for number, duration in enumerate(durations):
                group.start_soon(request, number, duration)

    anyio.run(burst)
    assert most <= limit
    assert limited.in_flight == 0 and not limited._waiting
    assert set(statuses) <= {200, 503}
    assert statuses.count(503) == limited.refused


def test_a_burst_far_beyond_the_limit_gets_only_answers_and_refusals_and_health_stays_fast(
    engine: Engine, tokens: dict[str, str]
) -> None:
    settings = replace(TEST_SETTINGS, max_in_flight=4, run_workers=0)
    auth = {"Authorization": f"Bearer {tokens['us-analyst']}"}
    local = threading.local()

    def get(path: str) -> int:
        if not hasattr(local, "client"):  # one connection per client thread, kept alive
            local.client = httpx.Client(base_url=base, timeout=30)
        return int(local.client.get(path, headers=auth).status_code)

    with serving(engine, settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        with ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(lambda _: get("/api/v1/networks"), range(400)))
        assert set(statuses) <= {200, 503}, sorted(set(statuses))
        assert statuses.count(200) >= 4
        began = time.monotonic()
        assert client.get("/api/v1/health").status_code == 200
        assert time.monotonic() - began < 1.0
        assert client.get("/api/v1/networks", headers=auth).status_code == 200


def test_no_free_database_connection_is_answered_503_not_500(tmp_path: object, engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    tiny = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    try:
        with serving(tiny, replace(TEST_SETTINGS, run_workers=0)) as base:
            held = tiny.connect()  # the pool's only connection
            try:
                answer = httpx.get(f"{base}/api/v1/health", timeout=10)
            finally:
                held.close()
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "2" and "database is busy or unavailable" in answer.text
            assert httpx.get(f"{base}/api/v1/health", timeout=10).status_code == 200
    finally:
        tiny.dispose()


def terminate_backends(engine: Engine) -> int:
    """Kill every other connection to the app's PostgreSQL database, as a failover or an operator would."""
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": engine.url.database},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(killed)


def test_connections_terminated_under_load_give_503_and_the_service_recovers_without_restart(
    engine: Engine, tokens: dict[str, str]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("terminating server connections is a PostgreSQL operation")
    url = engine.url.render_as_string(hide_password=False)
    served = make_engine(url, pool_size=12, max_overflow=0, pool_timeout=5)
    auth = {"Authorization": f"Bearer {tokens['in-analyst']}"}
    statuses: list[int] = []
    stop = threading.Event()
    try:
        with serving(served, replace(TEST_SETTINGS, max_in_flight=8, run_workers=0)) as base:

            def hammer() -> None:
                with httpx.Client(base_url=base, timeout=30) as own:
                    while not stop.is_set():
                        statuses.append(own.get("/api/v1/networks", headers=auth).status_code)

            with httpx.Client(base_url=base, timeout=30) as client:
                threads = [threading.Thread(target=hammer) for _ in range(6)]
                for thread in threads:
                    thread.start()
                time.sleep(0.5)
                killed = sum(terminate_backends(served) for _ in range(3) if not time.sleep(0.3))
                time.sleep(0.5)
                stop.set()
                for thread in threads:
                    thread.join(30)
                assert killed > 0
                assert statuses and set(statuses) <= {200, 503}, sorted(set(statuses))
                # Recovered: every request answers again, with no restart.
                after = [client.get("/api/v1/networks", headers=auth).status_code for _ in range(20)]
                assert after == [200] * 20
    finally:
        served.dispose()
