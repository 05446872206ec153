"""Consistency checks on a whole network: references, numbers, unsourced materials and BOM cycles."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from setu.errors import InputError, Problem
from setu.network.model import Network, Node


def _bad_number(value: float | None, *, allow_none: bool = False) -> bool:
    if value is None:
        return not allow_none
    return not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value) or value < 0


def network_problems(network: Network) -> list[Problem]:
    """List everything wrong with ``network``; an empty list means it can be compiled.

    ``where`` of each problem names the table and key (``nodes[T2_1]``, ``bom[T1_1/aaa]``),
    which readers map back to file rows through their own context.
    """
    problems: list[Problem] = []
    index: dict[str, int] = {}
    for node in network.nodes:
        where = f"nodes[{node.id}]"
        if not node.id:
            problems.append(Problem("nodes", "a node has an empty id"))
            continue
        if node.id in index:
            problems.append(Problem(where, "duplicate node id"))
        index[node.id] = len(index)
        if not node.material:
            problems.append(Problem(where, "material is empty"))
        for attr in ("capacity", "inventory"):
            if _bad_number(getattr(node, attr)):
                problems.append(Problem(where, f"{attr} must be a finite number >= 0, got {getattr(node, attr)!r}"))
        if node.ttr is not None and _bad_number(node.ttr):
            problems.append(Problem(where, f"ttr must be a finite number >= 0, got {node.ttr!r}"))
        problems += _coordinate_problems(node, where)

    product_ids: set[str] = set()
    for product in network.products:
        where = f"products[{product.node}]"
        if product.node not in index:
            problems.append(Problem(where, "unknown node"))
        if product.node in product_ids:
            problems.append(Problem(where, "node listed twice as a product"))
        product_ids.add(product.node)
        for attr in ("demand", "weight"):
            if _bad_number(getattr(product, attr)):
                problems.append(Problem(where, f"{attr} must be a finite number >= 0, got {getattr(product, attr)!r}"))

    needs: dict[str, set[str]] = defaultdict(set)
    for line in network.bom:
        where = f"bom[{line.node}/{line.material}]"
        if line.node not in index:
            problems.append(Problem(where, "unknown node"))
        if line.material in needs[line.node]:
            problems.append(Problem(where, "material listed twice for this node"))
        needs[line.node].add(line.material)
        if _bad_number(line.quantity) or line.quantity == 0:
            problems.append(Problem(where, f"quantity must be a finite number > 0, got {line.quantity!r}"))

    material_of = {node.id: node.material for node in network.nodes}
    sourced: set[tuple[str, str]] = set()
    seen_edges: set[tuple[str, str]] = set()
    for supply in network.supplies:
        where = f"supplies[{supply.supplier}->{supply.customer}]"
        missing = [n for n in (supply.supplier, supply.customer) if n not in index]
        for n in missing:
            problems.append(Problem(where, f"unknown node {n!r}"))
        if missing:
            continue
        if (supply.supplier, supply.customer) in seen_edges:
            problems.append(Problem(where, "duplicate supply edge"))
        seen_edges.add((supply.supplier, supply.customer))
        material = material_of[supply.supplier]
        if material not in needs[supply.customer]:
            problems.append(
                Problem(where, f"customer has no bill-of-materials line for {material!r}, the supplier's material")
            )
        sourced.add((supply.customer, material))

    for line in network.bom:
        if line.node in index and (line.node, line.material) not in sourced:
            problems.append(Problem(f"bom[{line.node}/{line.material}]", "material has no supplier"))

    sites = {node.site for node in network.nodes if node.site}
    for sc in network.site_capacities:
        where = f"site_capacities[{sc.site}]"
        if sc.site not in sites:
            problems.append(Problem(where, "no node is at this site"))
        if _bad_number(sc.capacity):
            problems.append(Problem(where, f"capacity must be a finite number >= 0, got {sc.capacity!r}"))

    if not network.products:
        problems.append(Problem("products", "the network has no product (no node with demand)"))

    if not problems:
        problems.extend(_cycle_problems(network, index))
    return problems


def _cycle_problems(network: Network, index: dict[str, int]) -> list[Problem]:
    """A node that (transitively) needs its own output makes the BOM cyclic."""
    n = len(index)
    if not network.supplies:
        return []
    rows = np.fromiter((index[s.supplier] for s in network.supplies), dtype=np.int64)
    cols = np.fromiter((index[s.customer] for s in network.supplies), dtype=np.int64)
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    count, labels = connected_components(graph, directed=True, connection="strong")
    if count == n and not np.any(rows == cols):
        return []
    sizes = np.bincount(labels, minlength=count)
    cyclic = sorted(
        {network.nodes[i].id for i in range(n) if sizes[labels[i]] > 1}
        | {network.nodes[int(r)].id for r, c in zip(rows, cols, strict=True) if r == c}
    )
    shown = ", ".join(cyclic[:10]) + (" ..." if len(cyclic) > 10 else "")
    return [Problem("supplies", f"the bill of materials has a cycle through {shown}")]


def validate(network: Network) -> None:
    """Raise :class:`InputError` listing every problem of ``network``, or return if there is none."""
    problems = network_problems(network)
    if problems:
        raise InputError(problems)


def _coordinate_problems(node: Node, where: str) -> list[Problem]:
    """Latitude and longitude come together, in degrees, within their ranges."""
    given = (node.latitude is not None, node.longitude is not None)
    if given == (False, False):
        return []
    if not all(given):
        missing = "longitude" if given[0] else "latitude"
        return [Problem(where, f"{missing} is empty: give both latitude and longitude, or neither")]
    problems = []
    for attr, limit in (("latitude", 90.0), ("longitude", 180.0)):
        value = getattr(node, attr)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) > limit:
            problems.append(
                Problem(where, f"{attr} must be a number of degrees from -{limit:g} to {limit:g}, got {value!r}")
            )
    return problems
