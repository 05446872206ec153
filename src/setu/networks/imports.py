"""Importing networks: a validated network, or an uploaded file in any supported format, stored with its markings.

Importing is for analysts and admins (:data:`IMPORT_ROLES`); a refusal is audited. Functions write in the
caller's session and leave the commit to the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import BinaryIO

from sqlalchemy import func, insert
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError, MarkingError, Problem
from setu.models.networks import (
    BomRecord,
    NetworkRecord,
    NodeRecord,
    ProductRecord,
    SiteCapacityRecord,
    SupplyRecord,
)
from setu.network.model import Network, Supply
from setu.network.units import Units, unit_problems
from setu.network.validate import network_problems
from setu.networks.uploads import UploadFormat, UploadLimits, read_uploaded_network, storable_problems
from setu.sharing.markings import MarkingSpec, combine, store
from setu.sharing.policy import Principal, allows
from setu.sharing.read import unfiltered
from setu.sharing.roles import has_role, require_role

IMPORT_ROLES = ("analyst", "admin")
"""The roles that may import networks."""


def may_import(principal: Principal) -> bool:
    """Whether ``principal`` holds a role that may import networks (what pages offer; the import checks itself)."""
    return has_role(principal, *IMPORT_ROLES)


# --- import -------------------------------------------------------------------------------------------


def check_assignable(session: Session, principal: Principal, name: str, markings: Iterable[MarkingSpec]) -> None:
    """Refuse (audited and committed) an import whose importer could not read a marking they assign.

    Raises
    ------
    MarkingError
        Naming the first such marking; nothing is written.
    """
    unreadable = [spec for spec in set(markings) if not allows(principal, spec)]
    if not unreadable:
        return
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
        The importing user: an analyst or admin, who must be able to read every marking they assign.
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
    setu.errors.AccessDenied
        If the importer is neither analyst nor admin (audited as denied; nothing is written).
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
    require_role(session, principal, "network.import", *IMPORT_ROLES)
    node_markings = dict(node_markings or {})
    if not operator:
        check_assignable(session, principal, name, {marking, *node_markings.values()})
    problems = network_problems(network)
    # Texts the database could not store (too long for their column, NUL, bad Unicode) are bad
    # input here, for every caller, rather than a database error half-way through the import.
    problems += storable_problems(network, name=name, source=source)
    problems += unit_problems(network.time_unit, network.weight_unit)
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

    # Versions count over every network of the organization and name, including those the importer
    # may not read: a uniqueness check before the write, not a read.
    last = session.scalar(
        unfiltered(func.max(NetworkRecord.version)).where(
            NetworkRecord.org_id == principal.org_id, NetworkRecord.name == name
        )
    )
    stored = NetworkRecord(
        name=name,
        version=(last or 0) + 1,
        format=format,
        source=source,
        time_unit=network.time_unit,
        weight_unit=network.weight_unit,
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
                "latitude": node.latitude,
                "longitude": node.longitude,
                "marking_id": marking_id(spec_of[node.id]),
            }
            for node in network.nodes
        ],
    )
    pk: dict[str, int] = {
        node_id: key
        for node_id, key in session.execute(
            # The rows just written, whatever their markings (an operator may assign ones the importer cannot read).
            unfiltered(NodeRecord.node_id, NodeRecord.id).where(NodeRecord.network_id == nid)
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
    units: Units | None = None,
) -> NetworkRecord:
    """Read an uploaded network file and store it: what the API's upload and the import page both do.

    Parameters
    ----------
    session
        The request's session; the caller commits.
    principal
        The uploader: an analyst or admin.
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
    units
        The time and weight units the uploader declares (the file's own otherwise).

    Returns
    -------
    NetworkRecord
        The stored network, flushed.

    Raises
    ------
    setu.errors.AccessDenied
        If the uploader is neither analyst nor admin (audited as denied; the file is not read).
    setu.networks.uploads.UploadTooLarge
        If the file is over the limit.
    setu.errors.InputError
        Listing every problem of the file; nothing is stored.
    MarkingError
        If the uploader could not read ``marking`` (audited as denied; nothing is stored).
    """
    require_role(session, principal, "network.import", *IMPORT_ROLES)
    upload = read_uploaded_network(stream, filename, format, name, limits)
    if units is not None:
        upload.network.time_unit = units.time or upload.network.time_unit
        upload.network.weight_unit = units.weight or upload.network.weight_unit
    return import_network(
        session,
        principal,
        upload.network,
        name=upload.name,
        format=upload.format,
        source=upload.source,
        marking=marking,
    )
