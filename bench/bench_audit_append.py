"""Benchmark audited transactions committing at once: the log lock per transaction (before) against batches (after).

Run ``python bench/bench_audit_append.py [--threads K] [--seconds S] [--work-ms 0,2] [--pg URL]``. K threads
each run audited transactions for S seconds: a transaction records one entry, stays open ``work-ms`` more
(what a request does after recording: its reads, building the answer) and commits. Before: the entry is
appended under the log lock as ``record()`` did until this change (``record(..., sequenced=True)``: table
lock on PostgreSQL, SQLite's write lock, held to the commit). After: ``record()`` inserts a pending row
without a lock and the sequencer thread of the server sequences every 200 ms. Runs on a temporary SQLite
file and a throwaway PostgreSQL database (``--pg`` or ``SETU_BENCH_PG``, default the local server;
``--pg ''`` skips it). Each run ends by sequencing what is left and verifying the log: every committed
entry is there once, the seqs without gap. Prints entries/s, p50/p99 latency of a transaction and the
ratios; writes ``bench/results/audit_append.json``. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from setu.audit.log import record
from setu.audit.sequencer import Sequencer, SequencerSettings
from setu.audit.verify import verify_log
from setu.db import create_schema, make_engine, session_factory
from setu.models.audit import AuditEntry
from setu.sharing.policy import Principal

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
READER = Principal(user_id=7, party="IN", org_id=1, org_is_government=True, clearance=2)


@contextlib.contextmanager
def database(pg: str) -> Iterator[Engine]:
    """An engine on an empty schema: a temporary SQLite file, or a throwaway PostgreSQL database."""
    if not pg:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/bench.db")
            create_schema(engine)
            yield engine
            engine.dispose()
        return
    name = f"setu_bench_audit_{uuid.uuid4().hex[:10]}"
    admin_url = make_engine(pg).url  # the psycopg driver, as make_engine spells it
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        create_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(engine: Engine, mode: str, threads: int, seconds: float, work_ms: float) -> dict[str, Any]:
    """K threads of audited transactions for ``seconds``; the log checked afterwards."""
    sessions = session_factory(engine)
    sequencer = Sequencer(sessions, SequencerSettings()) if mode == "after" else None
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(k: int) -> None:
        try:
            start.wait()
            while not stop.is_set():
                began = time.perf_counter()
                with sessions.begin() as session:
                    record(session, READER, "node.read", "node", f"{k}", sequenced=mode == "before")
                    if work_ms:
                        time.sleep(work_ms / 1000)
                latencies[k].append(time.perf_counter() - began)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    if sequencer is not None:
        sequencer.start()
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if sequencer is not None:
        sequencer.stop()  # its last turn sequences what is left
    if errors:
        raise RuntimeError(f"{len(errors)} transactions failed; first: {errors[0]!r}")
    committed = sum(len(times) for times in latencies)
    with sessions() as session:
        count, last = session.execute(select(func.count(), func.max(AuditEntry.seq))).one()
        intact = verify_log(session).ok
    if count != committed or last != committed - 1 or not intact:
        raise RuntimeError(f"log check failed: {committed} committed, {count} in the log, last seq {last}")
    every = sorted(t for times in latencies for t in times)
    return {
        "mode": mode,
        "work_ms": work_ms,
        "entries": committed,
        "entries_per_s": committed / elapsed,
        "p50_ms": statistics.median(every) * 1000,
        "p99_ms": every[min(len(every) - 1, int(len(every) * 0.99))] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8, help="concurrent audited transactions (default 8)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run (default 3)")
    parser.add_argument("--work-ms", default="0,2", help="ms a transaction stays open after recording (list)")
    parser.add_argument("--pg", default=os.environ.get("SETU_BENCH_PG", DEFAULT_PG), help="PostgreSQL server URL")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "audit_append.json")
    args = parser.parse_args()
    works = [float(w) for w in args.work_ms.split(",") if w.strip()]
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {args.threads} threads, {args.seconds:g} s a run")
    results: list[dict[str, Any]] = []
    for backend, pg in (("sqlite", ""), ("postgresql", args.pg)):
        if backend == "postgresql" and not pg:
            continue
        for work_ms in works:
            pair = {}
            for mode in ("before", "after"):
                with database(pg) as engine:
                    pair[mode] = run(engine, mode, args.threads, args.seconds, work_ms) | {"backend": backend}
                results.append(pair[mode])
            ratio = pair["after"]["entries_per_s"] / pair["before"]["entries_per_s"]
            for mode in ("before", "after"):
                row = pair[mode]
                print(
                    f"{backend:10} work {work_ms:g} ms  {mode:6}  {row['entries_per_s']:8.0f} entries/s  "
                    f"p50 {row['p50_ms']:7.2f} ms  p99 {row['p99_ms']:7.2f} ms  ({row['entries']} entries)"
                )
            print(f"{backend:10} work {work_ms:g} ms  after/before throughput: {ratio:.2f}x")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    document = {"threads": args.threads, "seconds": args.seconds, "machine": machine, "results": results}
    args.output.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
