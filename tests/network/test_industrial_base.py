"""The industrial-base generator: exact size, valid, reproducible, all materials sourced, defense-shaped."""

from __future__ import annotations

import dataclasses
import doctest
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from setu.network import industrial_base as generator
from setu.network import industrial_catalog, industrial_sourcing
from setu.network.compile import compile_network
from setu.network.industrial_base import MIN_NODES, TTR_WEEKS, industrial_base, tier_sizes
from setu.network.industrial_catalog import RAW, SUPPLIER_TIERS
from setu.network.io.setu_format import read_setu, write_setu
from setu.network.model import Network
from setu.network.validate import network_problems
from setu.stress.engine import run_scenarios
from setu.stress.lp import StressLP
from setu.stress.scenarios import by_chokepoint, export_control, node_sweep

shapes = st.tuples(st.integers(MIN_NODES, 400), st.integers(0, 2**32 - 1), st.sampled_from(SUPPLIER_TIERS))


def _suppliers(network: Network) -> dict[tuple[str, str], set[str]]:
    """The qualified makers of each (customer, material) line."""
    material = {node.id: node.material for node in network.nodes}
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for supply in network.supplies:
        found[(supply.customer, material[supply.supplier])].add(supply.supplier)
    return found


@settings(max_examples=40, deadline=None)
@given(shapes)
def test_any_size_and_seed_gives_a_valid_network_of_exactly_that_size(shape: tuple[int, int, int]) -> None:
    nodes, seed, tiers = shape
    network = industrial_base(nodes, seed, tiers=tiers)
    assert network_problems(network) == []
    assert len(network.nodes) == nodes
    assert industrial_base(nodes, seed, tiers=tiers) == network
    sourced = _suppliers(network)
    assert all(sourced[(line.node, line.material)] for line in network.bom)
    # Products, then tiers 1..tiers; every node but the raw materials has a BOM; every maker ships.
    tier = {node.id: 0 if node.id.startswith("P_") else int(node.id[1 : node.id.index("_")]) for node in network.nodes}
    assert sorted(set(tier.values())) == list(range(tiers + 1))
    assert {line.node for line in network.bom} == {n for n, t in tier.items() if t < tiers}
    assert {supply.supplier for supply in network.supplies} == {n for n, t in tier.items() if t > 0}
    assert all(tier[s.supplier] > tier[s.customer] for s in network.supplies)
    by_id = {node.id: node for node in network.nodes}
    assert [p.node for p in network.products] == [n for n, t in tier.items() if t == 0]
    assert all(by_id[p.node].material == p.node and p.demand > 0 and p.weight > 0 for p in network.products)
    assert all(node.capacity > 0 and node.inventory >= 0 and node.ttr in TTR_WEEKS for node in network.nodes)
    assert all(line.quantity > 0 for line in network.bom)
    countries: dict[str, set[str]] = defaultdict(set)
    for node in network.nodes:
        countries[node.site].add(node.country)
        countries[node.organization].add(node.country)
        assert node.party == node.country
    assert all(len(found) == 1 for found in countries.values())  # sites and firms sit in one country


def test_program_kinds_name_subsystem_classes_of_the_catalogue() -> None:
    keys = {c.key for c in industrial_catalog.SUBSYSTEM.classes}
    assert all(kind.subsystems and set(kind.subsystems) <= keys for kind in industrial_catalog.PROGRAM_KINDS)
    assert [generator.default_programs(n) for n in (20, 400, 10_000, 10**6, 10**7)] == [2, 2, 12, 125, 150]


def test_other_seeds_give_other_networks() -> None:
    assert len({repr(industrial_base(60, seed)) for seed in range(4)}) == 4


@pytest.mark.parametrize("nodes", [MIN_NODES, 21, 97, 1000, 123_457])
@pytest.mark.parametrize("tiers", SUPPLIER_TIERS)
def test_tier_sizes_add_up_and_keep_their_minimums(nodes: int, tiers: int) -> None:
    sizes = tier_sizes(nodes, 2, tiers)
    assert sum(sizes) == nodes and len(sizes) == tiers + 1
    assert sizes[0] >= 2 and min(sizes[1:]) >= 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"nodes": MIN_NODES - 1}, f"nodes must be at least {MIN_NODES}, got {MIN_NODES - 1}"),
        ({"nodes": 50, "tiers": 6}, "tiers must be one of 3, 4, 5, got 6"),
        ({"nodes": 50, "programs": 0}, "programs must be between 1 and 42 for 50 nodes, got 0"),
        ({"nodes": 50, "programs": 43}, "programs must be between 1 and 42 for 50 nodes, got 43"),
        ({"nodes": 50, "seed": -1}, "seed must be >= 0, got -1"),
    ],
)
def test_bad_arguments_are_named(arguments: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        industrial_base(**arguments)


@pytest.fixture(scope="module")
def base() -> Network:
    """One mid-sized base: several programs, every tier well populated."""
    return industrial_base(3000, seed=11)


def test_programs_share_the_lower_tiers(base: Network) -> None:
    program = {p.node: node.program for p in base.products for node in base.nodes if node.id == p.node}
    assert len(set(program.values())) == generator.default_programs(3000) >= 5
    customers: dict[str, set[str]] = defaultdict(set)
    for supply in base.supplies:
        customers[supply.supplier].add(supply.customer)
    served = {product: {name} for product, name in program.items()}
    for node in sorted(customers, key=lambda n: n.split("_")[0]):  # T1 before T2 ...: customers come first
        served[node] = set().union(*(served[c] for c in customers[node]))
    share = {t: np.mean([len(served[n]) > 1 for n in served if n.startswith(f"T{t}_")]) for t in (1, 2, 3, 4)}
    assert share[1] < 0.5 < share[3] and share[4] > 0.9, share  # subsystems mostly one program's, materials all
    owned = {node.program for node in base.nodes if node.id.startswith("T1_") and node.program}
    assert len(owned) >= 5


def test_alternates_sites_and_firms_look_like_a_defense_base(base: Network) -> None:
    alternates = Counter(len(makers) for makers in _suppliers(base).values())
    assert alternates[1] > 0.2 * sum(alternates.values()) and alternates[2] > alternates[3] > 0
    at_site = Counter(node.site for node in base.nodes)
    assert max(at_site.values()) >= 4 and base.site_capacities
    assert all(at_site[sc.site] >= 2 for sc in base.site_capacities)
    sites_of: dict[str, set[str]] = defaultdict(set)
    for node in base.nodes:
        sites_of[node.organization].add(node.site)
    assert np.mean([len(sites) for sites in sites_of.values()]) > 2
    assert {"IN", "US"} <= {node.party for node in base.nodes} and len({node.country for node in base.nodes}) > 15


def test_critical_materials_come_from_few_countries_across_straits(base: Network) -> None:
    for material_class in ("gallium", "ndfeb-magnet", "tungsten"):
        countries = Counter(node.country for node in base.nodes if node.material_class == material_class)
        assert countries.most_common(1)[0][0] == "CN" and countries["CN"] > 0.6 * sum(countries.values())
    malacca = [node for node in base.nodes if "Strait of Malacca" in node.chokepoints]
    assert malacca and {node.country for node in malacca} >= {"CN"}
    assert all(not node.chokepoints for node in base.nodes if node.material_class == "radar-array")


def test_the_undisrupted_base_loses_nothing_and_a_sweep_mixes_losses() -> None:
    net = compile_network(industrial_base(150, seed=5))
    ttr = StressLP(net, "ttr")
    for horizon in (4.0, 26.0, 78.0):
        ttr.set_horizon(horizon)
        assert ttr.solve_base().value == pytest.approx(0.0, abs=1e-6)
    result = run_scenarios(net, node_sweep(net))
    assert (result.lost_profit == 0).sum() > 0 and (result.lost_profit > 0).sum() > 0
    assert result.at_risk.any() and not result.at_risk.all()
    rules = export_control(net, [c.key for c in RAW.classes], ["CN"]), by_chokepoint(net, "Strait of Malacca")
    assert (run_scenarios(net, list(rules), compute_tts=False).lost_profit > 0).all()


def test_the_network_reads_back_from_setu_files(tmp_path: Path) -> None:
    network = industrial_base(80, seed=2, programs=3, tiers=5)
    back = read_setu(write_setu(network, tmp_path / "base"))
    assert back == dataclasses.replace(network, name=back.name, source=back.source)


@pytest.mark.parametrize("module", [generator, industrial_catalog, industrial_sourcing])
def test_the_docstring_examples_run(module: ModuleType) -> None:
    assert doctest.testmod(module, raise_on_error=False).failed == 0
