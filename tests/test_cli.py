"""The `setu` command end to end, as a user runs it: a real process, real files."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def setu(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "setu", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture(scope="module")
def published(shared_data: Path) -> Path:
    """The published accelerator data sets, for the checks against their expected values."""
    return shared_data / "stress-test-accelerator"


@pytest.fixture(scope="module")
def accelerator(generated_data: Path) -> Path:
    """The generated networks of the accelerator's shapes, in its file layout."""
    return generated_data


def test_expected_small_through_cli(published: Path, tmp_path: Path) -> None:
    accelerator = published
    out = tmp_path / "small.csv"
    run = setu("stress", accelerator / "dataset_small.json", "--ttr-csv", accelerator / "ttr_small.csv", "--out", out)
    assert run.returncode == 0, run.stderr
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["scenario_id", "disrupted", "ttr", "lost_profit", "tts", "rei"]
    got = {row["scenario_id"]: row for row in rows}
    with (accelerator / "expected_small.csv").open() as handle:
        expected = list(csv.DictReader(handle))
    assert len(got) == len(expected) == 30
    for row in expected:
        mine = got[row["node"]]
        assert mine["disrupted"] == row["node"]
        assert float(mine["ttr"]) == float(row["ttr"])
        for ours, theirs in ((mine["lost_profit"], row["lost_profit"]), (mine["tts"], row["tts"])):
            assert math.isclose(float(ours), float(theirs), rel_tol=1e-6, abs_tol=1e-9), (row["node"], ours, theirs)
    rei = [float(r["rei"]) for r in rows]
    assert max(rei) == 1.0 and min(rei) == 0.0


def test_parquet_and_json_outputs_agree_with_csv(accelerator: Path, tmp_path: Path) -> None:
    args = ("stress", accelerator / "dataset_small.json", "--ttr-csv", accelerator / "ttr_small.csv", "--jobs", "2")
    for suffix in ("csv", "parquet", "json"):
        assert setu(*args, "--out", tmp_path / f"r.{suffix}").returncode == 0
    frame = pd.read_csv(tmp_path / "r.csv")
    parquet = pd.read_parquet(tmp_path / "r.parquet")
    records = json.loads((tmp_path / "r.json").read_text())
    assert list(parquet["scenario_id"]) == list(frame["scenario_id"]) == [r["scenario_id"] for r in records]
    assert parquet["lost_profit"].tolist() == pytest.approx(frame["lost_profit"].tolist(), rel=1e-9)
    assert [float(r["tts"]) for r in records] == pytest.approx(frame["tts"].tolist(), rel=1e-9)  # "inf" unbounded


def test_scenarios_csv_and_table_output(accelerator: Path, tmp_path: Path) -> None:
    scenarios = tmp_path / "s.csv"
    scenarios.write_text("scenario_id,disrupted,ttr\nboth,T2_8;T2_10,9\nsmall,T3_5,2\n")
    run = setu("stress", accelerator / "dataset_small.json", "--scenarios", scenarios)
    assert run.returncode == 0, run.stderr
    assert "Riskiest scenarios" in run.stdout and "both" in run.stdout and "2 nodes" in run.stdout


def test_unbounded_tts_is_written_inf(tmp_path: Path) -> None:
    from setu.network.io.accelerator import read_accelerator  # noqa: F401  (format under test)

    data = {
        "tier1": ["P"], "tier2": ["A", "B"], "tier3": [],
        "edges": [["A", "P"], ["B", "P"]],
        "supplier_material_type": {"A": "m", "B": "m"},
        "f": {"P": 1.0}, "d": {"P": 10}, "s": {"P": 0, "A": 0, "B": 0},
        "c": {"P": 20, "A": 20, "B": 20}, "r": {"P": {"m": 1}},
    }  # fmt: skip
    network = tmp_path / "n.json"
    network.write_text(json.dumps(data))
    out = tmp_path / "o.csv"
    assert setu("stress", network, "--ttr", "3", "--out", out).returncode == 0
    rows = {r["scenario_id"]: r for r in csv.DictReader(out.open())}
    # Either alternate alone covers demand (capacity 20 >= 10): nothing is lost, ever.
    assert rows["A"]["tts"] == "inf" and float(rows["A"]["lost_profit"]) == 0.0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"tier1": []}', "missing key"),
    ],
)
def test_bad_network_gives_precise_error(tmp_path: Path, content: str, expected: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    run = setu("stress", bad, "--ttr", "2")
    assert run.returncode == 2
    assert expected in run.stderr and "bad.json" in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_scenarios_csv_names_line(accelerator: Path, tmp_path: Path) -> None:
    scenarios = tmp_path / "s.csv"
    scenarios.write_text("scenario_id,disrupted,ttr\nok,T2_8,9\nbad,NOPE,x\n")
    run = setu("stress", accelerator / "dataset_small.json", "--scenarios", scenarios)
    assert run.returncode == 2
    assert "s.csv: line 3" in run.stderr and "NOPE" in run.stderr


def test_missing_ttr_is_explained(accelerator: Path) -> None:
    run = setu("stress", accelerator / "dataset_small.json")
    assert run.returncode == 2 and "--ttr" in run.stderr


def test_explain_names_the_binding_supplier(published: Path) -> None:
    accelerator = published
    run = setu("explain", accelerator / "dataset_small.json", "--node", "T2_8", "--ttr", "9")
    assert run.returncode == 0, run.stderr
    # T2_8 is the only source of material aac for T1_1 and T1_3 (the accelerator's own reading).
    assert "T1_1" in run.stdout and "T1_3" in run.stdout and "aac from T2_8" in run.stdout
    assert "1,601.38" in run.stdout


def test_explain_names_the_binding_supplier_of_a_generated_network(accelerator: Path) -> None:
    run = setu("explain", accelerator / "dataset_small.json", "--node", "T2_8", "--ttr", "9")
    assert run.returncode == 0, run.stderr
    # T2_8 is the only source of material aac for T1_4 (tests/generated.py); the loss is the reference model's.
    assert "T1_4" in run.stdout and "aac from T2_8" in run.stdout
    assert "812.00" in run.stdout


def test_generate_writes_the_same_network_for_a_seed_and_never_over_one(tmp_path: Path) -> None:
    from setu.network.industrial_base import industrial_base
    from setu.network.io.accelerator import read_accelerator

    out = tmp_path / "base.json"
    run = setu("generate", "--nodes", "150", "--seed", "7", "--out", out)
    assert run.returncode == 0, run.stderr
    assert "industrial base of 150 nodes (seed 7)" in run.stdout and "accelerator" in run.stdout
    made = industrial_base(150, seed=7)
    back = read_accelerator(out)
    assert (back.supplies, back.bom, back.products) == (made.supplies, made.bom, made.products)
    swept = setu("stress", out, "--ttr", "13", "--no-tts", "--out", tmp_path / "r.csv")
    assert swept.returncode == 0, swept.stderr
    again = setu("generate", "--nodes", "150", "--seed", "8", "--out", out)
    assert again.returncode == 2 and "base.json: already exists; pass --overwrite" in again.stderr
    assert read_accelerator(out).supplies == made.supplies


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--format", "willems"], "Invalid value for --format: expected one of auto, setu, accelerator"),
        (["--programs", "99"], "Invalid value for --programs: programs must be between 1 and 42"),
    ],
)
def test_generate_names_a_bad_option(tmp_path: Path, options: list[str], expected: str) -> None:
    run = setu("generate", "--nodes", "50", *options, "--out", tmp_path / "base")
    assert run.returncode == 2 and expected in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "base").exists()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--executor", "dask"], "unknown executor 'dask'; expected one of serial, process, ray"),
        (["--address", "auto"], "Invalid value for --address: only the Ray executor joins a cluster"),
        (["--out", "nowhere/r.parquet"], "the output folder does not exist"),
    ],
)
def test_stress_names_a_bad_option(accelerator: Path, tmp_path: Path, options: list[str], expected: str) -> None:
    run = setu("stress", accelerator / "dataset_small.json", "--ttr", "4", *options, cwd=tmp_path)
    assert run.returncode == 2 and expected in run.stderr and "Traceback" not in run.stderr
    assert list(tmp_path.iterdir()) == [], "nothing written"
