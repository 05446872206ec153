"""A stamp of what one reader sees of a network: equal stamps, equal figures (for :mod:`setu.sharing.cache`).

A stored network version's nodes, edges and products are written once, when it is imported; what can
change is which of them a reader sees (a marking changed, a record added or removed by an operator) and
the runs computed on it. The stamp is read through the read filter on every request, in a few aggregate
statements, and changes with any of those: the network's row, the count, largest id and marking-weighted
sums of the visible nodes, edges and products, and the latest completed run the reader may see.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import Session, aliased

from setu.models.networks import BomRecord, NetworkRecord, NodeRecord, ProductRecord, SiteCapacityRecord
from setu.models.stress import RunRecord
from setu.networks.reads import readable_nodes, visible_edges
from setu.sharing.policy import Principal
from setu.sharing.read import join_readable, readable


def _wide(column: Any) -> Any:
    """``column`` as a 64-bit integer, so products of ids do not overflow PostgreSQL's ``integer``."""
    return cast(column, BigInteger)


def network_stamp(session: Session, principal: Principal, network_id: int) -> tuple[Hashable, ...]:
    """:func:`records_stamp` and the latest completed run ``principal`` may see (the dashboard's and map's stamp).

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader.
    network_id
        The network.

    Returns
    -------
    tuple
        The records' stamp and the run's id; empty when the reader may not see the network.
    """
    records = records_stamp(session, principal, network_id)
    if not records:
        return ()
    run = session.scalar(
        readable(principal, RunRecord.id)
        .where(RunRecord.network_id == network_id, RunRecord.status == "completed")
        .order_by(RunRecord.id.desc())
        .limit(1)
    )
    return (*records, run)


def view_stamp(session: Session, principal: Principal, network_id: int) -> tuple[Hashable, ...]:
    """:func:`records_stamp` with the visible BOM lines and site capacities: the stamp of a compiled view.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader.
    network_id
        The network.

    Returns
    -------
    tuple
        The records' stamp, then count, largest id and marking-weighted sums of the visible BOM lines
        (of visible nodes) and site capacities; empty when the reader may not see the network.
    """
    records = records_stamp(session, principal, network_id)
    if not records:
        return ()
    node = aliased(NodeRecord)
    bom = session.execute(
        join_readable(
            readable(principal, BomRecord.network_id, *_sums(BomRecord.id, BomRecord.marking_id)),
            principal,
            node,
            node.id == BomRecord.node_id,
        )
        .where(BomRecord.network_id == network_id)
        .group_by(BomRecord.network_id)
    ).one_or_none()
    sites = session.execute(
        readable(principal, SiteCapacityRecord.network_id, *_sums(SiteCapacityRecord.id, SiteCapacityRecord.marking_id))
        .where(SiteCapacityRecord.network_id == network_id)
        .group_by(SiteCapacityRecord.network_id)
    ).one_or_none()
    return (*records, tuple(bom) if bom else (), tuple(sites) if sites else ())


def _sums(key: Any, marking_id: Any) -> tuple[Any, ...]:
    """Count, largest id and two marking-weighted sums of a set of rows: a change to any row changes one."""
    return func.count(), func.max(key), func.sum(marking_id), func.sum(_wide(key) * marking_id)


def records_stamp(session: Session, principal: Principal, network_id: int) -> tuple[Hashable, ...]:
    """What ``principal`` sees of the records of network ``network_id`` now, in a few numbers.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader.
    network_id
        The network.

    Returns
    -------
    tuple
        The network's id, version and marking; count, largest id and two marking-weighted sums of the
        visible nodes, of the visible edges and of the visible products. Empty when the reader may not see
        the network.
    """
    network = session.execute(
        readable(principal, NetworkRecord.id, NetworkRecord.version, NetworkRecord.marking_id).where(
            NetworkRecord.id == network_id
        )
    ).one_or_none()
    if network is None:
        return ()
    nodes = session.execute(
        readable_nodes(
            principal, network_id, NodeRecord.network_id, *_sums(NodeRecord.id, NodeRecord.marking_id)
        ).group_by(NodeRecord.network_id)
    ).one_or_none()
    edges_q = visible_edges(principal, network_id)
    edges = session.execute(
        select(
            func.count(),
            func.sum(edges_q.c.marking_id),
            func.sum(_wide(edges_q.c.supplier_id) * edges_q.c.customer_id),
            func.sum(_wide(edges_q.c.supplier_id) * edges_q.c.marking_id),
        )
    ).one()
    node = aliased(NodeRecord)
    products = session.execute(
        join_readable(
            readable(principal, ProductRecord.network_id, *_sums(ProductRecord.id, ProductRecord.marking_id)),
            principal,
            node,
            node.id == ProductRecord.node_id,
        )
        .where(ProductRecord.network_id == network_id)
        .group_by(ProductRecord.network_id)
    ).one_or_none()
    return (tuple(network), tuple(nodes) if nodes else (), tuple(edges), tuple(products) if products else ())
