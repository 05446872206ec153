"""The mitigation what-if, checked against values derived by hand, and its monotonicity for any network."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from setu.network.compile import CompiledNetwork, compile_network
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.stress.mitigation import (
    evaluate_alternate,
    lost_materials,
    tts_with_alternate,
    with_alternate,
)
from setu.stress.scenarios import Scenario


def hand_network() -> CompiledNetwork:
    """S --m--> P <--m2-- B.

    S: c=20, s=30 (material m).  B: c=100, s=0 (material m2).  P: c=100, s=20, needs 1 m and 1 m2.
    Product P: d=10, f=1.  Scenario: S out for TTR = 10.

    Without an alternate: S makes nothing but still ships its 30 in stock, so P can make 30 (B
    supplies m2 freely); with P's own 20 units, 50 units meet demand 10 t.
      PI  = f (d TTR - 50) = 100 - 50 = 50.
      TTS = 50 / 10 = 5.
    """
    return compile_network(
        Network(
            name="hand",
            nodes=[
                Node("S", "m", capacity=20.0, inventory=30.0),
                Node("B", "m2", capacity=100.0, inventory=0.0),
                Node("P", "p", capacity=100.0, inventory=20.0),
            ],
            products=[Product("P", demand=10.0, weight=1.0)],
            bom=[BomLine("P", "m", 1.0), BomLine("P", "m2", 1.0)],
            supplies=[Supply("S", "P"), Supply("B", "P")],
        )
    )


SCENARIO = Scenario("S-out", ("S",), ttr=10.0)


# An alternate of m with capacity c, qualified at q, makes at most c * max(0, t - q) by time t.
# Units available over a horizon t: 50 + c * max(0, t - q); demand 10 t.
#   PI  = max(0, 100 - 50 - c * max(0, 10 - q)).
#   TTS = T0 = 5 if q > 5 (nothing arrives before the network runs short); else the largest t with
#         50 + c (t - q) >= 10 t, i.e. t = (50 - c q) / (10 - c) when c < 10, unbounded when c >= 10.
HAND_CASES = [
    # c, q, PI with, TTS with
    (4.0, 0.0, 10.0, 50.0 / 6.0),  # PI 50 - 40 = 10;  TTS 50 / 6 = 8.333
    (4.0, 3.0, 22.0, 38.0 / 6.0),  # PI 50 - 4*7 = 22; TTS (50 - 12) / 6 = 6.333
    (4.0, 5.0, 30.0, 5.0),  # PI 50 - 4*5 = 30; TTS (50 - 20) / 6 = 5: q = T0, no gain yet
    (4.0, 6.0, 34.0, 5.0),  # PI 50 - 4*4 = 34; q > T0 = 5: runs short before it delivers, TTS stays 5
    (4.0, 10.0, 50.0, 5.0),  # q = TTR: nothing arrives within the TTR, no saving at all
    (4.0, 14.0, 50.0, 5.0),  # q > TTR: the same
    (10.0, 0.0, 0.0, math.inf),  # 50 + 10 t >= 10 t always: never runs short; PI 50 - 100 < 0 -> 0
    (10.0, 2.0, 0.0, math.inf),  # 50 + 10 (t - 2) = 30 + 10 t >= 10 t: never; PI 50 - 80 < 0 -> 0
    (0.0, 0.0, 50.0, 5.0),  # an alternate with no capacity changes nothing
]


@pytest.mark.parametrize(("capacity", "q", "pi_with", "tts_with"), HAND_CASES)
def test_alternate_matches_hand_derivation(capacity: float, q: float, pi_with: float, tts_with: float) -> None:
    effect = evaluate_alternate(hand_network(), SCENARIO, "m", capacity, q)
    assert effect.pi_without == pytest.approx(50.0)
    assert effect.tts_without == pytest.approx(5.0)
    assert effect.pi_with == pytest.approx(pi_with, abs=1e-7)
    if math.isinf(tts_with):
        assert math.isinf(effect.tts_with)
        assert math.isinf(effect.tts_gained)
    else:
        assert effect.tts_with == pytest.approx(tts_with, rel=1e-9)
        assert effect.tts_gained == pytest.approx(tts_with - 5.0, abs=1e-9)
    assert effect.pi_saved == pytest.approx(50.0 - pi_with, abs=1e-7)
    assert effect.closes_gap == (tts_with >= 10.0)


def test_qualification_at_or_beyond_ttr_saves_nothing() -> None:
    for q in (10.0, 11.0, 100.0):
        effect = evaluate_alternate(hand_network(), SCENARIO, "m", 1000.0, q)
        assert effect.pi_saved == 0.0
        # TTS 5 < q: the alternate arrives after the network has run short.
        assert effect.tts_gained == 0.0


def test_lost_materials_names_the_lost_and_binding_material() -> None:
    lost = lost_materials(hand_network(), SCENARIO)
    assert [m.material for m in lost] == ["m"]
    (m,) = lost
    assert m.all_sources_lost and m.binds
    assert m.disrupted == ("S",) and m.customers == ("P",)
    # Restoring S (c = 20 per week) lets P meet all demand: PI 50 -> 0.
    assert m.pi_relief == pytest.approx(50.0)
    assert m.lost_rate > 0


def test_partial_loss_that_does_not_bind_is_not_lost() -> None:
    # S keeps half its capacity (10 a week): 30 + 100 + 20 >= 100, no loss, and m still has a source.
    scenario = Scenario("S-half", ("S",), ttr=10.0, severity=(0.5,))
    assert lost_materials(hand_network(), scenario) == []


def test_with_alternate_adds_one_supplier_per_customer() -> None:
    net = hand_network()
    extended, alt = with_alternate(net, "m", 3.0)
    assert alt == net.n_nodes and extended.node_ids[alt] == "alternate"
    assert extended.n_edges == net.n_edges + 1
    assert extended.node_ids[int(extended.edge_customer[-1])] == "P"
    assert extended.has_node("alternate") and not net.has_node("alternate")
    with pytest.raises(ValueError, match="needs material"):
        with_alternate(net, "nothing", 1.0)
    with pytest.raises(ValueError, match="capacity"):
        with_alternate(net, "m", -1.0)
    with pytest.raises(ValueError, match="qualification"):
        evaluate_alternate(net, SCENARIO, "m", 1.0, -2.0)


def test_tts_with_alternate_on_a_network_that_never_runs_short() -> None:
    # B (m2, no stock) out: P lives on its own 20 units, T0 = 20 / 10 = 2. An m2 alternate of capacity
    # 20 qualified at q = 1 <= T0 delivers 20 (t - 1) by t; S still makes m, so P has 20 + 20 (t - 1) = 20 t
    # units by t against demand 10 t: it never runs short.
    scenario = Scenario("B-out", ("B",), ttr=10.0)
    assert math.isinf(tts_with_alternate(hand_network(), scenario, "m2", 20.0, 1.0))


@st.composite
def cases(draw: st.DrawFn) -> tuple[CompiledNetwork, Scenario, float, float, float]:
    """Two alternate sources A1, A2 of m and a source B of m2 for product P; A1 (and maybe A2) hit."""

    def num(lo: float, hi: float) -> float:
        return draw(st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, 2)))

    net = compile_network(
        Network(
            name="random",
            nodes=[
                Node("A1", "m", capacity=num(0, 30), inventory=num(0, 60)),
                Node("A2", "m", capacity=num(0, 30), inventory=num(0, 60)),
                Node("B", "m2", capacity=num(0, 30), inventory=num(0, 60)),
                Node("P", "p", capacity=num(1, 40), inventory=num(0, 60)),
            ],
            products=[Product("P", demand=num(1, 20), weight=num(0.5, 5))],
            bom=[BomLine("P", "m", num(0.5, 2)), BomLine("P", "m2", num(0.5, 2))],
            supplies=[Supply("A1", "P"), Supply("A2", "P"), Supply("B", "P")],
        )
    )
    nodes = ("A1", "A2") if draw(st.booleans()) else ("A1",)
    severity = tuple(draw(st.sampled_from([1.0, 0.5, 0.8])) for _ in nodes)
    scenario = Scenario("s", nodes, ttr=num(1, 20), severity=severity)
    q1 = num(0, 25)
    return net, scenario, num(0, 40), q1, q1 + num(0, 10)


@settings(max_examples=40, deadline=None)
@given(cases())
def test_alternate_never_hurts_and_saving_shrinks_with_qualification(
    case: tuple[CompiledNetwork, Scenario, float, float, float],
) -> None:
    net, scenario, capacity, q_early, q_late = case
    early = evaluate_alternate(net, scenario, "m", capacity, q_early)
    late = evaluate_alternate(net, scenario, "m", capacity, q_late)
    tol = 1e-6 * max(1.0, early.pi_without)
    for effect in (early, late):
        assert effect.pi_with <= effect.pi_without + tol
        assert effect.tts_with >= effect.tts_without or math.isclose(effect.tts_with, effect.tts_without, rel_tol=1e-6)
    assert late.pi_saved <= early.pi_saved + tol
    assert late.tts_with <= early.tts_with or math.isclose(late.tts_with, early.tts_with, rel_tol=1e-6)
    if q_early >= scenario.ttr:
        assert early.pi_saved <= tol
