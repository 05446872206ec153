"""Benchmark whole sweeps on each executor: the same TTR+TTS node sweep serially, on local processes and on Ray.

Run ``python bench/bench_sweep.py [--nodes 10000] [--jobs 2] [--limit N] [--no-ray] [--seed 5] [--output PATH]``.
It generates a three-tier network of the accelerator's shape (``bench_scaling.shape``), takes its single-node
sweep (every supplying node at its own TTR; the first ``--limit`` of them, spread over the horizons, if given)
and runs it with the serial executor, the local-process executor with ``--jobs`` workers and, when Ray
is installed, the Ray executor with as many actors on a local cluster. It checks that every executor gives
the serial results (to 1e-7 relative), then prints per executor: wall time, scenarios per second, the
speedup over serial and the parallel efficiency, the TTR and TTS median per scenario as the sweep met
them, and the CPUs this process may use (the speedup cannot pass it). Writes ``--output`` (default
``bench/results/sweep.json``). Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench_scaling import shape
from setu.network.compile import compile_network
from setu.network.generate import three_tier
from setu.stress.engine import StressResult, run_scenarios
from setu.stress.executors import Executor, ProcessExecutor, RayExecutor, SerialExecutor
from setu.stress.scenarios import Scenario, node_sweep

HERE = Path(__file__).resolve().parent
console = Console(width=None if sys.stdout.isatty() else 160)


def cpus() -> int:
    """CPUs this process may run on (a container may give fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def spread(scenarios: list[Scenario], limit: int | None) -> list[Scenario]:
    """``limit`` scenarios taken evenly from the sweep, so every horizon keeps its share."""
    if limit is None or limit >= len(scenarios):
        return scenarios
    picks = np.linspace(0, len(scenarios) - 1, limit).astype(np.int64)
    return [scenarios[int(i)] for i in picks]


def figures(name: str, result: StressResult, serial: StressResult | None) -> dict[str, Any]:
    n = len(result.scenarios)
    row: dict[str, Any] = {
        "executor": name,
        "workers": result.jobs,
        "wall_s": result.wall_seconds,
        "per_second": n / result.wall_seconds,
        "ttr_solve_s": float(result.ttr_seconds.sum()),
        "tts_solve_s": float(result.tts_seconds.sum()),
        # Per scenario, as the sweep met them (the engine's order, warm models and kept LPs included).
        "ttr_median_ms": float(np.median(result.ttr_seconds) * 1e3),
        "tts_median_ms": float(np.median(result.tts_seconds) * 1e3),
    }
    if serial is not None:
        np.testing.assert_allclose(result.lost_profit, serial.lost_profit, rtol=1e-7, atol=1e-7)
        np.testing.assert_allclose(result.tts, serial.tts, rtol=1e-7, atol=1e-7)
        row["speedup"] = serial.wall_seconds / result.wall_seconds
        row["efficiency"] = row["speedup"] / result.jobs
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="Sweep only this many scenarios, spread evenly.")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-ray", action="store_true", help="Skip the Ray executor.")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "sweep.json", help="Where the JSON goes.")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    net = compile_network(three_tier(*shape(args.nodes), seed=args.seed))
    scenarios = spread(node_sweep(net), args.limit)
    console.print(
        f"{net.n_nodes:,} nodes, {net.n_edges:,} edges, {len(scenarios):,} scenarios "
        f"({len({s.ttr for s in scenarios})} horizons); generated in {time.perf_counter() - started:.1f} s; "
        f"this process may use {cpus()} CPUs"
    )
    executors: list[tuple[str, Executor]] = [
        ("serial", SerialExecutor()),
        (f"process, jobs={args.jobs}", ProcessExecutor(args.jobs)),
    ]
    if not args.no_ray:
        try:
            import ray

            ray.init(num_cpus=args.jobs, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            executors.append((f"ray, {args.jobs} actors", RayExecutor(args.jobs)))
        except ImportError:
            console.print("Ray is not installed (pip install 'setu[ray]'): its executor is skipped")
    rows: list[dict[str, Any]] = []
    serial: StressResult | None = None
    for name, executor in executors:
        console.print(f"[bold]{name}[/bold] ...")
        result = run_scenarios(net, scenarios, executor=executor)
        rows.append(figures(name, result, serial))
        serial = serial or result

    table = Table(title=f"TTR+TTS sweep of {len(scenarios):,} scenarios on {net.n_nodes:,} nodes (one run)")
    columns = ("executor", "workers", "wall s", "scenarios/s", "speedup", "efficiency", "TTR / TTS solve s")
    for column in (*columns, "TTR / TTS median ms"):
        table.add_column(column, justify="left" if column == "executor" else "right")
    for row in rows:
        table.add_row(
            row["executor"],
            str(row["workers"]),
            f"{row['wall_s']:.1f}",
            f"{row['per_second']:.0f}",
            f"{row.get('speedup', 1.0):.2f}x",
            f"{row.get('efficiency', 1.0):.0%}",
            f"{row['ttr_solve_s']:.1f} / {row['tts_solve_s']:.1f}",
            f"{row['ttr_median_ms']:.2f} / {row['tts_median_ms']:.2f}",
        )
    console.print(table)
    out = args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": cpus()}
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    record = {"when": when, "machine": machine, "nodes": net.n_nodes, "scenarios": len(scenarios), "runs": rows}
    out.write_text(json.dumps(record, indent=2) + "\n")
    console.print(f"Wrote {out}")


if __name__ == "__main__":
    main()
