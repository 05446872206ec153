"""Each user's view of a network: the records they may see, compiled for the stress engine."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from setu.audit.log import record
from setu.errors import ViewError
from setu.models.networks import BomRecord, NodeRecord, ProductRecord, SiteCapacityRecord
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply
from setu.networks.reads import readable_nodes, require_network, visible_edges
from setu.networks.stamps import view_stamp
from setu.sharing.cache import ViewCache, cached, view_key
from setu.sharing.markings import MarkingSpec, marking_specs
from setu.sharing.policy import Principal
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
    that site (each keeps its own capacity): importers mark it with all its nodes' markings.

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
        ).order_by(NodeRecord.id)
    ).all()
    node_of = {row.id: row.node_id for row in nodes}
    material_of = {row.id: row.material for row in nodes}
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
    sites_in_view = {row.site for row in nodes if row.site}
    site_capacities = [
        row
        for row in session.execute(
            readable(principal, SiteCapacityRecord.site, SiteCapacityRecord.capacity, SiteCapacityRecord.marking_id)
            .where(SiteCapacityRecord.network_id == network_id)
            .order_by(SiteCapacityRecord.site)
        ).all()
        if row.site in sites_in_view
    ]

    needs = {(row.node_id, row.material) for row in bom}
    kept_edges = [e for e in edges if (e.customer_id, material_of[e.supplier_id]) in needs]
    sourced = {(e.customer_id, material_of[e.supplier_id]) for e in kept_edges}
    starved = {row.node_id for row in bom if (row.node_id, row.material) not in sourced}
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
    compiled = compile_network(view)
    used = marking_specs(
        session,
        [
            network.marking_id,
            *(row.marking_id for row in nodes),
            *(row.marking_id for row in bom),
            *(e.marking_id for e in kept_edges),
            *(row.marking_id for row in products),
            *(row.marking_id for row in site_capacities),
        ],
    )
    record(
        session,
        principal,
        "network.view",
        "network",
        network_id,
        details={"nodes": len(view.nodes), "edges": len(view.supplies), "starved": len(starved)},
    )
    return compiled, used
