"""Benchmark a signed-in user's requests while anonymous logins for unknown users hammer the server.

Run ``python bench/bench_logins.py [--attackers N] [--requests M] [--pg URL]``. It serves the app with
uvicorn in a thread (real HTTP) on a temporary SQLite database (or a throwaway PostgreSQL one with
``--pg`` or ``SETU_BENCH_PG``), with the production argon2 parameters (64 MiB, t=3, p=4). It times a
signed-in user's cheap ``GET /api/v1/accounts/me`` three times: idle (the baseline), while N threads
log in as random unknown users as fast as they can with the server's hash gate, and the same with the
gate opened wide (what the server did before it had one). The per-address throttle is turned off
here, so that the gate alone is measured (a real attacker spreads over many addresses). Prints p50 /
p95 per phase, the ratio to the baseline, and what the logins got; writes ``bench/results/logins.json``.
Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from setu.accounts.passwords import configure_hasher
from setu.accounts.users import create_user
from setu.db import create_schema, make_engine, session_factory, transaction
from setu.models import Organization, Party
from setu.settings import ApiSettings
from setu.sharing.markings import MarkingSpec, store

HERE = Path(__file__).resolve().parent
USER, PASSWORD = "in.analyst", "a long bench passphrase 2026"
ME = "/api/v1/accounts/me"
LOGIN = "/api/v1/accounts/login"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def database(pg: str) -> Iterator[Engine]:
    """An engine on an empty schema: a temporary SQLite file, or a throwaway PostgreSQL database.

    The schema comes from the models, as in the tests; ``setu serve`` leaves such a database as it is.
    """
    if not pg:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/bench.db")
            create_schema(engine)
            yield engine
            engine.dispose()
        return
    name = f"setu_bench_logins_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(pg).set(database=name).render_as_string(hide_password=False))
    try:
        create_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(engine: Engine) -> None:
    """One party, one ministry, one analyst."""
    with transaction(session_factory(engine)) as session:
        public = store(session, MarkingSpec(0, "IN", frozenset({"IN"})))
        session.add(Party(code="IN", name="India"))
        session.flush()
        session.add(Organization(id=1, party_code="IN", name="Ministry of Defence", kind="ministry", marking=public))
        session.flush()
        create_user(session, USER, PASSWORD, party="IN", organization=1, clearance=2, roles=["analyst"])


@contextlib.contextmanager
def serve(url: str, env: dict[str, str]) -> Iterator[str]:
    """``setu serve`` in a process of its own (its own GIL, as in production) on a free port; its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "setu", "serve", "--port", str(port), "--database-url", url]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                        break
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"the server did not start: {log.read().decode()}")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(30)


def attack(url: str, threads: int, stop: Any, results: Any) -> None:
    """In a process of its own: ``threads`` threads logging in as new unknown users until ``stop``."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def loop() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while not stop.is_set():
                name = "ghost-" + secrets.token_hex(6)  # a new name each time: no lockout helps
                try:
                    status = str(client.post(LOGIN, json={"username": name, "password": "some guess 123"}).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                with lock:
                    outcomes[status] += 1

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
    results.put(dict(outcomes))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_gets(url: str, token: str, count: int) -> tuple[list[float], Counter[int]]:
    """Seconds each of ``count`` sequential signed-in GETs took, and their statuses (a stalled server
    answers 503 when the database stays locked past its busy timeout)."""
    times, statuses = [], Counter[int]()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        client.get(ME)  # warm the connection
        for _ in range(count):
            start = time.perf_counter()
            answer = client.get(ME)
            times.append(time.perf_counter() - start)
            statuses[answer.status_code] += 1
    return times, statuses


def phase(url: str, token: str, attackers: int, requests: int) -> dict[str, Any]:
    """Time ``requests`` GETs while ``attackers`` threads (another process) log in as unknown users."""
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    flood = multiprocessing.Process(target=attack, args=(url, attackers, stop, results)) if attackers else None
    if flood is not None:
        flood.daemon = True  # never outlives the benchmark
        flood.start()
        time.sleep(3.0)  # let the flood build up
    started = time.perf_counter()
    try:
        times, statuses = time_gets(url, token, requests)
    finally:
        stop.set()
    elapsed = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    if flood is not None:
        outcomes = results.get(timeout=300)
        flood.join(60)
    return {
        "p50_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * percentile(times, 0.95),
        "max_ms": 1000 * max(times),
        "get_statuses": dict(sorted(statuses.items())),
        "logins": dict(sorted(outcomes.items())),
        "login_rate_per_s": sum(outcomes.values()) / max(elapsed, 1e-9),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attackers", type=int, default=40, help="threads logging in as unknown users (40)")
    parser.add_argument("--requests", type=int, default=100, help="timed GETs per phase (100)")
    parser.add_argument("--pg", default=os.environ.get("SETU_BENCH_PG", ""), help="PostgreSQL server URL")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "logins.json")
    args = parser.parse_args(argv)
    configure_hasher()  # the production parameters (the server's too): what 64 MiB argon2 runs cost
    gated = ApiSettings()
    common = {"SETU_COOKIE_SECURE": "0", "SETU_LOGIN_SOURCE_MAX_FAILURES": str(10**9)}
    open_gate = {"SETU_MAX_CONCURRENT_HASHES": "10000", "SETU_HASH_QUEUE": "10000", "SETU_HASH_WAIT_SECONDS": "600"}
    results: dict[str, Any] = {
        "database": "postgresql" if args.pg else "sqlite",
        "attackers": args.attackers,
        "requests": args.requests,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "gate": {"slots": gated.max_concurrent_hashes, "queue": gated.hash_queue, "wait_s": gated.hash_wait_seconds},
    }
    with database(args.pg) as engine:
        seed(engine)
        url = engine.url.render_as_string(hide_password=False)
        for name, env, attackers in (
            ("idle", common, 0),
            ("flood, hash gate", common, args.attackers),
            ("flood, no gate", {**common, **open_gate}, args.attackers),
        ):
            with serve(url, env) as base_url:
                login = httpx.post(base_url + LOGIN, json={"username": USER, "password": PASSWORD}, timeout=120)
                login.raise_for_status()
                results[name] = phase(base_url, login.json()["token"], attackers, args.requests)
    base = results["idle"]["p50_ms"]
    where = f"{results['database']}, {os.cpu_count()} CPUs"
    print(f"GET {ME} as a signed-in user, {args.requests} requests per phase, {where}")
    print(f"{'phase':<18} {'p50 ms':>8} {'p95 ms':>8} {'p50 ratio':>10}  GET statuses; logins (status: count), rate")
    for name in ("idle", "flood, hash gate", "flood, no gate"):
        row = results[name]
        row["p50_ratio"] = row["p50_ms"] / base
        print(
            f"{name:<18} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['p50_ratio']:10.1f}  "
            f"{row['get_statuses']}; {row['logins']}, {row['login_rate_per_s']:.0f}/s"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
