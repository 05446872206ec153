"""Benchmark the CPU one request costs, per operation of a realistic mix, on the seeded demo.

Run ``python bench/bench_request_cost.py [--repeat N] [--quick] [--pg URL] [--baseline JSON]``. It
seeds the whole demo (``seed_whole_demo``) into a temporary SQLite file, and into a throwaway
database on a PostgreSQL server when ``--pg``/``SETU_BENCH_PG`` gives one or one answers on
127.0.0.1:5432; signs in as the demo's users through the API; and sends each operation in-process
(starlette's ``TestClient``), measuring ``time.process_time()`` around every request: the CPU of the
whole process, the app's threads included. Every operation is sent twice to warm up, then ``--repeat``
times; the table gives the median CPU and wall time. ``--baseline`` prints the ratio to an earlier
run's medians (``before / now``). ``--profile NAME`` prints a cProfile of one operation instead.

Runs are started with no run worker in the app (``run_workers=0``), so "start a run" measures the
admission and the queued run's view, not the run itself; each queued run is cancelled after it is timed.
Writes ``bench/results/request_cost.json``. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import itertools
import json
import os
import pstats
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, select

# The app must not issue audit checkpoints from a thread while requests are timed; keys in a throwaway folder.
os.environ.setdefault("SETU_CHECKPOINT_AUTO", "0")
os.environ.setdefault("SETU_KEY_DIR", tempfile.mkdtemp(prefix="setu-bench-keys-"))

from bench_web import machine, postgres_database, sqlite_database
from setu.api import create_app
from setu.db import make_engine, prepare, session_factory
from setu.demo.seed import DEMO_NETWORK, seed_whole_demo
from setu.models.accounts import User
from setu.models.framework import ActionItem
from setu.models.networks import NetworkRecord
from setu.models.sosa import PriorityRequest
from setu.models.stress import RunRecord, ScenarioRecord
from setu.settings import ApiSettings

HERE = Path(__file__).resolve().parent
ANALYST, IN_DESK, US_DESK = "in.analyst", "in.desk", "us.desk"
console = Console(width=None if sys.stdout.isatty() else 160)


@dataclass
class Demo:
    """Ids the operations use, found in the seeded demo (operator reads, not a user's)."""

    network_id: int
    library_run: int
    scenario_id: int
    action_id: int
    escalated_request: int


def seed(engine: Engine) -> tuple[Demo, dict[str, str]]:
    """Seed the whole demo; the ids the operations need and every user's password."""
    prepare(engine)
    factory = session_factory(engine)
    users = {u.username: u.password for u in seed_whole_demo(factory)}
    with factory() as session:
        analyst = session.scalar(select(User.id).where(User.username == ANALYST))
        network_id = session.scalar(
            select(NetworkRecord.id).where(NetworkRecord.name == DEMO_NETWORK).order_by(NetworkRecord.version.desc())
        )
        library = session.scalar(
            select(RunRecord.id)
            .where(RunRecord.created_by == analyst, RunRecord.status == "completed")
            .order_by(RunRecord.id)  # the library, then the sweep
        )
        scenario = session.scalar(
            select(ScenarioRecord.id).where(ScenarioRecord.created_by == analyst).order_by(ScenarioRecord.id)
        )
        action = session.scalar(select(ActionItem.id).order_by(ActionItem.id))
        escalated = session.scalar(select(PriorityRequest.id).where(PriorityRequest.state == "ESCALATED"))
    found = (network_id, library, scenario, action, escalated)
    assert all(value is not None for value in found), f"the demo lacks something the benchmark needs: {found}"
    return Demo(*found), users  # type: ignore[arg-type]


class Session:
    """One signed-in user: a client holding their session cookie, and their API token."""

    def __init__(self, app: Any, username: str, password: str) -> None:
        self.client = TestClient(app, base_url="http://testserver")
        self.client.__enter__()
        answer = self.client.post("/api/v1/accounts/login", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        self.bearer = {"Authorization": f"Bearer {answer.json()['token']}"}

    def api(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, headers=self.bearer, **kwargs)

    def page(self, url: str) -> httpx.Response:
        return self.client.get(url, follow_redirects=False)


Operation = Callable[[], httpx.Response]


def operations(app: Any, demo: Demo, users: dict[str, Session]) -> dict[str, tuple[Operation, Callable[[], None]]]:
    """(request, what to do after it, untimed) per operation name, in the order they are timed."""
    analyst, in_desk, us_desk = users[ANALYST], users[IN_DESK], users[US_DESK]
    nid = demo.network_id
    action_version = [in_desk.api("GET", f"/api/v1/framework/actions/{demo.action_id}").json()["version"]]
    notes = itertools.cycle(["bench note one", "bench note two"])
    request_version = [in_desk.api("GET", f"/api/v1/sosa/{demo.escalated_request}").json()["version"]]
    turns = itertools.cycle([(us_desk, "resolve", {}), (in_desk, "escalate", {"reason": "bench: still waiting"})])
    started: list[int] = []

    def patch_action() -> httpx.Response:
        body = {"version": action_version[0], "notes": next(notes)}
        answer = in_desk.api("PATCH", f"/api/v1/framework/actions/{demo.action_id}", json=body)
        if answer.status_code == 200:
            action_version[0] = answer.json()["version"]
        return answer

    def transition() -> httpx.Response:
        user, action, fields = next(turns)
        body = {"action": action, "fields": fields, "version": request_version[0]}
        answer = user.api("POST", f"/api/v1/sosa/{demo.escalated_request}/transitions", json=body)
        if answer.status_code == 200:
            request_version[0] = answer.json()["version"]
        return answer

    def start_run() -> httpx.Response:
        answer = analyst.api("POST", "/api/v1/runs", json={"network_id": nid, "scenario_ids": [demo.scenario_id]})
        if answer.status_code == 202:
            started.append(answer.json()["id"])
        return answer

    def cancel_started() -> None:
        while started:
            analyst.api("POST", f"/api/v1/runs/{started.pop()}/cancel")

    def nothing() -> None:
        return None

    def get(user: Session, url: str, page: bool = False) -> Operation:
        return (lambda: user.page(url)) if page else (lambda: user.api("GET", url))

    return {
        "me (API, auth only)": (get(analyst, "/api/v1/accounts/me"), nothing),
        "dashboard page": (get(analyst, "/", page=True), nothing),
        "node search (API)": (get(analyst, f"/api/v1/networks/{nid}/nodes?q=CN&limit=25"), nothing),
        "node search (page)": (get(analyst, f"/networks/{nid}?q=CN", page=True), nothing),
        "run results (API)": (get(analyst, f"/api/v1/runs/{demo.library_run}/results?limit=100"), nothing),
        "map JSON": (get(analyst, f"/networks/{nid}/map.json", page=True), nothing),
        "run page": (get(analyst, f"/runs/{demo.library_run}", page=True), nothing),
        "SoSA board page": (get(in_desk, "/sosa", page=True), nothing),
        "write: framework action": (patch_action, nothing),
        "write: request transition": (transition, nothing),
        "write: start a run": (start_run, cancel_started),
    }


class Statements:
    """SQL statements the app sends on behalf of requests (not its background threads'), counted on the engine."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        if not threading.current_thread().name.startswith("setu-"):  # the sequencer, the checkpoint thread
            self.count += 1


STATEMENTS: Statements | None = None


def measure(operation: Operation, after: Callable[[], None], repeat: int) -> dict[str, Any]:
    """CPU and wall seconds and SQL statements of each of ``repeat`` requests after two untimed ones."""
    cpu: list[float] = []
    wall: list[float] = []
    statements: list[int] = []
    status = 0
    for attempt in range(repeat + 2):
        sent = STATEMENTS.count if STATEMENTS else 0
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        answer = operation()
        spent_cpu, spent_wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
        statements.append((STATEMENTS.count if STATEMENTS else 0) - sent)
        after()
        status = answer.status_code
        assert status < 400, f"{answer.request.method} {answer.request.url}: {status} {answer.text[:300]}"
        if attempt >= 2:
            cpu.append(spent_cpu)
            wall.append(spent_wall)
    return {
        "status": status,
        "cpu_ms": statistics.median(cpu) * 1e3,
        "cpu_p90_ms": sorted(cpu)[int(0.9 * (len(cpu) - 1))] * 1e3,
        "wall_ms": statistics.median(wall) * 1e3,
        "statements": statistics.median(statements[2:]),
        "repeat": repeat,
    }


def profiled(operation: Operation, after: Callable[[], None], repeat: int) -> dict[str, Any]:
    """:func:`measure` under a profiler of every thread (the app answers in its own threads).

    yappi (CPU clock, all threads) when installed, else cProfile of this thread alone, which sees
    only the test client's side.
    """
    measure(operation, after, 1)
    try:
        import yappi  # type: ignore[import-not-found]
    except ImportError:
        profiler = cProfile.Profile()
        profiler.enable()
        figures = measure(operation, after, repeat)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(45)
        return figures
    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)
    figures = measure(operation, after, repeat)
    yappi.stop()
    stats = yappi.get_func_stats(filter_callback=lambda f: "/setu/" in f.module or "sqlalchemy" in f.module)
    stats.sort("ttot").print_all(
        columns={0: ("name", 110), 1: ("ncall", 10), 2: ("tsub", 8), 3: ("ttot", 8), 4: ("tavg", 8)}, out=sys.stdout
    )
    yappi.clear_stats()
    return figures


@contextlib.contextmanager
def app_on(engine: Engine) -> Iterator[Any]:
    """The app, started (lifespan) with no run worker, so that a started run waits to be cancelled."""
    settings = ApiSettings(secure_cookies=False, run_workers=0, run_queue=10_000, max_active_runs=10_000)
    app = create_app(engine, settings=settings)
    with TestClient(app):
        yield app


def bench_backend(label: str, url: str, repeat: int, profile: str) -> dict[str, Any]:
    """Seed, sign in and time every operation on one database."""
    global STATEMENTS
    engine = make_engine(url)
    STATEMENTS = Statements(engine)
    try:
        start = time.perf_counter()
        demo, passwords = seed(engine)
        console.log(f"[{label}] demo seeded in {time.perf_counter() - start:.1f} s; timing {repeat} requests each")
        with app_on(engine) as app:
            users = {name: Session(app, name, passwords[name]) for name in (ANALYST, IN_DESK, US_DESK)}
            figures: dict[str, Any] = {}
            for name, (operation, after) in operations(app, demo, users).items():
                if profile and profile != name:
                    continue
                if profile:
                    figures[name] = profiled(operation, after, repeat)
                    continue
                figures[name] = measure(operation, after, repeat if not name.startswith("write") else max(1, repeat))
                row = figures[name]
                console.log(f"[{label}] {name}: {row['cpu_ms']:.1f} ms CPU, {row['statements']:g} statements")
            for session in users.values():
                session.client.__exit__(None, None, None)
    finally:
        engine.dispose()
    return {"database": label, "operations": figures}


def postgres_reachable(url: str) -> bool:
    if url:
        return True
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
        return True
    return False


def print_backend(result: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    table = Table(title=f"CPU per request on the demo, {result['database']} (ms)", title_justify="left")
    columns = ["operation", "status", "CPU median", "CPU p90", "wall median", "statements"]
    if baseline is not None:
        columns += ["CPU before", "before / now"]
    for column in columns:
        table.add_column(column, justify="left" if column == "operation" else "right")
    for name, row in result["operations"].items():
        cells = [name, str(row["status"]), f"{row['cpu_ms']:.1f}", f"{row['cpu_p90_ms']:.1f}", f"{row['wall_ms']:.1f}"]
        cells.append(f"{row['statements']:g}" if "statements" in row else "-")
        if baseline is not None:
            old = baseline.get(name)
            cells += [f"{old['cpu_ms']:.1f}", f"{old['cpu_ms'] / row['cpu_ms']:.1f}x"] if old else ["-", "-"]
        table.add_row(*cells)
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per operation (default 20)")
    parser.add_argument("--quick", action="store_true", help="5 requests per operation, SQLite only")
    parser.add_argument("--pg", default=os.environ.get("SETU_BENCH_PG", ""), help="a PostgreSQL server URL")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only, even if PostgreSQL answers")
    parser.add_argument("--pg-only", action="store_true", help="PostgreSQL only")
    parser.add_argument("--baseline", type=Path, help="an earlier run's JSON: print before / now per operation")
    parser.add_argument("--profile", default="", help="print a cProfile of this one operation (SQLite)")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "request_cost.json")
    args = parser.parse_args(argv)
    repeat = 5 if args.quick else max(1, args.repeat)
    pg_url = args.pg or "postgresql://postgres@127.0.0.1:5432/postgres"
    use_pg = args.pg_only or (not (args.quick or args.no_pg or args.profile) and postgres_reachable(args.pg))

    info = machine()
    console.print(
        f"machine: {info['cpu']}, {info['cores']} cores, load {info['load_average_1_5_15']}, "
        f"commit {info['setu_commit']}"
    )
    backends = []
    if not args.pg_only:
        with sqlite_database() as url:
            backends.append(bench_backend("sqlite", url, repeat, args.profile))
    if use_pg:
        with postgres_database(pg_url) as url:
            backends.append(bench_backend("postgresql", url, repeat, args.profile))
    if args.profile:
        return 0
    before = json.loads(args.baseline.read_text()) if args.baseline else None
    for result in backends:
        old = next((b for b in before["backends"] if b["database"] == result["database"]), None) if before else None
        print_backend(result, old["operations"] if old else ({} if before else None))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    results = {"machine": info, "repeat": repeat, "backends": backends}
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print(f"figures written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
