"""The local TTS equals the full model's whenever it answers, by its price certificate or by both LPs.

Random small networks (alternates, shared sites, stock, bystanders, partial outages) and three-tier
networks of the accelerator's shape with shared sites. The certificate lets the restriction answer
alone; a certificate that said yes too easily would answer the restriction's TTS where it falls short
of the whole network's, which these cases include.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from setu.network.compile import compile_network
from setu.network.generate import three_tier
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.stress import local as local_tts
from setu.stress.local import LocalTTS
from setu.stress.lp import StressLP
from stress.test_local_ttr import _shared_sites
from stress.test_properties import close, networks, scenarios_on


def _same(got: float, full: float) -> bool:
    return (math.isinf(got) and math.isinf(full)) or close(got, full, rel=1e-8, abs_=1e-8)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_local_tts_equals_full_on_random_networks(data: st.DataObject) -> None:
    """Several scenarios in turn on one instance: each starts warm from what the one before left."""
    network = data.draw(networks())
    net = compile_network(network)
    model = StressLP(net, "tts")
    model.solve_base()
    local = LocalTTS(model)
    for _ in range(3):
        disrupted, _ttr = data.draw(scenarios_on(network))
        nodes = np.array([net.index_of(node) for node in disrupted])
        remaining = 1.0 - np.array(list(disrupted.values()))
        got = local.solve(nodes, remaining)
        full = model.solve_scenario(nodes, remaining, use_shortcut=False).value
        assert got is None or _same(got, full), (disrupted, local.answered, got, full)
        assert (got is None) == (local.answered == "")


def _sweep(local: LocalTTS, model: StressLP, seed: int) -> Counter[str]:
    """Every node once, with up to two others and partial outages; how each answer was found."""
    net = model.net
    rng = np.random.default_rng(seed)
    found: Counter[str] = Counter()
    for start in range(net.n_nodes):
        nodes = np.unique(np.array([start, *rng.integers(0, net.n_nodes, size=start % 3)]))
        remaining = rng.choice([0.0, 0.3, 0.7], size=len(nodes))
        if model.survives_with_base(nodes, remaining):
            continue
        got = local.solve(nodes, remaining)
        full = model.solve_scenario(nodes, remaining, use_shortcut=False).value
        found[local.answered] += 1
        assert got is None or _same(got, full), (start, local.answered, got, full)
    return found


KEPT, NONZEROS = local_tts.KEPT_RESTRICTIONS, local_tts.KEPT_NONZEROS


@pytest.mark.parametrize(
    ("seed", "kept", "nonzeros"), [(1, KEPT, NONZEROS), (2, KEPT, NONZEROS), (1, 1, NONZEROS), (2, 64, 300)]
)
def test_local_tts_equals_full_on_three_tier_networks_with_shared_sites(
    seed: int, kept: int, nonzeros: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1 kept, or room for about one: scenarios build their LP afresh, and what is kept stays within bounds.
    monkeypatch.setattr(local_tts, "KEPT_RESTRICTIONS", kept)
    monkeypatch.setattr(local_tts, "KEPT_NONZEROS", nonzeros)
    net = compile_network(_shared_sites(three_tier(20, 60, 120, seed=seed), every=7))
    model = StressLP(net, "tts")
    model.solve_base()
    local = LocalTTS(model)
    found = _sweep(local, model, seed)
    held = [sub.matrix.nnz for sub in local._kept.values() if sub is not None]
    assert len(local._kept) <= kept and (sum(held) <= nonzeros or len(local._kept) == 1), held
    assert local._kept_nonzeros == sum(held)
    # Of the scenarios answered locally (the rest reach past a third of this small network), most are
    # answered by the restriction and its prices alone.
    assert found["certified"] >= 0.8 * (found["certified"] + found["bracket"]) and found["certified"] >= 30, found


def test_without_the_certificate_every_answer_still_comes_from_both_lps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The relaxation's path, which the certificate mostly skips, still answers exactly."""
    net = compile_network(_shared_sites(three_tier(20, 60, 120, seed=1), every=7))
    model = StressLP(net, "tts")
    model.solve_base()
    local = LocalTTS(model)
    monkeypatch.setattr(LocalTTS, "_certified", lambda *_args: False)
    found = _sweep(local, model, 1)
    assert found["bracket"] >= 30 and found["certified"] < found["bracket"], found


def _switching_customer() -> Network:
    """P2 leans on A2 (A3 needs C's part too), so the lean plan spends A2 on P2 and P1 draws on A1.

    With A1 out, the whole network shares A2 and A3 (1.5 units a period for a demand of 2: each product
    draws a quarter a period on its stock of 1 and lasts 4 periods), but the restriction, which keeps P2 (outside what
    A1 reaches) at the lean plan, leaves P1 to live on its stock alone (1 period), and the relaxation,
    which lets P1 take all of A2, never runs short: the bounds do not meet.
    """
    nodes = [
        Node("P1", "p1", capacity=10, inventory=1),
        Node("P2", "p2", capacity=10, inventory=1),
        Node("A1", "m", capacity=1),
        Node("A2", "m", capacity=1),
        Node("A3", "m", capacity=0.5),
        Node("C", "c", capacity=1),
        # Bystanders, so that what A1 reaches is a small share of the network and is solved locally.
        *(Node(f"X{i}", f"x{i}", capacity=1) for i in range(10)),
    ]
    bom = [BomLine("P1", "m", 1), BomLine("P2", "m", 1), BomLine("A3", "c", 1)]
    supplies = [Supply("A1", "P1"), Supply("A2", "P1"), Supply("A2", "P2"), Supply("A3", "P2"), Supply("C", "A3")]
    products = [Product("P1", demand=1, weight=1), Product("P2", demand=1, weight=1)]
    return Network("switching", nodes, products, bom, supplies)


def test_the_restriction_alone_falls_short_where_an_outside_customer_must_switch() -> None:
    net = compile_network(_switching_customer())
    model = StressLP(net, "tts")
    model.solve_base()
    local = LocalTTS(model)
    assert local.lean is not None and local.lean[net.index_of("A1")] > 0  # the lean plan draws on A1
    a1 = np.array([net.index_of("A1")])
    # Twice, and around a milder scenario on the same LP: what one scenario changes, the next does not see.
    for remaining in (0.0, 0.0, 0.5, 0.0):
        full = model.solve_scenario(a1, np.array([remaining]), use_shortcut=False).value
        got = local.solve(a1, np.array([remaining]))
        assert got is None or _same(got, full), (remaining, local.answered, got, full)
        if remaining == 0.0:
            assert full == pytest.approx(4.0) and got is None and len(local._kept) == 1


def test_a_certificate_that_always_says_yes_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Taken on its word, the restriction answers a TTS of 1 where the network survives indefinitely."""
    net = compile_network(_switching_customer())
    model = StressLP(net, "tts")
    model.solve_base()
    monkeypatch.setattr(LocalTTS, "_certified", lambda *_args: True)
    got = LocalTTS(model).solve(np.array([net.index_of("A1")]), np.zeros(1))
    assert got == pytest.approx(1.0)


def test_scenarios_that_reach_the_same_products_share_one_warm_restriction() -> None:
    net = compile_network(three_tier(20, 60, 120, seed=3))
    model = StressLP(net, "tts")
    model.solve_base()
    local = LocalTTS(model)
    by_key: dict[bytes, list[int]] = {}
    for node in range(net.n_nodes):
        if not model.survives_with_base(np.array([node]), np.zeros(1)):
            by_key.setdefault(local.key(np.array([node])), []).append(node)
    shared = next(nodes for nodes in by_key.values() if len(nodes) >= 3)
    answers = [local.solve(np.array([node]), np.zeros(1)) for node in shared]
    assert len(local._kept) == 1  # one LP for all of them
    # The same scenarios on a fresh instance, in the other order: the same answers, bit for bit or nearly.
    fresh = LocalTTS(model)
    again = [fresh.solve(np.array([node]), np.zeros(1)) for node in reversed(shared)][::-1]
    for node, got, cold in zip(shared, answers, again, strict=True):
        full = model.solve_scenario(np.array([node]), np.zeros(1), use_shortcut=False).value
        assert got is not None and cold is not None and _same(got, cold) and _same(got, full), node
