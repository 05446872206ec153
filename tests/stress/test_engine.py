"""The engine end to end: the accelerator's expected values, hand-derived networks, REI and parallel runs."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

import generated
from setu.errors import ScenarioError
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.io.accelerator import read_accelerator
from setu.network.model import Network
from setu.stress.engine import StressResult, run_scenarios
from setu.stress.scenarios import Scenario, from_ttr_table, read_ttr_csv

from .networks import HAND_CASES, MIXED_CASES, HandCase, alternates, shared_site, single_supplier
from .reference import reference_pi, reference_tts


def scenario_of(case_id: str, disrupted: dict[str, float], ttr: float) -> Scenario:
    """A scenario with the given node -> severity map (no severity tuple when every one is 1)."""
    severity = None if all(v == 1.0 for v in disrupted.values()) else tuple(disrupted.values())
    return Scenario(id=case_id, nodes=tuple(disrupted), ttr=ttr, severity=severity)


def assert_close(got: float, want: float, what: str, rel: float = 1e-6, abs_: float = 1e-9) -> None:
    """Equal to ``rel`` relative (``abs_`` near zero); infinities must match exactly."""
    if math.isinf(want) or math.isinf(got):
        assert got == want, f"{what}: got {got}, expected {want}"
    else:
        assert got == pytest.approx(want, rel=rel, abs=abs_), f"{what}: got {got}, expected {want}"


# -- the accelerator's small network ---------------------------------------------------------------


@pytest.fixture(scope="module")
def accelerator(shared_data: Path) -> Path:
    return shared_data / "stress-test-accelerator"


@pytest.fixture(scope="module")
def small(accelerator: Path) -> CompiledNetwork:
    return compile_network(read_accelerator(accelerator / "dataset_small.json"))


@pytest.fixture(scope="module")
def generated_small() -> tuple[Network, CompiledNetwork]:
    """The generated network of the small data set's shape, with each node's own TTR."""
    network = generated.small()
    return network, compile_network(network)


def read_expected(path: Path) -> list[tuple[str, float, float, float]]:
    with path.open(newline="") as handle:
        return [
            (row["node"], float(row["ttr"]), float(row["lost_profit"]), float(row["tts"]))
            for row in csv.DictReader(handle)
        ]


def test_accelerator_small_expected_values(accelerator: Path, small: CompiledNetwork) -> None:
    expected = read_expected(accelerator / "expected_small.csv")
    scenarios = from_ttr_table(small, read_ttr_csv(accelerator / "ttr_small.csv"))
    assert [s.id for s in scenarios] == [node for node, *_ in expected]
    result = run_scenarios(small, scenarios, jobs=1)
    assert len(result.lost_profit) == len(expected) == 30
    for (node, ttr, pi, tts), got_pi, got_tts, scenario in zip(
        expected, result.lost_profit, result.tts, result.scenarios, strict=True
    ):
        assert scenario.ttr == ttr
        assert_close(float(got_pi), pi, f"PI of {node}")
        assert_close(float(got_tts), tts, f"TTS of {node}")
    # The published check: PI > 0 exactly when TTS < TTR (every weight is positive).
    assert np.array_equal(result.lost_profit > 1e-9, result.tts < result.ttr)
    assert np.array_equal(result.at_risk, result.tts < result.ttr)


def test_accelerator_small_parallel_equals_serial(generated_small: tuple[Network, CompiledNetwork]) -> None:
    network, small = generated_small
    scenarios = from_ttr_table(small, generated.ttr_table(network))
    serial = run_scenarios(small, scenarios, jobs=1)
    parallel = run_scenarios(small, scenarios, jobs=2)
    assert parallel.jobs == 2
    assert [s.id for s in parallel.scenarios] == [s.id for s in serial.scenarios]
    # The same optimum; a worker's solve history may move the last bit of a TTS (1/tau), nothing more.
    np.testing.assert_allclose(parallel.lost_profit, serial.lost_profit, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(parallel.tts, serial.tts, rtol=1e-12)
    np.testing.assert_allclose(parallel.rei, serial.rei, rtol=1e-12, atol=1e-12)
    assert np.array_equal(parallel.at_risk, serial.at_risk)


def test_accelerator_small_matches_reference_with_partial_severity(
    generated_small: tuple[Network, CompiledNetwork],
) -> None:
    """Half outages of every supplying node, checked against the naive model."""
    network, small = generated_small
    ttr = generated.ttr_table(network)
    scenarios = [Scenario(id=n, nodes=(n,), ttr=t, severity=(0.5,)) for n, t in ttr.items()]
    result = run_scenarios(small, scenarios)
    for scenario, pi, tts in zip(scenarios, result.lost_profit, result.tts, strict=True):
        assert_close(float(pi), reference_pi(network, {scenario.id: 0.5}, scenario.ttr), f"PI of {scenario.id}")
        assert_close(float(tts), reference_tts(network, {scenario.id: 0.5}), f"TTS of {scenario.id}")


# -- hand-derived networks --------------------------------------------------------------------------


@pytest.mark.parametrize("case", HAND_CASES, ids=lambda case: case.name)
def test_hand_derived(case: HandCase) -> None:
    net = compile_network(case.network)
    result = run_scenarios(net, [scenario_of(case.name, case.disrupted, case.ttr)])
    assert_close(float(result.lost_profit[0]), case.pi, "engine PI")
    assert_close(float(result.tts[0]), case.tts, "engine TTS")
    assert_close(reference_pi(case.network, case.disrupted, case.ttr), case.pi, "reference PI")
    assert_close(reference_tts(case.network, case.disrupted), case.tts, "reference TTS")


@pytest.mark.parametrize("case", MIXED_CASES, ids=lambda case: case.name)
def test_mixed_scenario_reference_and_pi(case: HandCase) -> None:
    """A node feeding no product, disrupted along with one that does: the hand values hold for PI."""
    result = run_scenarios(compile_network(case.network), [scenario_of(case.name, case.disrupted, case.ttr)])
    assert_close(float(result.lost_profit[0]), case.pi, "engine PI")
    assert_close(reference_pi(case.network, case.disrupted, case.ttr), case.pi, "reference PI")
    assert_close(reference_tts(case.network, case.disrupted), case.tts, "reference TTS")


@pytest.mark.parametrize("case", [c for c in MIXED_CASES if c.pi > 0], ids=lambda case: case.name)
def test_disrupted_node_feeding_no_product_does_not_corrupt_tts(case: HandCase) -> None:
    # A LocalTTS bug once gave TTS 0.5 and 0.0 here: the outage bound of Z landed on the column of S->P.
    result = run_scenarios(compile_network(case.network), [scenario_of(case.name, case.disrupted, case.ttr)])
    assert_close(float(result.tts[0]), case.tts, "engine TTS")


def test_mixed_scenario_pi_and_tts_agree_on_risk() -> None:
    """PI > 0 exactly when TTS < TTR: at t=1 the mixed scenario loses nothing, so TTS must be >= 1."""
    case = next(c for c in MIXED_CASES if c.name == "mixed-S-and-Z-short")
    result = run_scenarios(compile_network(case.network), [scenario_of(case.name, case.disrupted, case.ttr)])
    assert float(result.lost_profit[0]) == 0.0
    assert result.tts[0] >= case.ttr


def test_hand_derived_in_one_run_keep_order() -> None:
    """Every case of a network in one run (mixed TTRs, shuffled): results come back in input order."""
    by_network: dict[str, list[HandCase]] = {}
    for case in HAND_CASES:
        by_network.setdefault(case.network.name + repr(case.network.nodes), []).append(case)
    rng = np.random.default_rng(7)
    for cases in by_network.values():
        cases = [cases[i] for i in rng.permutation(len(cases))]
        net = compile_network(cases[0].network)
        result = run_scenarios(net, [scenario_of(c.name, c.disrupted, c.ttr) for c in cases], jobs=1)
        for case, pi, tts in zip(cases, result.lost_profit, result.tts, strict=True):
            assert_close(float(pi), case.pi, f"PI of {case.name}")
            assert_close(float(tts), case.tts, f"TTS of {case.name}")


def test_hand_derived_parallel() -> None:
    network = shared_site()
    cases = [c for c in HAND_CASES if c.network.name == network.name]
    scenarios = [scenario_of(c.name, c.disrupted, c.ttr) for c in cases]
    result = run_scenarios(compile_network(network), scenarios, jobs=2)
    np.testing.assert_allclose(result.lost_profit, [c.pi for c in cases], rtol=1e-9)
    np.testing.assert_allclose(result.tts, [c.tts for c in cases], rtol=1e-9)


# -- REI, options, validation ----------------------------------------------------------------------


def test_rei_is_pi_over_max_pi() -> None:
    net = compile_network(single_supplier())
    # PI by hand (see networks.HAND_CASES): S out at t=4 -> 40, P out at t=4 -> 70, Z out -> 0.
    scenarios = [
        Scenario("S", ("S",), 4.0),
        Scenario("P", ("P",), 4.0),
        Scenario("Z", ("Z",), 4.0),
    ]
    result = run_scenarios(net, scenarios)
    np.testing.assert_allclose(result.lost_profit, [40.0, 70.0, 0.0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(result.rei, [40.0 / 70.0, 1.0, 0.0], rtol=1e-9, atol=1e-12)
    assert result.rei.max() == 1.0
    frame = result.to_frame()
    np.testing.assert_allclose(frame["rei"].to_numpy(), result.rei)
    assert list(frame["scenario_id"]) == ["S", "P", "Z"]


def test_rei_all_zero_when_every_pi_is_zero() -> None:
    net = compile_network(alternates(12.0, 0.0))
    # Either alternate alone covers demand (hand cases b-alternate-enough, b-other-alternate-out).
    result = run_scenarios(net, [Scenario("A1", ("A1",), 5.0), Scenario("A2", ("A2",), 5.0)])
    assert np.all(result.lost_profit == 0.0)
    assert np.array_equal(result.rei, np.zeros(2))
    empty = StressResult("x", [], np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    assert empty.rei.shape == (0,)


def test_compute_tts_false_leaves_nan_and_progress_reports() -> None:
    net = compile_network(single_supplier())
    seen: list[tuple[int, int]] = []
    result = run_scenarios(
        net,
        [Scenario("S", ("S",), 4.0), Scenario("P", ("P",), 4.0)],
        compute_tts=False,
        progress=lambda done, total: seen.append((done, total)),
    )
    np.testing.assert_allclose(result.lost_profit, [40.0, 70.0])
    assert np.isnan(result.tts).all()
    assert seen and seen[-1] == (2, 2)


def test_run_scenarios_validates_first() -> None:
    net = compile_network(single_supplier())
    with pytest.raises(ScenarioError, match="unknown node"):
        run_scenarios(net, [Scenario("ok", ("S",), 1.0), Scenario("bad", ("nope",), 1.0)])
