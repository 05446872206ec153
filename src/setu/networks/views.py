"""Each user's view of a network: the records they may see, compiled for the stress engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from setu.audit.log import record
from setu.errors import ViewError
from setu.models.networks import (
    BomRecord,
    NetworkRecord,
    NodeRecord,
    ProductRecord,
    SiteCapacityRecord,
    TearLineCover,
)
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply
from setu.networks.reads import readable_nodes, require_network, visible_edges
from setu.networks.stamps import view_stamp
from setu.sharing.cache import ViewCache, cached, view_key
from setu.sharing.markings import MarkingSpec, marking_specs, specs_by_id
from setu.sharing.policy import Principal, allows
from setu.sharing.read import join_readable, readable


def compiled_view(
    session: Session, principal: Principal, network_id: int, *, cache: ViewCache | None = None
) -> tuple[CompiledNetwork, set[MarkingSpec]]:
    """The network as ``principal`` sees it, compiled for the stress engine.

    With a ``cache`` (the app's), the view is compiled once per reader's view and
    :func:`setu.networks.stamps.view_stamp` (read through the filter on every call); a compiled
    network is read-only, so callers share it. A view served from the cache is audited as a compiled one.

    The view holds the visible nodes, the visible edges between them, their visible BOM lines and
    products, and the shared site capacities the user may see of sites with a visible node.

    A BOM line whose material has no visible supplier would leave the node without a source it
    needs. Dropping the line would overstate what the node can make, so the view keeps the node
    but gives it capacity 0 (it can still ship its inventory) and leaves the unsourced line out (the
    compiler requires every line to be sourced). An edge feeding a BOM line the user cannot see is
    left out. A shared site capacity the user may not see is not applied to the visible nodes at
    that site (each keeps its own capacity): importers mark it with all its nodes' markings. A stand-in
    for nodes the user may see is left out (:func:`view_network`).

    Returns
    -------
    tuple[CompiledNetwork, set[MarkingSpec]]
        The compiled view, and the marking of every record that went into it (the network's, and
        each node's, edge's, BOM line's, product's and site capacity's, including BOM lines that
        zeroed a capacity).

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    ViewError
        If the user sees no product of the network.
    """
    if cache is None:
        return _compiled_view(session, principal, network_id)
    key = ("network.view", network_id, view_key(principal), view_stamp(session, principal, network_id))

    def compute() -> tuple[tuple[CompiledNetwork, frozenset[MarkingSpec]], frozenset[MarkingSpec]]:
        compiled, used = _compiled_view(session, principal, network_id)
        return (compiled, frozenset(used)), frozenset()

    compiled, used = cached(cache, key, session, principal, compute).value
    return compiled, set(used)


def _compiled_view(session: Session, principal: Principal, network_id: int) -> tuple[CompiledNetwork, set[MarkingSpec]]:
    view, used = view_network(session, principal, network_id)
    return compile_network(view), used


@dataclass(frozen=True)
class _Rows:
    """The records of a network one reader may read, each with its marking id."""

    network: NetworkRecord
    nodes: list[Any]
    bom: list[Any]
    edges: list[Any]
    products: list[Any]
    sites: list[Any]
    covers: list[Any]
    """Cover rows (stand-in node, marking) the reader may read: each names a stand-in they compute without
    (the rule of :func:`setu.networks.reads.standins_left_out`, here with each row's marking for an audience)."""


def _rows(session: Session, principal: Principal, network_id: int) -> _Rows:
    network = require_network(session, principal, network_id, "network.view")
    nodes = session.execute(
        readable_nodes(
            principal,
            network_id,
            NodeRecord.id,
            NodeRecord.node_id,
            NodeRecord.material,
            NodeRecord.capacity,
            NodeRecord.inventory,
            NodeRecord.site,
            NodeRecord.organization,
            NodeRecord.party,
            NodeRecord.country,
            NodeRecord.material_class,
            NodeRecord.chokepoints,
            NodeRecord.ttr,
            NodeRecord.name,
            NodeRecord.program,
            NodeRecord.marking_id,
            NodeRecord.tear_line_id,
        ).order_by(NodeRecord.id)
    ).all()
    bom_node = aliased(NodeRecord)
    bom_lines = readable(principal, BomRecord.node_id, BomRecord.material, BomRecord.quantity, BomRecord.marking_id)
    bom = session.execute(
        join_readable(bom_lines, principal, bom_node, bom_node.id == BomRecord.node_id)
        .where(BomRecord.network_id == network_id)
        .order_by(BomRecord.id)
    ).all()
    edges_q = visible_edges(principal, network_id)
    edges = session.execute(select(edges_q).order_by(edges_q.c.supplier_id, edges_q.c.customer_id)).all()
    product_node = aliased(NodeRecord)
    product_rows = readable(
        principal, ProductRecord.node_id, ProductRecord.demand, ProductRecord.weight, ProductRecord.marking_id
    )
    products = session.execute(
        join_readable(product_rows, principal, product_node, product_node.id == ProductRecord.node_id)
        .where(ProductRecord.network_id == network_id)
        .order_by(ProductRecord.id)
    ).all()
    sites = session.execute(
        readable(
            principal,
            SiteCapacityRecord.site,
            SiteCapacityRecord.capacity,
            SiteCapacityRecord.marking_id,
            SiteCapacityRecord.tear_line_id,
        )
        .where(SiteCapacityRecord.network_id == network_id)
        .order_by(SiteCapacityRecord.site)
    ).all()
    covers = session.execute(
        readable(principal, TearLineCover.standin_id, TearLineCover.marking_id).where(
            TearLineCover.network_id == network_id
        )
    ).all()
    return _Rows(network, list(nodes), list(bom), list(edges), list(products), list(sites), list(covers))


def view_network(
    session: Session,
    principal: Principal,
    network_id: int,
    *,
    audience: Principal | None = None,
    draft: int | None = None,
) -> tuple[Network, set[MarkingSpec]]:
    """The network as ``principal`` sees it, before compilation (see :func:`compiled_view`).

    A stand-in (:mod:`setu.networks.standins`) is left out when the reader may read a node it stands for:
    they compute on that node itself. With ``audience``, the view holds only what ``principal`` and
    ``audience`` may both read, plus the stand-ins of the draft tear line ``draft`` as if released: what
    the partner will compute on, worked out from what ``principal`` may read (an owner checking a tear
    line before release).

    Returns
    -------
    tuple[Network, set[MarkingSpec]]
        The view, and the marking of every record that went into it.
    """
    rows = _rows(session, principal, network_id)
    specs = specs_by_id(
        session,
        {
            r.marking_id
            for part in (rows.nodes, rows.bom, rows.edges, rows.products, rows.sites, rows.covers)
            for r in part
        },
    )

    def keep(marking_id: int, tear_line_id: int | None = None) -> bool:
        if audience is None or (draft is not None and tear_line_id == draft):
            return True
        return allows(audience, specs[marking_id])

    left_out = {c.standin_id for c in rows.covers if keep(c.marking_id)}
    nodes = [r for r in rows.nodes if r.id not in left_out and keep(r.marking_id, r.tear_line_id)]
    node_of = {row.id: row.node_id for row in nodes}
    material_of = {row.id: row.material for row in nodes}
    draft_nodes = {r.id for r in nodes if draft is not None and r.tear_line_id == draft}
    bom = [
        r for r in rows.bom if r.node_id in node_of and keep(r.marking_id, draft if r.node_id in draft_nodes else None)
    ]
    edges = [
        e
        for e in rows.edges
        if e.supplier_id in node_of
        and e.customer_id in node_of
        and keep(e.marking_id, draft if {e.supplier_id, e.customer_id} & draft_nodes else None)
    ]
    products = [
        r
        for r in rows.products
        if r.node_id in node_of and keep(r.marking_id, draft if r.node_id in draft_nodes else None)
    ]
    sites_in_view = {row.site for row in nodes if row.site}
    site_capacities = [r for r in rows.sites if r.site in sites_in_view and keep(r.marking_id, r.tear_line_id)]

    needs = {(row.node_id, row.material) for row in bom}
    kept_edges = [e for e in edges if (e.customer_id, material_of[e.supplier_id]) in needs]
    sourced = {(e.customer_id, material_of[e.supplier_id]) for e in kept_edges}
    starved = {row.node_id for row in bom if (row.node_id, row.material) not in sourced}
    network = rows.network
    view = Network(
        name=f"{network.name} v{network.version}",
        nodes=[
            Node(
                id=row.node_id,
                material=row.material,
                capacity=0.0 if row.id in starved else row.capacity,
                inventory=row.inventory,
                site=row.site,
                organization=row.organization,
                party=row.party,
                country=row.country,
                material_class=row.material_class,
                chokepoints=tuple(c for c in row.chokepoints.split(";") if c),
                ttr=row.ttr,
                name=row.name,
                program=row.program,
            )
            for row in nodes
        ],
        products=[Product(node_of[row.node_id], row.demand, row.weight) for row in products],
        bom=[
            BomLine(node_of[row.node_id], row.material, row.quantity)
            for row in bom
            if (row.node_id, row.material) in sourced
        ],
        supplies=[Supply(node_of[e.supplier_id], node_of[e.customer_id]) for e in kept_edges],
        site_capacities=[SiteCapacity(row.site, row.capacity) for row in site_capacities],
        source=network.source,
    )
    if not view.products:
        raise ViewError(f"you see no product of network {network_id}: there is nothing to stress-test")
    used = {
        specs[m]
        for m in (
            *(row.marking_id for row in nodes),
            *(row.marking_id for row in bom),
            *(e.marking_id for e in kept_edges),
            *(row.marking_id for row in products),
            *(row.marking_id for row in site_capacities),
        )
    } | marking_specs(session, [network.marking_id])
    details: dict[str, object] = {"nodes": len(view.nodes), "edges": len(view.supplies), "starved": len(starved)}
    if left_out:
        details["stand_ins_left_out"] = len(left_out)
    if audience is not None:
        details["audience"] = audience.party
    record(session, principal, "network.view", "network", network_id, details=details)
    return view, used
