"""Small hand-derived networks shared by the stress tests, with their PI and TTS worked out by hand.

Notation as in DESIGN.md: ``c`` capacity per time unit, ``s`` stock, ``d`` demand per time unit,
``f`` weight of a lost unit, ``r`` BOM quantity, ``t`` the horizon (TTR). Every case says, in its
comment, why PI and TTS have the value given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply


@dataclass(frozen=True)
class HandCase:
    """One scenario on a hand-derived network and the values derived by hand."""

    name: str
    network: Network
    disrupted: dict[str, float]
    """Disrupted node -> severity (1.0 = full outage)."""
    ttr: float
    pi: float
    tts: float


def single_supplier(product_stock: float = 5.0, product_capacity: float = 20.0) -> Network:
    """(a) S --m--> P, plus an isolated node Z that nobody needs.

    S: c=50, s=30.  P: c=``product_capacity`` (20), s=``product_stock`` (5), needs r=2 of m.
    Product P: d=10, f=2.
    Z: c=1, s=0, no edges.
    """
    return Network(
        name="single-supplier",
        nodes=[
            Node("S", "m", capacity=50.0, inventory=30.0),
            Node("P", "p", capacity=product_capacity, inventory=product_stock),
            Node("Z", "z", capacity=1.0, inventory=0.0),
        ],
        products=[Product("P", demand=10.0, weight=2.0)],
        bom=[BomLine("P", "m", 2.0)],
        supplies=[Supply("S", "P")],
    )


def alternates(c2: float, s2: float) -> Network:
    """(b) Two alternate sources A1, A2 of material m for product P.

    A1: c=10, s=0.  A2: c=``c2``, s=``s2``.  P: c=100, s=0, needs r=1 of m.  Product P: d=10, f=3.
    """
    return Network(
        name="alternates",
        nodes=[
            Node("A1", "m", capacity=10.0, inventory=0.0),
            Node("A2", "m", capacity=c2, inventory=s2),
            Node("P", "p", capacity=100.0, inventory=0.0),
        ],
        products=[Product("P", demand=10.0, weight=3.0)],
        bom=[BomLine("P", "m", 1.0)],
        supplies=[Supply("A1", "P"), Supply("A2", "P")],
    )


def assembly() -> Network:
    """(c) P assembles 2 of m1 (from A) and 1 of m2 (from B).

    A: c=30, s=10.  B: c=100, s=8.  P: c=100, s=0.  Product P: d=10, f=1.
    """
    return Network(
        name="assembly",
        nodes=[
            Node("A", "m1", capacity=30.0, inventory=10.0),
            Node("B", "m2", capacity=100.0, inventory=8.0),
            Node("P", "p", capacity=100.0, inventory=0.0),
        ],
        products=[Product("P", demand=10.0, weight=1.0)],
        bom=[BomLine("P", "m1", 2.0), BomLine("P", "m2", 1.0)],
        supplies=[Supply("A", "P"), Supply("B", "P")],
    )


def shared_site() -> Network:
    """(d) Products P1, P2 share site S1 (capacity 15 per time unit); both need 1 of x from R.

    R: c=100, s=0.  P1: c=10, s=4, d=8, f=1.  P2: c=10, s=4, d=8, f=5.
    """
    return Network(
        name="shared-site",
        nodes=[
            Node("R", "x", capacity=100.0, inventory=0.0, site="R-site"),
            Node("P1", "p1", capacity=10.0, inventory=4.0, site="S1"),
            Node("P2", "p2", capacity=10.0, inventory=4.0, site="S1"),
        ],
        products=[Product("P1", demand=8.0, weight=1.0), Product("P2", demand=8.0, weight=5.0)],
        bom=[BomLine("P1", "x", 1.0), BomLine("P2", "x", 1.0)],
        supplies=[Supply("R", "P1"), Supply("R", "P2")],
        site_capacities=[SiteCapacity("S1", 15.0)],
    )


def partial() -> Network:
    """(e) S --m--> P for partial outages.  S: c=10, s=0.  P: c=100, s=6, r=1.  Product P: d=8, f=1.5."""
    return Network(
        name="partial",
        nodes=[Node("S", "m", capacity=10.0, inventory=0.0), Node("P", "p", capacity=100.0, inventory=6.0)],
        products=[Product("P", demand=8.0, weight=1.5)],
        bom=[BomLine("P", "m", 1.0)],
        supplies=[Supply("S", "P")],
    )


def chain() -> Network:
    """A three-tier chain R --raw--> M --mid--> P with stock at every tier.

    R: c=10, s=4.  M: c=5, s=3, needs r=2 of raw.  P: c=100, s=2, needs r=1 of mid.  Product P: d=4, f=10.
    """
    return Network(
        name="chain",
        nodes=[
            Node("R", "raw", capacity=10.0, inventory=4.0),
            Node("M", "mid", capacity=5.0, inventory=3.0),
            Node("P", "p", capacity=100.0, inventory=2.0),
        ],
        products=[Product("P", demand=4.0, weight=10.0)],
        bom=[BomLine("M", "raw", 2.0), BomLine("P", "mid", 1.0)],
        supplies=[Supply("R", "M"), Supply("M", "P")],
    )


INF = math.inf

HAND_CASES: list[HandCase] = [
    # (a) S out for t=4. S ships only its stock: y_SP <= 30, and P needs 2 m per unit, so u_P <= 30/2 = 15
    # (capacity 20*4 = 80 does not bind). Demand over 4: 10*4 = 40 = l + u_P + s_P = l + 15 + 5, so l = 20,
    # PI = f*l = 2*20 = 40.
    # TTS: 10t <= 5 + min(20t, 15). For t >= 0.75 the min is 15, so 10t <= 20, t <= 2 (and below 0.75,
    # 10t <= 5 + 20t always holds). TTS = 2.
    HandCase("a-supplier-out", single_supplier(), {"S": 1.0}, 4.0, 40.0, 2.0),
    # (a) same outage, t=1.5 < TTS: need 15 - 5 = 10 <= u_P <= min(20*1.5, 15) = 15, no loss. PI = 0.
    HandCase("a-supplier-out-short", single_supplier(), {"S": 1.0}, 1.5, 0.0, 2.0),
    # (h) the product itself out, t=4: u_P = 0, l = 40 - 5 = 35, PI = 2*35 = 70. TTS: 10t <= 5, t = 0.5.
    HandCase("h-product-out", single_supplier(), {"P": 1.0}, 4.0, 70.0, 0.5),
    # (h) TTR 0: nothing is demanded over a zero horizon (0 <= s_P): PI = 0; TTS still 0.5.
    HandCase("h-product-out-ttr0", single_supplier(), {"P": 1.0}, 0.0, 0.0, 0.5),
    # (f) Z, which nobody needs, out: PI = 0. With S and P up, P needs 10t - 5 <= 20t (always) and
    # 2*(10t - 5) <= 50t + 30 shipped by S (always): no horizon breaks the network, TTS = inf.
    HandCase("f-unneeded-node-out", single_supplier(), {"Z": 1.0}, 4.0, 0.0, INF),
    # (g) P out with zero stock: l = d*t = 40, PI = 2*40 = 80; TTS: 10t <= 0, only t = 0, TTS = 0.
    HandCase("g-product-out-no-stock", single_supplier(product_stock=0.0), {"P": 1.0}, 4.0, 80.0, 0.0),
    # (g) P can make only 5 < d = 10 per time unit and holds no stock: even undisrupted, any t > 0 loses.
    # Z out, t=4: u_P <= 5*4 = 20 (S ships 2*20 = 40 <= 50*4 + 30), l = 40 - 20 = 20, PI = 40; TTS = 0.
    HandCase("g-short-product-z-out", single_supplier(0.0, 5.0), {"Z": 1.0}, 4.0, 40.0, 0.0),
    # Same network, S out, t=4: u_P <= min(20, 30/2) = 15, l = 25, PI = 50; TTS = 0.
    HandCase("g-short-product-s-out", single_supplier(0.0, 5.0), {"S": 1.0}, 4.0, 50.0, 0.0),
    # (e) P keeps 25% of capacity (severity 0.75), t=4: u_P <= 0.25*20*4 = 20 (S ships 2*20 = 40 <= 50*4 + 30),
    # l = 40 - 5 - 20 = 15, PI = 2*15 = 30. TTS: 10t <= 5 + 5t, t <= 1.
    HandCase("e-product-severity-0.75", single_supplier(), {"P": 0.75}, 4.0, 30.0, 1.0),
    # (b) A1 out, A2 can make 12 per time unit >= d = 10: no loss at t=5 (u_P = 50 <= 12*5 = 60), PI = 0.
    # TTS: 10t <= 12t always, TTS = inf.
    HandCase("b-alternate-enough", alternates(12.0, 0.0), {"A1": 1.0}, 5.0, 0.0, INF),
    # (b) A2 out instead: A1 makes 10 per time unit = d, PI = 0, TTS = inf.
    HandCase("b-other-alternate-out", alternates(12.0, 0.0), {"A2": 1.0}, 5.0, 0.0, INF),
    # (b) A1 out, A2 too small (c=6, s=8), t=5: u_P <= 6*5 + 8 = 38, l = 50 - 38 = 12, PI = 3*12 = 36.
    # TTS: 10t <= 6t + 8, t <= 2.
    HandCase("b-alternate-short", alternates(6.0, 8.0), {"A1": 1.0}, 5.0, 36.0, 2.0),
    # (b) both alternates out: only A2's stock 8 reaches P, l = 50 - 8 = 42, PI = 126. TTS: 10t <= 8, 0.8.
    HandCase("b-both-alternates-out", alternates(6.0, 8.0), {"A1": 1.0, "A2": 1.0}, 5.0, 126.0, 0.8),
    # (c) A and B out, t=3: m1 allows u_P <= 10/2 = 5, m2 allows u_P <= 8: m1 binds, u_P = 5,
    # l = 30 - 5 = 25, PI = 25. TTS: 10t <= min(5, 8), t = 0.5.
    HandCase("c-both-out-m1-binds", assembly(), {"A": 1.0, "B": 1.0}, 3.0, 25.0, 0.5),
    # (c) A out only: the same m1 limit binds (B can ship 100*3 + 8), PI = 25, TTS = 0.5.
    HandCase("c-m1-source-out", assembly(), {"A": 1.0}, 3.0, 25.0, 0.5),
    # (c) B out only: m2 allows u_P <= 8, m1 allows u_P <= (30*3 + 10)/2 = 50: m2 binds, l = 30 - 8 = 22,
    # PI = 22. TTS: 10t <= min(8, (30t + 10)/2), t = 0.8 (where (24 + 10)/2 = 17 >= 8).
    HandCase("c-m2-source-out", assembly(), {"B": 1.0}, 3.0, 22.0, 0.8),
    # (c)+(e) A at half capacity, t=3: A ships <= 15*3 + 10 = 55, so u_P <= 27.5, l = 2.5, PI = 2.5.
    # TTS: 10t <= (15t + 10)/2 = 7.5t + 5, t <= 2.
    HandCase("c-m1-source-half", assembly(), {"A": 0.5}, 3.0, 2.5, 2.0),
    # (d) R "disrupted" with severity 0 (nothing lost), t=10: each product needs 8*10 - 4 = 76 <= its own
    # capacity 100, but the site allows u1 + u2 <= 15*10 = 150 < 152: 2 units lost, on P1 (f=1 < 5), PI = 2.
    # TTS: 2*(8t - 4) <= 15t, t <= 8. (Without the shared site PI would be 0 and TTS inf.)
    HandCase("d-shared-site-binds", shared_site(), {"R": 0.0}, 10.0, 2.0, 8.0),
    # (d)+(e) R at 10% (severity 0.9), t=2: R makes <= 10*2 = 20 and has no stock, so u1 + u2 <= 20 (site:
    # 30); need 12 + 12 = 24: 4 lost, on P1, PI = 4. TTS: 2*(8t - 4) <= min(10t, 15t), t <= 4/3.
    HandCase("d-supplier-severity-0.9", shared_site(), {"R": 0.9}, 2.0, 4.0, 4.0 / 3.0),
    # (d)+(h) P2 out, t=2: P1 makes 12 <= min(10*2, 15*2); P2 loses 16 - 4 = 12, PI = 5*12 = 60.
    # TTS: 8t <= 4 for P2, t = 0.5.
    HandCase("d-product-out", shared_site(), {"P2": 1.0}, 2.0, 60.0, 0.5),
    # (e) S at half capacity, t=4: S makes <= 5*4 = 20, so u_P <= 20; l = 32 - 6 - 20 = 6, PI = 1.5*6 = 9.
    # TTS: 8t <= 6 + 5t, t <= 2.
    HandCase("e-severity-0.5", partial(), {"S": 0.5}, 4.0, 9.0, 2.0),
    # (e) S fully out, t=4: u_P = 0, l = 32 - 6 = 26, PI = 39. TTS: 8t <= 6, t = 0.75.
    HandCase("e-full-outage", partial(), {"S": 1.0}, 4.0, 39.0, 0.75),
    # (e) severity 0: S makes 10 per time unit >= 8: PI = 0, TTS = inf.
    HandCase("e-severity-0", partial(), {"S": 0.0}, 4.0, 0.0, INF),
    # Chain, R out, t=3: R ships its stock 4, M makes <= 4/2 = 2, M ships <= 2 + 3 = 5, so u_P <= 5;
    # l = 4*3 - 2 - 5 = 5, PI = 10*5 = 50. TTS: 4t <= 2 + 3 + min(5t, 2); for t >= 0.4, 4t <= 7, t = 1.75.
    HandCase("chain-raw-out", chain(), {"R": 1.0}, 3.0, 50.0, 1.75),
    # Chain, R out, t=1 < 1.75: P needs 4 - 2 = 2 <= 5. PI = 0.
    HandCase("chain-raw-out-short", chain(), {"R": 1.0}, 1.0, 0.0, 1.75),
    # Chain, M out, t=3: M ships its stock 3, l = 12 - 2 - 3 = 7, PI = 70. TTS: 4t <= 5, t = 1.25.
    HandCase("chain-mid-out", chain(), {"M": 1.0}, 3.0, 70.0, 1.25),
]

# TTS with nothing disrupted, by hand:
# single_supplier: 10t - 5 <= 20t and 2(10t - 5) <= 50t + 30 always: inf.
# alternates(6, 8): 10t <= 10t + 6t + 8: inf.  assembly: 2*10t <= 30t + 10 and 10t <= 100t + 8: inf.
# shared_site: 2(8t - 4) <= 15t: t <= 8.  partial: 8t <= 6 + 10t: inf.
# chain: M needs 4t - 5 <= 5t and R 2*5t <= 10t + 4: inf.
# single_supplier(0, 5): 10t <= 5t only at t = 0.
BASE_TTS: list[tuple[Network, float]] = [
    (single_supplier(), INF),
    (single_supplier(0.0, 5.0), 0.0),
    (alternates(6.0, 8.0), INF),
    (assembly(), INF),
    (shared_site(), 8.0),
    (partial(), INF),
    (chain(), INF),
]


def with_bystanders(network: Network, count: int = 3) -> Network:
    """``network`` plus ``count`` isolated nodes W0.. that nobody needs (they change no PI or TTS)."""
    extra = [Node(f"W{i}", f"w{i}", capacity=1.0, inventory=0.0) for i in range(count)]
    return Network(
        name=network.name + "+bystanders",
        nodes=[*network.nodes, *extra],
        products=network.products,
        bom=network.bom,
        supplies=network.supplies,
        site_capacities=network.site_capacities,
    )


# Scenarios that disrupt a node feeding a product together with one feeding none (Z), on a network
# where the part a disruption reaches (S, P) is small: Z's outage changes nothing, so the values are
# those of S alone (case a-supplier-out: PI 40, TTS 2; with no stock at P, 10t <= min(20t, 15) gives
# TTS 1.5 and PI 2*(40 - 15) = 50).
MIXED_CASES: list[HandCase] = [
    HandCase("mixed-S-and-Z", with_bystanders(single_supplier()), {"S": 1.0, "Z": 1.0}, 4.0, 40.0, 2.0),
    HandCase("mixed-Z-and-S", with_bystanders(single_supplier()), {"Z": 1.0, "S": 1.0}, 4.0, 40.0, 2.0),
    HandCase(
        "mixed-S-and-Z-no-stock",
        with_bystanders(single_supplier(product_stock=0.0)),
        {"S": 1.0, "Z": 1.0},
        4.0,
        50.0,
        1.5,
    ),
    # t=1 < TTS: P needs 10 - 5 = 5 <= min(20, 15). PI = 0.
    HandCase("mixed-S-and-Z-short", with_bystanders(single_supplier()), {"S": 1.0, "Z": 1.0}, 1.0, 0.0, 2.0),
]
