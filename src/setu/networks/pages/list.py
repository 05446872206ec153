"""Network pages: the list of networks, a network's node table (searched, paged) and a node's details."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from setu.errors import NotFound
from setu.networks.counts import visible_node_counts
from setu.networks.pages.map import neighbourhood_context
from setu.networks.pages.node_risk import node_risk_context
from setu.networks.reads import get_network, list_networks, list_nodes, node_neighbourhood
from setu.web.shell import PAGE_SIZE, PageDep

router = APIRouter(include_in_schema=False)


@router.get("/networks", response_class=HTMLResponse)
def networks_page(request: Request, page: PageDep) -> Response:
    """Every network the user may see, with its visible node count, marking and links to its table and map."""
    session, principal = page.session, page.principal
    networks, total = list_networks(session, principal, limit=500)
    counts = visible_node_counts(session, principal, [n.id for n in networks])
    rows = [{"record": n, "nodes": counts.get(n.id, 0), "marking": page.label(n)} for n in networks]
    return page.render(request, "networks/list.html", networks=rows, network_total=total)


@router.get("/networks/{network_id}", response_class=HTMLResponse)
def network_page(
    request: Request,
    page: PageDep,
    network_id: int,
    q: Annotated[str, Query(max_length=200)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """A network's visible nodes: searched and paged on the server, each row with its marking."""
    session, principal = page.session, page.principal
    try:
        network = get_network(session, principal, network_id)
        offset = (page_number - 1) * PAGE_SIZE
        nodes, total = list_nodes(session, principal, network_id, search=q, offset=offset, limit=PAGE_SIZE)
    except NotFound:
        return page.not_found(request)
    rows = [{"record": node, "marking": page.label(node)} for node in nodes]
    network_marking = page.label(network)
    pages = max(1, -(-total // PAGE_SIZE))
    return page.render(
        request,
        "networks/detail.html",
        network=network,
        network_marking=network_marking,
        rows=rows,
        total=total,
        q=q,
        page=page_number,
        pages=pages,
        first=offset + 1 if rows else 0,
        last=offset + len(rows),
    )


@router.get("/networks/{network_id}/nodes/{node_id}", response_class=HTMLResponse)
def node_page(request: Request, page: PageDep, network_id: int, node_id: str) -> Response:
    """A node's details, its risk in the reader's reference sweep, the scenarios naming it, what to do about it,
    and its visible suppliers, customers, alternates and dependents.

    Hidden and missing nodes answer the same 404.
    """
    try:
        network = get_network(page.session, page.principal, network_id)
        around = node_neighbourhood(page.session, page.principal, network_id, node_id)
    except NotFound:
        return page.not_found(request)
    network_marking = page.label(network)
    return page.render(
        request,
        "networks/node.html",
        network=network,
        network_marking=network_marking,
        **node_risk_context(page, network_id, node_id),
        **neighbourhood_context(page, around),
    )
