"""A program's supply tree: its products down through every tier of visible suppliers, each node with its risk.

The tree is the visible graph (:func:`setu.networks.graph.network_graph`) unfolded from the program's
products: a supplier shared by several customers appears under each, its own suppliers listed under its
first appearance only (later ones link to it), so the tree is never larger than the graph's edges. Each
node shows its loss beyond the baseline and REI in the reader's reference sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from setu.deps import StateDep
from setu.errors import NotFound
from setu.models.networks import NodeRecord
from setu.networks.graph import NetworkGraph, network_graph
from setu.networks.reads import get_network
from setu.report.charts import fmt
from setu.runs.reference import reference_run
from setu.runs.results import single_node_results
from setu.web.shell import Page, PageDep

router = APIRouter(include_in_schema=False)

MAX_DEPTH = 40
"""Tiers the tree unfolds below a product; deeper suppliers are reached from the last node's own page (a
2,000-stage chain would otherwise nest 2,000 levels, past what a page or the renderer holds)."""


@dataclass
class Branch:
    """One appearance of a node in the tree: the node, its risk, and its suppliers (empty where it repeats)."""

    node: NodeRecord
    marking: dict[str, str]
    risk: dict[str, Any] | None
    repeat: bool
    suppliers: list[Branch] = field(default_factory=list)
    cut: int = 0
    """Suppliers not unfolded here because the tree is :data:`MAX_DEPTH` tiers deep at this node."""


def _risk(page: Page, network_id: int, nodes: list[str]) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The reader's reference sweep and the single-node risk of each of ``nodes`` in it, labelled on ``page``."""
    run = reference_run(page.session, page.principal, network_id).run
    if run is None:
        return None, {}
    page.label(run)
    risks: dict[str, dict[str, Any]] = {}
    for row in single_node_results(page.session, page.principal, run.id, nodes):
        risks.setdefault(
            row.disrupted,
            {"loss": fmt(row.excess_loss), "rei": f"{row.rei:.3f}", "at_risk": row.at_risk, "marking": page.label(row)},
        )
    return run, risks


def program_tree(
    graph: NetworkGraph,
    program: str,
    risks: dict[str, dict[str, Any]],
    label: Callable[[NodeRecord], dict[str, str]],
    max_depth: int = MAX_DEPTH,
) -> list[Branch]:
    """The program's products (all visible products when ``program`` is empty), each with its supplier tree.

    ``label`` gives each node's marking as the page shows it (and counts it into the page's banner). Below
    ``max_depth`` tiers a node's suppliers are counted (``cut``) rather than unfolded.
    """
    suppliers_of: dict[int, list[int]] = {}
    for supplier, customer in zip(graph.suppliers, graph.customers, strict=True):
        suppliers_of.setdefault(customer, []).append(supplier)
    seen: set[int] = set()

    def grow(index: int, depth: int) -> Branch:
        node = graph.nodes[index]
        branch = Branch(node, label(node), risks.get(node.node_id), index in seen)
        if index in seen:
            return branch
        seen.add(index)
        ordered = sorted(suppliers_of.get(index, []), key=lambda i: graph.nodes[i].node_id)
        if depth >= max_depth:
            branch.cut = len(ordered)
        else:
            branch.suppliers = [grow(i, depth + 1) for i in ordered]
        return branch

    roots = [i for i in graph.products if not program or graph.nodes[i].program == program]
    return [grow(i, 0) for i in sorted(roots, key=lambda i: graph.nodes[i].node_id)]


@router.get("/networks/{network_id}/tree", response_class=HTMLResponse)
def tree_page(
    request: Request,
    page: PageDep,
    state: StateDep,
    network_id: int,
    program: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """A program's products down through every tier of their visible suppliers, each node with its risk."""
    try:
        network = get_network(page.session, page.principal, network_id)
        graph = network_graph(page.session, page.principal, network_id, limit=state.settings.map_nodes)
    except NotFound:
        return page.not_found(request)
    programs = sorted({n.program for i in graph.products for n in [graph.nodes[i]] if n.program})
    if program and program not in programs:
        program = ""  # a program no visible product has shows every product, not arbitrary text echoed back
    run, risks = _risk(page, network_id, [n.node_id for n in graph.nodes])
    roots = program_tree(graph, program, risks, page.label)
    for spec in graph.markings:
        page.label_spec(spec)
    return page.render(
        request,
        "networks/tree.html",
        network=network,
        network_marking=page.label(network),
        programs=programs,
        program=program,
        roots=roots,
        run=run,
        partial=graph.partial,
        shown=len(graph.nodes),
        total=graph.total,
    )
