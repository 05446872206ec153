"""The dashboard, Setu's home page: the user's networks, each program's risk posture, and recent runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from setu.dashboard.figures import Exposure, NetworkOverview
from setu.dashboard.service import OVERVIEW_NETWORKS, network_overview, overview_networks
from setu.deps import ApiState, StateDep
from setu.errors import AccessDenied, InputError, NotFound, SetuError, TooManyRequests, Unavailable
from setu.models.base import Marked
from setu.models.networks import NetworkRecord
from setu.network.countries import country_label
from setu.networks.counts import visible_node_counts
from setu.networks.reads import require_network
from setu.networks.stamps import network_stamp
from setu.runs.forms import JobsDep
from setu.runs.reference import chosen_run, start_reference_sweep
from setu.runs.results import results_stamp
from setu.runs.service import RUNNERS, list_runs
from setu.schemas import MAX_ID
from setu.sharing.cache import cached, snapshot, view_key
from setu.sharing.markings import MarkingSpec
from setu.sharing.read import count_readable
from setu.sharing.roles import has_role
from setu.web.shell import FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    page: PageDep,
    state: StateDep,
    network: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    run: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The user's networks and, per program of each, the riskiest nodes, products at risk and exposure; recent runs.

    Risk figures come from the reader's reference sweep of each network (never from an ad-hoc run), or,
    with ``network`` and ``run``, from the run the reader picked for that network. Every record shown
    carries its label; every figure carries the most restrictive label of the records it was computed from.
    """
    session, principal = page.session, page.principal
    if run is not None and network is None:
        return _refused(request, page, "Pick a run for a network: give network= with run=.")
    chosen = overview_networks(session, principal, limit=OVERVIEW_NETWORKS)
    if network is not None and network not in {n.id for n in chosen}:
        try:
            chosen.insert(0, require_network(session, principal, network, "network.overview"))
        except NotFound:
            return page.not_found(request)
    sections = []
    for record in chosen:
        try:
            sections.append(_section(page, state, record.id, run if record.id == network else None))
        except NotFound:
            return page.not_found(request)
        except InputError as exc:
            return _refused(request, page, "; ".join(p.message for p in exc.problems))
    counts = visible_node_counts(session, principal, [n.id for n in chosen])
    rows = [{"record": n, "nodes": counts.get(n.id, 0), "marking": page.label(n)} for n in chosen]
    total = count_readable(session, principal, NetworkRecord)
    runs, run_total = list_runs(session, principal, limit=10)
    run_rows = [{"record": r, "marking": page.label(r)} for r in runs]
    return page.render(
        request,
        "dashboard/home.html",
        networks=rows,
        network_total=total,
        overviews=sections,
        concern=sorted(state.settings.concern_countries),
        runs=run_rows,
        run_total=run_total,
        can_run=has_role(principal, *RUNNERS),
    )


def _refused(request: Request, page: Page, message: str) -> Response:
    page.specs.clear()
    return page.render(request, "dashboard/refused.html", status_code=422, message=message)


@router.post("/dashboard/reference", response_class=HTMLResponse)
def dashboard_reference(
    request: Request, page: FormPageDep, state: StateDep, jobs: JobsDep, network: Annotated[int, Form(ge=1, le=MAX_ID)]
) -> Response:
    """Queue the reference sweep of the user's view of a network (analyst or admin) and follow it."""
    session, principal = page.session, page.principal
    try:
        run = jobs.submit(
            session, principal, lambda: start_reference_sweep(session, principal, network, views=state.views)
        )
    except AccessDenied:
        return page.forbidden(request, "Running the reference sweep needs the analyst or admin role.")
    except NotFound:
        return page.not_found(request)
    except (TooManyRequests, Unavailable) as exc:
        session.rollback()
        answer = _refused(request, page, str(exc))
        answer.status_code = exc.status
        answer.headers.update(exc.http_headers)
        return answer
    except SetuError as exc:  # a view with no product, a node with no TTR estimate: said, nothing stored
        session.rollback()
        answer = _refused(request, page, str(exc))
        answer.status_code = exc.status
        return answer
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@dataclass(frozen=True, slots=True)
class Section:
    """One network's part of the dashboard: its rendered figures and what the page offers around them."""

    html: Markup
    network_id: int
    offer_reference: bool


def _section(page: Page, state: ApiState, network_id: int, run_id: int | None) -> Section:
    """One network's section of the dashboard, computed once per network version, run and reader's view.

    The key holds the reader's view, the stamp of what they see of the network and the stamp of the run
    the figures come from (all read on every request), so readers with different views never share a
    section, and a new reference sweep, a new record, a changed marking, a renamed run or a run that took
    a deleted one's id computes it again. The
    section holds plain values, its labels and the markings they carry (for the page's banner), rendered
    once; a reader served from the cache is audited as the one it was computed for. What belongs to the
    reader alone (a form with their token) is rendered around it, never inside.

    Raises
    ------
    NotFound, InputError
        As :func:`setu.runs.reference.chosen_run`.
    """
    settings = state.settings
    session, principal = page.session, page.principal
    concern, limit = frozenset(settings.concern_countries), settings.dashboard_nodes
    choice = chosen_run(session, principal, network_id, run_id)
    picked = (
        results_stamp(session, choice.run) if choice.run else None,
        choice.reference,
        (choice.pending.id, choice.pending.created_at) if choice.pending else None,
        choice.pending.done if choice.pending else None,
        choice.stale,
    )
    key = (
        "dashboard.section",
        network_id,
        view_key(principal),
        concern,
        limit,
        network_stamp(session, principal, network_id),
        picked,
    )

    def compute() -> tuple[Markup, frozenset[MarkingSpec]]:
        own = Page(session, page.auth)  # collects the markings this section shows
        overview = network_overview(session, principal, network_id, concern=concern, node_limit=limit, choice=choice)
        return own.fragment("dashboard/_overview.html", ov=_overview_view(own, overview)), frozenset(own.specs)

    answer = cached(state.figures, key, session, principal, compute)
    page.specs.update(answer.specs)
    offer = choice.pending is None and (choice.run is None or not choice.reference)
    return Section(answer.value, network_id, offer)


def _plain(record: Marked | None) -> Any:
    """A record as the template reads it, holding no database session (sections are shared across requests)."""
    return None if record is None else snapshot(record)


def _exposure_view(page: Page, exposure: Exposure) -> dict[str, Any]:
    return {
        "nodes": exposure.count,
        "traced": exposure.traced,
        "scope": exposure.scope,
        "percent": f"{100 * exposure.share:.1f}",
        "by_country": [(country_label(code), count) for code, count in exposure.by_country],
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
        "reference": overview.reference,
        "pending": _plain(overview.pending),
        "stale": overview.stale,
        "network": _plain(overview.network),
        "concern": [country_label(code) for code in sorted(overview.concern)],
        "marking": page.label(overview.network),
        "nodes": overview.nodes,
        "run": _plain(run),
        "run_marking": page.label(run) if run is not None else None,
        "results": overview.results,
        "exposure": _exposure_view(page, overview.exposure),
        "programs": programs,
        "note": overview.note,
    }
