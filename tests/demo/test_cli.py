"""`setu demo`'s printout: the scenario library table, the sweep's summary, and the files it writes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rich.console import Console

from setu.demo.cli import BANNER, run_demo
from setu.demo.network import build_demo_network
from setu.demo.scenarios import demo_scenarios
from setu.network.compile import compile_network


def test_run_demo_prints_the_library_and_writes_the_report(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    report = run_demo(tmp_path, console=Console(file=out, width=160), err=Console(file=err, width=160))
    assert report == tmp_path / "report.html"
    assert {path.name for path in tmp_path.iterdir()} == {
        "report.html",
        "demo-network.xlsx",
        "sweep.csv",
        "scenarios.csv",
    }
    net = compile_network(build_demo_network())
    library = [scenario.id for scenario in demo_scenarios(net)]
    printed = out.getvalue()
    assert "Scenario library (illustrative; TTR and TTS in weeks)" in printed
    assert all(scenario in printed for scenario in library)
    assert f"Single-node sweep: {len(net.supplying_nodes())} scenarios" in printed
    assert f"demo network: {net.n_nodes} nodes, {net.n_edges} supply edges, {net.n_products} products" in err.getvalue()
    with (tmp_path / "scenarios.csv").open() as handle:
        assert [row["scenario_id"] for row in csv.DictReader(handle)] == library
    html = report.read_text()
    assert BANNER in html and "Scenario library" in html and "Single-node sweep" in html
