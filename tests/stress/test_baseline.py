"""Figures measured from the baseline: on a view that runs short undisrupted, what the disruption itself costs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from setu.network.compile import compile_network
from setu.network.generate import three_tier
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.stress.baseline import baseline, baseline_losses, sustainable
from setu.stress.engine import run_scenarios
from setu.stress.scenarios import Scenario, node_sweep
from stress.reference import reference_pi, reference_tts


def two_products() -> Network:
    """H --h--> P1 and S --m--> P2, plus a shared tier-2 T feeding both suppliers.

    H: c=20, s=0.  S: c=15, s=4.  T: c=100, s=50 (material t, 1 per unit of h and of m).
    P1: c=30, s=5, r=1 h; d=10, f=3.   P2: c=30, s=2, r=1 m; d=12, f=2.
    Hiding H (a partner's source) leaves P1 with its stock only: 5 units, half a time unit of demand.
    """
    return Network(
        name="two-products",
        nodes=[
            Node("H", "h", capacity=20.0, inventory=0.0),
            Node("S", "m", capacity=15.0, inventory=4.0),
            Node("T", "t", capacity=100.0, inventory=50.0),
            Node("P1", "p1", capacity=30.0, inventory=5.0),
            Node("P2", "p2", capacity=30.0, inventory=2.0),
        ],
        products=[Product("P1", demand=10.0, weight=3.0), Product("P2", demand=12.0, weight=2.0)],
        bom=[BomLine("P1", "h", 1.0), BomLine("P2", "m", 1.0), BomLine("H", "t", 1.0), BomLine("S", "t", 1.0)],
        supplies=[Supply("H", "P1"), Supply("S", "P2"), Supply("T", "H"), Supply("T", "S")],
    )


def without(network: Network, hidden: set[str]) -> Network:
    """The network as a reader who may not see ``hidden`` compiles it (as :mod:`setu.networks.views` does):
    those nodes and their edges gone, and a node left with no source of a material it needs makes nothing."""
    nodes = [n for n in network.nodes if n.id not in hidden]
    material = {n.id: n.material for n in nodes}
    supplies = [s for s in network.supplies if s.supplier not in hidden and s.customer not in hidden]
    sourced = {(s.customer, material[s.supplier]) for s in supplies}
    bom = [b for b in network.bom if b.node not in hidden]
    starved = {b.node for b in bom if (b.node, b.material) not in sourced}
    return Network(
        name=network.name,
        nodes=[dataclasses.replace(n, capacity=0.0) if n.id in starved else n for n in nodes],
        products=[p for p in network.products if p.node not in hidden],
        bom=[b for b in bom if (b.node, b.material) in sourced],
        supplies=supplies,
    )


def test_a_network_that_meets_demand_has_no_baseline_and_relative_figures_are_the_plain_ones() -> None:
    net = compile_network(three_tier(4, 6, 8, seed=3))
    base = baseline(net)
    assert not base.short and base.loss_rate == 0 and math.isinf(base.tts)
    scenarios = node_sweep(net, ttr=3.0)
    plain, relative = run_scenarios(net, scenarios), run_scenarios(net, scenarios, relative=True)
    np.testing.assert_array_equal(relative.lost_profit, plain.lost_profit)
    np.testing.assert_array_equal(relative.tts, plain.tts)
    np.testing.assert_array_equal(relative.tts_relative, plain.tts)  # type: ignore[arg-type]
    np.testing.assert_array_equal(relative.rei, plain.rei)
    assert relative.baseline_loss is not None and not relative.baseline_loss.any()


def test_hand_derived_baseline_of_a_view_missing_a_source() -> None:
    view = compile_network(without(two_products(), {"H"}))
    base = baseline(view)
    # P1 cannot be made without H: all of its demand (10 a time unit) is short; P2 is whole.
    assert base.shortfall.tolist() == [10.0, 0.0] and base.loss_rate == 30.0
    assert base.short_products(view) == ["P1"]
    assert base.tts == pytest.approx(0.5)  # P1's 5 units of stock cover half a time unit
    # Undisrupted loss over t: P1's demand beyond its stock, 3 * (10 t - 5).
    assert baseline_losses(view, [0.2, 2.0, 2.0]) == pytest.approx({0.2: 0.0, 2.0: 45.0})
    assert sustainable(view, base).demand.tolist() == [0.0, 12.0]


@pytest.mark.parametrize("ttr", [0.25, 1.0, 3.0])
def test_on_a_view_missing_a_source_the_relative_figures_are_the_full_networks(ttr: float) -> None:
    # Disrupting what both views see (S, T): beyond the baseline, the partial view loses what the full
    # network loses on P2, and survives as long as the full network does for P2, whatever P1 lacks.
    full, partial = two_products(), without(two_products(), {"H"})
    view = compile_network(partial)
    scenarios = [Scenario(id=n, nodes=(n,), ttr=ttr) for n in ("S", "T", "P2")]
    result = run_scenarios(view, scenarios, relative=True)
    plain = run_scenarios(view, scenarios)
    if ttr >= 1:  # measured plainly, every scenario "runs short" once P1's stock is gone: the misleading picture
        assert plain.at_risk.all() and not result.at_risk[1]  # T: its stock carries S and P2 for 4.7
    only_p2 = Network(full.name, full.nodes, [full.products[1]], full.bom, full.supplies)
    for i, scenario in enumerate(scenarios):
        assert result.lost_profit[i] == pytest.approx(reference_pi(partial, {scenario.id: 1.0}, ttr), abs=1e-7)
        assert result.excess_loss[i] == pytest.approx(reference_pi(only_p2, {scenario.id: 1.0}, ttr), abs=1e-7)
        assert result.tts_relative is not None
        assert result.tts_relative[i] == pytest.approx(reference_tts(only_p2, {scenario.id: 1.0}), abs=1e-7)
        assert result.tts[i] == pytest.approx(reference_tts(partial, {scenario.id: 1.0}), abs=1e-7)  # plain
    assert result.baseline is not None and result.baseline.short


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), hidden=st.integers(0, 5), ttr=st.floats(0.5, 8.0))
def test_loss_beyond_the_baseline_is_never_negative_and_the_baseline_loss_is_the_references(
    seed: int, hidden: int, ttr: float
) -> None:
    network = three_tier(3, 4, 6, seed=seed)
    suppliers = sorted({s.supplier for s in network.supplies})
    view = without(network, set(suppliers[hidden::7]))
    net = compile_network(view)
    scenarios = node_sweep(net, ttr=ttr)
    if not scenarios:
        return
    result = run_scenarios(net, scenarios, relative=True)
    assert result.baseline_loss is not None and (result.excess_loss >= 0).all()
    assert result.baseline_loss[0] == pytest.approx(reference_pi(view, {}, ttr), abs=1e-6)
    assert (result.lost_profit >= result.baseline_loss - 1e-6).all()
    if result.baseline is not None and result.baseline.short:
        # What the view sustains undisrupted, it sustains indefinitely.
        assert math.isinf(baseline(sustainable(net, result.baseline)).tts)
