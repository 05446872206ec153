"""Benchmark the per-scenario cost of the TTR sweep as networks grow: the local, certified LP against the full model.

Run ``python bench/bench_scaling.py [--sizes 10000 100000] [--sample 300] [--seed 5]``. For each size it
generates a three-tier network of the accelerator's shape (1% products, 33% suppliers, the rest
sub-suppliers), compiles it, and takes ``--sample`` single-node scenarios spread evenly over the nodes,
each at its node's own TTR as the sweep does. Every scenario is answered twice in one run:

- *full*: the warm full model, as the engine did before (the undisrupted plan when it survives, else a
  dual simplex repair of the whole LP from the undisrupted basis);
- *local*: the undisrupted plan when it survives, else :class:`setu.stress.local_ttr.LocalTTR` (a
  restricted LP over what the disruption reaches, grown until its dual certificate holds), else the
  full model when it grows too far.

It checks both give the same PI (to 1e-9 relative), then prints, per size: scenarios per second, median
and p99 per scenario of each path and their ratio, how the local path answered (undisrupted plan,
restricted LP, full model), the restricted LPs' rounds and columns, the models' build time and the
process's peak memory. Writes ``bench/results/scaling.json``. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from setu.network.compile import compile_network
from setu.network.generate import three_tier
from setu.stress.local_ttr import LocalTTR
from setu.stress.lp import StressLP

HERE = Path(__file__).resolve().parent
console = Console(width=None if sys.stdout.isatty() else 160)


def shape(nodes: int) -> tuple[int, int, int]:
    """(products, suppliers, sub-suppliers) of a three-tier network of ``nodes`` nodes: 1% / 33% / the rest."""
    products = max(1, nodes // 100)
    suppliers = max(1, nodes // 3)
    return products, suppliers, max(0, nodes - products - suppliers)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def measure(nodes: int, sample: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    net = compile_network(three_tier(*shape(nodes), seed=seed))
    compiled = time.perf_counter() - started
    model = StressLP(net, "ttr")
    built = time.perf_counter() - started - compiled
    picks = np.linspace(0, net.n_nodes - 1, min(sample, net.n_nodes)).astype(np.int64)
    # Grouped by horizon as the engine's batches are: one base (and one LocalTTR) per distinct TTR.
    by_ttr: dict[float, list[int]] = {}
    for node in picks:
        ttr = float(net.ttr[node]) if np.isfinite(net.ttr[node]) and net.ttr[node] > 0 else 1.0
        by_ttr.setdefault(ttr, []).append(int(node))
    full_times, local_times, rounds, columns = [], [], [], []
    needing: list[bool] = []
    """Whether each scenario needed an LP (the undisrupted plan did not survive it)."""
    answered = {"undisrupted plan": 0, "restricted LP": 0, "full model": 0}
    base_seconds = local_setup = worst = 0.0
    for ttr, group in sorted(by_ttr.items()):
        start = time.perf_counter()
        model.set_horizon(ttr)
        model.solve_base()
        base_seconds += time.perf_counter() - start
        start = time.perf_counter()
        local = LocalTTR(model)
        local_setup += time.perf_counter() - start
        for node in group:
            nodes, remaining = np.array([node]), np.zeros(1)
            start = time.perf_counter()
            full = model.solve_scenario(nodes, remaining).value
            full_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            survives = model.survives_with_base(nodes, remaining)
            needing.append(not survives)
            if survives:
                value, how = model.base.value, "undisrupted plan"
            else:
                got = local.solve(nodes, remaining)
                if got is None:
                    value, how = model.solve_scenario(nodes, remaining, use_shortcut=False).value, "full model"
                else:
                    value, how = got, "restricted LP"
                    rounds.append(local.rounds)
                    columns.append(local.size)
            local_times.append(time.perf_counter() - start)
            answered[how] += 1
            worst = max(worst, abs(value - full) / max(1.0, abs(full)))
    full_arr, local_arr = np.array(full_times), np.array(local_times)
    mask = np.array(needing)
    needs_lp, needs_full = local_arr[mask], full_arr[mask]
    return {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "scenarios": len(picks),
        "horizons": len(by_ttr),
        "compile_s": compiled,
        "model_build_s": built,
        "base_solves_s": base_seconds,
        "local_setup_s": local_setup,
        "full": _stats(full_arr),
        "local": _stats(local_arr),
        "needing_lp": {
            "scenarios": int(mask.sum()),
            "full": _stats(needs_full) if mask.any() else {},
            "local": _stats(needs_lp) if mask.any() else {},
        },
        "ratio_mean": float(full_arr.mean() / local_arr.mean()),
        "answered": answered,
        "rounds_median": float(np.median(rounds)) if rounds else 0.0,
        "rounds_max": int(max(rounds)) if rounds else 0,
        "columns_median": float(np.median(columns)) if columns else 0.0,
        "columns_max": int(max(columns)) if columns else 0,
        "worst_relative_difference": worst,
        "peak_rss_gb": peak_rss_gb(),
    }


def _needing(figures: dict[str, Any]) -> str:
    if not figures["scenarios"]:
        return "0"
    full, local = figures["full"], figures["local"]
    return f"{figures['scenarios']}: {full['median_ms']:.2f} / {local['median_ms']:.2f}"


def _stats(times: np.ndarray) -> dict[str, float]:
    return {
        "per_second": float(len(times) / times.sum()),
        "median_ms": float(np.median(times) * 1e3),
        "p99_ms": float(np.percentile(times, 99) * 1e3),
        "mean_ms": float(times.mean() * 1e3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    rows = []
    for size in args.sizes:
        console.print(f"[bold]{size:,} nodes[/bold] ...")
        rows.append(measure(size, args.sample, args.seed))
    table = Table(title="TTR per scenario: full model against the certified local LP (one run)")
    for column in (
        "nodes",
        "full median / p99 / mean ms",
        "local median / p99 / mean ms",
        "mean ratio",
        "needing an LP: n, full / local median ms",
        "answered by plan / local / full",
        "rounds med / max",
        "columns med / max",
        "worst rel. diff",
        "peak RSS GB",
    ):
        table.add_column(column)
    for row in rows:
        full, local, answered = row["full"], row["local"], row["answered"]
        table.add_row(
            f"{row['nodes']:,}",
            f"{full['median_ms']:.2f} / {full['p99_ms']:.1f} / {full['mean_ms']:.2f}",
            f"{local['median_ms']:.2f} / {local['p99_ms']:.1f} / {local['mean_ms']:.2f}",
            f"{row['ratio_mean']:.1f}x",
            _needing(row["needing_lp"]),
            " / ".join(str(answered[k]) for k in ("undisrupted plan", "restricted LP", "full model")),
            f"{row['rounds_median']:.0f} / {row['rounds_max']}",
            f"{row['columns_median']:.0f} / {row['columns_max']}",
            f"{row['worst_relative_difference']:.1e}",
            f"{row['peak_rss_gb']:.2f}",
        )
    console.print(table)
    out = HERE / "results" / "scaling.json"
    out.parent.mkdir(exist_ok=True)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus()}
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    out.write_text(json.dumps({"when": when, "machine": machine, "runs": rows}, indent=2) + "\n")
    console.print(f"Wrote {out}")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
