"""Building the ILLUSTRATIVE India-US defense-industrial base from the tables of :mod:`setu.demo.data`.

Deterministic for a seed: capacities are sized from demand, with random slack, stock and recovery
times drawn per node. See docs/demo-data.md.
"""

from __future__ import annotations

from collections import defaultdict
from graphlib import TopologicalSorter

import numpy as np

from setu.demo.data import (
    CHOKEPOINTS,
    FORGE_SITE,
    HOME_BIAS,
    LANES,
    MATERIALS,
    MINE_CODE,
    MINE_SITES,
    NETWORK_NAME,
    OPAQUE_COUNTRIES,
    PRODUCTS,
    QUALIFYING_COUNTRIES,
    REGIONS,
    RESIDUAL_SHARES,
    SLACK,
    SPECIALTY_METALS,
    SUPPLIERS,
    TAIWAN,
    US_ONLY,
    USGS_SHARES,
    Material,
    SupplierRow,
)
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply

_REGION: dict[str, str] = {country: region for region, countries in REGIONS.items() for country in countries.split()}
"""Each country's shipping region."""


def _qualified(supplier_country: str, customer_country: str, material: str) -> bool:
    """Whether a customer may buy ``material`` from a supplier: rules of thumb, not legal advice."""
    if MATERIALS[material].raw:
        return True  # ore and concentrate trade on the world market
    if material in US_ONLY:
        return (supplier_country == "US") == (customer_country == "US")
    if customer_country != "US":
        return True
    if supplier_country in ("CN", "RU"):
        return False  # sanctions; 10 U.S.C. 4872 (magnets, tungsten) and its kin
    if MATERIALS[material].program and supplier_country == "IN":
        return False  # US programs are not (yet) qualified on Indian co-production lines
    # 10 U.S.C. 4863: specialty metals melted in the US or a qualifying country.
    return material not in SPECIALTY_METALS or supplier_country in QUALIFYING_COUNTRIES


def _home_bias(supplier: str, customer: str, material: str) -> float:
    """Buyers place most work at home and keep foreign sources as qualified alternates (not for ore)."""
    return HOME_BIAS if supplier[:2] == customer[:2] and not MATERIALS[material].raw else 1.0


def _mine_rows() -> dict[str, list[SupplierRow]]:
    rows: dict[str, list[SupplierRow]] = {}
    for material, by_country in MINE_SITES.items():
        shares = {**USGS_SHARES[material], **RESIDUAL_SHARES[material]}
        kind = MATERIALS[material].material_class.replace("_", " ")
        rows[material] = []
        for country, sites in by_country.items():
            for code, place in sites:
                organization = f"{place.split(',')[0]} {kind} producers (illustrative)"
                node_id = f"{country}-MIN-{code}-{MINE_CODE[material]}"
                rows[material].append((node_id, organization, place, shares[country] / len(sites)))
    return rows


def _site(node_id: str) -> str:
    """Node ids read COUNTRY-ORG-PLACE-ITEM; the first three parts name the site."""
    return "-".join(node_id.split("-")[:3])


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def build_demo_network(seed: int = 2025) -> Network:
    """Build the ILLUSTRATIVE India-US defense-industrial base (deterministic for ``seed``).

    Capacities are sized from demand: each customer's need is split over its qualified suppliers in
    proportion to their weight (a mine's weight is its country's share of world production), and
    every node gets 10-40% capacity slack and a few weeks of stock. Units: per week; TTR in weeks.
    """
    rng = np.random.default_rng(seed)
    rows: dict[str, list[SupplierRow]] = {m: list(r) for m, r in SUPPLIERS.items()}
    rows.update(_mine_rows())
    for spec in PRODUCTS:
        rows.setdefault(spec.material, []).append((spec.node, spec.organization, spec.place, 1.0))
    missing = sorted(set(MATERIALS) - set(rows))
    if missing:
        raise ValueError(f"demo data: no site makes {', '.join(missing)}")

    material_of: dict[str, str] = {}
    weight_of: dict[str, float] = {}
    meta: dict[str, tuple[str, str]] = {}
    makers: dict[str, list[str]] = defaultdict(list)
    for material, material_rows in rows.items():
        for node_id, organization, place, weight in material_rows:
            material_of[node_id] = material
            weight_of[node_id] = weight
            meta[node_id] = (organization, place)
            makers[material].append(node_id)

    def country(node_id: str) -> str:
        return node_id[:2]

    def has_bom(node_id: str) -> bool:
        item = MATERIALS[material_of[node_id]]
        return bool(item.bom) and not (item.program and country(node_id) in OPAQUE_COUNTRIES)

    # Sourcing: every qualified maker of an input supplies the customer (interchangeable alternates).
    bom: list[BomLine] = []
    suppliers_of: dict[tuple[str, str], list[str]] = {}
    customers_of: dict[str, list[str]] = defaultdict(list)
    for customer in material_of:
        if not has_bom(customer):
            continue
        for input_material, quantity in MATERIALS[material_of[customer]].bom:
            chosen = [s for s in makers[input_material] if _qualified(country(s), country(customer), input_material)]
            if not chosen:
                raise ValueError(f"demo data: no qualified supplier of {input_material} for {customer}")
            bom.append(BomLine(customer, input_material, quantity))
            suppliers_of[customer, input_material] = chosen
            for supplier in chosen:
                customers_of[supplier].append(customer)

    # Steady weekly throughput, pushed from the products down the tiers (customers before suppliers).
    demand = {spec.node: spec.demand for spec in PRODUCTS}
    throughput: dict[str, float] = defaultdict(float)
    order = TopologicalSorter({node: set(customers_of[node]) for node in material_of}).static_order()
    for node in order:
        if node in demand:
            throughput[node] = demand[node]
        if not has_bom(node):
            continue
        for input_material, quantity in MATERIALS[material_of[node]].bom:
            chosen = suppliers_of[node, input_material]
            share = {s: weight_of[s] * _home_bias(s, node, input_material) for s in chosen}
            total = sum(share.values())
            for supplier in chosen:
                throughput[supplier] += quantity * throughput[node] * share[supplier] / total
    idle = [node for node in material_of if throughput[node] <= 0]
    if idle:
        raise ValueError(f"demo data: nodes with no customer: {', '.join(idle)}")

    # Every mine of a material shares one slack, so capacity shares equal production shares.
    material_slack = {m: float(rng.uniform(*SLACK)) for m, item in MATERIALS.items() if item.raw}
    nodes: list[Node] = []
    # The forge's press is shared: its pieces (discs and blades alike) per week are capped together,
    # below the sum of what each line could do alone.
    press_load = sum(throughput[n] for n in material_of if _site(n) == FORGE_SITE)
    press_capacity = _round(press_load * (1 + float(rng.uniform(*SLACK))))
    for node_id, material in material_of.items():
        item = MATERIALS[material]
        slack = material_slack[material] if item.raw else float(rng.uniform(*SLACK))
        cover = float(rng.uniform(*item.cover))
        ttr = int(rng.integers(item.ttr[0], item.ttr[1] + 1))
        organization, place = meta[node_id]
        capacity = _round(throughput[node_id] * (1 + slack))
        nodes.append(
            Node(
                id=node_id,
                material=material,
                capacity=capacity,
                inventory=_round(throughput[node_id] * cover),
                site=_site(node_id),
                organization=organization,
                party=country(node_id),
                country=country(node_id),
                material_class=item.material_class,
                chokepoints=_route(node_id, item, [country(c) for c in customers_of[node_id]]),
                ttr=float(ttr),
                name=f"{item.label} — {organization}, {place}",
                program=item.program,
            )
        )
    return Network(
        name=NETWORK_NAME,
        nodes=nodes,
        products=[Product(spec.node, spec.demand, spec.weight) for spec in PRODUCTS],
        bom=bom,
        supplies=[Supply(s, c) for (c, _), chosen in suppliers_of.items() for s in chosen],
        site_capacities=[SiteCapacity(FORGE_SITE, press_capacity)],
        source=f"setu.demo.network (illustrative, seed={seed})",
        time_unit="week",
        weight_unit="criticality-weighted $M",
    )


def _route(node_id: str, material: Material, customer_countries: list[str]) -> tuple[str, ...]:
    """Straits on the node's outbound sea routes to its customers abroad.

    Taiwan's exports need the strait open whatever the mode: a blockade stops air freight too.
    """
    origin = _REGION[node_id[:2]]
    crossed: set[str] = {TAIWAN} if origin == "TW" else set()
    if material.by_sea:
        for destination in set(customer_countries) - {node_id[:2]}:
            # Lanes into Taiwan are those into East Asia.
            region = "EA" if _REGION[destination] == "TW" else _REGION[destination]
            crossed.update(LANES.get((origin, region), ()))
    return tuple(c for c in CHOKEPOINTS if c in crossed)
