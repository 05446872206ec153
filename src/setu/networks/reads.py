"""Reading stored networks through the marking filter: networks, nodes, neighbourhoods, aggregates and suggestions.

Every query starts from :mod:`setu.sharing.read`, so a record the reader may not see never reaches
an answer, a count or a suggestion. Reads write their audit entries in the caller's session and leave
the commit to the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, Subquery, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from setu.audit.log import record
from setu.errors import InputError
from setu.models.networks import NetworkRecord, NodeRecord, SupplyRecord, TearLineCover
from setu.sharing.policy import Principal
from setu.sharing.read import (
    MAX_LIMIT,
    built_once,
    contained,
    contains,
    contains_bound,
    count_readable,
    fetch_visible,
    fetch_visible_id,
    join_readable,
    page,
    readable,
    readable_page,
    starts_with,
)

FILTER_FIELDS = ("party", "country", "organization", "site", "material", "material_class", "program")
"""Node attributes :func:`list_nodes` filters on (exact match)."""
SUGGEST_FIELDS = (*FILTER_FIELDS, "node_id", "name")
"""Node attributes :func:`filter_suggestions` completes."""
SEARCH_FIELDS = ("node_id", "name", "site", "organization", "material")
"""Node attributes the free-text search of :func:`list_nodes` looks in."""
NODE_SORTS = (
    "node_id",
    "name",
    "material",
    "capacity",
    "inventory",
    "site",
    "organization",
    "party",
    "country",
    "material_class",
    "program",
    "ttr",
)
"""Columns :func:`list_nodes` sorts on; prefix ``-`` for descending."""


class ValueCount(NamedTuple):
    """A distinct attribute value and how many visible nodes carry it."""

    value: str
    nodes: int


@dataclass(frozen=True)
class Neighbourhood:
    """A node and the visible nodes around it.

    Attributes
    ----------
    node
        The node asked about.
    suppliers
        Nodes shipping to it.
    customers
        Nodes it ships to.
    alternates
        Other suppliers of its material to its customers (interchangeable with it there).
    dependents
        Every node downstream of it along supply edges (customers, their customers, ...).
    totals
        How many there are of each (``suppliers``, ``customers``, ``alternates``, ``dependents``):
        each list holds the first :data:`NEIGHBOURS` by node id, so a hub node of a large network
        never loads the network.
    """

    node: NodeRecord
    suppliers: list[NodeRecord]
    customers: list[NodeRecord]
    alternates: list[NodeRecord]
    dependents: list[NodeRecord]
    totals: dict[str, int] = dataclasses.field(default_factory=dict)


def require_network(
    session: Session, principal: Principal, network_id: int, action: str, *, audit_permit: bool = False
) -> NetworkRecord:
    """The network ``network_id`` if ``principal`` may see it, else :class:`NotFound` (audited as ``action``)."""
    return fetch_visible_id(
        session, principal, NetworkRecord, network_id, action=action, kind="network", audit_permit=audit_permit
    )


# --- networks -----------------------------------------------------------------------------------------


def list_networks(
    session: Session, principal: Principal, *, name: str = "", offset: int = 0, limit: int = 100
) -> tuple[list[NetworkRecord], int]:
    """Visible networks (every version), newest first within a name; ``name`` filters by substring.

    Returns
    -------
    tuple[list[NetworkRecord], int]
        The page of networks and how many visible networks match in all.
    """
    offset, limit = page(offset, limit)
    conditions = [contains(NetworkRecord.name, name)] if name else []
    total = count_readable(session, principal, NetworkRecord, *conditions)
    rows = session.scalars(
        readable(principal, NetworkRecord)
        .where(*conditions)
        .order_by(NetworkRecord.name, NetworkRecord.version.desc(), NetworkRecord.id)
        .offset(offset)
        .limit(limit)
    ).all()
    record(session, principal, "network.list", "network", "", details={"name": name, "total": total})
    return list(rows), total


@built_once
def _networks_in(principal: Principal) -> Select[Any]:
    return readable(principal, NetworkRecord).where(NetworkRecord.id.in_(bindparam("network_ids", expanding=True)))


def networks_by_id(session: Session, principal: Principal, network_ids: Collection[int]) -> dict[int, NetworkRecord]:
    """The networks of ``network_ids`` the reader may see, by id (to name what other records point to).

    Ids the reader may not see are left out, as if they did not exist. Audited as one list.
    """
    if not network_ids:
        return {}
    found = session.scalars(_networks_in(principal), {"network_ids": sorted(network_ids)})
    networks = {network.id: network for network in found}
    record(session, principal, "network.list", "network", "", details={"ids": sorted(networks)})
    return networks


def get_network(session: Session, principal: Principal, network_id: int) -> NetworkRecord:
    """The network ``network_id``.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    return require_network(session, principal, network_id, "network.read", audit_permit=True)


# --- nodes --------------------------------------------------------------------------------------------


def readable_nodes(principal: Principal, network_id: int, *columns: Any) -> Select[Any]:
    """``SELECT`` of the nodes of a network (or ``columns`` of them) that ``principal`` may see.

    Parameters
    ----------
    principal
        The reader.
    network_id
        The network.
    *columns
        What to select (default: the node records); expressions such as ``func.count()`` may follow
        a node column.

    Returns
    -------
    Select
        The statement, to refine with ``where``, ``order_by`` and the like.
    """
    return readable(principal, *(columns or (NodeRecord,))).where(NodeRecord.network_id == network_id)


def standins_left_out(session: Session, principal: Principal, network_id: int) -> set[int]:
    """Ids of the stand-in nodes of ``network_id`` that ``principal`` computes without (and maps and trees omit).

    A stand-in (:mod:`setu.networks.standins`) is left out for a reader who may read a node it stands for:
    they see and compute on that node itself, never on both. Cover rows carry their node's marking, so the
    read filter alone decides it; :func:`setu.networks.views.view_network` applies the same rule.
    """
    return set(
        session.scalars(readable(principal, TearLineCover.standin_id).where(TearLineCover.network_id == network_id))
    )


def _node_order(sort: str) -> list[Any]:
    field = sort.removeprefix("-")
    if field not in NODE_SORTS:
        raise InputError(f"cannot sort nodes by {field!r}; expected one of {', '.join(NODE_SORTS)}")
    column = getattr(NodeRecord, field)
    key = column.desc() if sort.startswith("-") else column.asc()
    return [key, NodeRecord.node_id.asc()] if field != "node_id" else [key]


@built_once
def _node_page(
    principal: Principal, sort: str, filtered: tuple[str, ...], by_search: bool
) -> tuple[Select[Any], Select[Any]]:
    """How many visible nodes of a network match, and a page of them, the values given as bind parameters."""
    conditions: list[Any] = [NodeRecord.network_id == bindparam("network_id")]
    conditions += [getattr(NodeRecord, field) == bindparam(f"filter_{field}") for field in filtered]
    if by_search:
        conditions.append(or_(*(contains_bound(getattr(NodeRecord, f), "pattern") for f in SEARCH_FIELDS)))
    return readable_page(principal, NodeRecord, conditions, _node_order(sort))


def list_nodes(
    session: Session,
    principal: Principal,
    network_id: int,
    *,
    search: str = "",
    filters: Mapping[str, str] | None = None,
    sort: str = "node_id",
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[NodeRecord], int]:
    """Visible nodes of a network, searched, filtered, sorted and paged in SQL.

    Parameters
    ----------
    search
        Case-insensitive text looked for in the node id, name, site, organization and material.
    filters
        Exact values by attribute, any of :data:`FILTER_FIELDS`.
    sort
        One of :data:`NODE_SORTS`, ``-`` first for descending (ties go by node id).
    offset, limit
        The page.

    Returns
    -------
    tuple[list[NodeRecord], int]
        The page of nodes and how many visible nodes match in all.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    offset, limit = page(offset, limit)
    _node_order(sort)  # a bad sort is refused before anything is read
    require_network(session, principal, network_id, "node.list")
    for field in filters or {}:
        if field not in FILTER_FIELDS:
            raise InputError(f"cannot filter nodes by {field!r}; expected one of {', '.join(FILTER_FIELDS)}")
    count, listed = _node_page(principal, sort, tuple(sorted(filters or {})), bool(search))
    values: dict[str, Any] = {f"filter_{field}": value for field, value in (filters or {}).items()}
    values.update(network_id=network_id, pattern=contained(search), offset=offset, limit=limit)
    total = int(session.scalar(count, values) or 0)
    rows = session.scalars(listed, values).all()
    record(
        session,
        principal,
        "node.list",
        "network",
        network_id,
        details={"search": search, "filters": dict(filters or {}), "total": total},
    )
    return list(rows), total


def get_node(session: Session, principal: Principal, network_id: int, node_id: str) -> NodeRecord:
    """The node ``node_id`` of network ``network_id``.

    Raises
    ------
    NotFound
        If there is no such network or node, or the user may not see it.
    """
    require_network(session, principal, network_id, "node.read")
    return fetch_visible(
        session,
        principal,
        NodeRecord,
        [NodeRecord.network_id == network_id, NodeRecord.node_id == node_id],
        action="node.read",
        kind="node",
        key=node_id,
    )


def visible_edges(principal: Principal, network_id: int) -> Subquery:
    """Supply edges ``principal`` may see: the edge record and both of its end nodes are visible.

    Columns: ``supplier_id``, ``customer_id`` (node record ids) and ``marking_id`` (the edge's).
    """
    supplier = aliased(NodeRecord)
    customer = aliased(NodeRecord)
    edges = readable(principal, SupplyRecord.supplier_id, SupplyRecord.customer_id, SupplyRecord.marking_id)
    edges = join_readable(edges, principal, supplier, supplier.id == SupplyRecord.supplier_id)
    edges = join_readable(edges, principal, customer, customer.id == SupplyRecord.customer_id)
    return edges.where(SupplyRecord.network_id == network_id).subquery()


NEIGHBOURS = MAX_LIMIT
"""Most nodes of each kind a neighbourhood lists (the first by node id); its totals count them all."""


def _nodes_in(session: Session, principal: Principal, ids: Select[Any]) -> tuple[list[NodeRecord], int]:
    """The first :data:`NEIGHBOURS` visible nodes among ``ids`` by node id, and how many there are."""
    # ``ids`` come from visible edges, whose ends are visible; the filter keeps that so whatever the caller.
    statement = readable(principal, NodeRecord).where(NodeRecord.id.in_(ids)).order_by(NodeRecord.node_id)
    rows = list(session.scalars(statement.limit(NEIGHBOURS)))
    if len(rows) < NEIGHBOURS:
        return rows, len(rows)
    return rows, count_readable(session, principal, NodeRecord, NodeRecord.id.in_(ids))


def node_neighbourhood(session: Session, principal: Principal, network_id: int, node_id: str) -> Neighbourhood:
    """Suppliers, customers, alternates and dependents of a node, over visible nodes and edges only.

    Raises
    ------
    NotFound
        If there is no such network or node, or the user may not see it.
    """
    require_network(session, principal, network_id, "node.neighbourhood")
    node = fetch_visible(
        session,
        principal,
        NodeRecord,
        [NodeRecord.network_id == network_id, NodeRecord.node_id == node_id],
        action="node.neighbourhood",
        kind="node",
        key=node_id,
    )
    into = visible_edges(principal, network_id)
    suppliers, supplier_total = _nodes_in(
        session, principal, select(into.c.supplier_id).where(into.c.customer_id == node.id)
    )
    out = visible_edges(principal, network_id)
    customers, customer_total = _nodes_in(
        session, principal, select(out.c.customer_id).where(out.c.supplier_id == node.id)
    )

    theirs, mine = visible_edges(principal, network_id), visible_edges(principal, network_id)
    other = aliased(NodeRecord)
    shared_customers = select(theirs.c.supplier_id).join(mine, mine.c.customer_id == theirs.c.customer_id)
    alternates, alternate_total = _nodes_in(
        session,
        principal,
        join_readable(shared_customers, principal, other, other.id == theirs.c.supplier_id).where(
            mine.c.supplier_id == node.id, other.id != node.id, other.material == node.material
        ),
    )

    first = visible_edges(principal, network_id)
    downstream = select(first.c.customer_id.label("id")).where(first.c.supplier_id == node.id).cte(recursive=True)
    step = visible_edges(principal, network_id)
    downstream = downstream.union(select(step.c.customer_id).join(downstream, step.c.supplier_id == downstream.c.id))
    dependents, dependent_total = _nodes_in(session, principal, select(downstream.c.id))
    totals = {
        "suppliers": supplier_total,
        "customers": customer_total,
        "alternates": alternate_total,
        "dependents": dependent_total,
    }
    return Neighbourhood(node, suppliers, customers, alternates, dependents, totals)


# --- aggregates and suggestions -----------------------------------------------------------------------


def _value_counts(session: Session, principal: Principal, network_id: int, field: str) -> list[ValueCount]:
    action = f"{field}.list"
    require_network(session, principal, network_id, action)
    column = getattr(NodeRecord, field)
    rows = session.execute(
        readable_nodes(principal, network_id, column, func.count())
        .where(column != "")
        .group_by(column)
        .order_by(column)
    ).all()
    record(session, principal, action, "network", network_id, details={"values": len(rows)})
    return [ValueCount(value, count) for value, count in rows]


def list_sites(session: Session, principal: Principal, network_id: int) -> list[ValueCount]:
    """Distinct sites of the visible nodes, each with its count of visible nodes.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    return _value_counts(session, principal, network_id, "site")


def list_organizations(session: Session, principal: Principal, network_id: int) -> list[ValueCount]:
    """Distinct organizations of the visible nodes, each with its count of visible nodes.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    return _value_counts(session, principal, network_id, "organization")


def list_materials(session: Session, principal: Principal, network_id: int) -> list[ValueCount]:
    """Distinct materials of the visible nodes, each with its count of visible nodes (its sources).

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    return _value_counts(session, principal, network_id, "material")


def filter_suggestions(
    session: Session, principal: Principal, network_id: int, field: str, prefix: str = "", *, limit: int = 20
) -> list[str]:
    """Distinct values of ``field`` among visible nodes starting with ``prefix`` (case-insensitive).

    Parameters
    ----------
    field
        One of :data:`SUGGEST_FIELDS`.
    prefix
        What the user typed so far.
    limit
        At most this many values, in order.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    if field not in SUGGEST_FIELDS:
        raise InputError(f"no suggestions for {field!r}; expected one of {', '.join(SUGGEST_FIELDS)}")
    _, limit = page(0, limit)
    require_network(session, principal, network_id, "node.suggest")
    column = getattr(NodeRecord, field)
    values = session.scalars(
        readable_nodes(principal, network_id, column)
        .where(column != "", starts_with(column, prefix))
        .distinct()
        .order_by(column)
        .limit(limit)
    ).all()
    record(
        session,
        principal,
        "node.suggest",
        "network",
        network_id,
        details={"field": field, "prefix": prefix, "values": len(values)},
    )
    return list(values)
