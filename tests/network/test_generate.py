"""The network generator: reproducible by seed, always valid, every node on a path to a product, ids as documented."""

from __future__ import annotations

import doctest
from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

import generated
from setu.network import generate
from setu.network.compile import compile_network
from setu.network.generate import (
    CAPACITY,
    CUSTOMERS_PER_SUPPLIER,
    DEMAND,
    INVENTORY,
    MARGIN,
    SUB_SUPPLIERS_PER_MATERIAL,
    SUPPLIERS_PER_MATERIAL,
    TTR,
    material_name,
    three_tier,
)
from setu.network.model import Network
from setu.network.validate import network_problems
from setu.stress.engine import run_scenarios
from setu.stress.scenarios import from_ttr_table

sizes = st.tuples(st.integers(1, 12), st.integers(1, 25), st.integers(0, 50), st.integers(0, 2**32 - 1))


@settings(max_examples=60, deadline=None)
@given(sizes)
def test_the_same_seed_gives_the_same_network(size: tuple[int, int, int, int]) -> None:
    assert three_tier(*size) == three_tier(*size)


def test_other_seeds_give_other_networks() -> None:
    networks = [three_tier(5, 10, 20, seed) for seed in range(5)]
    assert len({repr(network) for network in networks}) == 5


@settings(max_examples=60, deadline=None)
@given(sizes)
def test_every_network_validates_and_compiles(size: tuple[int, int, int, int]) -> None:
    network = three_tier(*size)
    assert network_problems(network) == []
    net = compile_network(network)
    assert (net.n_nodes, net.n_edges, net.n_products) == (sum(size[:3]), len(network.supplies), size[0])


def _customers(network: Network) -> dict[str, set[str]]:
    customers: dict[str, set[str]] = defaultdict(set)
    for supply in network.supplies:
        customers[supply.supplier].add(supply.customer)
    return customers


@settings(max_examples=60, deadline=None)
@given(sizes)
def test_every_product_is_supplied_and_every_node_reaches_a_product(size: tuple[int, int, int, int]) -> None:
    network = three_tier(*size)
    products = {product.node for product in network.products}
    customers = _customers(network)
    assert {supply.customer for supply in network.supplies} >= products
    reaching = set(products)
    for _ in range(3):  # three tiers: a sub-supplier reaches a product in two steps
        reaching |= {node for node, bought in customers.items() if bought & reaching}
    assert reaching == {node.id for node in network.nodes}


@settings(max_examples=60, deadline=None)
@given(sizes)
def test_ids_tiers_and_materials_are_as_documented(size: tuple[int, int, int, int]) -> None:
    products, suppliers, sub_suppliers, _seed = size
    network = three_tier(*size)
    tiers = {"T1": products, "T2": suppliers, "T3": sub_suppliers}
    expected = [f"{tier}_{i}" for tier, count in tiers.items() for i in range(1, count + 1)]
    assert [node.id for node in network.nodes] == expected
    assert [product.node for product in network.products] == expected[:products]
    by_id = {node.id: node for node in network.nodes}
    for node in network.nodes:
        assert node.material_class == f"tier{node.id[1]}"
    assert all(by_id[p].material == p for p in expected[:products])  # a product is its own material
    groups = Counter(node.material for node in network.nodes if node.material_class == "tier2")
    assert list(groups) == [material_name(i) for i in range(len(groups))]
    assert set(groups.values()) - {SUPPLIERS_PER_MATERIAL} <= {suppliers % SUPPLIERS_PER_MATERIAL}
    sub = Counter(node.material for node in network.nodes if node.material_class == "tier3")
    assert list(sub) == [material_name(len(groups) + i) for i in range(len(sub))]
    assert set(sub.values()) - {SUB_SUPPLIERS_PER_MATERIAL} <= {sub_suppliers % SUB_SUPPLIERS_PER_MATERIAL}
    customers = _customers(network)
    for node in network.nodes:
        tier = node.material_class
        if tier == "tier2":
            assert all(c.startswith("T1_") for c in customers[node.id])
            assert 1 <= len(customers[node.id]) <= max(CUSTOMERS_PER_SUPPLIER[1], -(-products // suppliers))
        elif tier == "tier3":
            assert len(customers[node.id]) == 1 and next(iter(customers[node.id])).startswith("T2_")
    for k in range(1, min(suppliers, (sub_suppliers + 1) // 2) + 1):  # each pair's first feeds its supplier
        assert customers[f"T3_{2 * k - 1}"] == {f"T2_{k}"}
    if sub_suppliers >= 2 * suppliers - 1:
        assert {line.node for line in network.bom} >= set(expected[products : products + suppliers])


@settings(max_examples=60, deadline=None)
@given(sizes)
def test_numbers_lie_in_the_documented_ranges(size: tuple[int, int, int, int]) -> None:
    network = three_tier(*size)
    for node in network.nodes:
        assert CAPACITY[0] <= node.capacity <= CAPACITY[1] and node.capacity.is_integer()
        assert INVENTORY[0] <= node.inventory <= INVENTORY[1] and node.inventory.is_integer()
        if node.material_class == "tier1":
            assert node.ttr is None
        else:
            assert node.ttr is not None and TTR[0] <= node.ttr <= TTR[1] and node.ttr.is_integer()
    for product in network.products:
        assert DEMAND[0] <= product.demand <= DEMAND[1]
        assert MARGIN[0] <= product.weight <= MARGIN[1] and round(product.weight, 2) == product.weight
    assert {line.quantity for line in network.bom} == {1.0}


def test_material_names_run_aaa_to_zzz_then_grow() -> None:
    names = [material_name(i) for i in range(26**3 + 2)]
    assert names[:3] == ["aaa", "aab", "aac"] and names[26**3 - 1] == "zzz" and names[-2:] == ["aaaa", "aaab"]
    assert len(set(names)) == len(names)


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(generate, raise_on_error=False).failed == 0


def test_the_suites_small_network_has_what_its_tests_rely_on() -> None:
    """The facts ``tests/generated.py`` documents for its seed, so a changed generator fails here first."""
    network = generated.small()
    suppliers: dict[str, set[str]] = defaultdict(set)
    for supply in network.supplies:
        suppliers[supply.customer].add(supply.supplier)
    customers = _customers(network)
    material = {node.id: node.material for node in network.nodes}

    def sources(customer: str, of: str) -> set[str]:
        return {s for s in suppliers[customer] if material[s] == of}

    assert (len(network.nodes), len(network.supplies)) == (35, 44)
    assert suppliers["T2_1"] == {"T3_1"}
    assert {material[n] for n in ("T2_7", "T2_8", "T2_9")} == {"aac"}
    assert customers["T2_7"] & customers["T2_8"] and customers["T2_7"] & customers["T2_9"]
    assert customers["T3_18"] == {"T2_9"}
    assert customers["T2_6"] == {"T1_2", "T1_3", "T1_4"}
    assert [p for p in ("T1_2", "T1_3", "T1_4") if sources(p, "aab") == {"T2_6"}] == ["T1_2", "T1_4"]
    assert [p.node for p in network.products if sources(p.node, "aac") == {"T2_8"}] == ["T1_4"]
    assert {material[n] for n in ("T3_15", "T3_16")} == {"aal"} and {material[n] for n in ("T3_3", "T3_4")} == {"aaf"}
    net = compile_network(network)
    assert int(run_scenarios(net, from_ttr_table(net, generated.ttr_table(network))).at_risk.sum()) == 5
