"""The HTML report: self-contained, every scenario shown, at-risk ones marked."""

from __future__ import annotations

import re
from pathlib import Path

from setu.network.compile import compile_network
from setu.network.io.accelerator import read_accelerator
from setu.report.html import ReportPart, write_report
from setu.stress.engine import run_scenarios
from setu.stress.explain import explain
from setu.stress.scenarios import from_ttr_table, read_ttr_csv


def test_report_is_self_contained_and_complete(generated_data: Path, tmp_path: Path) -> None:
    folder = generated_data
    net = compile_network(read_accelerator(folder / "dataset_small.json"))
    scenarios = from_ttr_table(net, read_ttr_csv(folder / "ttr_small.csv"))
    result = run_scenarios(net, scenarios)
    worst = scenarios[int(result.lost_profit.argmax())]
    path = write_report(
        net, [ReportPart("Sweep", result, {worst.id: explain(net, worst)})], tmp_path / "r.html", title="Test"
    )
    html = path.read_text()
    # Nothing fetched from elsewhere: no external scripts, styles, fonts or images.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "@import" not in html
    # 30 scenarios fit the full table; each appears, at-risk ones tagged as such.
    assert html.count("<tr class=") == 30
    assert html.count('tag risk">TTS &lt; TTR') == int(result.at_risk.sum()) == 5
    assert html.count("<circle") + html.count("<polygon points=") - 1 == 30 and "<svg" in html
    assert worst.id == "T2_6" and "binding: aac from T2_8" not in html  # only the worst is explained
    assert f"binding: aab from {worst.id}" in html
