"""HTTP endpoints of stored networks: upload, list, nodes (search, filters, paging), neighbourhoods, counts."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from pydantic import Field
from sqlalchemy.orm import Session

from setu.deps import AuthDep, Marker, MarkerDep, SessionDep, StateDep
from setu.jobs.forms import JOB_LIMITED, accepted, job_limits
from setu.jobs.schemas import JobOut
from setu.jobs.submit import submit_import
from setu.models.networks import NetworkRecord, NodeRecord
from setu.network.units import Units
from setu.networks.reads import (
    NODE_SORTS,
    SEARCH_FIELDS,
    SUGGEST_FIELDS,
    ValueCount,
    filter_suggestions,
    get_network,
    get_node,
    list_materials,
    list_networks,
    list_nodes,
    list_organizations,
    list_sites,
    node_neighbourhood,
)
from setu.networks.schemas import (
    NeighbourhoodOut,
    NetworkOut,
    NetworkPage,
    NetworkSummary,
    NodeOut,
    NodePage,
    SuggestionList,
    SuggestionOut,
    ValueCountList,
    ValueCountOut,
)
from setu.networks.uploads import UploadFormat, UploadLimits
from setu.runs.jobs import RunLimits
from setu.schemas import ERROR_RESPONSES, MAX_ID, ErrorBody, Text, utc
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.read import MAX_LIMIT
from setu.sharing.requested import requested_marking

router = APIRouter(prefix="/networks", tags=["networks"], responses=ERROR_RESPONSES)

NetworkId = Annotated[int, Path(ge=1, le=MAX_ID, description="The network's id.")]
NodeId = Annotated[Text, Path(description="The node's id as users and files know it.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most items to return.")]
Filter = Annotated[Text | None, Query(max_length=300)]
NODE_SORT_PATTERN = "^-?(" + "|".join(NODE_SORTS) + ")$"
Classification = Literal["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "0", "1", "2", "3"]
SuggestField = Literal[
    "party", "country", "organization", "site", "material", "material_class", "program", "node_id", "name"
]
assert set(get_args(SuggestField)) == set(SUGGEST_FIELDS), "SuggestField must list the service's SUGGEST_FIELDS"


def network_summary(marker: Marker, record: NetworkRecord) -> NetworkSummary:
    """A stored network as lists show it.

    Parameters
    ----------
    marker
        The request's marker.
    record
        The network.

    Returns
    -------
    NetworkSummary
        The network and its marking.
    """
    return NetworkSummary(
        id=record.id,
        name=record.name,
        version=record.version,
        format=record.format,
        source=record.source,
        time_unit=record.time_unit,
        weight_unit=record.weight_unit,
        created_at=utc(record.created_at),
        marking=marker.of(record),
    )


def network_out(marker: Marker, record: NetworkRecord, visible_nodes: int) -> NetworkOut:
    """A stored network with the count of nodes the user sees.

    Parameters
    ----------
    marker
        The request's marker.
    record
        The network.
    visible_nodes
        How many of its nodes the user may see.

    Returns
    -------
    NetworkOut
        The network.
    """
    return NetworkOut(**network_summary(marker, record).model_dump(), nodes=visible_nodes)


def node_out(marker: Marker, row: NodeRecord) -> NodeOut:
    """A stored node as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    row
        The node.

    Returns
    -------
    NodeOut
        Its attributes and marking.
    """
    return NodeOut(
        node_id=row.node_id,
        name=row.name,
        material=row.material,
        capacity=row.capacity,
        inventory=row.inventory,
        ttr=row.ttr,
        site=row.site,
        organization=row.organization,
        party=row.party,
        country=row.country,
        material_class=row.material_class,
        program=row.program,
        chokepoints=[c for c in row.chokepoints.split(";") if c],
        marking=marker.of(row),
    )


@router.post(
    "",
    status_code=202,
    responses={
        **JOB_LIMITED,
        413: {"model": ErrorBody, "description": "The file is over the upload limit."},
    },
)
def upload_network(
    request: Request,
    response: Response,
    auth: AuthDep,
    session: SessionDep,
    state: StateDep,
    file: Annotated[UploadFile, File(description="The network: .xlsx, .zip of CSV tables, .json or .csv.")],
    format: Annotated[UploadFormat, Form(description="auto: from the file name.")] = "auto",
    name: Annotated[Text | None, Form(max_length=200, description="Default: the file's name.")] = None,
    classification: Annotated[Classification, Form()] = "UNCLASSIFIED",
    releases: Annotated[list[Text] | None, Form(description="Parties (default: your own).")] = None,
    national_only: Annotated[bool, Form()] = False,
    groups: Annotated[list[Text] | None, Form(description="Need-to-know groups.")] = None,
    owners: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None, Form(description="Owning organization ids.")
    ] = None,
    time_unit: Annotated[
        Literal["", "hour", "day", "week", "month", "year"], Form(description="The time unit of rates and TTRs.")
    ] = "",
    weight_unit: Annotated[Text, Form(max_length=60, description="The unit of the loss weights, e.g. USD k.")] = "",
) -> JobOut:
    """Queue the import of a network file as the next version of its name (analyst or admin).

    Answered ``202`` with the job and ``Location: /api/v1/jobs/{id}``; poll it until it ends. Every
    record gets the marking given here. A missing role or a marking you may not assign (403), a file
    over the limit (413), an empty file or a format that cannot be told (422) are answered at once and
    queue nothing. All or nothing: a file with problems fails the job, whose result lists every
    problem with its place in the file, and nothing is stored; a success's result names the network.
    """
    principal = auth.principal
    spec = requested_marking(
        session,
        principal,
        classification=classification,
        releases=releases,
        national_only=national_only,
        groups=groups,
        owners=owners,
    )
    job = submit_import(
        session,
        principal,
        file.file,
        file.filename,
        format=format,
        name=name,
        marking=spec,
        upload_limits=UploadLimits.of(state.settings),
        limits=job_limits(state),
        reference=RunLimits.of(state.settings) if state.settings.reference_on_import else None,
        units=Units(time_unit, weight_unit.strip()),
    )
    return accepted(request, response, job)


@router.get("")
def get_networks(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    name: Filter = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> NetworkPage:
    """Visible networks (every version), by name, newest version first; ``name`` filters by substring."""
    rows, total = list_networks(session, auth.principal, name=name or "", offset=offset, limit=limit)
    items = [network_summary(marker, row) for row in rows]
    out = marker.listing(NetworkPage, rows, items, total, offset, limit)
    session.commit()
    return out


@router.get("/{network_id}")
def get_one_network(auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId) -> NetworkOut:
    """One network, with how many of its nodes you may see."""
    record = get_network(session, auth.principal, network_id)
    _, visible_nodes = list_nodes(session, auth.principal, network_id, limit=1)
    out = network_out(marker, record, visible_nodes)
    session.commit()
    return out


@router.get("/{network_id}/nodes")
def get_nodes(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    network_id: NetworkId,
    q: Annotated[
        Text, Query(max_length=300, description="Text in the node id, name, site, organization or material.")
    ] = "",
    party: Filter = None,
    country: Filter = None,
    organization: Filter = None,
    site: Filter = None,
    material: Filter = None,
    material_class: Filter = None,
    program: Filter = None,
    sort: Annotated[
        str, Query(pattern=NODE_SORT_PATTERN, description="A column; `-` first for descending.")
    ] = "node_id",
    offset: Offset = 0,
    limit: Limit = 100,
) -> NodePage:
    """Visible nodes of a network: searched, filtered (exact values), sorted and paged."""
    given = {
        "party": party,
        "country": country,
        "organization": organization,
        "site": site,
        "material": material,
        "material_class": material_class,
        "program": program,
    }
    filters = {key: value for key, value in given.items() if value is not None}
    rows, total = list_nodes(
        session, auth.principal, network_id, search=q, filters=filters, sort=sort, offset=offset, limit=limit
    )
    items = [node_out(marker, row) for row in rows]
    out = marker.listing(NodePage, rows, items, total, offset, limit)
    session.commit()
    return out


@router.get("/{network_id}/nodes/{node_id}")
def get_one_node(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId, node_id: NodeId
) -> NodeOut:
    """One node."""
    out = node_out(marker, get_node(session, auth.principal, network_id, node_id))
    session.commit()
    return out


@router.get("/{network_id}/nodes/{node_id}/neighbourhood")
def get_neighbourhood(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId, node_id: NodeId
) -> NeighbourhoodOut:
    """Suppliers, customers, alternates and downstream dependents of a node, over what you may see."""
    hood = node_neighbourhood(session, auth.principal, network_id, node_id)
    groups = (hood.suppliers, hood.customers, hood.alternates, hood.dependents)
    suppliers, customers, alternates, dependents = ([node_out(marker, n) for n in group] for group in groups)
    page = marker.page([marker.spec(hood.node), *(marker.spec(n) for group in groups for n in group)])
    out = NeighbourhoodOut(
        node=node_out(marker, hood.node),
        suppliers=suppliers,
        customers=customers,
        alternates=alternates,
        dependents=dependents,
        totals=hood.totals,
        banner=page.banner,
        classification=page.classification,
    )
    session.commit()
    return out


def value_markings(
    session: Session, marker: Marker, network_id: int, field: str, search: str = ""
) -> dict[str, MarkingSpec]:
    """For each value of ``field`` among the visible nodes, the most restrictive marking of those nodes.

    A count or a suggestion reveals what the nodes behind it hold, so it carries their marking.

    Parameters
    ----------
    session
        The request's session.
    marker
        The request's marker.
    network_id
        The network.
    field
        A node attribute.
    search
        Only nodes matching this text (a narrowing for suggestions; must not drop any wanted value).

    Returns
    -------
    dict
        The marking of each value.
    """
    specs: dict[str, set[MarkingSpec]] = defaultdict(set)
    offset = 0
    while True:
        rows, total = list_nodes(
            session, marker.principal, network_id, search=search, sort=field, offset=offset, limit=MAX_LIMIT
        )
        for row in rows:
            specs[getattr(row, field)].add(marker.spec(row))
        offset += len(rows)
        if not rows or offset >= total:
            break
    return {value: combine(found, marker.principal.party) for value, found in specs.items()}


def _value_counts(
    session: Session, marker: Marker, network_id: int, field: str, counts: list[ValueCount]
) -> ValueCountList:
    marks = value_markings(session, marker, network_id, field)
    # A value whose nodes changed between the two reads is left out rather than shown unmarked.
    items = [
        ValueCountOut(value=count.value, nodes=count.nodes, marking=marker.out(marks[count.value]))
        for count in counts
        if count.value in marks
    ]
    page = marker.page(marks[item.value] for item in items)
    return ValueCountList(items=items, total=len(items), banner=page.banner, classification=page.classification)


@router.get("/{network_id}/sites")
def get_sites(auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId) -> ValueCountList:
    """Distinct sites of the visible nodes, each with its count of visible nodes."""
    out = _value_counts(session, marker, network_id, "site", list_sites(session, auth.principal, network_id))
    session.commit()
    return out


@router.get("/{network_id}/organizations")
def get_organizations(auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId) -> ValueCountList:
    """Distinct organizations of the visible nodes, each with its count of visible nodes."""
    counts = list_organizations(session, auth.principal, network_id)
    out = _value_counts(session, marker, network_id, "organization", counts)
    session.commit()
    return out


@router.get("/{network_id}/materials")
def get_materials(auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId) -> ValueCountList:
    """Distinct materials of the visible nodes, each with its count of visible sources."""
    counts = list_materials(session, auth.principal, network_id)
    out = _value_counts(session, marker, network_id, "material", counts)
    session.commit()
    return out


@router.get("/{network_id}/suggest")
def suggest(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    network_id: NetworkId,
    field: SuggestField,
    prefix: Annotated[Text, Query(max_length=300)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SuggestionList:
    """Distinct values of a node field among the visible nodes that start with ``prefix`` (any case)."""
    values = filter_suggestions(session, auth.principal, network_id, field, prefix, limit=limit)
    search = prefix if prefix and field in SEARCH_FIELDS else ""
    marks = value_markings(session, marker, network_id, field, search) if values else {}
    items = [SuggestionOut(value=v, marking=marker.out(marks[v])) for v in values if v in marks]
    page = marker.page(marks[item.value] for item in items)
    out = SuggestionList(
        field=field, prefix=prefix, items=items, banner=page.banner, classification=page.classification
    )
    session.commit()
    return out
