"""Tear-line stand-ins: releasable records that take the place of nodes a partner may not see.

Intelligence sharing writes a *tear line*: below it, a version of the report the partner may have, with
the sources left out and the substance kept. A network does the same with stand-ins: every node hidden
from the partner is folded into a stand-in with no name, no site and no organization ("an undisclosed IN
source of titanium forgings"), which keeps what the stress engine needs (material, capacity, inventory,
TTR, bill of materials, who it supplies and who supplies it).

Hidden nodes fold together only when they are *twins*: same material, country, party, material class,
chokepoints, bill of materials, suppliers and customers, and neither has demand of its own. Twins are
interchangeable in both linear programs (split any flow through the stand-in in proportion to each
twin's capacity and stock), so the partner's PI and TTS of every scenario on a node they see equal the
full network's. Folding nodes that are not twins would let the partner's view draw on capacity the
full network cannot route, so those stay separate stand-ins, each still anonymous.

What cannot be stood in for without naming it is listed in :attr:`TearLine.inexact`: a shared site
capacity over hidden and visible nodes (its stand-in would place a hidden node at a named site).

Examples
--------
>>> from setu.network.model import BomLine, Network, Node, Product, Supply
>>> net = Network(
...     "engines",
...     nodes=[Node("ENG", "engine", 10, 2), Node("F1", "forging", 6, site="Pune", country="IN"),
...            Node("F2", "forging", 4, site="Nagpur", country="IN")],
...     products=[Product("ENG", 8, 1.0)],
...     bom=[BomLine("ENG", "forging", 1.0)],
...     supplies=[Supply("F1", "ENG"), Supply("F2", "ENG")],
... )
>>> tear = tear_line(net, {"F1", "F2"})
>>> [(s.id, s.name, s.capacity, s.covers) for s in tear.standins]
[('standin-1', 'Undisclosed IN source of forging', 10.0, ('F1', 'F2'))]
>>> tear.supplies
[Supply(supplier='standin-1', customer='ENG')]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply

Fold = Literal["twins", "material"]
FOLDS: tuple[Fold, ...] = ("twins", "material")
STANDIN_PREFIX = "standin-"
"""Stand-in node ids are this prefix and a number (a number already taken by a node is skipped)."""


@dataclass(frozen=True, slots=True)
class StandIn:
    """One releasable node standing in for one or more hidden twins.

    ``capacity`` and ``inventory`` are the twins' sums; ``ttr`` the longest of theirs (the stand-in's own
    scenario disrupts all of them at once); ``demand`` and ``weight`` are set on a hidden product's
    stand-in (a product never folds with another).
    """

    id: str
    material: str
    capacity: float
    inventory: float
    covers: tuple[str, ...]
    country: str = ""
    party: str = ""
    material_class: str = ""
    chokepoints: tuple[str, ...] = ()
    ttr: float | None = None
    site: str = ""
    demand: float | None = None
    weight: float | None = None

    @property
    def name(self) -> str:
        """What the partner reads instead of the hidden names."""
        who = f"{self.country} " if self.country else (f"{self.party} " if self.party else "")
        if self.demand is not None:
            return f"Undisclosed {who}demand for {self.material}"
        return f"Undisclosed {who}source of {self.material}"

    def node(self) -> Node:
        """The stand-in as a network node."""
        return Node(
            id=self.id,
            material=self.material,
            capacity=self.capacity,
            inventory=self.inventory,
            site=self.site,
            party=self.party,
            country=self.country,
            material_class=self.material_class,
            chokepoints=self.chokepoints,
            ttr=self.ttr,
            name=self.name,
        )


@dataclass
class TearLine:
    """The stand-ins for a set of hidden nodes, and the records that join them to the visible ones.

    ``bom`` and ``supplies`` hold only lines and edges with a stand-in at one end; ``site_capacities`` the
    capacity of each undisclosed site (a shared site whose nodes are all hidden).
    """

    standins: list[StandIn]
    bom: list[BomLine] = field(default_factory=list)
    supplies: list[Supply] = field(default_factory=list)
    site_capacities: list[SiteCapacity] = field(default_factory=list)
    inexact: list[str] = field(default_factory=list)
    """Why the partner's figures may still differ from the full network's (empty when they cannot)."""

    @property
    def products(self) -> list[Product]:
        return [
            Product(s.id, s.demand, s.weight if s.weight is not None else 0.0)
            for s in self.standins
            if s.demand is not None
        ]

    def covers(self) -> dict[str, tuple[str, ...]]:
        """Each stand-in's id and the hidden nodes it stands for."""
        return {s.id: s.covers for s in self.standins}


def tear_line(
    network: Network,
    hidden: Collection[str],
    keys: Mapping[str, object] | None = None,
    reserved: Collection[str] = (),
    fold: Fold = "twins",
) -> TearLine:
    """The stand-ins that let a reader who sees every node but ``hidden`` compute the full network's figures.

    Parameters
    ----------
    network
        The full network (as its owner sees it).
    hidden
        Ids of the nodes the partner may not see.
    keys
        A further value per node that twins must share (the store passes each node's marking, so that a
        reader sees either every node a stand-in covers or none).
    reserved
        Node ids the stand-ins may not take besides the network's own (nodes of the stored network its
        owner cannot see, stand-ins of another tear line).
    fold
        ``twins`` (exact): fold only interchangeable nodes. ``material``: fold every hidden node of one
        material, country and party (and key) into one stand-in, as a tear line usually reads ("an
        undisclosed IN source of titanium forgings"): fewer records cross, and the partner's figures may
        differ from the full network's (suppliers and customers pooled, BOM quantities averaged by
        capacity, a shared site dropped when the nodes do not all share it); the check says by how much.

    Returns
    -------
    TearLine
        One stand-in per class of hidden twins, with their BOM lines, the edges that connect them (to
        each other and to visible nodes) and the capacity of each all-hidden shared site.
    """
    hidden_set = set(hidden)
    by_id = {node.id: node for node in network.nodes}
    unknown = sorted(hidden_set - by_id.keys())
    if unknown:
        raise ValueError(f"hidden nodes not in the network: {', '.join(unknown[:5])}")
    suppliers: dict[str, set[str]] = defaultdict(set)
    customers: dict[str, set[str]] = defaultdict(set)
    for edge in network.supplies:
        suppliers[edge.customer].add(edge.supplier)
        customers[edge.supplier].add(edge.customer)
    bom: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for line in network.bom:
        bom[line.node].append((line.material, line.quantity))
    demand = {p.node: p for p in network.products}
    site_capacity = {s.site: s.capacity for s in network.site_capacities}
    inexact: list[str] = []
    undisclosed_site: dict[str, str] = {}
    for site in sorted(site_capacity):
        at_site = [n.id for n in network.nodes if n.site == site]
        if not any(n in hidden_set for n in at_site):
            continue
        if all(n in hidden_set for n in at_site):
            undisclosed_site[site] = f"undisclosed site {len(undisclosed_site) + 1}"
        else:
            inexact.append(
                f"a shared site capacity covers hidden and visible nodes: standing in for it would name "
                f"the site of {sum(n in hidden_set for n in at_site)} hidden node(s)"
            )

    classes: dict[tuple[object, ...], list[str]] = {}
    for node in network.nodes:
        if node.id not in hidden_set:
            continue
        own = node.id if node.id in demand else ""
        key: tuple[object, ...] = (node.material, node.country, node.party, own, keys.get(node.id) if keys else None)
        if fold == "twins":
            key += (
                node.material_class,
                node.chokepoints,
                undisclosed_site.get(node.site, ""),
                tuple(sorted(bom[node.id])),
                frozenset(suppliers[node.id]),
                frozenset(customers[node.id]),
            )
        classes.setdefault(key, []).append(node.id)

    taken = set(by_id) | set(reserved)
    number = 0
    standin_of: dict[str, str] = {}
    standins: list[StandIn] = []
    lines: list[BomLine] = []
    for members in classes.values():
        number += 1
        while f"{STANDIN_PREFIX}{number}" in taken:
            number += 1
        standin_id = f"{STANDIN_PREFIX}{number}"
        first = by_id[members[0]]
        ttrs = [by_id[m].ttr for m in members if by_id[m].ttr is not None]
        product = demand.get(first.id) if len(members) == 1 else None
        at = {undisclosed_site.get(by_id[m].site, "") for m in members}
        if len(at) > 1:
            inexact.append(f"{len(members)} folded nodes of {first.material} sit at different undisclosed sites")
        standins.append(
            StandIn(
                id=standin_id,
                material=first.material,
                capacity=float(sum(by_id[m].capacity for m in members)),
                inventory=float(sum(by_id[m].inventory for m in members)),
                covers=tuple(members),
                country=first.country,
                party=first.party,
                material_class=first.material_class,
                chokepoints=tuple(sorted({c for m in members for c in by_id[m].chokepoints})),
                ttr=max(t for t in ttrs if t is not None) if ttrs else None,
                site=at.pop() if len(at) == 1 else "",
                demand=product.demand if product else None,
                weight=product.weight if product else None,
            )
        )
        lines.extend(BomLine(standin_id, material, quantity) for material, quantity in _pooled_bom(members, bom, by_id))
        for member in members:
            standin_of[member] = standin_id

    supplies = list(
        dict.fromkeys(
            Supply(standin_of.get(edge.supplier, edge.supplier), standin_of.get(edge.customer, edge.customer))
            for edge in network.supplies
            if edge.supplier in hidden_set or edge.customer in hidden_set
        )
    )
    used = {s.site for s in standins}
    sites = [SiteCapacity(name, site_capacity[site]) for site, name in undisclosed_site.items() if name in used]
    return TearLine(standins=standins, bom=lines, supplies=supplies, site_capacities=sites, inexact=inexact)


def _pooled_bom(
    members: list[str], bom: Mapping[str, list[tuple[str, float]]], by_id: Mapping[str, Node]
) -> list[tuple[str, float]]:
    """The BOM of folded nodes: each material any of them needs, its quantity averaged by their capacities.

    Twins share one BOM, so theirs comes back unchanged.
    """
    need: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for member in members:
        for material, quantity in bom[member]:
            need[material].append((by_id[member].capacity, quantity))
    pooled = []
    for material, pairs in need.items():
        total = sum(c for c, _ in pairs)
        quantity = sum(c * q for c, q in pairs) / total if total > 0 else max(q for _, q in pairs)
        pooled.append((material, quantity))
    return pooled


def partner_network(network: Network, hidden: Collection[str], tear: TearLine | None = None) -> Network:
    """``network`` as a reader who may not see ``hidden`` sees it, with ``tear``'s stand-ins in their place.

    Without stand-ins, a BOM line left with no supplier is dropped and its node's capacity set to 0, as the
    stored view does (:func:`setu.networks.views.compiled_view`); a shared site capacity over a hidden node
    is withheld.
    """
    hidden_set = set(hidden)
    hidden_sites = {n.site for n in network.nodes if n.id in hidden_set and n.site}
    supplies = [e for e in network.supplies if e.supplier not in hidden_set and e.customer not in hidden_set]
    bom = [line for line in network.bom if line.node not in hidden_set]
    nodes = [n for n in network.nodes if n.id not in hidden_set]
    products = [p for p in network.products if p.node not in hidden_set]
    sites = [s for s in network.site_capacities if s.site not in hidden_sites]
    if tear is not None:
        nodes += [s.node() for s in tear.standins]
        supplies += tear.supplies
        bom += tear.bom
        products += tear.products
        sites += tear.site_capacities
    material = {n.id: n.material for n in nodes}
    sourced = {(e.customer, material[e.supplier]) for e in supplies}
    starved = {line.node for line in bom if (line.node, line.material) not in sourced}
    return Network(
        name=network.name,
        nodes=[_zeroed(n) if n.id in starved else n for n in nodes],
        products=products,
        bom=[line for line in bom if (line.node, line.material) in sourced],
        supplies=supplies,
        site_capacities=sites,
        source=network.source,
    )


def _zeroed(node: Node) -> Node:
    return replace(node, capacity=0.0)
