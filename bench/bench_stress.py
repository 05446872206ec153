"""Benchmark Setu's warm TTR/TTS sweeps against the naive Pyomo baseline, and on Willems chain 38.

Run ``python bench/bench_stress.py [--baseline-sample N] [--quick]``. Prints tables and writes
``bench/results/latest.json``. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

import naive_pyomo
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.io.loader import Format, read_network
from setu.stress.engine import StressResult, run_scenarios
from setu.stress.local import LocalTTS
from setu.stress.lp import StressLP
from setu.stress.scenarios import Scenario, from_ttr_table, node_sweep, read_ttr_csv

HERE = Path(__file__).resolve().parent
ACCELERATOR = Path("/work/shared/data/stress-test-accelerator")
WILLEMS = Path("/work/shared/data/willems2008")

# Targets from the issue.
TARGET_RATIO = 150.0
TARGET_TTR_MEDIAN_MS = 1.5
TARGET_TTS_MEDIAN_MS = 2.0
# Baseline and Setu values count as equal below this relative difference.
AGREE = 1e-6

# Wide enough for the tables when the output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 160)


# -- small helpers ------------------------------------------------------------------------------------


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """CPU, cores, load, and the versions that matter for the timings."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "highspy": package_version("highspy"),
        "pyomo": package_version("pyomo"),
        "numpy": package_version("numpy"),
        "scipy": package_version("scipy"),
        "setu": package_version("setu"),
        "setu_commit": commit,
    }


def ms_stats(seconds: np.ndarray) -> dict[str, float]:
    """Median, p90, mean and max in milliseconds, and the sum in seconds."""
    if len(seconds) == 0:
        return {"median_ms": math.nan, "p90_ms": math.nan, "mean_ms": math.nan, "max_ms": math.nan, "sum_s": 0.0}
    return {
        "median_ms": float(np.median(seconds)) * 1e3,
        "p90_ms": float(np.percentile(seconds, 90)) * 1e3,
        "mean_ms": float(np.mean(seconds)) * 1e3,
        "max_ms": float(np.max(seconds)) * 1e3,
        "sum_s": float(np.sum(seconds)),
    }


def maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1024.0


def timed(label: str) -> _Timer:
    return _Timer(label)


class _Timer:
    def __init__(self, label: str) -> None:
        self.label = label
        self.seconds = 0.0

    def __enter__(self) -> _Timer:
        console.log(f"{self.label} ...")
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def sweep_figures(result: StressResult, compute_tts: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "scenarios": len(result.scenarios),
        "jobs": result.jobs,
        "wall_s": result.wall_seconds,
        "ttr": ms_stats(result.ttr_seconds),
    }
    if compute_tts:
        figures["tts"] = ms_stats(result.tts_seconds)
    return figures


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None``, so that the JSON is strict."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.inf


# -- Setu ---------------------------------------------------------------------------------------------


def build_times(net: CompiledNetwork, horizon: float) -> dict[str, float]:
    """Seconds to build each warm model and solve its undisrupted base (what a worker does once)."""
    start = time.perf_counter()
    ttr_model = StressLP(net, "ttr")
    built = time.perf_counter()
    ttr_model.set_horizon(horizon)
    ttr_model.solve_base()
    ttr_done = time.perf_counter()
    tts_model = StressLP(net, "tts")
    tts_built = time.perf_counter()
    tts_model.solve_base()
    tts_done = time.perf_counter()
    LocalTTS(tts_model)
    local_done = time.perf_counter()
    return {
        "ttr_model_build_s": built - start,
        "ttr_base_solve_s": ttr_done - built,
        "tts_model_build_s": tts_built - ttr_done,
        "tts_base_solve_s": tts_done - tts_built,
        "local_tts_prep_s": local_done - tts_done,
        "total_s": local_done - start,
    }


def answered_by_base(net: CompiledNetwork, scenarios: Sequence[Scenario]) -> tuple[np.ndarray, np.ndarray]:
    """Which scenarios the undisrupted optimum answers without a solve, for TTR and for TTS."""
    ttr_model, tts_model = StressLP(net, "ttr"), StressLP(net, "tts")
    ttr_mask = np.zeros(len(scenarios), dtype=bool)
    tts_mask = np.zeros(len(scenarios), dtype=bool)
    for i in sorted(range(len(scenarios)), key=lambda i: scenarios[i].ttr):
        s = scenarios[i]
        ttr_model.set_horizon(float(s.ttr))
        nodes, remaining = s.node_indices(net), s.remaining()
        ttr_mask[i] = ttr_model.survives_with_base(nodes, remaining)
        tts_mask[i] = tts_model.survives_with_base(nodes, remaining)
    return ttr_mask, tts_mask


def solved_figures(result: StressResult, ttr_mask: np.ndarray, tts_mask: np.ndarray) -> dict[str, Any]:
    """Share of scenarios the base plan answers, and the times of the others (which needed an LP)."""
    return {
        "ttr_base_share": float(ttr_mask.mean()) if len(ttr_mask) else math.nan,
        "tts_base_share": float(tts_mask.mean()) if len(tts_mask) else math.nan,
        "ttr_solved": ms_stats(result.ttr_seconds[~ttr_mask]),
        "tts_solved": ms_stats(result.tts_seconds[~tts_mask]),
    }


def load(path: Path, fmt_name: Format) -> tuple[CompiledNetwork, dict[str, float]]:
    start = time.perf_counter()
    network = read_network(path, fmt_name)
    read = time.perf_counter()
    net = compile_network(network)
    done = time.perf_counter()
    return net, {"read_s": read - start, "compile_s": done - read}


def setu_sweeps(
    net: CompiledNetwork, scenarios: Sequence[Scenario], *, jobs2: bool, trace: bool
) -> tuple[dict[str, Any], StressResult]:
    """TTR-only and TTR+TTS sweeps with jobs=1 (and jobs=2), with peak memory."""
    out: dict[str, Any] = {}
    console.log(f"[bold]{net.name}[/]: {net.n_nodes} nodes, {len(scenarios)} scenarios")
    with timed(f"Setu TTR sweep, {len(scenarios)} scenarios, jobs=1"):
        result = run_scenarios(net, scenarios, jobs=1, compute_tts=False)
    out["ttr_jobs1"] = sweep_figures(result, False)
    with timed(f"Setu TTR+TTS sweep, {len(scenarios)} scenarios, jobs=1"):
        both = run_scenarios(net, scenarios, jobs=1, compute_tts=True)
    out["ttr_tts_jobs1"] = sweep_figures(both, True)
    out["ttr_tts_jobs1"].update(solved_figures(both, *answered_by_base(net, scenarios)))
    out["maxrss_self_after_jobs1_mib"] = maxrss_mib()
    if trace:
        with timed("Setu TTR+TTS sweep under tracemalloc (memory only; its time is not reported)"):
            tracemalloc.start()
            run_scenarios(net, scenarios, jobs=1, compute_tts=True)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        out["tracemalloc_peak_mib"] = peak / 2**20
    if jobs2:
        with timed("Setu TTR sweep, jobs=2"):
            result2 = run_scenarios(net, scenarios, jobs=2, compute_tts=False)
        out["ttr_jobs2"] = sweep_figures(result2, False)
        out["ttr_jobs2"]["speedup"] = ratio(out["ttr_jobs1"]["wall_s"], result2.wall_seconds)
        with timed("Setu TTR+TTS sweep, jobs=2"):
            both2 = run_scenarios(net, scenarios, jobs=2, compute_tts=True)
        out["ttr_tts_jobs2"] = sweep_figures(both2, True)
        out["ttr_tts_jobs2"]["speedup"] = ratio(out["ttr_tts_jobs1"]["wall_s"], both2.wall_seconds)
        out["maxrss_children_mib"] = maxrss_mib(resource.RUSAGE_CHILDREN)
        agree = np.allclose(both2.lost_profit, both.lost_profit, rtol=1e-9, atol=1e-9) and np.allclose(
            both2.tts, both.tts, rtol=1e-9, atol=1e-9
        )
        out["jobs2_values_equal_jobs1"] = bool(agree)
    return out, both


# -- baseline -----------------------------------------------------------------------------------------


def baseline(
    data: naive_pyomo.Data,
    solver: Any,
    scenarios: Sequence[Scenario],
    setu: StressResult,
    n_ttr: int,
    n_tts: int,
    seed: int,
) -> dict[str, Any]:
    """The naive model on a fixed random sample of scenarios, timed and compared with Setu's values."""
    rng = random.Random(seed)
    n = len(scenarios)
    ttr_sample = sorted(rng.sample(range(n), min(n_ttr, n)))
    tts_sample = sorted(rng.sample(range(n), min(n_tts, n)))
    out: dict[str, Any] = {"seed": seed}
    for kind, sample in (("ttr", ttr_sample), ("tts", tts_sample)):
        total, build, solve, diffs = [], [], [], []
        with timed(f"naive Pyomo baseline, {kind.upper()}, {len(sample)} sampled scenarios"):
            for i in sample:
                s = scenarios[i]
                if kind == "ttr":
                    run = naive_pyomo.ttr(data, s.nodes, s.ttr, solver)
                    expected = float(setu.lost_profit[i])
                else:
                    run = naive_pyomo.tts(data, s.nodes, solver)
                    expected = float(setu.tts[i])
                total.append(run.total)
                build.append(run.build)
                solve.append(run.solve)
                diffs.append(naive_pyomo.rel_diff(run.value, expected))
        setu_seconds = setu.ttr_seconds if kind == "ttr" else setu.tts_seconds
        base = ms_stats(np.array(total))
        full = ms_stats(setu_seconds)
        same = ms_stats(setu_seconds[sample])
        out[kind] = {
            "sample": len(sample),
            "scenario_ids": [scenarios[i].id for i in sample],
            "baseline": base,
            "baseline_build": ms_stats(np.array(build)),
            "baseline_solve": ms_stats(np.array(solve)),
            "setu_full_sweep": full,
            "setu_same_scenarios": same,
            "ratio_median": ratio(base["median_ms"], full["median_ms"]),
            "ratio_mean": ratio(base["mean_ms"], full["mean_ms"]),
            "ratio_same_scenarios_total": ratio(base["sum_s"], same["sum_s"]),
            "max_rel_diff": max(diffs) if diffs else 0.0,
        }
    return out


# -- output -------------------------------------------------------------------------------------------


def print_machine(info: dict[str, Any]) -> None:
    table = Table(title="Machine", show_header=False)
    for key, value in info.items():
        table.add_row(key, str(value))
    console.print(table)


def print_sweeps(name: str, sweeps: dict[str, Any]) -> None:
    table = Table(title=f"Setu sweeps: {name} (per-scenario times in ms)")
    for col in ("sweep", "jobs", "scenarios", "wall s", "speed-up"):
        table.add_column(col, justify="right" if col != "sweep" else "left")
    for col in ("TTR med", "TTR p90", "TTR mean", "TTS med", "TTS p90", "TTS mean"):
        table.add_column(col, justify="right")
    for key, label in (
        ("ttr_jobs1", "TTR only"),
        ("ttr_tts_jobs1", "TTR + TTS"),
        ("ttr_jobs2", "TTR only"),
        ("ttr_tts_jobs2", "TTR + TTS"),
    ):
        if key not in sweeps:
            continue
        s = sweeps[key]
        tts = s.get("tts", {})
        table.add_row(
            label,
            str(s["jobs"]),
            str(s["scenarios"]),
            fmt(s["wall_s"], 3),
            fmt(s.get("speedup", math.nan), 2),
            fmt(s["ttr"]["median_ms"]),
            fmt(s["ttr"]["p90_ms"]),
            fmt(s["ttr"]["mean_ms"]),
            fmt(tts.get("median_ms", math.nan)),
            fmt(tts.get("p90_ms", math.nan)),
            fmt(tts.get("mean_ms", math.nan)),
        )
    console.print(table)
    one = sweeps["ttr_tts_jobs1"]
    console.print(
        f"jobs=1: the undisrupted optimum answers {one['ttr_base_share']:.0%} of TTR and "
        f"{one['tts_base_share']:.0%} of TTS scenarios without a solve; "
        f"the others (an LP solve) take median / p90 / mean "
        f"TTR {fmt(one['ttr_solved']['median_ms'])} / {fmt(one['ttr_solved']['p90_ms'])} / "
        f"{fmt(one['ttr_solved']['mean_ms'])} ms, TTS {fmt(one['tts_solved']['median_ms'])} / "
        f"{fmt(one['tts_solved']['p90_ms'])} / {fmt(one['tts_solved']['mean_ms'])} ms."
    )
    if "jobs2_values_equal_jobs1" in sweeps:
        same = "equal" if sweeps["jobs2_values_equal_jobs1"] else "DIFFER FROM"
        console.print(f"jobs=2 values {same} the jobs=1 values.")


def print_setup(rows: list[tuple[str, dict[str, Any]]]) -> None:
    table = Table(title="Setu setup (ms): read, compile, warm model builds and base solves")
    keys = (
        "nodes",
        "edges",
        "read_s",
        "compile_s",
        "ttr_model_build_s",
        "ttr_base_solve_s",
        "tts_model_build_s",
        "tts_base_solve_s",
        "local_tts_prep_s",
    )
    headers = ("nodes", "edges", "read", "compile", "TTR build", "TTR base", "TTS build", "TTS base", "local TTS")
    table.add_column("network")
    for header in headers:
        table.add_column(header, justify="right")
    for name, setup in rows:
        table.add_row(
            name,
            *[str(setup[k]) if not k.endswith("_s") else fmt(setup[k] * 1e3, 1) for k in keys],
        )
    console.print(table)


def print_baseline(result: dict[str, Any], solver: str) -> None:
    table = Table(title=f"Naive Pyomo baseline ({solver}) on a random SAMPLE of scenarios (ms per scenario)")
    cols = (
        "kind",
        "sample",
        "base med",
        "base mean",
        "build med",
        "solve med",
        "Setu med",
        "Setu mean",
        "ratio med",
        "ratio mean",
        "ratio same",
        "max rel diff",
    )
    for col in cols:
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind in ("ttr", "tts"):
        r = result[kind]
        table.add_row(
            kind.upper(),
            str(r["sample"]),
            fmt(r["baseline"]["median_ms"], 1),
            fmt(r["baseline"]["mean_ms"], 1),
            fmt(r["baseline_build"]["median_ms"], 1),
            fmt(r["baseline_solve"]["median_ms"], 1),
            fmt(r["setu_full_sweep"]["median_ms"]),
            fmt(r["setu_full_sweep"]["mean_ms"]),
            fmt(r["ratio_median"], 0),
            fmt(r["ratio_mean"], 0),
            fmt(r["ratio_same_scenarios_total"], 0),
            f"{r['max_rel_diff']:.1e}",
        )
    console.print(table)
    console.print(
        "ratio med / mean: baseline median / mean over the sample divided by Setu's median / mean over the full "
        "jobs=1 sweep; ratio same: baseline total / Setu total on the same sampled scenarios."
    )


def print_memory(memory: dict[str, float]) -> None:
    table = Table(title="Memory (MiB)", show_header=False)
    for key, value in memory.items():
        table.add_row(key, fmt(value, 2))
    console.print(table)


def print_targets(targets: list[dict[str, Any]]) -> None:
    table = Table(title="Targets")
    for col in ("target", "measured", "goal", "result"):
        table.add_column(col)
    for t in targets:
        colour = "green" if t["pass"] else "red"
        table.add_row(t["target"], t["measured"], t["goal"], f"[{colour}]{'PASS' if t['pass'] else 'MISS'}[/]")
    console.print(table)


# -- main ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline-sample", type=int, default=60, help="TTR scenarios for the baseline (60)")
    parser.add_argument("--baseline-tts-sample", type=int, default=None, help="TTS scenarios (half the TTR sample)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the baseline sample (0)")
    parser.add_argument("--solver", default="auto", help="Pyomo solver for the baseline: auto, appsi_highs, highs")
    parser.add_argument("--quick", action="store_true", help="smoke test: small network, 5 baseline scenarios")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc run")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args(argv)

    if args.quick:
        dataset, ttr_csv = ACCELERATOR / "dataset_small.json", ACCELERATOR / "ttr_small.csv"
        willems_path = WILLEMS / "snc" / "willems_01.csv"
        n_ttr = n_tts = 5
    else:
        dataset, ttr_csv = ACCELERATOR / "dataset_large.json", ACCELERATOR / "ttr_large.csv"
        willems_path = WILLEMS / "snc" / "willems_38.csv"
        n_ttr = args.baseline_sample
        n_tts = args.baseline_tts_sample if args.baseline_tts_sample is not None else max(1, n_ttr // 2)

    info = machine()
    print_machine(info)
    results: dict[str, Any] = {"machine": info, "quick": bool(args.quick)}

    solver_name, solver = naive_pyomo.make_solver(args.solver)
    worst = naive_pyomo.check_small(solver)
    console.print(f"baseline check: ok ({solver_name}, expected_small.csv, max relative difference {worst:.1e})")
    results["baseline_check"] = {"solver": solver_name, "max_rel_diff": worst}
    rss_start = maxrss_mib()

    # (a, b, d) Setu on the accelerator network.
    net, setup = load(dataset, "accelerator")
    scenarios = from_ttr_table(net, read_ttr_csv(ttr_csv))
    setup.update(build_times(net, float(np.median([s.ttr for s in scenarios]))))
    setup.update(nodes=net.n_nodes, edges=net.n_edges)
    sweeps, setu_result = setu_sweeps(net, scenarios, jobs2=True, trace=not args.no_tracemalloc)
    results["accelerator"] = {"dataset": dataset.name, "setup": setup, "sweeps": sweeps}

    # (e) Willems chain.
    try:
        wnet, wsetup = load(willems_path, "willems")
    except Exception as exc:  # the reader may not be there yet
        console.print(f"[red]Willems chain skipped: {exc!r}[/]")
        wnet = None
    if wnet is not None:
        wscenarios = node_sweep(wnet)
        wsetup.update(build_times(wnet, float(np.median([s.ttr for s in wscenarios]))))
        wsetup.update(nodes=wnet.n_nodes, edges=wnet.n_edges)
        wsweeps, _ = setu_sweeps(wnet, wscenarios, jobs2=False, trace=False)
        results["willems"] = {"chain": willems_path.name, "setup": wsetup, "sweeps": wsweeps}

    # (c) the naive baseline on a sample.
    data = naive_pyomo.load(dataset)
    base = baseline(data, solver, scenarios, setu_result, n_ttr, n_tts, args.seed)
    base["solver"] = solver_name
    results["baseline"] = base

    memory = {
        "maxrss_self_after_imports_and_check": rss_start,
        "maxrss_self_after_setu_jobs1": sweeps["maxrss_self_after_jobs1_mib"],
        "setu_jobs1_tracemalloc_peak": sweeps.get("tracemalloc_peak_mib", math.nan),
        "maxrss_children_jobs2 (largest worker)": sweeps.get("maxrss_children_mib", math.nan),
        "maxrss_self_after_baseline": maxrss_mib(),
    }
    results["memory_mib"] = memory

    # (f) targets.
    one = sweeps["ttr_tts_jobs1"]
    n = one["scenarios"]
    setu_per_scenario_ms = one["wall_s"] / n * 1e3  # end to end: worker build, base solves, TTR and TTS
    base_per_scenario_ms = base["ttr"]["baseline"]["mean_ms"] + base["tts"]["baseline"]["mean_ms"]
    overall = ratio(base_per_scenario_ms, setu_per_scenario_ms)
    results["ratio_per_scenario_end_to_end"] = {
        "baseline_ms_ttr_plus_tts_mean": base_per_scenario_ms,
        "setu_ms_wall_over_scenarios": setu_per_scenario_ms,
        "ratio": overall,
    }
    targets = [
        {
            "target": "baseline / Setu per scenario, one process (mean TTR+TTS, Setu wall incl. build)",
            "measured": f"{overall:.0f}x (baseline on a sample)",
            "goal": f">= {TARGET_RATIO:.0f}x",
            "pass": overall >= TARGET_RATIO,
        }
    ]
    named = [(dataset.stem, one)]
    if "willems" in results:
        named.append((willems_path.stem, results["willems"]["sweeps"]["ttr_tts_jobs1"]))
    for name, figures in named:
        ttr_med, tts_med = figures["ttr"]["median_ms"], figures["tts"]["median_ms"]
        targets.append(
            {
                "target": f"median TTR per scenario, jobs=1, {name}",
                "measured": f"{ttr_med:.3f} ms",
                "goal": f"<= {TARGET_TTR_MEDIAN_MS} ms",
                "pass": ttr_med <= TARGET_TTR_MEDIAN_MS,
            }
        )
        targets.append(
            {
                "target": f"median TTS per scenario, jobs=1, {name}",
                "measured": f"{tts_med:.3f} ms",
                "goal": f"<= {TARGET_TTS_MEDIAN_MS} ms",
                "pass": tts_med <= TARGET_TTS_MEDIAN_MS,
            }
        )
    agree = max(base["ttr"]["max_rel_diff"], base["tts"]["max_rel_diff"])
    targets.append(
        {
            "target": "baseline values equal Setu's on the sampled scenarios",
            "measured": f"max relative difference {agree:.1e}",
            "goal": f"<= {AGREE:.0e}",
            "pass": agree <= AGREE,
        }
    )
    results["targets"] = targets

    console.rule(f"Results: {dataset.name}" + (" (QUICK smoke test)" if args.quick else ""))
    print_setup([(dataset.stem, setup)] + ([(willems_path.stem, results["willems"]["setup"])] if wnet else []))
    print_sweeps(dataset.stem, sweeps)
    if "willems" in results:
        print_sweeps(willems_path.stem, results["willems"]["sweeps"])
    print_baseline(base, solver_name)
    console.print(
        f"per scenario, one process: baseline {base_per_scenario_ms:.1f} ms (TTR + TTS, sample mean) vs Setu "
        f"{setu_per_scenario_ms:.3f} ms (jobs=1 TTR+TTS wall / {n}, incl. model build): {overall:.0f}x"
    )
    print_memory(memory)
    print_targets(targets)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(finite(results), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    console.print(f"figures written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
