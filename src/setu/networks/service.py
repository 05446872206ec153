"""Stored networks: import them; read networks, nodes, neighbourhoods, aggregates and views through the marking filter.

Functions write (imported rows, audit entries) in the caller's session and leave the commit to the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple, TypeVar

from sqlalchemy import Select, Subquery, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from setu.audit.log import record
from setu.errors import InputError, MarkingError, Problem, ViewError
from setu.models.base import Marked
from setu.models.networks import (
    BomRecord,
    NetworkRecord,
    NodeRecord,
    ProductRecord,
    SiteCapacityRecord,
    SupplyRecord,
)
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply
from setu.network.validate import network_problems
from setu.networks.uploads import UploadFormat, UploadLimits, read_uploaded_network, storable_problems
from setu.sharing.markings import MarkingSpec, combine, marking_specs, store
from setu.sharing.policy import Principal, allows, visible
from setu.sharing.read import contains, fetch_visible, page, starts_with

M = TypeVar("M", bound=Marked)

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
    """

    node: NodeRecord
    suppliers: list[NodeRecord]
    customers: list[NodeRecord]
    alternates: list[NodeRecord]
    dependents: list[NodeRecord]


def require_network(
    session: Session, principal: Principal, network_id: int, action: str, *, audit_permit: bool = False
) -> NetworkRecord:
    """The network ``network_id`` if ``principal`` may see it, else :class:`NotFound` (audited as ``action``)."""
    return fetch_visible(
        session,
        principal,
        NetworkRecord,
        [NetworkRecord.id == network_id],
        action=action,
        kind="network",
        key=network_id,
        audit_permit=audit_permit,
    )


# --- import -------------------------------------------------------------------------------------------


def import_network(
    session: Session,
    principal: Principal,
    network: Network,
    *,
    name: str,
    format: str,
    source: str,
    marking: MarkingSpec,
    node_markings: Mapping[str, MarkingSpec] | None = None,
    operator: str = "",
) -> NetworkRecord:
    """Store ``network`` as the next version of ``name`` for the importer's organization.

    Parameters
    ----------
    session
        The caller's session; the caller commits. On any failure the session is rolled back.
    principal
        The importing user; they must be able to read every marking they assign.
    network
        The network as read from a file; it is validated first.
    name, format, source
        The stored network's name, the file format and the file it came from.
    marking
        The default marking of the network and of every node not in ``node_markings``.
    node_markings
        Markings of particular nodes, by node id.
    operator
        Set by operator tools run on the server itself (``setu demo`` seeding a joint network):
        the name of the operator, who may assign markings ``principal`` could not read, such as
        both parties' national-only records. Audited under that name. The HTTP API never sets it.

    Returns
    -------
    NetworkRecord
        The stored network (flushed, with its id and version).

    Raises
    ------
    MarkingError
        If the importer could not read a marking they assign (audited as denied; nothing is written).
    setu.errors.InputError
        If the network fails validation or ``node_markings`` names an unknown node.

    Notes
    -----
    All rows or none: on any failure the session is rolled back before the error propagates.

    Markings: nodes take their entry in ``node_markings`` or ``marking``. BOM lines and products
    take their node's marking; a supply edge the most restrictive of its two ends'; a shared site
    capacity the most restrictive of the nodes at that site (it reveals their combined capacity and
    the site's name, so only those who see all of them may see it).

    Versions count per importing organization and name (see :class:`NetworkRecord`); two imports of
    one name racing each other make one fail on the unique version rather than share a number.
    """
    node_markings = dict(node_markings or {})
    unreadable = [spec for spec in {marking, *node_markings.values()} if not allows(principal, spec)]
    if unreadable and not operator:
        record(
            session,
            principal,
            "network.import",
            "network",
            name,
            decision="deny",
            details={"reason": "marking not readable by the importer", "markings": [s.banner() for s in unreadable]},
        )
        session.commit()
        raise MarkingError(f"you may not mark records {unreadable[0].banner()}: you could not read them yourself")
    problems = network_problems(network)
    # Texts the database could not store (too long for their column, NUL, bad Unicode) are bad
    # input here, for every caller, rather than a database error half-way through the import.
    problems += storable_problems(network, name=name, source=source)
    known = {node.id for node in network.nodes}
    problems += [Problem(f"node_markings[{k}]", "unknown node") for k in node_markings if k not in known]
    if problems:
        raise InputError(problems)
    try:
        return _write_network(session, principal, network, name, format, source, marking, node_markings, operator)
    except BaseException:
        session.rollback()
        raise


def _write_network(
    session: Session,
    principal: Principal,
    network: Network,
    name: str,
    format: str,
    source: str,
    default: MarkingSpec,
    node_markings: dict[str, MarkingSpec],
    operator: str = "",
) -> NetworkRecord:
    ids: dict[MarkingSpec, int] = {}

    def marking_id(spec: MarkingSpec) -> int:
        if spec not in ids:
            ids[spec] = store(session, spec).id
        return ids[spec]

    spec_of = {node.id: node_markings.get(node.id, default) for node in network.nodes}
    pairs: dict[tuple[MarkingSpec, MarkingSpec], MarkingSpec] = {}

    def edge_marking_id(supply: Supply) -> int:
        key = (spec_of[supply.supplier], spec_of[supply.customer])
        if key not in pairs:
            pairs[key] = combine(key, principal.party)
        return marking_id(pairs[key])

    last = session.scalar(
        select(func.max(NetworkRecord.version)).where(
            NetworkRecord.org_id == principal.org_id, NetworkRecord.name == name
        )
    )
    stored = NetworkRecord(
        name=name,
        version=(last or 0) + 1,
        format=format,
        source=source,
        node_count=len(network.nodes),
        edge_count=len(network.supplies),
        created_by=principal.user_id,
        org_id=principal.org_id,
        marking_id=marking_id(default),
    )
    session.add(stored)
    session.flush()
    nid = stored.id
    session.execute(
        insert(NodeRecord),
        [
            {
                "network_id": nid,
                "node_id": node.id,
                "material": node.material,
                "capacity": node.capacity,
                "inventory": node.inventory,
                "site": node.site,
                "organization": node.organization,
                "party": node.party,
                "country": node.country,
                "material_class": node.material_class,
                "chokepoints": ";".join(node.chokepoints),
                "ttr": node.ttr,
                "name": node.name,
                "program": node.program,
                "marking_id": marking_id(spec_of[node.id]),
            }
            for node in network.nodes
        ],
    )
    pk: dict[str, int] = {
        node_id: key
        for node_id, key in session.execute(
            select(NodeRecord.node_id, NodeRecord.id).where(NodeRecord.network_id == nid)
        ).all()
    }
    origin = principal.party
    if network.supplies:
        session.execute(
            insert(SupplyRecord),
            [
                {
                    "network_id": nid,
                    "supplier_id": pk[s.supplier],
                    "customer_id": pk[s.customer],
                    "marking_id": edge_marking_id(s),
                }
                for s in network.supplies
            ],
        )
    if network.bom:
        session.execute(
            insert(BomRecord),
            [
                {
                    "network_id": nid,
                    "node_id": pk[line.node],
                    "material": line.material,
                    "quantity": line.quantity,
                    "marking_id": marking_id(spec_of[line.node]),
                }
                for line in network.bom
            ],
        )
    if network.products:
        session.execute(
            insert(ProductRecord),
            [
                {
                    "network_id": nid,
                    "node_id": pk[p.node],
                    "demand": p.demand,
                    "weight": p.weight,
                    "marking_id": marking_id(spec_of[p.node]),
                }
                for p in network.products
            ],
        )
    if network.site_capacities:
        at_site: dict[str, list[MarkingSpec]] = defaultdict(list)
        for node in network.nodes:
            at_site[node.site].append(spec_of[node.id])
        session.execute(
            insert(SiteCapacityRecord),
            [
                {
                    "network_id": nid,
                    "site": sc.site,
                    "capacity": sc.capacity,
                    "marking_id": marking_id(combine(at_site.get(sc.site) or [default], origin)),
                }
                for sc in network.site_capacities
            ],
        )
    record(
        session,
        principal,
        "network.import",
        "network",
        nid,
        actor_name=operator,
        details={
            "operator": operator,
            "name": name,
            "version": stored.version,
            "format": format,
            "source": source,
            "nodes": len(network.nodes),
            "edges": len(network.supplies),
            "markings": len(ids),
        },
    )
    return stored


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
    conditions = [visible(NetworkRecord.marking_id, principal)]
    if name:
        conditions.append(contains(NetworkRecord.name, name))
    total = session.scalar(select(func.count()).select_from(NetworkRecord).where(*conditions)) or 0
    rows = session.scalars(
        select(NetworkRecord)
        .where(*conditions)
        .order_by(NetworkRecord.name, NetworkRecord.version.desc(), NetworkRecord.id)
        .offset(offset)
        .limit(limit)
    ).all()
    record(session, principal, "network.list", "network", "", details={"name": name, "total": total})
    return list(rows), total


def get_network(session: Session, principal: Principal, network_id: int) -> NetworkRecord:
    """The network ``network_id``.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    return require_network(session, principal, network_id, "network.read", audit_permit=True)


# --- nodes --------------------------------------------------------------------------------------------


def _visible_nodes(principal: Principal, network_id: int, node: type[NodeRecord] = NodeRecord) -> list[Any]:
    return [node.network_id == network_id, visible(node.marking_id, principal)]


def _node_order(sort: str) -> list[Any]:
    field = sort.removeprefix("-")
    if field not in NODE_SORTS:
        raise InputError(f"cannot sort nodes by {field!r}; expected one of {', '.join(NODE_SORTS)}")
    column = getattr(NodeRecord, field)
    key = column.desc() if sort.startswith("-") else column.asc()
    return [key, NodeRecord.node_id.asc()] if field != "node_id" else [key]


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
    require_network(session, principal, network_id, "node.list")
    conditions = _visible_nodes(principal, network_id)
    for field, value in (filters or {}).items():
        if field not in FILTER_FIELDS:
            raise InputError(f"cannot filter nodes by {field!r}; expected one of {', '.join(FILTER_FIELDS)}")
        conditions.append(getattr(NodeRecord, field) == value)
    if search:
        conditions.append(or_(*(contains(getattr(NodeRecord, f), search) for f in SEARCH_FIELDS)))
    total = session.scalar(select(func.count()).select_from(NodeRecord).where(*conditions)) or 0
    rows = session.scalars(
        select(NodeRecord).where(*conditions).order_by(*_node_order(sort)).offset(offset).limit(limit)
    ).all()
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
    return (
        select(SupplyRecord.supplier_id, SupplyRecord.customer_id, SupplyRecord.marking_id)
        .join(supplier, supplier.id == SupplyRecord.supplier_id)
        .join(customer, customer.id == SupplyRecord.customer_id)
        .where(
            SupplyRecord.network_id == network_id,
            visible(SupplyRecord.marking_id, principal),
            visible(supplier.marking_id, principal),
            visible(customer.marking_id, principal),
        )
        .subquery()
    )


def _nodes_in(session: Session, ids: Select[Any]) -> list[NodeRecord]:
    return list(session.scalars(select(NodeRecord).where(NodeRecord.id.in_(ids)).order_by(NodeRecord.node_id)))


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
    suppliers = _nodes_in(session, select(into.c.supplier_id).where(into.c.customer_id == node.id))
    out = visible_edges(principal, network_id)
    customers = _nodes_in(session, select(out.c.customer_id).where(out.c.supplier_id == node.id))

    theirs, mine = visible_edges(principal, network_id), visible_edges(principal, network_id)
    other = aliased(NodeRecord)
    alternates = _nodes_in(
        session,
        select(theirs.c.supplier_id)
        .join(mine, mine.c.customer_id == theirs.c.customer_id)
        .join(other, other.id == theirs.c.supplier_id)
        .where(mine.c.supplier_id == node.id, other.id != node.id, other.material == node.material),
    )

    first = visible_edges(principal, network_id)
    downstream = select(first.c.customer_id.label("id")).where(first.c.supplier_id == node.id).cte(recursive=True)
    step = visible_edges(principal, network_id)
    downstream = downstream.union(select(step.c.customer_id).join(downstream, step.c.supplier_id == downstream.c.id))
    dependents = _nodes_in(session, select(downstream.c.id))
    return Neighbourhood(node, suppliers, customers, alternates, dependents)


# --- aggregates and suggestions -----------------------------------------------------------------------


def _value_counts(session: Session, principal: Principal, network_id: int, field: str) -> list[ValueCount]:
    action = f"{field}.list"
    require_network(session, principal, network_id, action)
    column = getattr(NodeRecord, field)
    rows = session.execute(
        select(column, func.count())
        .where(*_visible_nodes(principal, network_id), column != "")
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
        select(column)
        .where(*_visible_nodes(principal, network_id), column != "", starts_with(column, prefix))
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


# --- the user's view ----------------------------------------------------------------------------------


def compiled_view(session: Session, principal: Principal, network_id: int) -> tuple[CompiledNetwork, set[MarkingSpec]]:
    """The network as ``principal`` sees it, compiled for the stress engine.

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
    network = require_network(session, principal, network_id, "network.view")
    nodes = session.execute(
        select(
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
        )
        .where(*_visible_nodes(principal, network_id))
        .order_by(NodeRecord.id)
    ).all()
    node_of = {row.id: row.node_id for row in nodes}
    material_of = {row.id: row.material for row in nodes}
    bom_node = aliased(NodeRecord)
    bom = session.execute(
        select(BomRecord.node_id, BomRecord.material, BomRecord.quantity, BomRecord.marking_id)
        .join(bom_node, bom_node.id == BomRecord.node_id)
        .where(
            BomRecord.network_id == network_id,
            visible(BomRecord.marking_id, principal),
            visible(bom_node.marking_id, principal),
        )
        .order_by(BomRecord.id)
    ).all()
    edges_q = visible_edges(principal, network_id)
    edges = session.execute(select(edges_q).order_by(edges_q.c.supplier_id, edges_q.c.customer_id)).all()
    product_node = aliased(NodeRecord)
    products = session.execute(
        select(ProductRecord.node_id, ProductRecord.demand, ProductRecord.weight, ProductRecord.marking_id)
        .join(product_node, product_node.id == ProductRecord.node_id)
        .where(
            ProductRecord.network_id == network_id,
            visible(ProductRecord.marking_id, principal),
            visible(product_node.marking_id, principal),
        )
        .order_by(ProductRecord.id)
    ).all()
    sites_in_view = {row.site for row in nodes if row.site}
    site_capacities = [
        row
        for row in session.execute(
            select(SiteCapacityRecord.site, SiteCapacityRecord.capacity, SiteCapacityRecord.marking_id)
            .where(SiteCapacityRecord.network_id == network_id, visible(SiteCapacityRecord.marking_id, principal))
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


# --- uploads ----------------------------------------------------------------------------------------------


def import_upload(
    session: Session,
    principal: Principal,
    stream: BinaryIO,
    filename: str | None,
    *,
    format: UploadFormat,
    name: str | None,
    marking: MarkingSpec,
    limits: UploadLimits,
) -> NetworkRecord:
    """Read an uploaded network file and store it: what the API's upload and the import page both do.

    Parameters
    ----------
    session
        The request's session; the caller commits.
    principal
        The uploader (the caller checked their role).
    stream
        The uploaded file.
    filename
        The name the client gave it.
    format
        ``auto``, ``setu``, ``accelerator`` or ``willems``.
    name
        The stored name (blank: the file's name without its suffix).
    marking
        The marking of every record (from :func:`requested_marking`).
    limits
        The upload's size limits.

    Returns
    -------
    NetworkRecord
        The stored network, flushed.

    Raises
    ------
    setu.networks.uploads.UploadTooLarge
        If the file is over the limit.
    setu.errors.InputError
        Listing every problem of the file; nothing is stored.
    MarkingError
        If the uploader could not read ``marking`` (audited as denied; nothing is stored).
    """
    upload = read_uploaded_network(stream, filename, format, name, limits)
    return import_network(
        session,
        principal,
        upload.network,
        name=upload.name,
        format=upload.format,
        source=upload.source,
        marking=marking,
    )


# --- the map ------------------------------------------------------------------------------------------


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
    nodes = list(
        session.scalars(select(NodeRecord).where(*_visible_nodes(principal, network_id)).order_by(NodeRecord.node_id))
    )
    position = {node.id: i for i, node in enumerate(nodes)}
    edges_q = visible_edges(principal, network_id)
    edges = session.execute(select(edges_q).order_by(edges_q.c.supplier_id, edges_q.c.customer_id)).all()
    product_node = aliased(NodeRecord)
    products = session.execute(
        select(ProductRecord.node_id, ProductRecord.marking_id)
        .join(product_node, product_node.id == ProductRecord.node_id)
        .where(
            ProductRecord.network_id == network_id,
            visible(ProductRecord.marking_id, principal),
            visible(product_node.marking_id, principal),
        )
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
