"""The dashboard, Setu's home page: the user's networks, each program's risk posture, and recent runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from setu.dashboard.figures import Exposure, NetworkOverview
from setu.dashboard.service import network_overview, overview_networks
from setu.deps import ApiState, StateDep
from setu.models.base import Marked
from setu.networks.reads import list_networks, list_nodes
from setu.networks.stamps import network_stamp
from setu.runs.service import list_runs
from setu.sharing.cache import cached, snapshot, view_key
from setu.sharing.markings import MarkingSpec
from setu.web.shell import Page, PageDep

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, page: PageDep, state: StateDep) -> Response:
    """The user's networks and, per program of each, the riskiest nodes, products at risk and exposure; recent runs.

    Every record shown carries its label; every figure carries the most restrictive label of the
    records it was computed from.
    """
    session, principal = page.session, page.principal
    networks, total = list_networks(session, principal, limit=50)
    rows = []
    for network in networks:
        _nodes, visible = list_nodes(session, principal, network.id, limit=1)
        rows.append({"record": network, "nodes": visible, "marking": page.label(network)})
    sections = [_section(page, state, network.id) for network in overview_networks(session, principal)]
    runs, run_total = list_runs(session, principal, limit=10)
    run_rows = [{"record": run, "marking": page.label(run)} for run in runs]
    return page.render(
        request,
        "dashboard/home.html",
        networks=rows,
        network_total=total,
        overviews=sections,
        concern=sorted(state.settings.concern_countries),
        runs=run_rows,
        run_total=run_total,
    )


def _section(page: Page, state: ApiState, network_id: int) -> Markup:
    """One network's section of the dashboard, computed once per network version, run and reader's view.

    The key holds the reader's view and the stamp of what they see of the network (read through the
    filter on every request), so readers with different views never share a section, and a new run, a
    new record or a changed marking computes it again. The section holds plain values, its labels and
    the markings they carry (for the page's banner), rendered once; a reader served from the cache is
    audited as the one it was computed for.
    """
    settings = state.settings
    session, principal = page.session, page.principal
    concern, limit = frozenset(settings.concern_countries), settings.dashboard_nodes
    stamp = network_stamp(session, principal, network_id)
    key = ("dashboard.section", network_id, view_key(principal), concern, limit, stamp)

    def compute() -> tuple[Markup, frozenset[MarkingSpec]]:
        own = Page(session, page.auth)  # collects the markings this section shows
        overview = network_overview(session, principal, network_id, concern=concern, node_limit=limit)
        return own.fragment("dashboard/_overview.html", ov=_overview_view(own, overview)), frozenset(own.specs)

    answer = cached(state.figures, key, session, principal, compute)
    page.specs.update(answer.specs)
    return answer.value


def _plain(record: Marked | None) -> Any:
    """A record as the template reads it, holding no database session (sections are shared across requests)."""
    return None if record is None else snapshot(record)


def _exposure_view(page: Page, exposure: Exposure) -> dict[str, Any]:
    return {
        "nodes": exposure.count,
        "traced": exposure.traced,
        "scope": exposure.scope,
        "percent": f"{100 * exposure.share:.1f}",
        "by_country": exposure.by_country,
        "products": [{"record": _plain(n), "marking": page.label(n)} for n in exposure.products],
        "products_total": exposure.products_total,
        "marking": page.label_spec(exposure.spec),
    }


def _overview_view(page: Page, overview: NetworkOverview) -> dict[str, Any]:
    """An overview with a label on every record and every figure, as the template shows it."""
    programs = []
    for program in overview.programs:
        programs.append(
            {
                "name": program.program,
                "nodes": program.nodes,
                "scope": program.scope,
                "products": len(program.products),
                "riskiest": [
                    {
                        "node": _plain(r.node),
                        "result": _plain(r.result),
                        "node_marking": page.label(r.node),
                        "marking": page.label(r.result),
                    }
                    for r in program.riskiest
                ],
                "at_risk": [
                    {
                        "node": _plain(p.node),
                        "result": _plain(p.result),
                        "scenarios": p.scenarios,
                        "direct": p.direct,
                        "node_marking": page.label(p.node),
                        "marking": page.label(p.result),
                    }
                    for p in program.at_risk
                ],
                "exposure": _exposure_view(page, program.exposure),
                "risk_marking": page.label_spec(program.risk_spec) if program.risk_spec is not None else None,
            }
        )
    run = overview.run
    return {
        "network": _plain(overview.network),
        "marking": page.label(overview.network),
        "nodes": overview.nodes,
        "run": _plain(run),
        "run_marking": page.label(run) if run is not None else None,
        "results": overview.results,
        "exposure": _exposure_view(page, overview.exposure),
        "programs": programs,
        "note": overview.note,
    }
