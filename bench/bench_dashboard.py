"""Benchmark the dashboard as networks are added: 1, 10 and 50 networks, each with its reference sweep.

Run ``python bench/bench_dashboard.py [--counts 1 10 50] [--nodes N] [--repeat N] [--pg URL]``. It seeds
the demo accounts into a temporary SQLite database (and a throwaway PostgreSQL database with ``--pg``),
then imports generated networks of ``--nodes`` nodes (default 300) as in.analyst, computes each one's
reference sweep, and after each count times the dashboard over real HTTP: the first load after the
new networks (its sections computed) and the median of warm loads (served from the figures cache).
Prints the times and the ratio to one network's, and writes ``bench/results/dashboard.json``. Figures
only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench_large_network import serve, shape, time_page
from bench_web import machine, make_engine_url, postgres_database, sign_in, sqlite_database
from setu.accounts.login import principal_of
from setu.accounts.lookups import get_user
from setu.db import make_engine, prepare, session_factory
from setu.demo.seed import BOTH, seed_demo
from setu.network.generate import three_tier
from setu.networks import import_network
from setu.runs.reference import start_reference_sweep
from setu.runs.service import execute_run
from setu.settings import ApiSettings
from setu.sharing.markings import LEVEL_OF, MarkingSpec

HERE = Path(__file__).resolve().parent
ANALYST = "in.analyst"
SHARED = MarkingSpec(LEVEL_OF["UNCLASSIFIED"], "IN", BOTH)

console = Console(width=None if sys.stdout.isatty() else 160)


def add_networks(url: str, start: int, stop: int, nodes: int) -> None:
    """Import networks ``start`` to ``stop - 1`` as in.analyst, each with its computed reference sweep."""
    engine = make_engine(url)
    factory = session_factory(engine)
    try:
        for index in range(start, stop):
            network = three_tier(*shape(nodes), seed=index)
            with factory() as session, session.begin():
                principal = principal_of(get_user(session, ANALYST))
                network_id = import_network(
                    session,
                    principal,
                    network,
                    name=f"bench {index:03d}",
                    format="generated",
                    source="",
                    marking=SHARED,
                ).id
                run_id = start_reference_sweep(session, principal, network_id).id
            execute_run(factory, run_id, principal)
    finally:
        engine.dispose()


def bench_backend(label: str, url: str, counts: list[int], nodes: int, repeat: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        prepare(engine)
        users = seed_demo(session_factory(engine))
        password = next(u.password for u in users if u.username == ANALYST)
    finally:
        engine.dispose()
    figures: dict[str, Any] = {}
    held = 0
    for count in counts:
        console.log(f"[{label}] importing networks {held + 1} to {count} ...")
        add_networks(url, held, count, nodes)
        held = count
        engine = make_engine(url)
        try:
            with (
                serve(engine, ApiSettings(secure_cookies=False)) as base,
                httpx.Client(base_url=base, timeout=600) as client,
            ):
                sign_in(client, ANALYST, password)
                figures[str(count)] = time_page(client, "/", repeat)
        finally:
            engine.dispose()
        page = figures[str(count)]
        console.log(
            f"[{label}] {count} networks: first {page['first_ms']:.0f} ms, warm median {page['median_ms']:.1f} ms"
        )
    return {"database": label, "nodes": nodes, "pages": figures}


def print_backend(result: dict[str, Any]) -> None:
    table = Table(title=f"{result['database']}: the dashboard with N networks of {result['nodes']} nodes")
    for column in ("networks", "first ms", "warm median ms", "warm max ms", "KB", "warm ratio to 1"):
        table.add_column(column, justify="right")
    pages = result["pages"]
    base = next(iter(pages.values()))["median_ms"]
    for count, page in pages.items():
        table.add_row(
            count,
            f"{page['first_ms']:.0f}",
            f"{page['median_ms']:.1f}",
            f"{page['max_ms']:.1f}",
            f"{page['bytes'] / 1024:.0f}",
            f"{page['median_ms'] / base:.2f}",
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 50], help="networks held at each step")
    parser.add_argument("--nodes", type=int, default=300, help="nodes per network (default 300)")
    parser.add_argument("--repeat", type=int, default=10, help="warm loads timed per step (default 10)")
    parser.add_argument("--pg", default=os.environ.get("SETU_BENCH_PG", ""), help="a PostgreSQL server URL")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "dashboard.json")
    args = parser.parse_args(argv)
    counts = sorted(set(args.counts))
    results = []
    with sqlite_database() as url:
        results.append(bench_backend("SQLite", url, counts, args.nodes, args.repeat))
    if args.pg:
        with postgres_database(args.pg) as url:
            results.append(bench_backend("PostgreSQL", make_engine_url(url), counts, args.nodes, args.repeat))
    for result in results:
        print_backend(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {"date": datetime.datetime.now(datetime.UTC).isoformat(), "machine": machine(), "results": results}
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    console.log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
