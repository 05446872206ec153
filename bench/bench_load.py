"""Benchmark ``setu serve`` under an open-loop load of a realistic mix, at rising rates, while sweeps run.

Run ``python bench/bench_load.py [--rates 50,100,200,400] [--duration 10] [--pg URL] [--checkout PATH]``.
It seeds the demo (network, accounts, runs; plus the generated 1,700-node network for the sweeps) into
a temporary SQLite file, and into a throwaway PostgreSQL database with ``--pg`` or ``SETU_BENCH_PG``;
starts ``setu serve`` (its own process tree: web processes and a run worker) and sends requests at a
fixed rate, whatever the answers' speed (open loop: a slow answer does not slow the sender, and
latency counts from when the request was due). Each rate's phase starts a full sweep of the
1,700-node network first, so runs compete with the requests. After the last phase it times
``/health`` at once. Then, one operation at a time at a modest rate, it reads the server processes'
CPU time from ``/proc`` and prints CPU per request per operation.

``--checkout PATH`` serves (and seeds) with the code of another checkout, e.g. a worktree of an older
commit, for a before/after comparison in one run (older ``setu serve`` has no ``--workers``: it gets
only ``--port`` and ``--database-url``). The load generator shares the machine's CPUs with the server:
its own CPU time is printed too. Writes ``bench/results/load.json``. Figures only: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_web import free_port, machine, postgres_database, sqlite_database  # noqa: E402

ANALYST = "in.analyst"
SEED = """
import json, sys
sys.path.insert(0, {bench!r})
import bench_web
from sqlalchemy import select
from setu.db import make_engine, session_factory, transaction
from setu.network.generate import three_tier
from setu.networks.imports import import_network
from setu.accounts.login import principal_of
from setu.accounts.lookups import get_user
from setu.sharing.markings import MarkingSpec
engine = make_engine({url!r})
demo = bench_web.seed(engine)
factory = session_factory(engine)
with transaction(factory) as session:
    analyst = principal_of(get_user(session, {analyst!r}))
    shared = MarkingSpec(1, "IN", frozenset({{"IN", "US"}}))
    large = import_network(session, analyst, three_tier(200, 500, 1000, seed=777), name="large",
                           format="accelerator", source="generated", marking=shared)
    large_id = large.id
print(json.dumps({{**demo.__dict__, "large_id": large_id}}))
"""


def seed(url: str, python: str, environment: dict[str, str]) -> dict[str, Any]:
    """Seed the demo and the 1,700-node network with the served code; what the mix needs."""
    script = SEED.format(bench=str(HERE), url=url, analyst=ANALYST)
    done = subprocess.run([python, "-c", script], env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@contextlib.contextmanager
def served(url: str, python: str, environment: dict[str, str], new: bool, workers: int) -> Iterator[tuple[str, int]]:
    """``setu serve`` on ``url`` in its own process group; its base URL and pid."""
    port = free_port()
    command = [python, "-m", "setu", "serve", "--port", str(port), "--database-url", url]
    if new:
        command += ["--workers", str(workers), "--run-workers", "1"]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.2)
    try:
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()  # the wedge the issue describes: SIGTERM was not enough
            server.wait()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        total += times.get(current, 0.0)
        stack.extend(children.get(current, []))
    return total


def database_cpu() -> float:
    """CPU seconds of every local PostgreSQL server process (the backends included), from /proc; 0 without one."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, rest = (entry / "stat").read_text().split(") ", 1)
        except (OSError, ValueError):
            continue
        if name.endswith("(postgres"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def operations(demo: dict[str, Any]) -> dict[str, tuple[str, str, int]]:
    """name -> (method, path, weight in the mix); ``cookie`` paths are pages, the rest the API."""
    nid = demo["network_id"]
    return {
        "dashboard": ("GET", "/", 15),
        "node search": ("GET", f"/api/v1/networks/{nid}/nodes?q=ASSY&limit=20", 25),
        "results": ("GET", f"/api/v1/runs/{demo['sweep_run']}/results?limit=50", 20),
        "map.json": ("GET", f"/networks/{nid}/map.json", 10),
        "request board": ("GET", "/sosa", 15),
        "run page": ("GET", f"/runs/{demo['library_run']}", 10),
        "new scenario": ("POST", "/api/v1/runs/scenarios", 5),
    }


class Client:
    """Signed-in HTTP: the API with a bearer token, pages with the session cookie.

    Requests go out through aiohttp's client. The generator shares the server's cores, so its own CPU
    time is printed with the figures.
    """

    def __init__(self, base: str, demo: dict[str, Any]) -> None:
        password = demo["passwords"][ANALYST]
        with httpx.Client(base_url=base, timeout=30) as client:
            login = client.post("/api/v1/accounts/login", json={"username": ANALYST, "password": password})
            login.raise_for_status()
            self.token = login.json()["token"]
            client.post("/accounts/login", data={"username": ANALYST, "password": password})
            cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        self.base, self.demo = base, demo
        self.api_headers = {"Authorization": f"Bearer {self.token}"}
        self.page_headers = {"Cookie": cookie}
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # made inside the running loop
            # Idle connections are dropped before the server's 5 s keep-alive ends: reusing one the server
            # is closing that very moment would count as a connection error the server did not cause.
            connector = aiohttp.TCPConnector(limit=2000, limit_per_host=2000, keepalive_timeout=3)
            self._session = aiohttp.ClientSession(
                self.base, connector=connector, timeout=aiohttp.ClientTimeout(total=10)
            )
        return self._session

    async def send(self, method: str, path: str) -> int:
        body = None
        if path.startswith("/api/"):
            headers = self.api_headers
            if method == "POST":
                node = random.choice(["T1_1", "T2_1", "T3_1"])
                body = {
                    "network_id": self.demo["large_id"],
                    "kind": "node",
                    "nodes": [node],
                    "ttr": 2,
                    "id": f"load-{random.getrandbits(48):x}",
                }
        else:
            headers = self.page_headers
        async with self.session.request(method, path, headers=headers, json=body) as answer:
            await answer.read()
            return answer.status

    async def get_json(self, path: str) -> tuple[int, Any]:
        async with self.session.get(path, headers=self.api_headers) as answer:
            return answer.status, await answer.json() if answer.status == 200 else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def phase(client: Client, mix: list[tuple[str, str, str]], rate: float, duration: float) -> dict[str, Any]:
    """Send ``rate`` requests a second for ``duration`` seconds; statuses and latencies from when each was due."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    seconds: dict[int, list[float]] = {}  # latencies (ok) per second of the phase, NaN for a refusal
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(due: float, method: str, path: str) -> None:
        try:
            status = str(await client.send(method, path))
        except TimeoutError:
            status = "timeout"
        except aiohttp.ClientError as error:
            status = f"connection error ({type(error).__name__})"
        statuses[status] += 1
        ok = status in ("200", "201")
        if ok:
            latencies.append(loop.time() - due)
        seconds.setdefault(int(due - start), []).append(loop.time() - due if ok else float("nan"))

    for index in range(int(rate * duration)):
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        _name, method, path = random.choice(mix)
        tasks.append(asyncio.create_task(one(due, method, path)))
    await asyncio.gather(*tasks)
    ms = np.array(latencies) * 1000 if latencies else np.array([float("nan")])
    sent = int(rate * duration)
    return {
        "rate": rate,
        "sent": sent,
        "ok": len(latencies),
        "statuses": dict(statuses),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "elapsed_s": loop.time() - start,
        "timeline": [_second(second, seconds[second]) for second in sorted(seconds)],
    }


def _second(second: int, latencies: list[float]) -> dict[str, Any]:
    """One second of a phase: requests due in it, those answered 200/201, and their slowest latency."""
    ms = np.array(latencies) * 1000
    answered = ms[~np.isnan(ms)]
    return {
        "second": second,
        "sent": len(ms),
        "ok": len(answered),
        "max_ms": float(answered.max()) if len(answered) else None,
    }


async def health_after(base: str) -> float:
    """Seconds until /health answers 200, right after a burst."""
    began = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while (await http.get("/api/v1/health")).status_code != 200:
            await asyncio.sleep(0.05)
    return time.monotonic() - began


def start_sweep(client: Client) -> int | None:
    """Start a full sweep of the 1,700-node network; None if the server does not take it (or answer) in 30 s."""
    try:
        answer = httpx.post(
            f"{client.base}/api/v1/runs",
            json={"network_id": client.demo["large_id"], "sweep": True, "ttr": 2},
            headers={"Authorization": f"Bearer {client.token}"},
            timeout=30,
        )
    except httpx.TransportError:
        print("  the server did not answer a run start within 30 s", flush=True)
        return None
    return int(answer.json()["id"]) if answer.status_code == 202 else None


async def wait_for_runs(client: Client, runs: list[int], timeout: float = 600) -> None:
    """Wait for the sweeps to end, so that the CPU per operation is the requests' alone."""
    deadline = time.monotonic() + timeout
    for run_id in runs:
        while time.monotonic() < deadline:
            status, run = await client.get_json(f"/api/v1/runs/{run_id}")
            if status == 200 and run["status"] in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.5)


def _shown(second: dict[str, Any]) -> str:
    slowest = "-" if second["max_ms"] is None else f"{second['max_ms']:.0f}"
    return f"{second['ok']}/{second['sent']} {slowest}"


async def bench_server(
    base: str, pid: int, demo: dict[str, Any], rates: list[float], duration: float, sweeps: bool = True
) -> dict[str, Any]:
    client = Client(base, demo)
    ops = operations(demo)
    mix = [(name, method, path) for name, (method, path, weight) in ops.items() for _ in range(weight)]
    phases = []
    for rate in rates:
        sweep = start_sweep(client) if sweeps else None
        cpu, database = tree_cpu(pid), database_cpu()
        result = await phase(client, mix, rate, duration)
        result["server_cpu_s"] = tree_cpu(pid) - cpu
        result["database_cpu_s"] = database_cpu() - database
        result["sweep_run"] = sweep
        phases.append(result)
        print(
            f"  {rate:>5.0f}/s: {result['ok']}/{result['sent']} ok, p50 {result['p50_ms']:.0f} ms, "
            f"p99 {result['p99_ms']:.0f} ms, {result['statuses']}",
            flush=True,
        )
        timeline = ", ".join(_shown(second) for second in result["timeline"])
        print(f"         per second (ok/sent, slowest ms): {timeline}", flush=True)
        if rate != rates[-1]:
            await asyncio.sleep(2)
    health_s = await health_after(base)
    print(f"  /health after the burst: {health_s * 1000:.0f} ms", flush=True)
    await wait_for_runs(client, [p["sweep_run"] for p in phases if p["sweep_run"]])
    per_op = {}
    for name, (method, path, _weight) in ops.items():
        cpu, database = tree_cpu(pid), database_cpu()
        result = await phase(client, [(name, method, path)], 20, 5)
        per_op[name] = {
            "cpu_ms_per_request": (tree_cpu(pid) - cpu) * 1000 / max(1, result["ok"]),
            "database_cpu_ms_per_request": (database_cpu() - database) * 1000 / max(1, result["ok"]),
            **result,
        }
        print(
            f"  {name:<14} {per_op[name]['cpu_ms_per_request']:7.1f} ms CPU/request "
            f"(+ {per_op[name]['database_cpu_ms_per_request']:.1f} ms the database server's), "
            f"p50 {result['p50_ms']:.0f} ms, {result['statuses']}",
            flush=True,
        )
    await client.close()
    return {"phases": phases, "health_after_burst_s": health_s, "per_operation": per_op}


def analyze(url: str) -> None:
    """Refresh the planner's statistics of every table of the PostgreSQL database at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    finally:
        engine.dispose()


def bench_backend(label: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    checkout = Path(args.checkout).resolve() if args.checkout else HERE.parent
    environment = {**os.environ, "PYTHONPATH": str(checkout / "src"), "SETU_COOKIE_SECURE": "0"}
    started = time.perf_counter()
    demo = seed(url, sys.executable, environment)
    if args.analyze and url.startswith("postgresql"):  # what autovacuum would do a minute later
        analyze(url)
    print(f"{label}: seeded in {time.perf_counter() - started:.0f} s ({checkout})", flush=True)
    rates = [float(r) for r in args.rates.split(",")]
    with served(url, sys.executable, environment, not args.checkout, args.workers) as (base, pid):
        result = asyncio.run(bench_server(base, pid, demo, rates, args.duration, not args.no_sweep))
    return {"backend": label, "checkout": str(checkout), **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="50,100,200,400", help="Requests per second of each phase.")
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds of each phase.")
    parser.add_argument("--workers", type=int, default=2, help="Web processes of setu serve.")
    parser.add_argument("--pg", default=os.environ.get("SETU_BENCH_PG"), help="PostgreSQL server URL.")
    parser.add_argument("--sqlite-only", action="store_true", help="Skip PostgreSQL.")
    parser.add_argument("--pg-only", action="store_true", help="Skip SQLite.")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE PostgreSQL's tables after seeding.")
    parser.add_argument("--no-sweep", action="store_true", help="Start no sweep with each phase (a baseline).")
    parser.add_argument("--checkout", help="Serve the code of this checkout (before/after).")
    parser.add_argument("--output", default=str(HERE / "results" / "load.json"))
    args = parser.parse_args(argv)
    generator = time.process_time()
    results = []
    if not args.pg_only:
        with sqlite_database() as url:
            results.append(bench_backend("sqlite", url, args))
    if args.pg and not args.sqlite_only:
        with postgres_database(args.pg) as url:
            results.append(bench_backend("postgresql", url, args))
    report = {"machine": machine(), "generator_cpu_s": time.process_time() - generator, "results": results}
    print(f"load generator CPU: {report['generator_cpu_s']:.0f} s")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
