"""The network explorer: an interactive map of a network's visible nodes and edges, with a side panel per node.

Everything on the map comes from :func:`setu.networks.graph.network_graph` (visible nodes, the
visible edges between them, visible products) and the user's reference sweep; the
layout is computed on that visible graph only, so a hidden node leaves no gap and shifts nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from setu.deps import SessionDep, StateDep
from setu.errors import NotFound
from setu.models.networks import NetworkRecord, NodeRecord
from setu.models.stress import RunRecord
from setu.network.layout import Layout, layered_layout
from setu.networks.graph import NetworkGraph, network_graph
from setu.networks.reads import Neighbourhood, get_network, node_neighbourhood
from setu.networks.stamps import network_stamp
from setu.runs.reference import reference_run
from setu.runs.results import results_stamp, single_node_results
from setu.sharing.cache import cached, view_key
from setu.sharing.markings import MarkingSpec
from setu.web.shell import PAGE_SIZE, Page, PageDep, signed_in_page, templates

router = APIRouter(include_in_schema=False)

FILTERS = ("program", "country", "material", "organization")
"""Node attributes the map filters on (a select each)."""
COLOURINGS = ("country", "risk")
DEPENDENTS_SHOWN = 50
"""Dependents the side panel lists by name (it counts them all; the node page lists more)."""
NO_RUN = "no reference sweep of your view yet (the dashboard offers to run one)"
NO_STORE = {"Cache-Control": "no-store"}

Choice = Annotated[str, Query(max_length=200)]


@dataclass(frozen=True)
class Risk:
    """The risk of the nodes of a network: from the user's reference sweep of it, if any.

    Attributes
    ----------
    run
        That run, or None when the user sees no completed run of the network.
    by_node
        Lost profit (PI) and REI of the scenario disrupting each node alone, by node id.
    """

    run: RunRecord | None
    by_node: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class MapData:
    """One user's map of one network: the visible graph, its layout and the risk of its nodes."""

    network: NetworkRecord
    graph: NetworkGraph
    layout: Layout
    risk: Risk


def node_risk(page: Page, network_id: int, nodes: set[str]) -> Risk:
    """PI and REI of ``nodes`` from the page user's reference sweep of ``network_id`` (never an ad-hoc run).

    A node's risk is that of the run's scenario disrupting that node alone (a sweep has one per node);
    scenarios disrupting several nodes at once colour none of them. Only the results of ``nodes`` (the
    nodes on the map) are read. Every result used is labelled on ``page``, so the page's banner covers them.

    Parameters
    ----------
    page
        The page being built (its user, and the markings it shows).
    network_id
        The network.
    nodes
        The node ids to read the risk of.

    Returns
    -------
    Risk
        The run and the risk by node id; no run and no risk when the user has no reference sweep of their view
        (:func:`setu.runs.reference.reference_run`).
    """
    session, principal = page.session, page.principal
    run = reference_run(session, principal, network_id).run
    if run is None:
        return Risk(None, {})
    page.label(run)
    by_node: dict[str, tuple[float, float]] = {}
    for result in single_node_results(session, principal, run.id, sorted(nodes)):
        page.label(result)
        by_node.setdefault(result.disrupted, (result.excess_loss, result.rei))
    return Risk(run, by_node)


def map_data(page: Page, network_id: int, limit: int | None = None) -> MapData:
    """The page user's map of a network: visible graph, its layout, risk; every record labelled on ``page``.

    At most ``limit`` nodes (see :func:`setu.networks.graph.network_graph`); the risk is read for the
    nodes on the map only.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    network = get_network(page.session, page.principal, network_id)
    page.label(network)
    graph = network_graph(page.session, page.principal, network_id, limit=limit)
    for node in graph.nodes:
        page.label(node)
    for spec in graph.markings:
        page.label_spec(spec)
    layout = layered_layout(len(graph.nodes), graph.suppliers, graph.customers, graph.products)
    return MapData(network, graph, layout, node_risk(page, network_id, {node.node_id for node in graph.nodes}))


def filter_options(nodes: list[NodeRecord]) -> dict[str, list[str]]:
    """The distinct non-empty values of each of :data:`FILTERS` among ``nodes`` (the visible ones), sorted."""
    return {field: sorted({getattr(node, field) for node in nodes} - {""}) for field in FILTERS}


def map_json(page: Page, data: MapData) -> dict[str, Any]:
    """The map as the explorer's script draws it.

    Returns
    -------
    dict
        ``network``, ``banner`` and ``level`` (the most restrictive marking of everything in the
        answer), ``columns`` and ``rows`` of the layout, ``nodes`` (id, name, material,
        organization, site, country, party, program, tier, x, y, product, risk and marking each),
        ``edges`` (pairs of positions in ``nodes``, supplier first), ``filters`` (the options of
        each filter), ``run`` (the run the risk comes from, or null) and ``risk_note``.
    """
    graph, layout, risk = data.graph, data.layout, data.risk
    products = set(graph.products)
    nodes = []
    for i, node in enumerate(graph.nodes):
        found = risk.by_node.get(node.node_id)
        nodes.append(
            {
                "id": node.node_id,
                "name": node.name,
                "material": node.material,
                "organization": node.organization,
                "site": node.site,
                "country": node.country,
                "party": node.party,
                "program": node.program,
                "tier": int(layout.tier[i]),
                "x": round(float(layout.x[i]), 5),
                "y": round(float(layout.y[i]), 5),
                "product": i in products,
                "risk": None if found is None else {"pi": found[0], "rei": found[1]},
                "marking": page.label(node),
            }
        )
    run = risk.run
    banner = page.marker.page(page.specs)
    return {
        "network": {"id": data.network.id, "name": data.network.name, "version": data.network.version},
        "banner": banner.banner,
        "level": banner.classification.lower(),
        "columns": layout.columns,
        "rows": layout.rows,
        "nodes": nodes,
        "edges": [[s, c] for s, c in zip(graph.suppliers, graph.customers, strict=True)],
        "filters": filter_options(graph.nodes),
        "total": graph.total,
        "note": shown_note(graph),
        "run": None
        if run is None
        else {
            "id": run.id,
            "finished": run.finished_at.isoformat() if run.finished_at else None,
            "marking": page.label(run),
        },
        "risk_note": risk_note(risk),
    }


def shown_note(graph: NetworkGraph) -> str:
    """What part of the visible network the map shows: all of it, or how much of it and which."""
    if not graph.partial:
        return ""
    return (
        f"showing {len(graph.nodes):,} of {graph.total:,} nodes you may see: the products and their suppliers, "
        "tier by tier, nearest first (the node list has every one)"
    )


def risk_note(risk: Risk) -> str:
    """What the risk colours show: the run they come from, or that there is none yet."""
    if risk.run is None:
        return NO_RUN
    return f"PI and REI of each node's single-node scenario in your reference sweep (run {risk.run.id})"


@router.get("/networks/{network_id}/map.json")
def map_json_route(request: Request, session: SessionDep, state: StateDep, network_id: int) -> Response:
    """The visible nodes and edges of a network with their layout, risk, markings and filter options."""
    # A script asks for it: a signed-out answer is a 401 it can show, not the sign-in redirect.
    page = signed_in_page(request, session)
    if page is None:
        return JSONResponse({"detail": "not signed in"}, status_code=401, headers=NO_STORE)
    limit = state.settings.map_nodes
    # Computed once per network version, run and reader's view (see setu.sharing.cache): the stamp is read
    # through the filter now, so a new run, record or marking computes it again.
    stamp = network_stamp(session, page.principal, network_id)
    reference = reference_run(session, page.principal, network_id).run
    run_stamp = results_stamp(session, reference) if reference else None
    key = ("map.json", network_id, view_key(page.principal), limit, stamp, run_stamp)

    def compute() -> tuple[bytes, frozenset[MarkingSpec]]:
        own = Page(session, page.auth)
        body = map_json(own, map_data(own, network_id, limit))
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(), frozenset()

    try:
        answer = cached(state.figures, key, session, page.principal, compute)
    except NotFound:
        session.commit()
        return JSONResponse({"detail": "not found"}, status_code=404, headers=NO_STORE)
    session.commit()
    return Response(answer.value, media_type="application/json", headers=NO_STORE)


@router.get("/networks/{network_id}/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    page: PageDep,
    state: StateDep,
    network_id: int,
    program: Choice = "",
    country: Choice = "",
    material: Choice = "",
    organization: Choice = "",
    colour: Choice = "country",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The map page; without a script, the same filters give a paged table of links to the visible nodes."""
    try:
        data = map_data(page, network_id, state.settings.map_nodes)
    except NotFound:
        return page.not_found(request)
    chosen = {"program": program, "country": country, "material": material, "organization": organization}
    options = filter_options(data.graph.nodes)
    # A value no visible node has selects nothing rather than echoing arbitrary text back as an option.
    chosen = {field: value if value in options[field] else "" for field, value in chosen.items()}
    matching = [
        i for i, node in enumerate(data.graph.nodes) if all(not v or getattr(node, f) == v for f, v in chosen.items())
    ]
    matching.sort(key=lambda i: (int(data.layout.tier[i]), data.graph.nodes[i].node_id))
    pages = max(1, -(-len(matching) // PAGE_SIZE))
    page_number = min(page_number, pages)
    offset = (page_number - 1) * PAGE_SIZE
    rows = [
        {
            "record": data.graph.nodes[i],
            "tier": int(data.layout.tier[i]),
            "risk": data.risk.by_node.get(data.graph.nodes[i].node_id),
            "marking": page.label(data.graph.nodes[i]),
        }
        for i in matching[offset : offset + PAGE_SIZE]
    ]
    query = urlencode({f: v for f, v in chosen.items() if v} | ({"colour": colour} if colour != "country" else {}))
    response = page.render(
        request,
        "networks/map.html",
        network=data.network,
        network_marking=page.label(data.network),
        node_total=data.graph.total,
        node_shown=len(data.graph.nodes),
        shown_note=shown_note(data.graph),
        edge_total=len(data.graph.suppliers),
        options=options,
        chosen=chosen,
        colour=colour if colour in COLOURINGS else "country",
        run=data.risk.run,
        run_marking=page.label(data.risk.run) if data.risk.run is not None else None,
        risk_note=risk_note(data.risk),
        rows=rows,
        matching=len(matching),
        page=page_number,
        pages=pages,
        first=offset + 1 if rows else 0,
        last=offset + len(rows),
        filter_query=query,
    )
    response.headers.update(NO_STORE)
    return response


@router.get("/networks/{network_id}/map/nodes/{node_id}", response_class=HTMLResponse)
def node_panel(request: Request, session: SessionDep, network_id: int, node_id: str) -> Response:
    """The map's side panel of one node (an HTML fragment): details, suppliers, customers, alternates, dependents."""
    # A script loads the fragment into the panel: a signed-out answer is a message there, not the redirect.
    page = signed_in_page(request, session)
    if page is None:
        return HTMLResponse(
            '<p class="error">You are signed out. <a href="/accounts/login">Sign in</a></p>', status_code=401
        )
    try:
        network = get_network(session, page.principal, network_id)
        around = node_neighbourhood(session, page.principal, network_id, node_id)
    except NotFound:
        session.commit()
        return templates.TemplateResponse(request, "networks/_map_missing.html", {}, status_code=404, headers=NO_STORE)
    page.label(network)
    context = neighbourhood_context(page, around)
    response = page.render(request, "networks/_map_panel.html", network=network, **context)
    response.headers.update(NO_STORE)
    return response


def neighbourhood_context(page: Page, around: Neighbourhood) -> dict[str, Any]:
    """The template values of a node's neighbourhood, every record labelled on ``page``.

    Parameters
    ----------
    page
        The page being built.
    around
        The node and the visible nodes around it.

    Returns
    -------
    dict
        ``node``, ``node_marking``, ``suppliers``, ``customers``, ``alternates`` and ``dependents``
        (rows of ``record`` and ``marking``), ``totals`` (how many of each there are), ``dependent_total``
        and ``dependents_shown``.
    """

    def rows(records: list[NodeRecord]) -> list[dict[str, Any]]:
        return [{"record": record, "marking": page.label(record)} for record in records]

    return {
        "node": around.node,
        "node_marking": page.label(around.node),
        "suppliers": rows(around.suppliers),
        "customers": rows(around.customers),
        "alternates": rows(around.alternates),
        "dependents": rows(around.dependents),
        "dependent_total": around.totals["dependents"],
        "totals": around.totals,
        "dependents_shown": DEPENDENTS_SHOWN,
    }
