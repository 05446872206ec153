"""Stress-test pages: the scenario library, new runs, live progress, results, charts and explanations."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from setu.accounts.service import parties_of
from setu.deps import SessionDep, StateDep
from setu.errors import AccessDenied, InputError, NotFound, SetuError
from setu.models.networks import NetworkRecord
from setu.models.stress import FINAL_STATUSES, ResultRecord, RunRecord
from setu.networks.reads import filter_suggestions, get_network, list_networks, list_nodes
from setu.report.charts import ChartPoint, fmt, rei_bars, tts_ttr_scatter
from setu.runs.endpoints import build_scenario
from setu.runs.schemas import ScenarioIn
from setu.runs.service import (
    RESULT_SORTS,
    create_scenario,
    explain_result,
    get_run,
    list_results,
    list_runs,
    list_scenarios,
    start_run,
)
from setu.schemas import MAX_ID
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.read import MAX_LIMIT
from setu.sharing.roles import require_role
from setu.web.shell import CSRF_FIELD, PAGE_SIZE, Page, csrf_ok, signed_in, to_login

router = APIRouter(include_in_schema=False)

KIND_NAMES = {
    "node": "Node",
    "site": "Site",
    "organization": "Organization",
    "party": "Party",
    "country": "Country",
    "material": "Material",
    "chokepoint": "Chokepoint",
    "export_control": "Export-control rule",
    "custom": "Custom set of nodes",
}
"""Every kind of scenario the engine builds, as the form names them."""
SUGGESTED = ("site", "organization", "party", "country", "material", "material_class")
"""Node fields whose visible values complete the form's target field."""
SUGGESTIONS = 500
RESULT_COLUMNS = (
    ("label", "Scenario", "text"),
    ("kind", "Kind", "text"),
    ("disrupted", "Disrupted", "text"),
    ("ttr", "TTR", "num"),
    ("tts", "TTS", "num"),
    ("lost_profit", "Lost profit (PI)", "num"),
    ("rei", "REI", "num"),
)
"""Sortable columns of the results table: field, heading, and whether it is text or a number."""
CHART_POINTS = 2000
"""The most results the TTS-versus-TTR chart draws (the riskiest, when a run has more)."""
REI_BARS = 15
REROUTED_SHOWN = 50
SORT_PATTERN = re.compile("^-?(" + "|".join(RESULT_SORTS) + ")$")
_LIST_SPLIT = re.compile(r"[,;\n]+")


class FormError(Exception):
    """What is wrong with a submitted form, as the page shows it."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("; ".join(messages))


@dataclass
class ScenarioForm:
    """The values of the new-scenario form, as submitted (so an error shows them again)."""

    kind: str = "country"
    value: str = ""
    nodes: str = ""
    materials: str = ""
    countries: str = ""
    severity: str = ""
    ttr: str = ""
    scenario_id: str = ""
    label: str = ""
    errors: list[str] = field(default_factory=list)


def _items(text: str) -> list[str]:
    return [item.strip() for item in _LIST_SPLIT.split(text) if item.strip()]


def _number(text: str, name: str, low: float, high: float) -> float | None:
    """A number typed in a form field, or None when left empty."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise FormError([f"{name} must be a number, got {text.strip()!r}"]) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise FormError([f"{name} must be between {low:g} and {high:g}, got {text.strip()!r}"])
    return value


def _scenario_in(form: ScenarioForm) -> ScenarioIn:
    """The API's scenario request built from the form's fields for its kind."""
    if form.kind not in KIND_NAMES:
        raise FormError([f"choose a kind of scenario; {form.kind!r} is not one"])
    data: dict[str, Any] = {"kind": form.kind}
    ttr = _number(form.ttr, "TTR", 0, 1e12)
    severity = _number(form.severity, "Severity", 0, 1)
    if ttr is not None:
        data["ttr"] = ttr
    if form.scenario_id.strip():
        data["id"] = form.scenario_id.strip()
    if form.label.strip():
        data["label"] = form.label.strip()
    if form.kind in ("node", "custom"):
        nodes = _items(form.nodes)
        if not nodes:
            raise FormError([f"a {KIND_NAMES[form.kind].lower()} scenario needs at least one node id"])
        data["nodes"] = nodes
        if severity is not None:
            if form.kind == "node":
                raise FormError(["a severity is for custom sets and export-control rules; a node is fully out"])
            data["severities"] = [severity] * len(nodes)
    elif form.kind == "export_control":
        materials, countries = _items(form.materials), _items(form.countries)
        if not materials or not countries:
            raise FormError(["an export-control rule needs materials and countries of origin"])
        data.update(materials=materials, countries=countries)
        if severity is not None:
            data["severity"] = severity
    else:
        if not form.value.strip():
            raise FormError([f"a {KIND_NAMES[form.kind].lower()} scenario needs a target"])
        if severity is not None:
            raise FormError(["a severity is for custom sets and export-control rules"])
        data["value"] = form.value.strip()
    try:
        return ScenarioIn.model_validate(data)
    except ValidationError as exc:
        messages = []
        for problem in exc.errors():
            where = ".".join(str(part) for part in problem["loc"])
            text = str(problem["msg"]).removeprefix("Value error, ")
            messages.append(f"{where}: {text}" if where else text)
        raise FormError(messages) from None


def _setu_messages(exc: SetuError) -> list[str]:
    if isinstance(exc, InputError):
        return [str(problem) for problem in exc.problems]
    if isinstance(exc, NotFound):
        return [f"no {exc.kind} {exc.key!r} on this network"]
    return [str(exc)]


# --- the scenario library -----------------------------------------------------------------------------


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
    if network_id is None and networks:
        network_id = networks[0].id
    if network_id is None:
        return page.render(request, "scenarios.html", status_code=status_code, networks=choices, network=None)
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
        "scenarios.html",
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
        can_run="analyst" in principal.roles or "admin" in principal.roles,
    )


@router.get("/scenarios", response_class=HTMLResponse)
def scenarios_page(
    request: Request,
    session: SessionDep,
    network: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The visible scenarios of a network, and the forms to create a scenario of any kind and to run them."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    return _library(request, Page(session, auth), network, page_number, ScenarioForm())


@router.post("/scenarios", response_class=HTMLResponse)
def scenarios_create(
    request: Request,
    session: SessionDep,
    network: Annotated[int, Form(ge=1, le=MAX_ID)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
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
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, "The form has expired or did not come from Setu.")
    try:
        require_role(session, auth.principal, "scenario.create", "analyst", "admin")
    except AccessDenied:
        return page.forbidden(request, "Creating scenarios needs the analyst or admin role.")
    form = ScenarioForm(kind, value, nodes, materials, countries, severity, ttr, scenario_id, label)
    try:
        body = _scenario_in(form)
        scenario = build_scenario(session, auth.principal, network, body)
        stored = create_scenario(session, auth.principal, network, scenario)
        session.commit()
        return RedirectResponse(f"/scenarios?network={network}&created={stored.id}", status_code=303)
    except FormError as exc:
        form.errors = exc.messages
    except NotFound as exc:
        session.rollback()
        if exc.kind == "network":
            return page.not_found(request)
        form.errors = _setu_messages(exc)
    except SetuError as exc:
        session.rollback()
        form.errors = _setu_messages(exc)
    return _library(request, page, network, 1, form, status_code=422)


# --- runs ---------------------------------------------------------------------------------------------


@router.post("/runs", response_class=HTMLResponse)
def runs_start(
    request: Request,
    session: SessionDep,
    state: StateDep,
    network: Annotated[int, Form(ge=1, le=MAX_ID)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    mode: Annotated[str, Form(max_length=20)] = "selected",
    scenario: Annotated[list[int] | None, Form(max_length=10_000)] = None,
    ttr: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Queue a run of the chosen scenarios (or the node sweep), start it, and go to its progress page."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, "The form has expired or did not come from Setu.")
    try:
        require_role(session, auth.principal, "run.start", "analyst", "admin")
    except AccessDenied:
        return page.forbidden(request, "Running stress tests needs the analyst or admin role.")
    chosen = sorted(set(scenario or []))
    try:
        override = _number(ttr, "TTR", 0, 1e12)
        if mode != "sweep" and not chosen:
            raise FormError(["choose at least one scenario, or run the node sweep"])
        run = start_run(
            session,
            auth.principal,
            network,
            "sweep" if mode == "sweep" else chosen,
            ttr=override,
            jobs=state.settings.run_jobs,
        )
    except FormError as exc:
        return _library(request, page, network, 1, ScenarioForm(), run_error=exc.messages, status_code=422)
    except NotFound as exc:
        session.rollback()
        if exc.kind == "network":
            return page.not_found(request)
        return _library(request, page, network, 1, ScenarioForm(), run_error=_setu_messages(exc), status_code=422)
    except SetuError as exc:
        session.rollback()
        return _library(request, page, network, 1, ScenarioForm(), run_error=_setu_messages(exc), status_code=422)
    session.commit()
    state.jobs.start(run.id, auth.principal)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


def _network_names(page: Page) -> dict[int, NetworkRecord]:
    networks, _total = list_networks(page.session, page.principal, limit=500)
    return {n.id: n for n in networks}


def _progress(run: RunRecord) -> dict[str, Any]:
    chosen = (run.parameters or {}).get("scenarios")
    return {
        "scenarios": "node sweep" if chosen == "sweep" else f"{len(chosen or [])} stored",
        "percent": round(100 * run.done / run.total) if run.total else (100 if run.status == "completed" else 0),
    }


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    session: SessionDep,
    network: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The visible runs, newest first: status, progress, network and marking."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    offset = (page_number - 1) * PAGE_SIZE
    runs, total = list_runs(session, auth.principal, network_id=network, offset=offset, limit=PAGE_SIZE)
    names = _network_names(page)
    rows = [
        {"record": run, "marking": page.label(run), "network": names.get(run.network_id), **_progress(run)}
        for run in runs
    ]
    return page.render(
        request,
        "runs.html",
        rows=rows,
        total=total,
        network=network,
        page=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
        first=offset + 1 if rows else 0,
        last=offset + len(rows),
    )


def _tts_text(row: ResultRecord) -> str:
    if row.tts_infinite:
        return "∞"
    if row.tts is None:
        return "not computed"
    return fmt(row.tts)


def _result_row(page: Page, row: ResultRecord) -> dict[str, Any]:
    nodes = [n for n in row.disrupted.split(";") if n]
    return {
        "record": row,
        "marking": page.label(row),
        "nodes": nodes,
        "tts": _tts_text(row),
        "ttr": fmt(row.ttr),
        "lost_profit": fmt(row.lost_profit),
        "rei": f"{row.rei:.3f}",
    }


def _all_results(page: Page, run_id: int, total: int) -> tuple[list[ResultRecord], bool]:
    """Results for the chart: every one, or the riskiest :data:`CHART_POINTS` when there are more."""
    sort = "position" if total <= CHART_POINTS else "-rei"
    rows: list[ResultRecord] = []
    while len(rows) < min(total, CHART_POINTS):
        batch, _ = list_results(
            page.session, page.principal, run_id, sort=sort, offset=len(rows), limit=min(MAX_LIMIT, CHART_POINTS)
        )
        if not batch:
            break
        rows.extend(batch[: CHART_POINTS - len(rows)])
    return rows, total > CHART_POINTS


def _sort_links(sort: str) -> list[dict[str, str]]:
    """Each sortable column's heading, its aria-sort, and the sort a click on it asks for."""
    field_, descending = sort.removeprefix("-"), sort.startswith("-")
    links = []
    for name, heading, kind in RESULT_COLUMNS:
        if name == field_:
            aria = "descending" if descending else "ascending"
            target = name if descending else f"-{name}"
        else:
            aria = ""
            target = f"-{name}" if kind == "num" else name
        links.append({"field": name, "heading": heading, "kind": kind, "aria": aria, "target": target})
    return links


def _results(page: Page, run: RunRecord, sort: str, q: str, at_risk: bool, page_number: int) -> dict[str, Any]:
    """The results table's page, the chart, the REI ranking and the counts of a completed run."""
    session, principal = page.session, page.principal
    offset = (page_number - 1) * PAGE_SIZE
    rows, matching = list_results(
        session, principal, run.id, sort=sort, at_risk_only=at_risk, text=q, offset=offset, limit=PAGE_SIZE
    )
    riskiest, everything = list_results(session, principal, run.id, sort="-rei", limit=REI_BARS)
    _risky, at_risk_total = list_results(session, principal, run.id, at_risk_only=True, limit=1)
    charted, clipped = _all_results(page, run.id, everything)
    for row in charted:
        page.label(row)
    drawn = [r for r in charted if r.tts is not None or r.tts_infinite]
    points = [ChartPoint(r.label or r.scenario_id, r.ttr, r.tts_value) for r in drawn]
    bars = [(r.label or r.scenario_id, r.rei) for r in riskiest if r.rei > 0]
    for row in riskiest:
        page.label(row)
    return {
        "rows": [_result_row(page, row) for row in rows],
        "matching": matching,
        "everything": everything,
        "at_risk_total": at_risk_total,
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "pages": max(1, -(-matching // PAGE_SIZE)),
        "columns": _sort_links(sort),
        "chart": Markup(tts_ttr_scatter(points, tagged=True)) if points else None,
        "charted": len(points),
        "clipped": clipped,
        "not_computed": len(charted) - len(drawn),
        "chart_risky": [
            {"name": p.name, "ttr": fmt(p.ttr), "tts": fmt(p.tts), "scenario_id": r.scenario_id}
            for p, r in zip(points, drawn, strict=True)
            if p.at_risk
        ],
        "bars": Markup(rei_bars(bars)),
        "bar_rows": [{"name": name, "rei": f"{rei:.3f}"} for name, rei in bars],
    }


def _run_page(
    request: Request,
    page: Page,
    run_id: int,
    *,
    sort: str = "-rei",
    q: str = "",
    at_risk: bool = False,
    page_number: int = 1,
    message: str = "",
    status_code: int = 200,
) -> Response:
    session, principal = page.session, page.principal
    if not 1 <= run_id <= MAX_ID:
        return page.not_found(request)
    try:
        run = get_run(session, principal, run_id)
    except NotFound:
        return page.not_found(request)
    run_marking = page.label(run)
    names = _network_names(page)
    if not SORT_PATTERN.match(sort):
        sort = "-rei"
    results = _results(page, run, sort, q, at_risk, page_number) if run.status == "completed" else None
    final = run.status in FINAL_STATUSES
    may_cancel = not final and (run.created_by == principal.user_id or "admin" in principal.roles)
    return page.render(
        request,
        "run.html",
        status_code=status_code,
        run=run,
        run_marking=run_marking,
        network=names.get(run.network_id),
        final=final,
        may_cancel=may_cancel,
        results=results,
        sort=sort,
        q=q,
        at_risk=at_risk,
        page=page_number,
        message=message,
        **_progress(run),
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    session: SessionDep,
    run_id: int,
    sort: Annotated[str, Query(max_length=20)] = "-rei",
    q: Annotated[str, Query(max_length=300)] = "",
    at_risk: bool = False,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """A run's live progress; once completed, its results (sorted, filtered, paged), chart and ranking."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    return _run_page(request, page, run_id, sort=sort, q=q, at_risk=at_risk, page_number=page_number)


@router.post("/runs/{run_id}/cancel", response_class=HTMLResponse)
def run_cancel(
    request: Request,
    session: SessionDep,
    state: StateDep,
    run_id: int,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Ask a queued or running run to stop (its starter, or an admin), then show it again."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, "The form has expired or did not come from Setu.")
    principal = auth.principal
    try:
        require_role(session, principal, "run.cancel", "analyst", "admin")
    except AccessDenied:
        return page.forbidden(request, "Cancelling runs needs the analyst or admin role.")
    if not 1 <= run_id <= MAX_ID:
        return page.not_found(request)
    try:
        run = get_run(session, principal, run_id)
    except NotFound:
        return page.not_found(request)
    if run.created_by != principal.user_id and "admin" not in principal.roles:
        return page.forbidden(request, "Only the user who started a run, or an admin, may cancel it.")
    session.commit()
    if run.status in FINAL_STATUSES:
        return _run_page(request, page, run_id, message=f"The run already ended: {run.status}.", status_code=409)
    if not state.jobs.cancel(run_id):
        message = "The run is not executing in this server, so it cannot be cancelled here."
        return _run_page(request, page, run_id, message=message, status_code=409)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.get("/runs/{run_id}/scenarios/{scenario:path}/explain", response_class=HTMLResponse)
def explain_page(request: Request, session: SessionDep, run_id: int, scenario: str) -> Response:
    """Why one scenario of a run scores as it does: products that lose, the binding material, re-routing."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not 1 <= run_id <= MAX_ID or not 0 < len(scenario) <= 200:
        return page.not_found(request)
    try:
        explained = explain_result(session, auth.principal, run_id, scenario)
    except NotFound:
        return page.not_found(request)
    except SetuError as exc:
        session.rollback()
        try:
            run = get_run(session, auth.principal, run_id)
        except NotFound:
            return page.not_found(request)
        return page.render(
            request,
            "explain.html",
            status_code=409,
            run=run,
            run_marking=page.label(run),
            error=str(exc),
            explanation=None,
        )
    e = explained.explanation
    s = e.scenario
    return page.render(
        request,
        "explain.html",
        run=explained.run,
        run_marking=page.label(explained.run),
        marking=page.label_spec(explained.marking),
        network=_network_names(page).get(explained.run.network_id),
        error="",
        explanation=e,
        scenario=s,
        severities=None if s.severity is None else [f"{v:.0%}" for v in s.severity],
        tts=fmt(e.tts),
        base_tts=fmt(e.base_tts),
        base_short=e.base_tts < s.ttr,
        at_risk=e.tts < s.ttr,
        shortfall=fmt(s.ttr - e.tts) if e.tts < s.ttr else "",
        lost_profit=fmt(e.lost_profit),
        base_lost_profit=fmt(e.base_lost_profit),
        losses=[
            {
                "product": loss.product,
                "units": fmt(loss.lost_units, 1),
                "share": f"{loss.lost_units / loss.demand_over_ttr:.0%}" if loss.demand_over_ttr > 0 else "-",
                "value": fmt(loss.lost_value),
                "binding": loss.binding,
                "suppliers": list(loss.binding_suppliers),
            }
            for loss in e.losses
        ],
        rerouted=[
            {
                "supplier": f.supplier,
                "customer": f.customer,
                "material": f.material,
                "base": fmt(f.base, 1),
                "scenario": fmt(f.scenario, 1),
                "change": f"{f.change:+,.1f}",
            }
            for f in e.rerouted[:REROUTED_SHOWN]
        ],
        rerouted_total=len(e.rerouted),
    )
