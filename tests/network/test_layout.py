"""The layered map layout: tiers, reachability, crossing reduction, and coordinates for any graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from setu.demo.network import build_demo_network
from setu.network.io.willems import read_willems
from setu.network.layout import layered_layout, reaching, supply_tiers


def crossings(tier: np.ndarray, y: np.ndarray, suppliers: np.ndarray, customers: np.ndarray) -> int:
    """Edge crossings between neighbouring columns (edges spanning one tier)."""
    total = 0
    adjacent = tier[suppliers] == tier[customers] + 1
    for column in np.unique(tier[customers[adjacent]]):
        chosen = adjacent & (tier[customers] == column)
        a, b = y[suppliers[chosen]], y[customers[chosen]]
        total += int(((a[:, None] - a[None, :]) * (b[:, None] - b[None, :]) < 0).sum() // 2)
    return total


def test_tiers_count_the_longest_path_to_a_sink() -> None:
    # 0 -> 1 -> 2 and a shortcut 0 -> 2: node 0 is two steps up, not one.
    assert supply_tiers(4, [0, 1, 0], [1, 2, 2]).tolist() == [2, 1, 0, 0]


def test_a_cycle_shares_one_tier_and_feeds_the_rest() -> None:
    # 1 <-> 2 form a cycle feeding 3; 0 supplies the cycle; 2 also supplies itself.
    tiers = supply_tiers(4, [0, 1, 2, 2, 2], [1, 2, 1, 3, 2])
    assert tiers.tolist() == [2, 1, 1, 0]


def test_reaching_follows_supply_paths_upstream() -> None:
    # 0 -> 1 -> 2 (product), 3 -> 4 (not a product), 5 alone.
    reach = reaching(6, [0, 1, 3], [1, 2, 4], [2])
    assert reach.tolist() == [True, True, True, False, False, False]
    assert not reaching(3, [0], [1], []).any()


def test_products_sit_right_and_raw_materials_left() -> None:
    layout = layered_layout(3, [0, 1], [1, 2], [2])
    assert layout.x.tolist() == [0.0, 0.5, 1.0]
    assert layout.columns == 3 and layout.rows == 1
    assert layout.y.tolist() == [0.5, 0.5, 0.5]


def test_barycenter_sweeps_untangle_a_reversed_matching() -> None:
    # Customers 0..9 in order; supplier 10 + k ships to customer 9 - k: every edge crosses every other.
    n = 10
    suppliers = np.arange(n, 2 * n)
    customers = np.arange(n)[::-1].copy()
    before = layered_layout(2 * n, suppliers, customers, range(n), sweeps=0)
    after = layered_layout(2 * n, suppliers, customers, range(n))
    assert crossings(before.tier, before.y, suppliers, customers) == n * (n - 1) // 2
    assert crossings(after.tier, after.y, suppliers, customers) == 0


def test_the_fullest_column_spans_the_height_and_others_are_centred() -> None:
    layout = layered_layout(4, [1, 2, 3], [0, 0, 0], [0])
    assert layout.rows == 3
    assert sorted(layout.y[1:].round(4).tolist()) == pytest.approx([1 / 6, 0.5, 5 / 6], abs=1e-4)
    assert layout.y[0] == 0.5


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        layered_layout(2, [0], [1, 0])
    with pytest.raises(ValueError, match="node indices"):
        layered_layout(2, [0], [2])
    with pytest.raises(ValueError, match="targets"):
        layered_layout(2, [0], [1], [5])
    with pytest.raises(ValueError, match="sweeps"):
        layered_layout(2, [0], [1], sweeps=-1)


def test_an_empty_network_has_an_empty_layout() -> None:
    layout = layered_layout(0, [], [])
    assert layout.x.size == layout.y.size == layout.tier.size == 0 and layout.columns == 0


def test_willems_chain_38_lays_out_every_stage_and_sweeps_reduce_crossings(shared_data: Path) -> None:
    network = read_willems(shared_data / "willems2008" / "snc" / "willems_38.csv")
    index = network.node_index()
    suppliers = np.array([index[s.supplier] for s in network.supplies])
    customers = np.array([index[s.customer] for s in network.supplies])
    products = [index[p.node] for p in network.products]
    unordered = layered_layout(len(network.nodes), suppliers, customers, products, sweeps=0)
    layout = layered_layout(len(network.nodes), suppliers, customers, products)
    assert len(network.nodes) == 2025
    assert (layout.tier[suppliers] > layout.tier[customers]).all()
    assert layout.reaches_product.all()
    assert layout.x[products].min() > layout.x[suppliers].min()
    assert crossings(layout.tier, layout.y, suppliers, customers) < crossings(
        unordered.tier, unordered.y, suppliers, customers
    )


def test_the_demo_network_lays_out_every_node_and_sweeps_reduce_crossings() -> None:
    network = build_demo_network()
    index = network.node_index()
    suppliers = np.array([index[s.supplier] for s in network.supplies])
    customers = np.array([index[s.customer] for s in network.supplies])
    products = [index[p.node] for p in network.products]
    unordered = layered_layout(len(network.nodes), suppliers, customers, products, sweeps=0)
    layout = layered_layout(len(network.nodes), suppliers, customers, products)
    assert layout.columns > 3  # mines, refiners, parts, subsystems, products: more than three tiers
    assert (layout.tier[suppliers] > layout.tier[customers]).all()
    assert layout.reaches_product.all()
    assert layout.x[products].min() > layout.x[suppliers].min()
    assert crossings(layout.tier, layout.y, suppliers, customers) < crossings(
        unordered.tier, unordered.y, suppliers, customers
    )


Case = tuple[int, list[tuple[int, int]], list[int]]
edge_lists = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
        st.lists(st.integers(0, n - 1), max_size=4),
    )
)


@settings(max_examples=150, deadline=None)
@given(edge_lists)
def test_every_node_gets_finite_coordinates_in_the_unit_square(case: Case) -> None:
    n, edges, products = case
    suppliers = np.array([s for s, _ in edges], dtype=np.int64)
    customers = np.array([c for _, c in edges], dtype=np.int64)
    layout = layered_layout(n, suppliers, customers, products)
    for values in (layout.x, layout.y):
        assert values.shape == (n,) and np.isfinite(values).all()
        assert (values >= 0).all() and (values <= 1).all()
    assert (layout.tier >= 0).all() and layout.columns == layout.tier.max() + 1
    # Two nodes never share a spot.
    assert len(set(zip(layout.x.tolist(), layout.y.tolist(), strict=True))) == n
    assert layout.reaches_product[products].all()


@settings(max_examples=150, deadline=None)
@given(edge_lists)
def test_on_a_dag_every_supplier_is_left_of_its_customers(case: Case) -> None:
    n, edges, products = case
    # Orient every edge from the higher index to the lower one: no cycles.
    dag = [(max(a, b), min(a, b)) for a, b in edges if a != b]
    suppliers = np.array([s for s, _ in dag], dtype=np.int64)
    customers = np.array([c for _, c in dag], dtype=np.int64)
    layout = layered_layout(n, suppliers, customers, products)
    assert (layout.tier[suppliers] > layout.tier[customers]).all()
    assert (layout.x[suppliers] < layout.x[customers]).all()
    # Tiers are tight: every node above tier 0 has a customer exactly one tier below it.
    for node in np.flatnonzero(layout.tier > 0):
        assert (layout.tier[customers[suppliers == node]] == layout.tier[node] - 1).any()
