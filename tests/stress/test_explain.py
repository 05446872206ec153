"""Explanations: what loses, what binds, what is re-routed, who runs short first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import generated
from setu.network.compile import compile_network
from setu.network.io.accelerator import read_accelerator
from setu.stress.explain import explain
from setu.stress.scenarios import Scenario

from .reference import reference_pi, reference_tts


def test_sole_source_outage_is_explained(shared_data: Path) -> None:
    net = compile_network(read_accelerator(shared_data / "stress-test-accelerator" / "dataset_small.json"))
    # T2_8 is the only source of material aac for T1_1 and T1_3 (T1_5 has T2_7 and T2_9 too).
    story = explain(net, Scenario(id="T2_8", nodes=("T2_8",), ttr=9))
    assert story.lost_profit == pytest.approx(1601.38, rel=1e-9)
    assert story.base_lost_profit == 0.0
    assert story.tts == pytest.approx(3.381449631, rel=1e-8)
    assert {loss.product for loss in story.losses} == {"T1_1", "T1_3"}
    assert all(loss.binding == "aac" and loss.binding_suppliers == ("T2_8",) for loss in story.losses)
    assert sum(loss.lost_value for loss in story.losses) == pytest.approx(story.lost_profit, rel=1e-9)
    assert set(story.first_short) == {"T1_1", "T1_3"}
    # Its own inputs stop flowing: nothing is shipped into a node that makes nothing.
    into_t2_8 = [f for f in story.rerouted if f.customer == "T2_8"]
    assert into_t2_8 and all(f.scenario == 0.0 and f.base > 0 for f in into_t2_8)
    text = story.to_text()
    assert "aac from T2_8" in text and "TTS < TTR" in text
    assert json.loads(json.dumps(story.to_dict()))["scenario"]["id"] == "T2_8"


def test_sole_source_outage_of_a_generated_network_is_explained() -> None:
    network = generated.small()
    net = compile_network(network)
    # T2_8 is the only source of material aac for T1_4 (T1_1 has T2_9, the others T2_7 as well).
    assert {
        s.supplier for s in network.supplies if s.customer == "T1_4" and s.supplier in ("T2_7", "T2_8", "T2_9")
    } == {"T2_8"}
    story = explain(net, Scenario(id="T2_8", nodes=("T2_8",), ttr=9))
    assert story.lost_profit == pytest.approx(reference_pi(network, {"T2_8": 1.0}, 9), rel=1e-9)
    assert story.lost_profit == pytest.approx(812.0, rel=1e-9)
    assert story.base_lost_profit == 0.0
    assert story.tts == pytest.approx(reference_tts(network, {"T2_8": 1.0}), rel=1e-8)
    assert {loss.product for loss in story.losses} == {"T1_4"}
    assert all(loss.binding == "aac" and loss.binding_suppliers == ("T2_8",) for loss in story.losses)
    assert sum(loss.lost_value for loss in story.losses) == pytest.approx(story.lost_profit, rel=1e-9)
    assert set(story.first_short) == {"T1_4"}
    # Its own inputs stop flowing: nothing is shipped into a node that makes nothing.
    into_t2_8 = [f for f in story.rerouted if f.customer == "T2_8"]
    assert into_t2_8 and all(f.scenario == 0.0 and f.base > 0 for f in into_t2_8)
    text = story.to_text()
    assert "aac from T2_8" in text and "TTS < TTR" in text
    assert json.loads(json.dumps(story.to_dict()))["scenario"]["id"] == "T2_8"


def test_disrupted_product_binds_on_its_outage() -> None:
    net = compile_network(generated.small())
    story = explain(net, Scenario(id="p", nodes=("T1_4",), ttr=10))
    assert [loss.binding for loss in story.losses] == ["outage"]
    assert story.losses[0].product == "T1_4"
