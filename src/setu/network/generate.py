"""Synthetic supply networks, reproducible by seed, for tests, benchmarks and examples.

:func:`three_tier` makes networks of the shape of the public stress-test accelerator's data sets
(``docs/formats.md``): products, the suppliers that make their parts, and the
sub-suppliers of those, with material types shared by alternates and numbers in the same ranges.
Nothing here reads a file: the suite and the examples can make their own networks.

Examples
--------
>>> from setu.network.generate import three_tier
>>> from setu.network.validate import validate
>>> network = three_tier(5, 10, 20, seed=7)
>>> validate(network)
>>> [node.id for node in network.nodes[:2]], network.nodes[-1].id
(['T1_1', 'T1_2'], 'T3_20')
>>> three_tier(5, 10, 20, seed=7) == network
True
"""

from __future__ import annotations

import math
import string
from collections import defaultdict

import numpy as np

from setu.network.model import BomLine, Network, Node, Product, Supply

SUPPLIERS_PER_MATERIAL = 3
"""Tier-2 suppliers come in groups of this many making one material type (the last group may be smaller)."""
SUB_SUPPLIERS_PER_MATERIAL = 2
"""Tier-3 sub-suppliers come in groups of this many making one material type."""
CUSTOMERS_PER_SUPPLIER = (1, 3)
"""How many products a tier-2 supplier ships to (drawn per supplier, inclusive)."""
DEMAND = (500, 1000)
"""Units per time unit a product is asked for (whole units, inclusive)."""
MARGIN = (0.05, 0.30)
"""Profit margin per unit of a product, the weight of a lost unit (two decimals)."""
CAPACITY = (1500, 3000)
"""Units per time unit any node can make (whole units, inclusive)."""
INVENTORY = (1500, 3000)
"""Units of its own output any node holds on hand (whole units, inclusive)."""
TTR = (1, 10)
"""Time to recover of a supplier or sub-supplier, in time units (whole, inclusive); products have none."""
PERMUTED_PRODUCTS = 1000
"""Up to this many products, suppliers pick theirs from a whole permutation (as every earlier version did,
so those networks are unchanged); above it, from a partial one."""


def material_name(index: int) -> str:
    """The ``index``-th material type: ``aaa``, ``aab``, ... ``zzz``, then ``aaaa`` onwards."""
    letters = string.ascii_lowercase
    width, first = 3, 0
    while index - first >= len(letters) ** width:
        first += len(letters) ** width
        width += 1
    offset = index - first
    digits = []
    for _ in range(width):
        offset, digit = divmod(offset, len(letters))
        digits.append(letters[digit])
    return "".join(reversed(digits))


def three_tier(products: int, suppliers: int, sub_suppliers: int, seed: int = 0) -> Network:
    """A three-tier network of the accelerator's shape, the same for the same arguments.

    Node ids are ``T1_1 .. T1_<products>`` (products, each its own material, ``material_class``
    ``tier1``), ``T2_1 .. T2_<suppliers>`` and ``T3_1 .. T3_<sub_suppliers>`` (material classes
    ``tier2`` and ``tier3``), numbered from 1 in that order. Suppliers come in groups of
    :data:`SUPPLIERS_PER_MATERIAL` making one material type, sub-suppliers in groups of
    :data:`SUB_SUPPLIERS_PER_MATERIAL`; material types are named ``aaa``, ``aab``, ... tier 2 first.
    Suppliers of the same material to the same customer are alternates.

    Each supplier ships to 1-3 products (more only where there are over three products a supplier),
    and each product buys from at least one supplier. Each sub-supplier ships to one supplier: the
    first of each pair (``T3_1``, ``T3_3``, ...) to the supplier of its pair's number (``T2_1``,
    ``T2_2``, ...), so every supplier has a sub-tier while there are enough sub-suppliers, the
    second to a supplier drawn at random. Every bill-of-materials quantity is 1. Demand, margins,
    capacities, inventories and recovery times are drawn uniformly from :data:`DEMAND`,
    :data:`MARGIN`, :data:`CAPACITY`, :data:`INVENTORY` and :data:`TTR`.

    Parameters
    ----------
    products, suppliers
        How many tier-1 and tier-2 nodes (at least 1 each).
    sub_suppliers
        How many tier-3 nodes (0 or more).
    seed
        Seed of the random draws: the same arguments give the same network.

    Returns
    -------
    Network
        A network that validates, named ``three-tier P/S/U (seed N)``.

    Examples
    --------
    >>> network = three_tier(2, 3, 0, seed=1)
    >>> sorted({node.material for node in network.nodes if node.material_class == "tier2"})
    ['aaa']
    >>> {line.node for line in network.bom} == {"T1_1", "T1_2"}
    True
    """
    if products < 1 or suppliers < 1 or sub_suppliers < 0:
        raise ValueError(
            f"need products >= 1, suppliers >= 1, sub_suppliers >= 0; got {products, suppliers, sub_suppliers}"
        )
    rng = np.random.default_rng(seed)
    tier1 = [f"T1_{i}" for i in range(1, products + 1)]
    tier2 = [f"T2_{i}" for i in range(1, suppliers + 1)]
    tier3 = [f"T3_{i}" for i in range(1, sub_suppliers + 1)]
    tier2_materials = math.ceil(suppliers / SUPPLIERS_PER_MATERIAL)
    material = {node: node for node in tier1}
    material.update({node: material_name(i // SUPPLIERS_PER_MATERIAL) for i, node in enumerate(tier2)})
    material.update(
        {node: material_name(tier2_materials + i // SUB_SUPPLIERS_PER_MATERIAL) for i, node in enumerate(tier3)}
    )

    # Every product gets one supplier, dealt round a random order of the suppliers; then each
    # supplier takes more products at random up to its own drawn count.
    dealt = [int(i) for i in rng.permutation(suppliers)]
    customers: dict[str, set[str]] = {supplier: set() for supplier in tier2}
    for i, product in enumerate(tier1):
        customers[tier2[dealt[i % suppliers]]].add(product)
    low, high = CUSTOMERS_PER_SUPPLIER
    for supplier in tier2:
        wanted = min(int(rng.integers(low, high + 1)), products)
        # A random order of the products, from which the supplier takes the first it lacks. Over
        # PERMUTED_PRODUCTS products only the first few places of that order are drawn (the same
        # distribution): a whole permutation per supplier would make a 10^6-node network cost 10^9 draws.
        order = (
            rng.permutation(products)
            if products <= PERMUTED_PRODUCTS
            else rng.choice(products, size=min(products, high + len(customers[supplier])), replace=False)
        )
        for i in order:
            if len(customers[supplier]) >= wanted:
                break
            customers[supplier].add(tier1[int(i)])
    # The first of each pair of sub-suppliers is the dedicated source of the supplier of the same
    # number (T3_1 of T2_1, T3_3 of T2_2, ...); every other sub-supplier ships to one at random.
    for i, sub in enumerate(tier3):
        dedicated = i % SUB_SUPPLIERS_PER_MATERIAL == 0 and i // SUB_SUPPLIERS_PER_MATERIAL < suppliers
        target = tier2[i // SUB_SUPPLIERS_PER_MATERIAL] if dedicated else tier2[int(rng.integers(suppliers))]
        customers[sub] = {target}

    needs: dict[str, set[str]] = defaultdict(set)
    for supplier, bought in customers.items():
        for customer in bought:
            needs[customer].add(material[supplier])
    bom = [BomLine(node, need, 1.0) for node in tier1 + tier2 for need in sorted(needs[node])]
    supplies = [
        Supply(supplier, customer)
        for supplier in tier2 + tier3
        for customer in sorted(customers[supplier], key=_number)
    ]

    def draw(bounds: tuple[int, int]) -> float:
        return float(rng.integers(bounds[0], bounds[1] + 1))

    nodes = []
    for tier, ids in (("tier1", tier1), ("tier2", tier2), ("tier3", tier3)):
        for node in ids:
            nodes.append(
                Node(
                    id=node,
                    material=material[node],
                    capacity=draw(CAPACITY),
                    inventory=draw(INVENTORY),
                    material_class=tier,
                    ttr=None if tier == "tier1" else draw(TTR),
                )
            )
    demand = [draw(DEMAND) for _ in tier1]
    margin = [round(float(rng.uniform(*MARGIN)), 2) for _ in tier1]
    return Network(
        name=f"three-tier {products}/{suppliers}/{sub_suppliers} (seed {seed})",
        nodes=nodes,
        products=[Product(node, d, f) for node, d, f in zip(tier1, demand, margin, strict=True)],
        bom=bom,
        supplies=supplies,
        source=f"setu.network.generate.three_tier({products}, {suppliers}, {sub_suppliers}, seed={seed})",
    )


def _number(node_id: str) -> int:
    """The number in ``T<tier>_<number>``, so that ``T1_10`` sorts after ``T1_9``."""
    return int(node_id.rsplit("_", 1)[1])
