"""The illustrative India-US demo network and its scenario library."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from setu.demo.data import CHOKEPOINTS, FORGE_SITE, GAN, PROGRAMS, RESIDUAL_SHARES, SU30, USGS_SHARES
from setu.demo.network import build_demo_network
from setu.demo.scenarios import demo_scenarios
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.model import Network
from setu.network.validate import network_problems
from setu.stress.engine import StressResult, run_scenarios
from setu.stress.explain import explain
from setu.stress.lp import StressLP
from setu.stress.scenarios import Scenario


@pytest.fixture(scope="module")
def network() -> Network:
    return build_demo_network()


@pytest.fixture(scope="module")
def net(network: Network) -> CompiledNetwork:
    return compile_network(network)


@pytest.fixture(scope="module")
def library(net: CompiledNetwork) -> list[Scenario]:
    return demo_scenarios(net)


@pytest.fixture(scope="module")
def results(net: CompiledNetwork, library: list[Scenario]) -> StressResult:
    return run_scenarios(net, library)


def test_network_is_large_and_labelled_illustrative(network: Network) -> None:
    assert len(network.nodes) >= 300
    assert "illustrative" in network.name.lower()
    assert "illustrative" in network.source


def test_network_validates_and_compiles(network: Network, net: CompiledNetwork) -> None:
    assert network_problems(network) == []
    assert net.n_nodes == len(network.nodes)
    assert net.n_products == len(network.products)


def test_same_seed_same_network_other_seed_other_numbers() -> None:
    first, again, other = build_demo_network(7), build_demo_network(7), build_demo_network(8)
    assert first == again
    assert [n.id for n in first.nodes] == [n.id for n in other.nodes]
    assert [n.capacity for n in first.nodes] != [n.capacity for n in other.nodes]


def test_every_program_has_nodes_and_products(network: Network) -> None:
    program_of = {node.id: node.program for node in network.nodes}
    assert set(PROGRAMS) <= set(program_of.values())
    assert {program_of[p.node] for p in network.products} == set(PROGRAMS)
    assert all(p.demand > 0 and p.weight > 0 for p in network.products)


def test_nodes_are_fully_described(network: Network) -> None:
    for node in network.nodes:
        assert node.site and node.organization and node.name and node.material_class, node.id
        assert len(node.country) == 2 and node.party == node.country and node.id.startswith(node.country)
        assert node.ttr is not None and node.ttr > 0
        assert set(node.chokepoints) <= set(CHOKEPOINTS)
    assert {"IN", "US", "CN", "RU"} <= {node.country for node in network.nodes}
    assert any(node.country == "RU" and node.program == SU30 for node in network.nodes)
    assert {sc.site for sc in network.site_capacities} == {FORGE_SITE}


def test_capacity_runs_above_demand_with_stock_on_hand(network: Network) -> None:
    by_id = {node.id: node for node in network.nodes}
    for product in network.products:
        node = by_id[product.node]
        assert 1.1 * product.demand <= node.capacity * (1 + 1e-9) <= 1.4 * product.demand * (1 + 1e-9)
        assert node.inventory > 0


@pytest.mark.parametrize("material", sorted(USGS_SHARES))
def test_mine_capacity_follows_usgs_country_shares(network: Network, material: str) -> None:
    capacity: dict[str, float] = defaultdict(float)
    for node in network.nodes:
        if node.material == material:
            capacity[node.country] += node.capacity
    total = sum(capacity.values())
    shares = {country: 100 * value / total for country, value in capacity.items()}
    for country, cited in USGS_SHARES[material].items():
        assert shares[country] == pytest.approx(cited, abs=2.0), country
    assert sum(USGS_SHARES[material].values()) + sum(RESIDUAL_SHARES[material].values()) == pytest.approx(100)
    assert set(shares) == set(USGS_SHARES[material]) | set(RESIDUAL_SHARES[material])


def test_undisrupted_network_meets_demand(net: CompiledNetwork) -> None:
    ttr = StressLP(net, "ttr")
    ttr.set_horizon(52.0)
    assert ttr.solve_base().value == pytest.approx(0.0, abs=1e-6)
    assert math.isinf(StressLP(net, "tts").solve_base().value)


def test_library_covers_the_expected_events(library: list[Scenario]) -> None:
    ids = [s.id for s in library]
    assert len(set(ids)) == len(ids)
    for wanted in (
        "cn-ga-ge-ban",
        "cn-rare-earth-magnets",
        "cn-antimony-ban",
        "ru-sanctions",
        "malacca-closed",
        "taiwan-strait-closed",
        "red-sea-closed",
        "forge-fire",
        "gan-fab-outage",
    ):
        assert wanted in ids
    for scenario in library:
        assert scenario.nodes, scenario.id
        assert scenario.label and 0 < scenario.ttr <= 104
    partial = [s for s in library if s.severity is not None]
    assert partial and all(v == pytest.approx(0.7) for s in partial for v in s.severity or ())


def test_library_scenarios_hit_the_intended_nodes(net: CompiledNetwork, library: list[Scenario]) -> None:
    by_id = {s.id: s for s in library}
    country = net.attributes["country"]
    assert all(country[net.index_of(n)] == "RU" for n in by_id["ru-sanctions"].nodes)
    assert all(country[net.index_of(n)] == "CN" for n in by_id["cn-ga-ge-ban"].nodes)
    assert any(net.materials[net.index_of(n)] == "gallium" for n in by_id["cn-ga-ge-ban"].nodes)
    assert {net.attributes["site"][net.index_of(n)] for n in by_id["forge-fire"].nodes} == {FORGE_SITE}


def test_library_results_are_finite_and_some_run_short(library: list[Scenario], results: StressResult) -> None:
    assert np.all(np.isfinite(results.lost_profit)) and np.all(results.lost_profit >= 0)
    assert results.at_risk.any()
    # PI > 0 exactly when TTS < TTR (every product has a positive weight).
    assert np.array_equal(results.lost_profit > 1e-6, results.tts < results.ttr)
    assert not results.at_risk.all()


def test_gallium_ban_hits_gan_radar_products(
    network: Network, net: CompiledNetwork, library: list[Scenario], results: StressResult
) -> None:
    position = [s.id for s in library].index("cn-ga-ge-ban")
    assert results.lost_profit[position] > 0
    gan_products = {n.id for n in network.nodes if n.program == GAN} & {p.node for p in network.products}
    losses = explain(net, library[position]).losses
    assert sum(loss.lost_units for loss in losses if loss.product in gan_products) > 0
