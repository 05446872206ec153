"""The scenario library page: a network's stored scenarios, the new-scenario form and the run form."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.accounts.lookups import parties_of
from setu.deps import StateDep
from setu.errors import AccessDenied, NotFound, SetuError, TooManyRequests
from setu.networks.reads import filter_suggestions, get_network, list_networks, list_nodes
from setu.runs.forms import KIND_NAMES, FormError, JobsDep, ScenarioForm, messages_of, number, scenario_in
from setu.runs.recent import recent_networks
from setu.runs.scenarios import build_scenario, create_scenario, list_scenarios
from setu.runs.service import start_run
from setu.schemas import MAX_ID
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.read import MAX_LIMIT
from setu.web.shell import PAGE_SIZE, FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)

SUGGESTED = ("site", "organization", "party", "country", "material", "material_class")
"""Node fields whose visible values complete the form's target field."""
SUGGESTIONS = 500


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One visible value offered in a datalist, with what it is and its marking's label."""

    value: str
    what: str
    marking: dict[str, str]


def _suggestions(page: Page, network_id: int) -> dict[str, list[Suggestion]]:
    """Datalists of the form: visible values only, each labelled with the marking of the nodes behind it.

    A suggested value reveals what the nodes carrying it hold, so it carries their combined marking
    (counted into the page's banner); a value whose nodes changed between the reads is left out.
    """
    session, principal = page.session, page.principal
    specs: dict[tuple[str, str], set[MarkingSpec]] = defaultdict(set)
    chokepoints: set[str] = set()
    offset = 0
    while True:
        rows, total = list_nodes(session, principal, network_id, offset=offset, limit=MAX_LIMIT)
        for row in rows:
            spec = page.marker.spec(row)
            for name in (*SUGGESTED, "node_id"):
                specs[(name, getattr(row, name))].add(spec)
            for point in (c for c in row.chokepoints.split(";") if c):
                specs[("chokepoint", point)].add(spec)
                chokepoints.add(point)
        offset += len(rows)
        if not rows or offset >= total:
            break

    def offer(name: str, values: list[str]) -> list[Suggestion]:
        found = [(v, specs.get((name, v))) for v in values]
        what = name.replace("_", " ")
        return [Suggestion(v, what, page.label_spec(combine(s, principal.party))) for v, s in found if s]

    lists = {
        name: offer(name, filter_suggestions(session, principal, network_id, name, limit=SUGGESTIONS))
        for name in (*SUGGESTED, "node_id")
    }
    lists["chokepoint"] = offer("chokepoint", sorted(chokepoints)[:SUGGESTIONS])
    return {
        "targets": [s for name in (*SUGGESTED, "chokepoint") for s in lists[name]],
        "nodes": lists["node_id"],
        "materials": lists["material"] + lists["material_class"],
        "countries": lists["country"],
    }


def _library(
    request: Request,
    page: Page,
    network_id: int | None,
    page_number: int,
    form: ScenarioForm,
    *,
    run_error: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    """The scenario library of a network with the new-scenario and new-run forms."""
    session, principal = page.session, page.principal
    networks, _total = list_networks(session, principal, limit=500)
    choices = [{"record": n, "marking": page.label(n)} for n in networks]
    if network_id is None:
        recent = recent_networks(session, principal, limit=1)
        network_id = recent[0].id if recent else None
    if network_id is None:
        return page.render(request, "runs/scenarios.html", status_code=status_code, networks=choices, network=None)
    try:
        network = get_network(session, principal, network_id)
        offset = (page_number - 1) * PAGE_SIZE
        scenarios, total = list_scenarios(session, principal, network_id, offset=offset, limit=PAGE_SIZE)
        suggestions = _suggestions(page, network_id)
    except NotFound:
        return page.not_found(request)
    # Both parties may store a scenario of the same name on a shared network: say whose each one is.
    parties = parties_of(session, (s.created_by for s in scenarios))
    rows = [
        {
            "record": s,
            "marking": page.label(s),
            "kind": KIND_NAMES.get(s.kind, s.kind),
            "disrupted": len(s.nodes),
            "by": "you" if s.created_by == principal.user_id else parties.get(s.created_by, ""),
        }
        for s in scenarios
    ]
    return page.render(
        request,
        "runs/scenarios.html",
        status_code=status_code,
        networks=choices,
        network=network,
        network_marking=page.label(network),
        rows=rows,
        total=total,
        page=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
        kinds=KIND_NAMES,
        form=form,
        suggestions=suggestions,
        run_error=run_error or [],
        # Whether to offer the forms; the services refuse anyone else whatever they post.
        can_run="analyst" in principal.roles or "admin" in principal.roles,
    )


@router.get("/runs/scenarios", response_class=HTMLResponse)
def scenarios_page(
    request: Request,
    page: PageDep,
    network: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    disrupt: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The visible scenarios of a network, and the forms to create a scenario of any kind and to run them.

    ``disrupt`` fills the form with the outage of that node (a node page's action); nothing is stored until
    the user submits it, and the node is checked against their view then.
    """
    form = ScenarioForm(kind="custom", nodes=disrupt, label=f"{disrupt} out") if disrupt.strip() else ScenarioForm()
    return _library(request, page, network, page_number, form)


@router.post("/runs/scenarios", response_class=HTMLResponse)
def scenarios_create(
    request: Request,
    page: FormPageDep,
    network: Annotated[int, Form(ge=1, le=MAX_ID)],
    kind: Annotated[str, Form(max_length=32)] = "",
    value: Annotated[str, Form(max_length=300)] = "",
    nodes: Annotated[str, Form(max_length=200_000)] = "",
    materials: Annotated[str, Form(max_length=20_000)] = "",
    countries: Annotated[str, Form(max_length=20_000)] = "",
    severity: Annotated[str, Form(max_length=40)] = "",
    ttr: Annotated[str, Form(max_length=40)] = "",
    scenario_id: Annotated[str, Form(max_length=300)] = "",
    label: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Store a scenario built on the user's view; any problem shows the form again with it, storing nothing."""
    session, principal = page.session, page.principal
    form = ScenarioForm(kind, value, nodes, materials, countries, severity, ttr, scenario_id, label)
    try:
        body = scenario_in(form, network)
        scenario = build_scenario(session, principal, network, body)
        stored = create_scenario(session, principal, network, scenario)
        session.commit()
        return RedirectResponse(f"/runs/scenarios?network={network}&created={stored.id}", status_code=303)
    except FormError as exc:
        form.errors = exc.messages
    except AccessDenied:
        return page.forbidden(request, "Creating scenarios needs the analyst or admin role.")
    except NotFound as exc:
        session.rollback()
        if exc.kind == "network":
            return page.not_found(request)
        form.errors = messages_of(exc)
    except SetuError as exc:
        session.rollback()
        form.errors = messages_of(exc)
    return _library(request, page, network, 1, form, status_code=422)


@router.post("/runs", response_class=HTMLResponse)
def runs_start(
    request: Request,
    page: FormPageDep,
    state: StateDep,
    jobs: JobsDep,
    network: Annotated[int, Form(ge=1, le=MAX_ID)],
    mode: Annotated[str, Form(max_length=20)] = "selected",
    scenario: Annotated[list[int] | None, Form(max_length=10_000)] = None,
    ttr: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Queue a run of the chosen scenarios (or the node sweep), start it, and go to its progress page."""
    session, principal = page.session, page.principal
    chosen = sorted(set(scenario or []))
    try:
        override = number(ttr, "TTR", 0, 1e12)
        if mode != "sweep" and not chosen:
            raise FormError(["choose at least one scenario, or run the node sweep"])
        run = jobs.submit(
            session,
            principal,
            lambda: start_run(
                session,
                principal,
                network,
                "sweep" if mode == "sweep" else chosen,
                ttr=override,
                views=state.views,
                name=name,
                **state.settings.run_placement(),
            ),
        )
    except TooManyRequests as exc:
        page_out = _library(request, page, network, 1, ScenarioForm(), run_error=[str(exc)], status_code=exc.status)
        page_out.headers.update(exc.http_headers)
        return page_out
    except FormError as exc:
        return _library(request, page, network, 1, ScenarioForm(), run_error=exc.messages, status_code=422)
    except AccessDenied:
        return page.forbidden(request, "Running stress tests needs the analyst or admin role.")
    except NotFound as exc:
        session.rollback()
        if exc.kind == "network":
            return page.not_found(request)
        return _library(request, page, network, 1, ScenarioForm(), run_error=messages_of(exc), status_code=422)
    except SetuError as exc:
        session.rollback()
        return _library(request, page, network, 1, ScenarioForm(), run_error=messages_of(exc), status_code=422)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)
