"""Federation: initial sync of the demo and of a generated 10^5-node network, and the lag under a steady write load.

Two instances in two SQLite files (or PostgreSQL databases with ``--pg URL``), India's seeded; each a
partner of the other. For each network: India publishes and exports its feed to the US (a signed bundle
file), the US checks and applies it; records per second each way and the bundle's size. Then the lag:
a writer on India's side changes the marking of a few released records every second (half of them
withdrawn, half released again), and a sync loop (India exports, the US imports, back the same way)
runs for ``--lag-seconds``; the lag of a change is from its commit to the commit of the import that
holds it. Prints figures, writes ``results/federation.json``; asserts nothing about time.

    .venv/bin/python bench/bench_federation.py                 # demo and 10^5 nodes, SQLite
    .venv/bin/python bench/bench_federation.py --nodes 20000   # a smaller generated network
    .venv/bin/python bench/bench_federation.py --pg postgresql+psycopg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine, create_engine, select, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from setu.accounts.login import principal_of  # noqa: E402
from setu.accounts.lookups import get_user  # noqa: E402
from setu.db import create_schema, make_engine, session_factory, transaction  # noqa: E402
from setu.demo.seed import BOTH, seed_demo  # noqa: E402
from setu.federation.identity import this_instance  # noqa: E402
from setu.federation.partners import add_partner  # noqa: E402
from setu.federation.service import export, import_bundle  # noqa: E402
from setu.models.networks import NodeRecord  # noqa: E402
from setu.network.generate import three_tier  # noqa: E402
from setu.networks import import_network  # noqa: E402
from setu.sharing.markings import LEVEL_OF, MarkingSpec, store  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 160)
RELEASED = MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", BOTH)
WITHHELD = MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", BOTH, national_only=True)


class Side:
    """One instance: its party and database."""

    def __init__(self, party: str, engine: Engine) -> None:
        self.party, self.engine, self.sessions = party, engine, session_factory(engine)

    def export(self, to: str, since: int) -> tuple[bytes, dict[str, Any]]:
        with transaction(self.sessions) as session:
            bundle, report = export(session, this_instance(session, self.party), to, since, actor_name="bench")
        return json.dumps(bundle).encode(), {
            "sent": report.sent,
            "changed": report.changed,
            "retracted": report.retracted,
        }

    def last_applied(self, partner: str) -> int:
        from setu.federation.bundles import last_applied_seq

        with transaction(self.sessions) as session:
            return last_applied_seq(session, partner)


def _engines(folder: Path, pg: str | None) -> tuple[Engine, Engine, list[str]]:
    if pg is None:
        return make_engine(f"sqlite:///{folder / 'in.db'}"), make_engine(f"sqlite:///{folder / 'us.db'}"), []
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    names = [f"setu_fed_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = pg.rsplit("/", 1)[0]
    return make_engine(f"{base}/{names[0]}"), make_engine(f"{base}/{names[1]}"), names


def _drop(pg: str | None, names: list[str]) -> None:
    if pg is None or not names:
        return
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _link(india: Side, us: Side) -> None:
    keys = {}
    for side in (india, us):
        with transaction(side.sessions) as session:
            keys[side.party] = this_instance(session, side.party).public_key_hex
    for side, other in ((india, us), (us, india)):
        with transaction(side.sessions) as session:
            add_partner(
                session, local_party=side.party, party=other.party, public_key=keys[other.party], max_classification=2
            )


def sync(india: Side, us: Side) -> dict[str, Any]:
    """India's feed to the US and the US feed back, each from where the other stands; timings and sizes."""
    start = time.perf_counter()
    data, published = india.export("US", us.last_applied("IN"))
    exported = time.perf_counter()
    report = import_bundle(us.sessions, data, "bundle.json", party="US", actor_name="bench")
    imported = time.perf_counter()
    back, _ = us.export("IN", india.last_applied("US"))
    import_bundle(india.sessions, back, "back.json", party="IN", actor_name="bench")
    done = time.perf_counter()
    return {
        "objects": report.applied,
        "published": published,
        "bundle_bytes": len(data),
        "export_s": exported - start,
        "import_s": imported - exported,
        "back_s": done - imported,
        "export_per_s": report.applied / (exported - start) if report.applied else 0.0,
        "import_per_s": report.applied / (imported - exported) if report.applied else 0.0,
    }


def add_generated(india: Side, nodes: int) -> float:
    products, suppliers = max(1, nodes // 100), max(1, nodes // 3)
    network = three_tier(products, suppliers, max(0, nodes - products - suppliers), seed=7)
    start = time.perf_counter()
    with transaction(india.sessions) as session:
        analyst = principal_of(get_user(session, "in.admin"))
        import_network(
            session, analyst, network, name=f"generated-{nodes}", format="generated", source="bench", marking=RELEASED
        )
    return time.perf_counter() - start


def lag(india: Side, us: Side, seconds: float, changes_per_second: int) -> dict[str, Any]:
    """A writer changes markings of released nodes; a sync loop carries them; each change's commit-to-applied lag."""
    with transaction(india.sessions) as session:
        ids = list(
            session.scalars(
                select(NodeRecord.id).where(NodeRecord.marking_id == store(session, RELEASED).id).limit(500)
            )
        )
    changes: list[tuple[float, int]] = []
    stop = threading.Event()

    def writer() -> None:
        flip = 0
        while not stop.is_set():
            tick = time.monotonic()
            with transaction(india.sessions) as session:
                released, withheld = store(session, RELEASED).id, store(session, WITHHELD).id
                for _ in range(changes_per_second):
                    node = session.get_one(NodeRecord, ids[flip % len(ids)])
                    node.marking_id = withheld if node.marking_id == released else released
                    flip += 1
            changes.append((time.monotonic(), changes_per_second))
            stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    applied: list[float] = []
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        before = time.monotonic()
        committed = [at for at, _n in changes if at <= before]
        sync(india, us)
        after = time.monotonic()
        applied.extend(after - at for at in committed[len(applied) :])
        rounds += 1
    stop.set()
    thread.join()
    return {
        "seconds": seconds,
        "changes_per_second": changes_per_second,
        "rounds": rounds,
        "changes": len(applied) * changes_per_second,
        "lag_median_s": statistics.median(applied) if applied else None,
        "lag_max_s": max(applied) if applied else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100_000, help="nodes of the generated network (0: skip it)")
    parser.add_argument("--lag-seconds", type=float, default=30.0)
    parser.add_argument("--changes-per-second", type=int, default=5)
    parser.add_argument("--pg", help="a PostgreSQL admin URL: the two instances get databases of their own")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "federation.json")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "database": "postgresql" if args.pg else "sqlite",
    }
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("SETU_KEY_DIR", str(Path(folder) / "keys"))
        engine_in, engine_us, names = _engines(Path(folder), args.pg)
        try:
            for engine in (engine_in, engine_us):
                create_schema(engine)
            india, us = Side("IN", engine_in), Side("US", engine_us)
            seed_demo(india.sessions)
            _link(india, us)
            results["demo"] = sync(india, us)
            console.print(f"demo: {results['demo']}")
            if args.nodes:
                results["generated_import_s"] = add_generated(india, args.nodes)
                results["generated"] = {"nodes": args.nodes, **sync(india, us)}
                console.print(f"generated {args.nodes:,} nodes: {results['generated']}")
            results["lag"] = lag(india, us, args.lag_seconds, args.changes_per_second)
            console.print(f"lag: {results['lag']}")
        finally:
            engine_in.dispose()
            engine_us.dispose()
            _drop(args.pg, names)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
