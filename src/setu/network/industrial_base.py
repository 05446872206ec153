"""Synthetic defense industrial bases of any size, the same for the same seed, for tests and benchmarks.

:func:`industrial_base` makes a network of ``nodes`` nodes: the end products of several weapons
programs, then 3-5 tiers of suppliers (subsystems, components, parts, processed and raw materials,
from :mod:`setu.network.industrial_catalog`) whose lower tiers serve every program. Every node but
the raw materials has a bill of materials; each material it needs is qualified from 1-3 makers
(alternates). Nodes sit at sites, some with a shared capacity; firms own several sites; critical
materials come mostly from one or two countries whose sea routes cross named straits. Capacities
follow the throughput the products' demand asks of each node, so the undisrupted network loses
nothing and a disruption loses something only where alternates, slack and stock fall short.

Examples
--------
>>> from setu.network.industrial_base import industrial_base
>>> from setu.network.validate import validate
>>> network = industrial_base(300, seed=1)
>>> validate(network)
>>> len(network.nodes), network.nodes[0].id, network.nodes[-1].id[:3]
(300, 'P_1', 'T4_')
>>> industrial_base(300, seed=1) == network
True
"""

from __future__ import annotations

import gc
import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from setu.network.industrial_catalog import PROGRAM_KINDS, ROUTES, SUPPLIER_TIERS, levels_for
from setu.network.industrial_sourcing import (
    LEAD_PARTIES,
    Floats,
    Ints,
    Materials,
    Programs,
    bom_lines,
    supplier_edges,
    tier_table,
)
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply

MIN_NODES = 20
"""The smallest network :func:`industrial_base` makes."""
SLACK = (0.05, 0.6)
"""Capacity above a node's steady throughput, as a fraction, drawn per node."""
SHARED_SITES = 0.25
"""Share of the sites with two or more nodes whose lines share one capacity (a press, a furnace, a fab)."""
SITE_MARGIN = (1.02, 1.25)
"""A shared site's capacity over the steady throughput of its nodes together."""
FIRM_SITES = 3.0
"""Mean number of sites a firm owns (all in one country)."""
TTR_WEEKS = (1, 2, 4, 6, 8, 13, 17, 26, 39, 52, 78)
"""Recovery times are estimated in round numbers of weeks; few distinct values also mean few base
solves in a sweep (the engine solves the undisrupted network once per distinct TTR)."""


def default_programs(nodes: int) -> int:
    """Programs a network of ``nodes`` nodes gets by default: 2 below 450 nodes, 12 at 10,000, 125 at a million."""
    return max(2, min(150, round(math.sqrt(nodes) / 8)))


def tier_sizes(nodes: int, programs: int, tiers: int) -> list[int]:
    """Node count of each tier, products first, adding up to ``nodes``.

    Tiers get their catalogue weight's share (products 1, then each level's ``size``); products at
    least ``programs``, every supplier tier at least 2. The largest tier takes the rounding.
    """
    weights = [1.0] + [level.size for level in levels_for(tiers)]
    minimum = [programs] + [2] * tiers
    sizes = [max(low, int(nodes * w / sum(weights))) for w, low in zip(weights, minimum, strict=True)]
    excess = sum(sizes) - nodes
    if excess < 0:
        sizes[max(range(1, tiers + 1), key=lambda t: sizes[t])] -= excess
    for t in sorted(range(tiers + 1), key=lambda t: -sizes[t]):
        take = min(excess, sizes[t] - minimum[t])
        if take > 0:
            sizes[t] -= take
            excess -= take
    if excess > 0:
        raise ValueError(f"{nodes} nodes are too few for {programs} programs and {tiers} supplier tiers")
    return sizes


def _significant(values: Floats, digits: int, *, up: bool = False) -> Floats:
    """``values`` rounded to ``digits`` significant digits (upwards with ``up``), so files read cleanly."""
    out = np.zeros_like(values)
    positive = values > 0
    v = values[positive]
    decimals = digits - 1 - np.floor(np.log10(v)).astype(np.int64)
    scale = 10.0 ** np.abs(decimals)
    rounding = np.ceil if up else np.round
    # Dividing by an exact power of ten gives the double nearest the decimal (0.3, not 0.30000000000000004).
    out[positive] = np.where(decimals >= 0, rounding(v * scale) / scale, rounding(v / scale) * scale)
    return out


def _log_uniform(rng: np.random.Generator, low: Floats, high: Floats) -> Floats:
    return np.exp(rng.uniform(np.log(low), np.log(high)))


def _objects(table: Sequence[object], codes: Ints) -> list[object]:
    """``table[code]`` for each code, sharing the table's objects (one string per site, not per node)."""
    array = np.empty(len(table), dtype=object)
    for i, value in enumerate(table):
        array[i] = value
    result: list[object] = array[codes].tolist()
    return result


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector: it would rescan the millions of new (acyclic) objects again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _quantities(rng: np.random.Generator, level: Ints, per_tier: dict[str, Floats]) -> Floats:
    """Units of each line's material per unit of its customer: whole pieces of parts, else 2 significant digits."""
    low, high, whole = per_tier["q_lo"][level], per_tier["q_hi"][level], per_tier["whole"][level] > 0
    drawn = _log_uniform(rng, low, high + whole)
    return np.where(whole, np.minimum(np.floor(drawn), high), _significant(drawn, 2))


def _throughput(
    rng: np.random.Generator, demand: Floats, node_tier: Ints, edges: tuple[Ints, Ints, Ints], quantity: Floats
) -> Floats:
    """Steady output per week of each node: demand passed down, tier by tier, split over the alternates."""
    edge_line, supplier, customer = edges
    appeal = rng.uniform(0.5, 1.5, len(edge_line))
    share = appeal / np.bincount(edge_line, appeal, minlength=len(quantity))[edge_line]
    throughput = np.zeros(len(node_tier))
    throughput[: len(demand)] = demand
    # Edges are sorted by customer, so by customer tier; a tier's output is final once the tiers above shipped.
    bounds = np.searchsorted(node_tier[customer], np.arange(int(node_tier.max()) + 1), side="left")
    for low, high in itertools.pairwise(bounds):
        load = quantity[edge_line[low:high]] * throughput[customer[low:high]] * share[low:high]
        throughput += np.bincount(supplier[low:high], load, minlength=len(node_tier))
    return throughput


def _ttr(rng: np.random.Generator, node_tier: Ints, per_tier: dict[str, Floats]) -> Floats:
    """Each node's recovery time: a round number of weeks (:data:`TTR_WEEKS`) in its tier's range."""
    ttr = np.empty(len(node_tier))
    for t in range(len(per_tier["ttr_lo"])):
        weeks = np.array(
            [w for w in TTR_WEEKS if per_tier["ttr_lo"][t] <= w <= per_tier["ttr_hi"][t]], dtype=np.float64
        )
        at = node_tier == t
        ttr[at] = weeks[rng.integers(0, len(weeks), int(at.sum()))]
    return ttr


def _runs(rng: np.random.Generator, group: Ints, mean: Floats) -> tuple[Ints, Ints]:
    """Cut items sorted by ``group`` (shuffled within it) into runs of mean length ``mean``, never across groups.

    Returns the run of each item (in the items' own order) and each run's first item.
    """
    order = np.lexsort((rng.random(len(group)), group))
    cut = rng.random(len(group)) < 1.0 / mean[order]
    cut[0] = True
    cut[1:] |= group[order][1:] != group[order][:-1]
    run = np.empty(len(group), dtype=np.int64)
    run[order] = np.cumsum(cut) - 1
    return run, order[cut]


def _numbered(prefix: Ints, codes: list[str], letter: str) -> list[str]:
    """``<country>-<letter><k>``, k counting from 1 within each country (``prefix`` sorted)."""
    rank = np.arange(len(prefix)) - np.searchsorted(prefix, prefix, side="left")
    return [f"{codes[c]}-{letter}{k + 1}" for c, k in zip(prefix.tolist(), rank.tolist(), strict=True)]


class _Places:
    """Where nodes are (country by their class's origins, site, firm) and the labels of (class, country) pairs."""

    def __init__(
        self,
        rng: np.random.Generator,
        plan: Programs,
        mats: Materials,
        node_tier: Ints,
        site_size: Floats,
        throughput: Floats,
    ) -> None:
        self.codes = sorted({code for c in mats.classes for code, _ in c.origins} | set(LEAD_PARTIES))
        index = {code: i for i, code in enumerate(self.codes)}
        made = mats.klass[mats.node_material()]
        country = np.empty(len(made), dtype=np.int64)
        by_class = np.argsort(made, kind="stable")
        bounds = np.searchsorted(made[by_class], np.arange(len(mats.classes) + 1), side="left")
        for c, item in enumerate(mats.classes):
            where, share = by_class[bounds[c] : bounds[c + 1]], np.array([w for _, w in item.origins])
            origin = np.array([index[code] for code, _ in item.origins], dtype=np.int64)
            country[where] = origin[rng.choice(len(origin), len(where), p=share / share.sum())]
        lead = np.array([index[LEAD_PARTIES[i]] for i in plan.lead.tolist()], dtype=np.int64)
        self.country = np.concatenate([lead[plan.of_product], country])
        # End products are their program kind's class, after the catalogue's material classes.
        self.klass = np.concatenate([len(mats.classes) + plan.kind[plan.of_product], made])
        self.class_keys = [c.key for c in mats.classes] + [kind.key for kind in PROGRAM_KINDS]
        self.class_labels = [c.label for c in mats.classes] + [
            f"{k.key.replace('-', ' ')} final assembly" for k in PROGRAM_KINDS
        ]
        self.by_sea = [c.by_sea for c in mats.classes] + [False] * len(PROGRAM_KINDS)
        self.pairs, self.pair = np.unique(self.klass * len(self.codes) + self.country, return_inverse=True)

        tiers = int(node_tier.max()) + 1
        self.site, first_node = _runs(rng, self.country * tiers + node_tier, site_size[node_tier])
        site_country = self.country[first_node]
        self.firm, first_site = _runs(rng, site_country, np.full(len(site_country), FIRM_SITES))
        self.site_names = _numbered(site_country, self.codes, "S")
        self.firm_names = _numbered(site_country[first_site], self.codes, "F")
        at_site = np.bincount(self.site)
        load = np.bincount(self.site, throughput) * rng.uniform(*SITE_MARGIN, len(at_site))
        self.shared = np.flatnonzero((at_site >= 2) & (rng.random(len(at_site)) < SHARED_SITES))
        self.shared_capacity = _significant(load[self.shared], 3, up=True)

    def columns(self) -> tuple[list[object], ...]:
        """Site, organization, party, country, material class and chokepoints of each node, as ``Node`` orders them."""
        routes: list[object] = [
            ROUTES.get(self.codes[p % len(self.codes)], ()) if self.by_sea[p // len(self.codes)] else ()
            for p in self.pairs.tolist()
        ]
        countries = _objects(self.codes, self.country)
        site = _objects(self.site_names, self.site)
        firm = _objects(self.firm_names, self.firm[self.site])
        return site, firm, countries, countries, _objects(self.class_keys, self.klass), _objects(routes, self.pair)

    def names(self) -> list[object]:
        """``<class label> (<country>)``: one string per (class, country) pair, shared by its nodes."""
        n = len(self.codes)
        labels: list[object] = [f"{self.class_labels[p // n]} ({self.codes[p % n]})" for p in self.pairs.tolist()]
        return _objects(labels, self.pair)

    def site_capacities(self) -> list[SiteCapacity]:
        return [
            SiteCapacity(self.site_names[s], c)
            for s, c in zip(self.shared.tolist(), self.shared_capacity.tolist(), strict=True)
        ]


def industrial_base(nodes: int, seed: int = 0, *, programs: int | None = None, tiers: int = 4) -> Network:
    """A synthetic defense industrial base of exactly ``nodes`` nodes, the same for the same arguments.

    Node ids are ``P_1 .. P_<p>`` (end products, each its own material, grouped by program) and
    ``T<t>_1 ..`` for supplier tier ``t`` = 1 (subsystems) .. ``tiers`` (raw materials), makers of one
    material numbered next to each other. Tier sizes follow the catalogue's weights
    (:func:`tier_sizes`). Materials are named ``<class>-<k>`` (``gallium-2``), their class is the
    node's ``material_class`` (``gallium``, ``ndfeb-magnet``); the upper tiers' materials mostly
    belong to one program (``Node.program``), the lower tiers' serve all. Each node needs 6-16
    (products) down to 1-3 materials, from the next tier down and sometimes deeper; each material
    needed is qualified from 1-3 of its makers, every maker qualified somewhere. Countries follow
    each class's origin weights (products are assembled in ``IN`` or ``US``, the program's lead
    party); ``party`` is the country, as in the demo network; sea-shipped materials carry their
    country's straits in ``chokepoints``. Sites hold nodes of one country and tier, firms own sites
    of one country, and a quarter of the multi-node sites share a capacity.

    Parameters
    ----------
    nodes
        Exact number of nodes, at least :data:`MIN_NODES`.
    seed
        Seed of every random draw (>= 0).
    programs
        Number of weapons programs (default :func:`default_programs`); at most ``nodes - 2 * tiers``.
    tiers
        Supplier tiers below the products: 3, 4 or 5.

    Returns
    -------
    Network
        A network that validates and compiles; the undisrupted network meets all demand.

    Raises
    ------
    ValueError
        If ``nodes``, ``seed``, ``programs`` or ``tiers`` is out of range.

    Examples
    --------
    >>> network = industrial_base(40, seed=3, programs=2, tiers=3)
    >>> sorted({node.id.split("_")[0] for node in network.nodes})
    ['P', 'T1', 'T2', 'T3']
    >>> sorted({node.party for node in network.nodes} & {"IN", "US"})
    ['IN', 'US']
    """
    if tiers not in SUPPLIER_TIERS:
        raise ValueError(f"tiers must be one of {', '.join(map(str, SUPPLIER_TIERS))}, got {tiers}")
    if nodes < MIN_NODES:
        raise ValueError(f"nodes must be at least {MIN_NODES}, got {nodes}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    programs = default_programs(nodes) if programs is None else programs
    if not 1 <= programs <= nodes - 2 * tiers:
        raise ValueError(f"programs must be between 1 and {nodes - 2 * tiers} for {nodes} nodes, got {programs}")
    with _no_cycle_collection():
        return _generate(nodes, seed, programs, tiers)


def _generate(nodes: int, seed: int, programs: int, tiers: int) -> Network:
    """The network of :func:`industrial_base`, its arguments checked."""
    levels = levels_for(tiers)
    per_tier = tier_table(levels)
    rng = np.random.default_rng(seed)
    sizes = tier_sizes(nodes, programs, tiers)
    products = sizes[0]
    node_tier = np.repeat(np.arange(tiers + 1, dtype=np.int64), sizes)
    plan = Programs(rng, programs, products)
    mats = Materials(rng, sizes, levels, plan)
    node_material = mats.node_material()
    owner = mats.program[node_material]
    # A supplier buys for the program its material belongs to, or for one drawn by program size if shared.
    shared_buyer = rng.choice(programs, nodes - products, p=plan.weights)
    affinity = np.concatenate([plan.of_product, np.where(owner >= 0, owner, shared_buyer)])
    line_customer, line_material = bom_lines(rng, mats, node_tier, affinity, programs, per_tier)
    edge_line, supplier = supplier_edges(rng, mats, line_material, nodes, products, per_tier["alternates"])
    quantity = _quantities(rng, mats.tier[line_material], per_tier)
    customer = line_customer[edge_line]
    order = np.lexsort((supplier, customer))
    edge_line, supplier, customer = edge_line[order], supplier[order], customer[order]

    kind = plan.kind[plan.of_product]
    demand = _significant(_log_uniform(rng, *np.array([k.demand for k in PROGRAM_KINDS])[kind].T), 2)
    weight = _significant(_log_uniform(rng, *np.array([k.weight for k in PROGRAM_KINDS])[kind].T), 3)
    throughput = _throughput(rng, demand, node_tier, (edge_line, supplier, customer), quantity)
    # A material whose makers average over 100 a week counts in tens, hundreds, ... (kg, t) so that they
    # average 10-100: the same network in other units, but LPs whose numbers span fewer decades.
    mean = np.bincount(node_material, throughput[products:], minlength=mats.n) / mats.count
    unit = 10.0 ** np.maximum(0.0, np.floor(np.log10(mean)) - 1)
    node_unit = np.concatenate([np.ones(products), unit[node_material]])
    throughput /= node_unit
    quantity = _significant(quantity * node_unit[line_customer] / unit[line_material], 3)
    capacity = _significant(throughput * (1.0 + rng.uniform(*SLACK, nodes)), 3, up=True)
    cover = rng.uniform(per_tier["cover_lo"][node_tier], per_tier["cover_hi"][node_tier])
    inventory = _significant(throughput * cover, 3)
    ttr = _ttr(rng, node_tier, per_tier)
    places = _Places(rng, plan, mats, node_tier, per_tier["site_size"], throughput)

    ids = [f"P_{i}" for i in range(1, products + 1)]
    ids += [f"T{t}_{i}" for t in range(1, tiers + 1) for i in range(1, sizes[t] + 1)]
    id_table = np.array(ids, dtype=object)
    material_names = np.array(mats.names([c.key for c in mats.classes]), dtype=object)
    network_nodes = list(
        map(
            Node,
            ids,
            ids[:products] + material_names[node_material].tolist(),
            capacity.tolist(),
            inventory.tolist(),
            *places.columns(),
            ttr.tolist(),
            places.names(),
            _objects([*plan.names, ""], np.concatenate([plan.of_product, np.where(owner >= 0, owner, programs)])),
        )
    )
    bom = list(
        map(BomLine, id_table[line_customer].tolist(), material_names[line_material].tolist(), quantity.tolist())
    )
    supplies = list(map(Supply, id_table[supplier].tolist(), id_table[customer].tolist()))
    return Network(
        name=f"industrial base of {nodes} nodes (seed {seed})",
        nodes=network_nodes,
        products=list(map(Product, ids[:products], demand.tolist(), weight.tolist())),
        bom=bom,
        supplies=supplies,
        site_capacities=places.site_capacities(),
        source=f"setu.network.industrial_base.industrial_base({nodes}, {seed=}, {programs=}, {tiers=})",
    )
