"""Benchmark the dashboard and the map on a network of the largest allowed size against a small one.

Run ``python bench/bench_large_network.py [--nodes N] [--repeat N] [--pg URL] [--no-unbounded]``. It
seeds the demo accounts into a temporary SQLite database (and a throwaway PostgreSQL database with
``--pg``), imports a small generated network (about 500 nodes) and times the dashboard, the map page,
map.json and the node table over real HTTP as in.analyst: the baseline. It then imports a generated
network of ``--nodes`` nodes (default: ``SETU_MAX_NODES``, the largest an upload may have) and times
the same pages on it (on PostgreSQL after ``ANALYZE``, as autovacuum leaves a table after a bulk
import), with the shipped limits (``SETU_MAP_NODES``, ``SETU_DASHBOARD_NODES``) and, unless
``--no-unbounded``, once more with the limits lifted (the whole graph, as before the limits). Prints
time and size per page and the ratio to the small network's, and writes
``bench/results/large_network.json``. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench_web import free_port, machine, make_engine_url, postgres_database, sign_in, sqlite_database
from setu.accounts.login import principal_of
from setu.accounts.lookups import get_user
from setu.api import create_app
from setu.db import make_engine, prepare, session_factory
from setu.demo.seed import BOTH, seed_demo
from setu.network.generate import three_tier
from setu.networks import import_network
from setu.settings import ApiSettings
from setu.sharing.markings import LEVEL_OF, MarkingSpec

HERE = Path(__file__).resolve().parent
ANALYST = "in.analyst"
SHARED = MarkingSpec(LEVEL_OF["UNCLASSIFIED"], "IN", BOTH)
UNBOUNDED = 10**9

console = Console(width=None if sys.stdout.isatty() else 160)


def shape(nodes: int) -> tuple[int, int, int]:
    """(products, suppliers, sub-suppliers) of a three-tier network of ``nodes`` nodes: 1% / 33% / the rest."""
    products = max(1, nodes // 100)
    suppliers = max(1, nodes // 3)
    return products, suppliers, max(0, nodes - products - suppliers)


def add_network(engine: Engine, nodes: int, name: str) -> tuple[int, float]:
    """Generate a three-tier network of ``nodes`` nodes and import it as in.analyst; its id and import seconds."""
    network = three_tier(*shape(nodes), seed=7)
    factory = session_factory(engine)
    start = time.perf_counter()
    with factory() as session, session.begin():
        principal = principal_of(get_user(session, ANALYST))
        stored = import_network(
            session, principal, network, name=name, format="generated", source=network.name, marking=SHARED
        )
        network_id = stored.id
    seconds = time.perf_counter() - start
    if engine.dialect.name == "postgresql":
        # The planner's statistics as autovacuum would leave them some time after a bulk import.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return network_id, seconds


@contextlib.contextmanager
def serve(engine: Engine, settings: ApiSettings) -> Iterator[str]:
    """The app under uvicorn in a thread on a free port, with ``settings``; its base URL."""
    port = free_port()
    app = create_app(engine, settings=settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def time_page(client: httpx.Client, path: str, repeat: int) -> dict[str, Any]:
    """One warm-up load of ``path``, then ``repeat`` timed ones: status, bytes, median and max."""
    start = time.perf_counter()
    first = client.get(path, follow_redirects=False)
    first_s = time.perf_counter() - start
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path, follow_redirects=False)
        seconds.append(time.perf_counter() - start)
    samples = np.array(seconds or [first_s])
    return {
        "path": path,
        "status": first.status_code,
        "bytes": len(first.content),
        "first_ms": first_s * 1e3,
        "median_ms": float(np.median(samples)) * 1e3,
        "max_ms": float(np.max(samples)) * 1e3,
    }


def time_pages(base: str, password: str, network_id: int, repeat: int) -> dict[str, dict[str, Any]]:
    """The dashboard, the map page and map.json of ``network_id``, and its node table."""
    paths = {
        "dashboard": "/",
        "map.json": f"/networks/{network_id}/map.json",
        "map": f"/networks/{network_id}/map",
        "node table": f"/networks/{network_id}",
    }
    with httpx.Client(base_url=base, timeout=600) as client:
        sign_in(client, ANALYST, password)
        figures = {}
        for name, path in paths.items():
            figures[name] = time_page(client, path, repeat)
            console.log(f"{name}: {figures[name]['status']}, median {figures[name]['median_ms']:.1f} ms")
    return figures


def bench_backend(label: str, url: str, nodes: int, repeat: int, unbounded: bool) -> dict[str, Any]:
    """Seed, import the small then the large network, and time the pages after each."""
    engine = make_engine(url)
    settings = ApiSettings(secure_cookies=False)
    try:
        prepare(engine)
        users = seed_demo(session_factory(engine))
        password = next(u.password for u in users if u.username == ANALYST)
        small_id, small_s = add_network(engine, 500, "bench small")
        console.log(f"[{label}] small network imported in {small_s:.1f} s; timing ...")
        with serve(engine, settings) as base:
            small = time_pages(base, password, small_id, repeat)
        console.log(f"[{label}] importing the {nodes:,}-node network ...")
        large_id, large_s = add_network(engine, nodes, "bench large")
        console.log(f"[{label}] imported in {large_s:.1f} s; timing with the limits ...")
        with serve(engine, settings) as base:
            large = time_pages(base, password, large_id, repeat)
        before: dict[str, dict[str, Any]] = {}
        if unbounded:
            console.log(f"[{label}] timing with the limits lifted (the whole graph, once) ...")
            lifted = replace(settings, map_nodes=UNBOUNDED, dashboard_nodes=UNBOUNDED)
            with serve(engine, lifted) as base:
                before = time_pages(base, password, large_id, 0)
    finally:
        engine.dispose()
    return {
        "database": label,
        "nodes": nodes,
        "import_s": {"small": small_s, "large": large_s},
        "limits": {"map_nodes": settings.map_nodes, "dashboard_nodes": settings.dashboard_nodes},
        "small": small,
        "large": large,
        "unbounded": before,
    }


def print_backend(result: dict[str, Any]) -> None:
    table = Table(title=f"{result['database']}: {result['nodes']:,}-node network vs a 500-node one")
    for column in ("page", "small ms", "small KB", "large ms", "large KB", "ratio", "unbounded ms", "unbounded KB"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for page, small in result["small"].items():
        large = result["large"][page]
        before = result["unbounded"].get(page)
        table.add_row(
            page,
            f"{small['median_ms']:.1f}",
            f"{small['bytes'] / 1024:.0f}",
            f"{large['median_ms']:.1f}",
            f"{large['bytes'] / 1024:.0f}",
            f"{large['median_ms'] / small['median_ms']:.2f}",
            f"{before['first_ms']:.0f}" if before else "-",
            f"{before['bytes'] / 1024:.0f}" if before else "-",
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=ApiSettings.from_env().max_nodes, help="the large network's size")
    parser.add_argument("--repeat", type=int, default=5, help="timed loads per page (default 5)")
    parser.add_argument("--pg", default=os.environ.get("SETU_BENCH_PG", ""), help="a PostgreSQL server URL")
    parser.add_argument("--no-unbounded", action="store_true", help="skip the run with the limits lifted")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "large_network.json")
    args = parser.parse_args(argv)
    results = []
    with sqlite_database() as url:
        results.append(bench_backend("SQLite", url, args.nodes, args.repeat, not args.no_unbounded))
    if args.pg:
        with postgres_database(args.pg) as url:
            results.append(
                bench_backend("PostgreSQL", make_engine_url(url), args.nodes, args.repeat, not args.no_unbounded)
            )
    for result in results:
        print_backend(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {"date": datetime.datetime.now(datetime.UTC).isoformat(), "machine": machine(), "results": results}
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    console.log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
