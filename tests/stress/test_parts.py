"""Streaming a sweep to Parquet parts: a sweep stopped at any point resumes with no result lost or duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from setu.errors import InputError
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.industrial_base import industrial_base
from setu.network.io.saver import write_network
from setu.stress.engine import run_scenarios
from setu.stress.parts import ResultParts
from setu.stress.scenarios import Scenario, node_sweep
from setu.stress.solver import PI_HALF, TTS_HALF


@pytest.fixture(scope="module")
def net() -> CompiledNetwork:
    return compile_network(industrial_base(240, seed=11))


@pytest.fixture(scope="module")
def scenarios(net: CompiledNetwork) -> list[Scenario]:
    return node_sweep(net, ttr=4.0)


class Stop(Exception):
    """Stands for the sweep being killed after some batches."""


def test_an_interrupted_sweep_resumes_and_solves_only_the_rest(
    tmp_path: Path, net: CompiledNetwork, scenarios: list[Scenario]
) -> None:
    whole = run_scenarios(net, scenarios)
    parts = ResultParts.open(tmp_path / "sweep.parts", net, scenarios, compute_tts=True)

    def stop_after_three(done: int, total: int) -> None:
        if done >= 3 * (total // 16):
            raise Stop

    with pytest.raises(Stop):
        run_scenarios(net, scenarios, parts=parts, progress=stop_after_three)
    # Each scenario's PI and TTS are stored apart, a row each.
    rows = sum(len(out.positions) for out in parts.completed())
    assert 0 < rows < 2 * len(scenarios)
    stored = parts.solved()
    assert stored == rows // 2

    calls: list[int] = []
    again = ResultParts.open(tmp_path / "sweep.parts", net, scenarios, compute_tts=True)
    result = run_scenarios(net, scenarios, parts=again, progress=lambda done, _: calls.append(done))
    assert result.meta["resumed"] == stored
    assert calls[0] == stored, "the resumed sweep starts from what was stored"
    # Equal to the warm solver's round-off: a batch's values depend a little on what was solved before it.
    np.testing.assert_allclose(result.lost_profit, whole.lost_profit, rtol=1e-9)
    np.testing.assert_allclose(result.tts, whole.tts, rtol=1e-9)
    halves = [(int(p), int(h)) for out in again.completed() for p, h in zip(out.positions, out.halves, strict=True)]
    for half in (PI_HALF, TTS_HALF):
        stored_once = sorted(p for p, h in halves if h & half)
        assert stored_once == list(range(len(scenarios))), f"every scenario's half {half} stored exactly once"


def test_parts_of_another_sweep_are_refused(tmp_path: Path, net: CompiledNetwork, scenarios: list[Scenario]) -> None:
    folder = tmp_path / "sweep.parts"
    ResultParts.open(folder, net, scenarios, compute_tts=True)
    longer = [Scenario(s.id, s.nodes, 5.0, kind=s.kind) for s in scenarios]
    with pytest.raises(InputError, match="holds the parts of a different sweep"):
        ResultParts.open(folder, net, longer, compute_tts=True)
    with pytest.raises(InputError, match="holds the parts of a different sweep"):
        ResultParts.open(folder, net, scenarios, compute_tts=False)
    (tmp_path / "photos").mkdir()
    with pytest.raises(InputError, match="is not the parts folder of a sweep"):
        ResultParts.open(tmp_path / "photos", net, scenarios, compute_tts=True)


def test_parts_an_older_setu_wrote_are_refused_by_name(
    tmp_path: Path, net: CompiledNetwork, scenarios: list[Scenario]
) -> None:
    """Parts of format 1 hold each scenario's PI and TTS in one row; read as halves they would mislead."""
    folder = tmp_path / "sweep.parts"
    ResultParts.open(folder, net, scenarios, compute_tts=True)
    manifest = json.loads((folder / "sweep.json").read_text())
    (folder / "sweep.json").write_text(json.dumps({**manifest, "format": 1}))
    with pytest.raises(InputError, match="holds parts in another format"):
        ResultParts.open(folder, net, scenarios, compute_tts=True)


def test_a_part_being_written_when_killed_is_discarded(
    tmp_path: Path, net: CompiledNetwork, scenarios: list[Scenario]
) -> None:
    folder = tmp_path / "sweep.parts"
    ResultParts.open(folder, net, scenarios, compute_tts=True)
    (folder / "part-000001.tmp").write_bytes(b"PAR1 half a file")
    parts = ResultParts.open(folder, net, scenarios, compute_tts=True)
    assert not list(folder.glob("*.tmp"))
    assert list(parts.completed()) == []


def test_the_cli_resumes_a_killed_sweep(tmp_path: Path) -> None:
    network = tmp_path / "base"
    write_network(industrial_base(160, seed=11), network, "setu")
    command = [sys.executable, "-m", "setu", "stress", str(network), "--ttr", "4"]
    whole, out = tmp_path / "whole.parquet", tmp_path / "sweep.parquet"
    subprocess.run([*command, "--out", str(whole)], check=True, capture_output=True, timeout=300)

    sweep = subprocess.Popen([*command, "--out", str(out)], stderr=subprocess.PIPE, text=True)
    folder = tmp_path / "sweep.parquet.parts"
    deadline = time.monotonic() + 120
    while len(list(folder.glob("part-*.parquet"))) < 2 and sweep.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sweep.poll() is None, "the sweep ended before it could be killed"
    os.kill(sweep.pid, signal.SIGKILL)
    sweep.wait(timeout=30)
    assert not out.exists()

    again = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "resuming the sweep in" in again.stderr and "scenarios was already done" in again.stderr
    assert not folder.exists(), "the parts are removed once the results are written"
    got, want = pd.read_parquet(out), pd.read_parquet(whole)
    assert got["scenario_id"].is_unique and len(got) == len(want)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
