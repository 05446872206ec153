"""The warm StressLP models: the base-solution shortcut, repeated solves, the undisrupted base."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from setu.network.compile import CompiledNetwork, compile_network
from setu.network.generate import three_tier
from setu.network.io.accelerator import read_accelerator
from setu.network.model import Network
from setu.stress import lp as lp_module
from setu.stress.lp import Kind, StressLP
from setu.stress.scenarios import read_ttr_csv

from .networks import BASE_TTS, HAND_CASES, single_supplier
from .reference import reference_pi, reference_tts


def load(generated_data: Path, size: str) -> tuple[Network, CompiledNetwork, dict[str, float]]:
    """A generated network of the accelerator's small or large shape, read from its files, with its TTR table."""
    network = read_accelerator(generated_data / f"dataset_{size}.json")
    return network, compile_network(network), read_ttr_csv(generated_data / f"ttr_{size}.csv")


def sweep(
    model: StressLP, net: CompiledNetwork, items: list[tuple[str, float]], remaining: float, use_shortcut: bool
) -> tuple[np.ndarray, int]:
    """Solve each single-node scenario (TTR-sorted); also count those the base optimum survives."""
    values = np.empty(len(items))
    survived = 0
    rest = np.array([remaining])
    for k, (node, ttr) in enumerate(items):
        if model.kind == "ttr" and model.horizon != ttr:
            model.set_horizon(ttr)
            model.solve_base()
        nodes = np.array([net.index_of(node)])
        survived += model.survives_with_base(nodes, rest)
        values[k] = model.solve_scenario(nodes, rest, use_shortcut=use_shortcut).value
    return values, survived


def assert_same(with_shortcut: np.ndarray, without: np.ndarray) -> None:
    assert np.array_equal(np.isinf(with_shortcut), np.isinf(without))
    finite = np.isfinite(without)
    np.testing.assert_allclose(with_shortcut[finite], without[finite], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", ["ttr", "tts"])
@pytest.mark.parametrize("remaining", [0.0, 0.5])
def test_shortcut_equals_full_solve_small(generated_data: Path, kind: Kind, remaining: float) -> None:
    _, net, ttr = load(generated_data, "small")
    items = sorted(ttr.items(), key=lambda kv: kv[1])
    fast, survived = sweep(StressLP(net, kind), net, items, remaining, use_shortcut=True)
    slow, _ = sweep(StressLP(net, kind), net, items, remaining, use_shortcut=False)
    assert 0 < survived < len(items)  # the shortcut is exercised, and so is the solve
    assert_same(fast, slow)


@pytest.mark.parametrize("kind", ["ttr", "tts"])
def test_shortcut_equals_full_solve_large(generated_data: Path, kind: Kind) -> None:
    """Every tier-2/3 node of the large network for TTR; a fixed sample of 300 for the slower TTS."""
    _, net, ttr = load(generated_data, "large")
    items = list(ttr.items())
    assert len(items) == 1500
    if kind == "tts":
        pick = np.random.default_rng(20240501).choice(len(items), size=300, replace=False)
        items = [items[i] for i in pick]
    items.sort(key=lambda kv: kv[1])
    fast, survived = sweep(StressLP(net, kind), net, items, 0.0, use_shortcut=True)
    slow, _ = sweep(StressLP(net, kind), net, items, 0.0, use_shortcut=False)
    assert 0 < survived < len(items)
    assert_same(fast, slow)


def test_base_survival_implies_base_value(generated_data: Path) -> None:
    """Wherever the base survives a scenario, the full solve returns exactly the base value."""
    _, net, ttr = load(generated_data, "small")
    for kind in ("ttr", "tts"):
        model = StressLP(net, kind)
        for node, t in ttr.items():
            if kind == "ttr":
                model.set_horizon(t)
                model.solve_base()
            nodes = np.array([net.index_of(node)])
            if model.survives_with_base(nodes, np.zeros(1)):
                full = model.solve_scenario(nodes, use_shortcut=False).value
                assert full == pytest.approx(model.base.value, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("kind", ["ttr", "tts"])
def test_repeated_solves_leave_the_model_unchanged(generated_data: Path, kind: Kind) -> None:
    network, net, ttr = load(generated_data, "small")
    model = StressLP(net, kind)
    if kind == "ttr":
        model.set_horizon(8.0)
    base = model.solve_base().value
    nodes = list(ttr)
    first = {node: model.solve_scenario(np.array([net.index_of(node)]), use_shortcut=False).value for node in nodes}
    # Interleave: every scenario again, in reverse, each followed by a two-node partial one.
    for k, node in enumerate(reversed(nodes)):
        again = model.solve_scenario(np.array([net.index_of(node)]), use_shortcut=False).value
        assert again == pytest.approx(first[node], rel=1e-12, abs=1e-12)
        other = nodes[k % len(nodes)]
        if other != node:
            pair = np.array([net.index_of(node), net.index_of(other)])
            model.solve_scenario(pair, np.array([0.3, 0.0]), use_shortcut=False)
    assert model.solve_base().value == pytest.approx(base, rel=1e-12, abs=1e-12)
    # ... and every value is still the reference model's.
    for node in nodes[:8]:
        want = reference_pi(network, {node: 1.0}, 8.0) if kind == "ttr" else reference_tts(network, {node: 1.0})
        assert first[node] == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_changing_horizon_back_and_forth() -> None:
    net = compile_network(single_supplier())
    model = StressLP(net, "ttr")
    s = np.array([net.index_of("S")])
    values = []
    for t in (4.0, 1.5, 4.0, 0.0, 4.0):
        model.set_horizon(t)
        model.solve_base()
        values.append(model.solve_scenario(s).value)
    # Hand values (networks.HAND_CASES): 40 at t=4, 0 at t=1.5, 0 at t=0.
    np.testing.assert_allclose(values, [40.0, 0.0, 40.0, 0.0, 40.0], atol=1e-9)


@pytest.mark.parametrize(("network", "tts"), BASE_TTS, ids=lambda v: getattr(v, "name", str(v)))
def test_base_tts_and_pi(network: Network, tts: float) -> None:
    net = compile_network(network)
    want = pytest.approx(tts, rel=1e-9) if math.isfinite(tts) else math.inf
    assert StressLP(net, "tts").solve_base().value == want
    assert reference_tts(network, {}) == want
    model = StressLP(net, "ttr")
    model.set_horizon(5.0)
    assert model.solve_base().value == pytest.approx(reference_pi(network, {}, 5.0), abs=1e-9)


def test_keep_columns_gives_a_feasible_solution_with_the_value() -> None:
    """Columns of the TTR model at a hand case: u, y, then l; the loss weighs to PI."""
    case = next(c for c in HAND_CASES if c.name == "c-m2-source-out")
    net = compile_network(case.network)
    model = StressLP(net, "ttr")
    model.set_horizon(case.ttr)
    model.solve_base()
    nodes = np.array([net.index_of(n) for n in case.disrupted])
    solution = model.solve_scenario(nodes, keep_columns=True)
    assert solution.columns is not None
    assert solution.value == pytest.approx(case.pi)
    u = solution.columns[: net.n_nodes]
    losses = solution.columns[model.layout.last0 :]
    assert float(net.weight @ losses) == pytest.approx(case.pi)
    assert u[net.index_of("B")] == pytest.approx(0.0, abs=1e-12)
    # By hand: B's stock 8 limits P to 8 units.
    assert u[net.index_of("P")] == pytest.approx(8.0)


def test_tts_model_has_no_horizon() -> None:
    model = StressLP(compile_network(single_supplier()), "tts")
    with pytest.raises(ValueError, match="no fixed horizon"):
        model.set_horizon(3.0)


def _base_solved_by(monkeypatch: pytest.MonkeyPatch, model: StressLP) -> tuple[float, str]:
    """Solve ``model``'s base; its value and the HiGHS solvers its runs used."""
    solvers: list[object] = []
    real_run = lp_module.run_highs

    def spy(highs: object) -> object:
        solvers.append(highs.getOptionValue("solver"))  # type: ignore[attr-defined]
        return real_run(highs)

    monkeypatch.setattr(lp_module, "run_highs", spy)
    try:
        return model.solve_base().value, str(solvers)
    finally:
        monkeypatch.setattr(lp_module, "run_highs", real_run)


def test_a_base_past_its_simplex_allowance_goes_to_the_interior_point_with_the_same_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = compile_network(three_tier(20, 60, 120, seed=4))
    nodes = [np.array([i]) for i in range(0, net.n_nodes, 9)]
    results = {}
    for allowance in (60.0, 0.0):  # all the time it needs; none, so the interior point solves every base
        monkeypatch.setattr(lp_module, "BASE_SIMPLEX_SECONDS", allowance)
        monkeypatch.setattr(lp_module, "BASE_SIMPLEX_SECONDS_PER_ROW", 0.0)
        model = StressLP(net, "ttr")
        model.set_horizon(7.0)
        base, solvers = _base_solved_by(monkeypatch, model)
        results[allowance] = [base, *(model.solve_scenario(n, use_shortcut=False).value for n in nodes)]
        assert ("ipm" in solvers) == (allowance == 0.0)
    assert results[60.0] == pytest.approx(results[0.0], rel=1e-9, abs=1e-7)


def test_the_allowance_is_per_base_not_over_the_models_life(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS counts run time from the instance's creation: a long-used model still gives each base its seconds."""
    monkeypatch.setattr(lp_module, "BASE_SIMPLEX_SECONDS", 0.5)
    net = compile_network(three_tier(20, 60, 120, seed=4))
    model = StressLP(net, "ttr")
    model.set_horizon(5.0)
    model.solve_base()
    started = time.perf_counter()
    while model.highs.getRunTime() < 0.6:  # more run time than one allowance, spent on scenarios
        for i in range(net.n_nodes):
            model.solve_scenario(np.array([i]), use_shortcut=False)
    assert time.perf_counter() - started < 60
    model.set_horizon(6.0)
    _, solvers = _base_solved_by(monkeypatch, model)
    assert "ipm" not in solvers


def _presolved_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record, for every HiGHS run from now on, whether it ran with presolve."""
    seen: list[str] = []
    real_run = lp_module.run_highs

    def spy(highs: object) -> object:
        seen.append(highs.getOptionValue("presolve")[1])  # type: ignore[attr-defined]
        return real_run(highs)

    monkeypatch.setattr(lp_module, "run_highs", spy)
    return seen


@pytest.mark.parametrize("kind", ["ttr", "tts"])
@pytest.mark.parametrize("every", [2, 5])
def test_a_wide_scenario_is_solved_cold_and_equals_the_repair_and_the_reference(
    monkeypatch: pytest.MonkeyPatch, kind: Kind, every: int
) -> None:
    """Every ``every``-th sub-supplier out (an export ban's width): past COLD_CUT_NODES cut nodes the model is
    solved from scratch with presolve; the value is the warm repair's and the independent dense reference's, and
    the model is the undisrupted one again afterwards. (The threshold is lowered so that the dense reference
    can solve the network.)"""
    monkeypatch.setattr(lp_module, "COLD_CUT_NODES", 20)
    network = three_tier(10, 120, 600, seed=11)
    net = compile_network(network)
    out = np.array([i for i, node in enumerate(net.node_ids) if node.startswith("T3_")])[::every]
    model = StressLP(net, kind)
    if kind == "ttr":
        model.set_horizon(6.0)
    base = model.solve_base().value
    assert model.is_wide(out, np.zeros(len(out)))  # the case under test: wide enough to go cold
    runs = _presolved_runs(monkeypatch)
    cold = model.solve_scenario(out, np.zeros(len(out))).value
    assert runs == ["on"]
    monkeypatch.setattr(lp_module, "COLD_CUT_NODES", 10**9)
    runs.clear()
    warm = model.solve_scenario(out, np.zeros(len(out))).value
    assert runs == ["off"]
    monkeypatch.setattr(lp_module, "COLD_CUT_NODES", 20)
    runs.clear()
    explained = model.solve_scenario(out, np.zeros(len(out)), keep_columns=True)
    assert runs == ["off"]  # an explanation's solution is the repair's, whatever the width
    assert explained.value == pytest.approx(warm, rel=1e-9, abs=1e-9)
    disrupted = {net.node_ids[i]: 1.0 for i in out}  # severity: wholly out
    want = reference_pi(network, disrupted, 6.0) if kind == "ttr" else reference_tts(network, disrupted)
    assert cold == pytest.approx(warm, rel=1e-9, abs=1e-9)
    assert cold == pytest.approx(want, rel=1e-7, abs=1e-7)
    assert model.solve_scenario(np.array([], dtype=np.int64), np.zeros(0), use_shortcut=False).value == (
        pytest.approx(base, rel=1e-9, abs=1e-9)
    )


@pytest.mark.parametrize("kind", ["ttr", "tts"])
def test_cold_and_warm_agree_on_every_single_node_scenario(monkeypatch: pytest.MonkeyPatch, kind: Kind) -> None:
    """With the threshold at one cut node every scenario that needs a solve goes cold: the same values as the
    warm repairs, scenario by scenario, so the threshold only ever changes the time."""
    net = compile_network(three_tier(12, 40, 80, seed=3))
    values = {}
    for threshold in (10**9, 1):
        monkeypatch.setattr(lp_module, "COLD_CUT_NODES", threshold)
        model = StressLP(net, kind)
        if kind == "ttr":
            model.set_horizon(4.0)
        values[threshold] = [
            model.solve_scenario(np.array([i]), np.array([r])).value for i in range(net.n_nodes) for r in (0.0, 0.4)
        ]
    assert_same(np.array(values[1]), np.array(values[10**9]))
