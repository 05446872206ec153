"""The notebook API: load, build scenarios, run, get a DataFrame, explain."""

from __future__ import annotations

from pathlib import Path

import pytest

import setu


def test_notebook_flow(generated_data: Path) -> None:
    net = setu.load_network(generated_data / "dataset_small.json")
    sweep = setu.scenarios.node_sweep(net, ttr=6)
    frame = setu.run(net, sweep).to_frame()
    assert list(frame.columns[:6]) == ["scenario_id", "disrupted", "ttr", "lost_profit", "tts", "rei"]
    assert len(frame) == 30 and set(frame["ttr"]) == {6.0}
    # PI > 0 exactly where TTS < TTR (every weight is positive in this network).
    assert ((frame["lost_profit"] > 1e-9) == (frame["tts"] < frame["ttr"])).all()
    both = setu.Scenario(id="pair", nodes=("T2_8", "T2_10"), ttr=9)
    alone = setu.run(net, [both, *[s for s in sweep if s.id in ("T2_8", "T2_10")]]).to_frame()
    assert alone.loc[0, "lost_profit"] >= alone.loc[1:, "lost_profit"].max()
    story = setu.explain(net, both)
    assert story.lost_profit == pytest.approx(alone.loc[0, "lost_profit"])


def test_run_defaults_to_the_sweep_and_needs_a_ttr(generated_data: Path) -> None:
    net = setu.load_network(generated_data / "dataset_small.json")
    assert len(setu.run(net, ttr=3).scenarios) == 30
    with pytest.raises(setu.errors.ScenarioError, match="--ttr"):
        setu.run(net)
