"""The map of a network: its visible nodes, the visible supply edges between them and its visible products.

A network of any allowed size must not make every reader's map load all of it: above a node limit the
map holds the visible products and their visible suppliers, tier by tier nearest first, up to the limit,
and says how many visible nodes it shows of how many.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from setu.audit.log import record
from setu.models.networks import NodeRecord, ProductRecord
from setu.networks.reads import readable_nodes, require_network, standins_left_out, visible_edges
from setu.sharing.markings import MarkingSpec, marking_specs
from setu.sharing.policy import Principal
from setu.sharing.read import count_readable, join_readable, readable


@dataclass(frozen=True)
class NetworkGraph:
    """The part of a network a user may see, as a graph for a map.

    Attributes
    ----------
    nodes
        The visible nodes on the map, by node id.
    suppliers, customers
        The visible supply edges between them, ``nodes[suppliers[e]]`` ships to ``nodes[customers[e]]``.
    products
        Positions in ``nodes`` of the visible finished products.
    markings
        The markings of the visible edges and product records used (the nodes carry their own).
    total
        How many nodes of the network the user may see; more than ``len(nodes)`` when the network is
        over the map's node limit.
    """

    nodes: list[NodeRecord]
    suppliers: list[int]
    customers: list[int]
    products: list[int]
    markings: set[MarkingSpec]
    total: int = 0

    @property
    def partial(self) -> bool:
        """Whether the map shows only part of the visible nodes."""
        return len(self.nodes) < self.total


def _products(session: Session, principal: Principal, network_id: int) -> list[Any]:
    """(node record id, product marking id) of the visible products whose node is visible, in product order."""
    product_node = aliased(NodeRecord)
    product_rows = readable(principal, ProductRecord.node_id, ProductRecord.marking_id)
    return list(
        session.execute(
            join_readable(product_rows, principal, product_node, product_node.id == ProductRecord.node_id)
            .where(ProductRecord.network_id == network_id)
            .order_by(ProductRecord.id)
        ).all()
    )


def _nearest(session: Session, principal: Principal, network_id: int, start: list[int], limit: int) -> list[int]:
    """Up to ``limit`` node ids: ``start``, then their visible suppliers tier by tier (nearest first)."""
    chosen = list(dict.fromkeys(start))[:limit]
    seen, frontier = set(chosen), chosen
    while frontier and len(chosen) < limit:
        edges = visible_edges(principal, network_id)
        tier: Select[Any] = (
            select(edges.c.supplier_id)
            .where(edges.c.customer_id.in_(frontier))
            .distinct()
            .order_by(edges.c.supplier_id)
        )
        frontier = [pk for pk in session.scalars(tier) if pk not in seen][: limit - len(chosen)]
        seen.update(frontier)
        chosen.extend(frontier)
    return chosen


def _edges_among(session: Session, principal: Principal, network_id: int, ids: Collection[int] | None) -> list[Any]:
    edges_q = visible_edges(principal, network_id)
    statement = select(edges_q)
    if ids is not None:
        statement = statement.where(edges_q.c.supplier_id.in_(ids), edges_q.c.customer_id.in_(ids))
    return list(session.execute(statement.order_by(edges_q.c.supplier_id, edges_q.c.customer_id)).all())


def network_graph(session: Session, principal: Principal, network_id: int, *, limit: int | None = None) -> NetworkGraph:
    """The visible nodes of a network (at most ``limit``) with the visible supply edges between them and the products.

    An edge is visible when it and both of its ends are (see :func:`visible_edges`); a product when
    its record and its node are. Nothing hidden shapes the answer, so a layout computed from it
    cannot reveal a hidden node by a gap or a shifted column.

    Parameters
    ----------
    limit
        Most nodes to return (None: all). When the user sees more, the graph holds the visible
        products, then their visible suppliers tier by tier, nearest first, and ``total`` says how
        many there are in all; each step is one bounded query.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    require_network(session, principal, network_id, "network.graph")
    total = count_readable(session, principal, NodeRecord, NodeRecord.network_id == network_id)
    products = _products(session, principal, network_id)
    ids: list[int] | None = None
    statement = readable_nodes(principal, network_id)
    if limit is not None and total > limit:
        ids = _nearest(session, principal, network_id, [p.node_id for p in products], limit)
        statement = statement.where(NodeRecord.id.in_(ids))
        shown = set(ids)
        products = [p for p in products if p.node_id in shown]
    # A stand-in for nodes the reader sees is drawn as those nodes, not beside them.
    skipped = standins_left_out(session, principal, network_id)
    if skipped:
        total -= count_readable(session, principal, NodeRecord, NodeRecord.id.in_(skipped))
    nodes = [n for n in session.scalars(statement.order_by(NodeRecord.node_id)) if n.id not in skipped]
    position = {node.id: i for i, node in enumerate(nodes)}
    products = [p for p in products if p.node_id in position]
    edges = [
        e
        for e in _edges_among(session, principal, network_id, ids)
        if e.supplier_id in position and e.customer_id in position
    ]
    markings = marking_specs(session, [*(e.marking_id for e in edges), *(p.marking_id for p in products)])
    details = {"nodes": len(nodes), "of": total, "edges": len(edges), "products": len(products)}
    record(session, principal, "network.graph", "network", network_id, details=details)
    return NetworkGraph(
        nodes=nodes,
        suppliers=[position[e.supplier_id] for e in edges],
        customers=[position[e.customer_id] for e in edges],
        products=[position[p.node_id] for p in products],
        markings=markings,
        total=total,
    )
