"""Reader for the JSON layout of the public supply-chain stress-test accelerator."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from setu.errors import InputError, Problem, TooLarge
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.network.validate import network_problems

REQUIRED_KEYS = ("tier1", "tier2", "tier3", "edges", "supplier_material_type", "f", "d", "s", "c", "r")


def _number(value: Any, where: str, problems: list[Problem]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        problems.append(Problem(where, f"expected a number >= 0, got {value!r}"))
        return 0.0
    return float(value)


def _node_list(data: dict[str, Any], key: str, where: str, problems: list[Problem]) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(Problem(f"{where}: key {key!r}", "expected a list of node ids (strings)"))
        return []
    return value


def read_accelerator(path: str | Path, *, max_rows: int | None = None) -> Network:
    """Read an accelerator JSON file (``tier1..3``, ``edges``, ``f``, ``d``, ``s``, ``c``, ``r``).

    Tier-1 nodes are products; their own material is the product itself. Suppliers of the
    same material type to the same customer are alternates. The derived indexes
    (``N_minus``, ``N_plus``, ``P``) are ignored: they follow from ``edges`` and ``r``.

    Raises
    ------
    setu.errors.InputError
        Naming the file and key of every problem found.
    """
    path = Path(path)
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", where) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", where) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object at the top level", where)
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InputError(f"missing key(s) {', '.join(map(repr, missing))}", where)
    if max_rows is not None:
        # Refused before a problem or a node is built for each entry (the file itself is already bounded).
        for key in REQUIRED_KEYS:
            entries = data[key]
            if isinstance(entries, list | dict) and len(entries) > max_rows:
                raise TooLarge(f"{where}: {key!r} has {len(entries):,} entries; at most {max_rows:,} are accepted")

    problems: list[Problem] = []
    tier1 = _node_list(data, "tier1", where, problems)
    tiers = {1: tier1, 2: _node_list(data, "tier2", where, problems), 3: _node_list(data, "tier3", where, problems)}
    dicts = {k: data[k] for k in ("supplier_material_type", "f", "d", "s", "c", "r")}
    for key, value in dicts.items():
        if not isinstance(value, dict):
            problems.append(Problem(f"{where}: key {key!r}", "expected an object keyed by node id"))
    if problems:
        raise InputError(problems)
    material_type: dict[str, Any] = dicts["supplier_material_type"]

    nodes: list[Node] = []
    for tier, ids in tiers.items():
        for node_id in ids:
            at = f"{where}: node {node_id!r}"
            if tier == 1:
                material = node_id
            else:
                raw = material_type.get(node_id)
                if not isinstance(raw, str) or not raw:
                    problems.append(Problem(f"{at} in 'supplier_material_type'", "expected a material type string"))
                    raw = ""
                material = raw
            if node_id not in dicts["c"]:
                problems.append(Problem(f"{at} in 'c'", "missing capacity"))
            if node_id not in dicts["s"]:
                problems.append(Problem(f"{at} in 's'", "missing inventory"))
            nodes.append(
                Node(
                    id=node_id,
                    material=material,
                    capacity=_number(dicts["c"].get(node_id, 0), f"{at} in 'c'", problems),
                    inventory=_number(dicts["s"].get(node_id, 0), f"{at} in 's'", problems),
                    material_class=f"tier{tier}",
                )
            )

    products = []
    for node_id in tier1:
        at = f"{where}: product {node_id!r}"
        for key in ("d", "f"):
            if node_id not in dicts[key]:
                problems.append(Problem(f"{at} in {key!r}", "missing value"))
        products.append(
            Product(
                node=node_id,
                demand=_number(dicts["d"].get(node_id, 0), f"{at} in 'd'", problems),
                weight=_number(dicts["f"].get(node_id, 0), f"{at} in 'f'", problems),
            )
        )

    bom = []
    for node_id, materials in dicts["r"].items():
        if not isinstance(materials, dict):
            problems.append(Problem(f"{where}: key 'r' / {node_id!r}", "expected an object material -> quantity"))
            continue
        for material, quantity in materials.items():
            at = f"{where}: key 'r' / {node_id!r} / {material!r}"
            bom.append(BomLine(node=node_id, material=material, quantity=_number(quantity, at, problems)))

    supplies = []
    edges = data["edges"]
    if not isinstance(edges, list):
        problems.append(Problem(f"{where}: key 'edges'", "expected a list of [supplier, customer] pairs"))
        edges = []
    for i, edge in enumerate(edges):
        if not (isinstance(edge, list) and len(edge) == 2 and all(isinstance(v, str) for v in edge)):
            problems.append(Problem(f"{where}: edges[{i}]", f"expected [supplier, customer], got {edge!r}"))
            continue
        supplies.append(Supply(supplier=edge[0], customer=edge[1]))

    network = Network(name=path.stem, nodes=nodes, products=products, bom=bom, supplies=supplies, source=where)
    problems.extend(Problem(f"{where}: {p.where}", p.message) for p in network_problems(network))
    if problems:
        raise InputError(problems)
    return network


def _plain(value: float) -> float | int:
    """Whole numbers as JSON integers, as the published files write them."""
    return int(value) if float(value).is_integer() else value


def accelerator_document(network: Network) -> dict[str, Any]:
    """``network`` in the accelerator's JSON layout, the inverse of :func:`read_accelerator`.

    Products are tier 1, the nodes that ship to a product tier 2, every other node tier 3. The
    derived indexes (``N_minus``, ``N_plus``, ``P``, ``material_types``) are written too, as the
    accelerator's own code reads them. Names, sites, TTRs and other attributes have no place in the
    layout and are left out.

    Raises
    ------
    setu.errors.InputError
        If the layout cannot hold the network: a product whose material is not its own id, a shared
        site capacity, or a node that both ships to a product and is one.
    """
    products = {product.node for product in network.products}
    problems = [
        Problem(f"nodes[{node.id}]", "a product's material must be its own id in the accelerator layout")
        for node in network.nodes
        if node.id in products and node.material != node.id
    ]
    problems += [
        Problem(f"site_capacities[{sc.site}]", "the layout has no shared capacities") for sc in network.site_capacities
    ]
    material_of = {node.id: node.material for node in network.nodes}
    customers: dict[str, list[str]] = {}
    suppliers: dict[str, dict[str, list[str]]] = {}
    for supply in network.supplies:
        customers.setdefault(supply.supplier, []).append(supply.customer)
        suppliers.setdefault(supply.customer, {}).setdefault(material_of[supply.supplier], []).append(supply.supplier)
    tier2 = [n.id for n in network.nodes if n.id not in products and products & set(customers.get(n.id, ()))]
    problems += [Problem(f"nodes[{n}]", "a product ships to another product") for n in products if n in customers]
    if problems:
        raise InputError(problems)
    in_tier2 = set(tier2)
    needs: dict[str, dict[str, float | int]] = {}
    for line in network.bom:
        needs.setdefault(line.node, {})[line.material] = _plain(line.quantity)
    materials = [n.material for n in network.nodes if n.id not in products]
    return {
        "tier1": [n.id for n in network.nodes if n.id in products],
        "tier2": tier2,
        "tier3": [n.id for n in network.nodes if n.id not in products and n.id not in in_tier2],
        "edges": [[supply.supplier, supply.customer] for supply in network.supplies],
        "material_types": sorted(set(materials)),
        "supplier_material_type": {n.id: n.material for n in network.nodes if n.id not in products},
        "f": {product.node: _plain(product.weight) for product in network.products},
        "s": {n.id: _plain(n.inventory) for n in network.nodes},
        "d": {product.node: _plain(product.demand) for product in network.products},
        "c": {n.id: _plain(n.capacity) for n in network.nodes},
        "r": needs,
        "N_minus": {node: list(by_material) for node, by_material in needs.items()},
        "N_plus": customers,
        "P": suppliers,
    }


def write_accelerator(network: Network, path: str | Path) -> Path:
    """Write ``network`` as an accelerator JSON file (see :func:`accelerator_document`); return the path."""
    path = Path(path)
    path.write_text(json.dumps(accelerator_document(network)), encoding="utf-8")
    return path
