"""Benchmark the cost per scenario as networks grow, 10^4 to 10^6 nodes: the engine's path against the full model.

Run ``python bench/bench_scaling.py [--sizes 10000 100000 1000000] [--sample 300] [--full-sample 60 60 3] [--seed 5]``.
Each size runs in its own process (so its peak memory is its own): it generates a three-tier network of the
accelerator's shape (1% products, 33% suppliers, the rest sub-suppliers), compiles it, builds the TTR and
TTS models, and takes ``--sample`` single-node scenarios spread evenly over the nodes, each at its node's
own TTR as the sweep does. Each scenario's PI and TTS are found by

- the *engine's path* (:class:`setu.stress.solver.WarmSolver`, what every sweep runs): the undisrupted plan
  when it survives the disruption, else the certified local LP (``setu.stress.local_ttr``,
  ``setu.stress.local``), else the warm full model;
- the *full path* (the engine before the local LPs), on the first ``--full-sample`` of them: the undisrupted
  plan when it survives, else a dual simplex repair of the whole model from the undisrupted basis.

Both must agree (1e-7 relative). It also times one wide scenario: every tenth sub-supplier out at once (a
tenth of the raw-material sources, as an export ban would take). The network is generated and compiled in
a process of its own and handed over pickled, and the engine's scenarios run before the full path's second
TTR model is built, so the peak memory reported is the engine's alone (not the generator's Python objects',
nor the comparison's; the peak with the comparison is in the JSON). Prints per size: scenarios per second,
per-scenario median and p99 of TTR and TTS on each path (over all scenarios, and over those the undisrupted
plan does not answer), the ratio of means, how each answer was found, build and base-solve times, and peak
memory; writes ``bench/results/scaling.json`` and the plot ``docs/img/scaling.png`` (matplotlib, the
``bench`` extra). Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from setu.network.compile import compile_network
from setu.network.generate import three_tier
from setu.stress.lp import StressLP
from setu.stress.solver import WarmSolver

HERE = Path(__file__).resolve().parent
console = Console(width=None if sys.stdout.isatty() else 200)


def shape(nodes: int) -> tuple[int, int, int]:
    """(products, suppliers, sub-suppliers) of a three-tier network of ``nodes`` nodes: 1% / 33% / the rest."""
    products = max(1, nodes // 100)
    suppliers = max(1, nodes // 3)
    return products, suppliers, max(0, nodes - products - suppliers)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def progress(message: str) -> None:
    """A line on stderr, so that a long size shows where it is."""
    print(f"  {datetime.datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)


def stats(times: list[float]) -> dict[str, float]:
    if not times:
        return {"n": 0}
    values = np.array(times)
    return {
        "n": len(values),
        "median_ms": float(np.median(values) * 1e3),
        "p99_ms": float(np.percentile(values, 99) * 1e3),
        "mean_ms": float(values.mean() * 1e3),
    }


def make(nodes: int, seed: int, path: Path) -> dict[str, float]:
    """Generate and compile the network of ``nodes`` nodes, pickled to ``path`` (run in a process of its own:
    the generator's Python objects are not the engine's memory)."""
    clock = time.perf_counter()
    net = compile_network(three_tier(*shape(nodes), seed=seed))
    seconds = time.perf_counter() - clock
    with path.open("wb") as file:
        pickle.dump(net, file, protocol=pickle.HIGHEST_PROTOCOL)
    return {"generate_compile_s": seconds, "generate_peak_rss_gb": peak_rss_gb()}


def measure(path: Path, sample: int, full_sample: int) -> dict[str, Any]:
    """Every figure of one size, on the compiled network pickled at ``path`` (run in a process of its own)."""
    with path.open("rb") as file:
        net = pickle.load(file)
    clock = time.perf_counter()
    solver = WarmSolver(net, compute_tts=True)
    built = time.perf_counter() - clock  # both models, the TTS base and its local bracket's lean plan
    progress(f"models built in {built:.1f} s, peak {peak_rss_gb():.2f} GB")
    full_tts = solver.tts_model
    assert full_tts is not None
    picks = np.linspace(0, net.n_nodes - 1, min(sample, net.n_nodes)).astype(np.int64)
    horizon = {int(i): float(net.ttr[i]) if np.isfinite(net.ttr[i]) and net.ttr[i] > 0 else 1.0 for i in picks}
    # Grouped by horizon as the engine's batches are: one TTR base per distinct TTR.
    order = sorted(horizon, key=lambda i: horizon[i])
    compared = order[:: max(1, len(order) // max(1, full_sample))][:full_sample]
    times: dict[str, list[float]] = {k: [] for k in ("ttr", "tts", "full_ttr", "full_tts", "lp_ttr", "lp_tts")}
    lp_full: dict[str, list[float]] = {"ttr": [], "tts": []}
    answers: dict[int, tuple[float, float, bool, bool]] = {}
    base_seconds, worst = 0.0, 0.0
    for node in order:  # the engine's path first, alone, so that its peak memory is its own
        nodes_, remaining = np.array([node]), np.zeros(1)
        t = horizon[node]
        if solver.ttr_model.horizon != t:
            clock = time.perf_counter()
            solver.prepare(t)  # the horizon's undisrupted base, timed apart
            base_seconds += time.perf_counter() - clock
        clock = time.perf_counter()
        pi = solver.lost_profit(nodes_, remaining, t)
        times["ttr"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        tts = solver.time_to_survive(nodes_, remaining)
        times["tts"].append(time.perf_counter() - clock)
        ttr_lp = not solver.ttr_model.survives_with_base(nodes_, remaining)
        tts_lp = not full_tts.survives_with_base(nodes_, remaining)
        if ttr_lp:
            times["lp_ttr"].append(times["ttr"][-1])
        if tts_lp:
            times["lp_tts"].append(times["tts"][-1])
        answers[node] = (pi, tts, ttr_lp, tts_lp)
    subs = np.array([i for i in range(net.n_nodes) if net.node_ids[i].startswith("T3_")])[::10]
    wide_ttr = float(np.nanmax(net.ttr[subs]))
    clock = time.perf_counter()
    solver.lost_profit(subs, np.zeros(len(subs)), wide_ttr)
    wide_pi_s = time.perf_counter() - clock
    clock = time.perf_counter()
    solver.time_to_survive(subs, np.zeros(len(subs)))
    wide_tts_s = time.perf_counter() - clock
    engine_peak = peak_rss_gb()
    progress(f"engine path done: {len(order)} scenarios, wide scenario {wide_pi_s:.1f} / {wide_tts_s:.1f} s")
    # The full path: a second TTR model (the TTS one is the solver's own, used without its local bracket).
    full_ttr = StressLP(net, "ttr")
    for node in compared:
        nodes_, remaining = np.array([node]), np.zeros(1)
        t = horizon[node]
        pi, tts, ttr_lp, tts_lp = answers[node]
        if full_ttr.horizon != t:
            full_ttr.set_horizon(t)
            full_ttr.solve_base()
        clock = time.perf_counter()
        want_pi = full_ttr.solve_scenario(nodes_, remaining).value
        times["full_ttr"].append(time.perf_counter() - clock)
        if ttr_lp:
            lp_full["ttr"].append(times["full_ttr"][-1])
        clock = time.perf_counter()
        want_tts = full_tts.solve_scenario(nodes_, remaining).value
        times["full_tts"].append(time.perf_counter() - clock)
        if tts_lp:
            lp_full["tts"].append(times["full_tts"][-1])
        worst = max(worst, abs(pi - want_pi) / max(1.0, abs(want_pi)))
        if not (np.isinf(tts) and np.isinf(want_tts)):
            worst = max(worst, abs(tts - want_tts) / max(1.0, abs(want_tts)))
        if len(times["full_tts"]) % max(1, len(compared) // 4) == 0:
            progress(f"full path: {len(times['full_tts'])} of {len(compared)} compared")
    engine_mean = (np.mean(times["ttr"]) + np.mean(times["tts"])) if order else float("nan")
    full_mean = (np.mean(times["full_ttr"]) + np.mean(times["full_tts"])) if compared else float("nan")
    return {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "supplying_nodes": len(net.supplying_nodes()),
        "scenarios": len(order),
        "compared_with_full": len(compared),
        "horizons": len(set(horizon.values())),
        "models_s": built,
        "ttr_base_solves_s": base_seconds,
        "engine": {k: stats(times[k]) for k in ("ttr", "tts", "lp_ttr", "lp_tts")},
        "full": {
            "ttr": stats(times["full_ttr"]),
            "tts": stats(times["full_tts"]),
            "lp_ttr": stats(lp_full["ttr"]),
            "lp_tts": stats(lp_full["tts"]),
        },
        "per_second": float(1.0 / engine_mean),
        "ratio_mean": float(full_mean / engine_mean),
        "answered": {f"{kind} {how}": n for (kind, how), n in sorted(solver.answered.items())},
        "wide_scenario": {"nodes": len(subs), "ttr": wide_ttr, "pi_s": wide_pi_s, "tts_s": wide_tts_s},
        "worst_relative_difference": worst,
        "peak_rss_gb": engine_peak,
        "peak_rss_with_full_gb": peak_rss_gb(),
    }


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Per-scenario median and p99 of each path against the network's size, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [row["nodes"] for row in rows]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, kind, title in ((axes[0], "ttr", "Lost profit (TTR model)"), (axes[1], "tts", "Time to survive")):
        for path_name, style in (("engine", "-o"), ("full", "--s")):
            for stat, alpha in (("median_ms", 1.0), ("p99_ms", 0.45)):
                values = [row[path_name][f"lp_{kind}"].get(stat, np.nan) for row in rows]
                label = f"{'engine' if path_name == 'engine' else 'full model'}, {stat.split('_')[0]}"
                ax.plot(sizes, values, style, alpha=alpha, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{title}: scenarios that need an LP")
        ax.set_xlabel("nodes in the network")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("milliseconds per scenario")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def _ms(figures: dict[str, float]) -> str:
    if not figures.get("n"):
        return "-"
    return f"{figures['median_ms']:.2f} / {figures['p99_ms']:.1f}"


def report(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Per scenario, median / p99 ms: the engine's path against the full model (one run per size)")
    for column in (
        "nodes",
        "TTR engine / full",
        "TTS engine / full",
        "needing an LP: TTR engine / full",
        "needing an LP: TTS engine / full",
        "scenarios/s",
        "mean ratio",
        "wide scenario PI / TTS s",
        "generate, models, TTR bases s",
        "worst rel. diff",
        "peak RSS GB",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        engine, full, wide = row["engine"], row["full"], row["wide_scenario"]
        table.add_row(
            f"{row['nodes']:,}",
            f"{_ms(engine['ttr'])} | {_ms(full['ttr'])}",
            f"{_ms(engine['tts'])} | {_ms(full['tts'])}",
            f"{engine['lp_ttr'].get('n', 0)}: {_ms(engine['lp_ttr'])} | {_ms(full['lp_ttr'])}",
            f"{engine['lp_tts'].get('n', 0)}: {_ms(engine['lp_tts'])} | {_ms(full['lp_tts'])}",
            f"{row['per_second']:,.0f}",
            f"{row['ratio_mean']:.1f}x",
            f"{wide['pi_s']:.2f} / {wide['tts_s']:.2f}",
            f"{row['generate_compile_s']:.1f}, {row['models_s']:.1f}, {row['ttr_base_solves_s']:.1f}",
            f"{row['worst_relative_difference']:.1e}",
            f"{row['peak_rss_gb']:.2f}",
        )
    console.print(table)
    for row in rows:
        console.print(f"{row['nodes']:,} nodes: answered {row['answered']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument(
        "--full-sample",
        type=int,
        nargs="+",
        default=[60, 60, 3],
        help="Scenarios also solved on the full path, per size (the last repeats): a full TTS solve of a "
        "10^6-node network takes tens of seconds.",
    )
    parser.add_argument("--seed", type=int, default=5)
    # A child process: make one size's network (--make), or measure it (--measure), writing JSON to --to.
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make is not None:
        args.to.write_text(json.dumps(make(args.sizes[0], args.seed, args.make)))
        return
    if args.measure is not None:
        args.to.write_text(json.dumps(measure(args.measure, args.sample, args.full_sample[0])))
        return
    rows: list[dict[str, Any]] = []
    out = HERE / "results" / "scaling.json"
    out.parent.mkdir(exist_ok=True)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": cpus}
    for k, size in enumerate(args.sizes):
        console.print(f"[bold]{size:,} nodes[/bold] ...")
        full_sample = args.full_sample[min(k, len(args.full_sample) - 1)]
        with tempfile.TemporaryDirectory() as scratch:
            network, made, measured = (Path(scratch) / name for name in ("net.pickle", "made.json", "row.json"))
            options = ["--sample", str(args.sample), "--full-sample", str(full_sample), "--seed", str(args.seed)]
            for step, to in (("--make", made), ("--measure", measured)):
                child = [sys.executable, __file__, "--sizes", str(size), *options, step, str(network), "--to", str(to)]
                subprocess.run(child, check=True)
            rows.append({**json.loads(made.read_text()), **json.loads(measured.read_text())})
        # Written after every size, so that the sizes already measured survive a run stopped in a larger one.
        when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        out.write_text(json.dumps({"when": when, "machine": machine, "runs": rows}, indent=2) + "\n")
    report(rows)
    image = HERE.parent / "docs" / "img" / "scaling.png"
    plot(rows, image)
    console.print(f"Wrote {out} and {image}")


if __name__ == "__main__":
    main()
