"""The map of a network: its visible nodes, the visible supply edges between them and its visible products."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from setu.audit.log import record
from setu.models.networks import NodeRecord, ProductRecord
from setu.networks.reads import readable_nodes, require_network, visible_edges
from setu.sharing.markings import MarkingSpec, marking_specs
from setu.sharing.policy import Principal
from setu.sharing.read import join_readable, readable


@dataclass(frozen=True)
class NetworkGraph:
    """The part of a network a user may see, as a graph for a map.

    Attributes
    ----------
    nodes
        The visible nodes, by node id.
    suppliers, customers
        The visible supply edges, ``nodes[suppliers[e]]`` ships to ``nodes[customers[e]]``.
    products
        Positions in ``nodes`` of the visible finished products.
    markings
        The markings of the visible edges and product records used (the nodes carry their own).
    """

    nodes: list[NodeRecord]
    suppliers: list[int]
    customers: list[int]
    products: list[int]
    markings: set[MarkingSpec]


def network_graph(session: Session, principal: Principal, network_id: int) -> NetworkGraph:
    """Every visible node of a network with the visible supply edges between them and the visible products.

    An edge is visible when it and both of its ends are (see :func:`visible_edges`); a product when
    its record and its node are. Nothing hidden shapes the answer, so a layout computed from it
    cannot reveal a hidden node by a gap or a shifted column.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    require_network(session, principal, network_id, "network.graph")
    nodes = list(session.scalars(readable_nodes(principal, network_id).order_by(NodeRecord.node_id)))
    position = {node.id: i for i, node in enumerate(nodes)}
    edges_q = visible_edges(principal, network_id)
    edges = session.execute(select(edges_q).order_by(edges_q.c.supplier_id, edges_q.c.customer_id)).all()
    product_node = aliased(NodeRecord)
    product_rows = readable(principal, ProductRecord.node_id, ProductRecord.marking_id)
    products = session.execute(
        join_readable(product_rows, principal, product_node, product_node.id == ProductRecord.node_id)
        .where(ProductRecord.network_id == network_id)
        .order_by(ProductRecord.id)
    ).all()
    markings = marking_specs(session, [*(e.marking_id for e in edges), *(p.marking_id for p in products)])
    record(
        session,
        principal,
        "network.graph",
        "network",
        network_id,
        details={"nodes": len(nodes), "edges": len(edges), "products": len(products)},
    )
    return NetworkGraph(
        nodes=nodes,
        suppliers=[position[e.supplier_id] for e in edges],
        customers=[position[e.customer_id] for e in edges],
        products=[position[p.node_id] for p in products],
        markings=markings,
    )
