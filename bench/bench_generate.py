"""Benchmark the industrial-base generator: seconds and peak memory at 10,000, 100,000 and 1,000,000 nodes.

Run ``python bench/bench_generate.py [--nodes 10000,100000,1000000] [--seed S] [--compile] [--output PATH]``.
Each size runs in a process of its own, so the peak resident memory it reports is that size's alone:
making the network (:func:`setu.network.industrial_base.industrial_base`) and, with ``--compile``,
validating and compiling it too. Prints a table and writes ``bench/results/generate.json``. Figures
only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def measure(nodes: int, seed: int, compile_too: bool) -> dict[str, Any]:
    """One size, in this process: seconds to make (and compile) the network, its size, the peak RSS."""
    from setu.network.industrial_base import industrial_base

    start = time.perf_counter()
    network = industrial_base(nodes, seed)
    figures: dict[str, Any] = {
        "nodes": len(network.nodes),
        "supply_edges": len(network.supplies),
        "bom_lines": len(network.bom),
        "products": len(network.products),
        "shared_sites": len(network.site_capacities),
        "generate_seconds": round(time.perf_counter() - start, 3),
    }
    if compile_too:
        from setu.network.compile import compile_network

        start = time.perf_counter()
        compile_network(network)
        figures["validate_and_compile_seconds"] = round(time.perf_counter() - start, 3)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="10000,100000,1000000", help="sizes, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compile", action="store_true", help="also validate and compile each network")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "generate.json")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process measuring one size
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.seed, args.compile)))
        return
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rows = []
    for nodes in (int(n) for n in args.nodes.split(",")):
        command = [sys.executable, __file__, "--one", str(nodes), "--seed", str(args.seed)]
        child = subprocess.run([*command, *(["--compile"] if args.compile else [])], capture_output=True, text=True)
        if child.returncode != 0:
            sys.exit(child.stderr)
        rows.append(json.loads(child.stdout))
        print("  ".join(f"{key} {value:,}" for key, value in rows[-1].items()), flush=True)
    result = {
        "machine": {"python": platform.python_version(), "cores": os.cpu_count(), "load": os.getloadavg()[0]},
        "seed": args.seed,
        "sizes": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
