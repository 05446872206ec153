"""The run pages: the visible runs, and one run's live progress, results, chart, ranking and cancel form."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from setu.accounts.lookups import usernames
from setu.deps import ApiState, StateDep
from setu.errors import AccessDenied, InputError, NotFound
from setu.models.networks import NetworkRecord
from setu.models.stress import FINAL_STATUSES, ResultRecord, RunRecord
from setu.network.units import Units, units_of
from setu.networks.reads import get_network, list_networks, networks_by_id
from setu.report.charts import ChartPoint, fmt, rei_bars, tts_ttr_scatter
from setu.runs.manage import cancel_run, delete_run, rename_run
from setu.runs.reference import reference_run
from setu.runs.results import RESULT_SORTS, list_results, results_stamp
from setu.runs.service import RUNNERS, RunStateError, get_run, list_runs
from setu.schemas import MAX_ID
from setu.sharing.cache import cached, view_key
from setu.sharing.markings import MarkingSpec
from setu.sharing.read import MAX_LIMIT
from setu.sharing.roles import has_role
from setu.web.shell import PAGE_SIZE, FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)

RESULT_COLUMNS = (
    ("label", "Scenario", "text"),
    ("kind", "Kind", "text"),
    ("disrupted", "Disrupted", "text"),
    ("ttr", "TTR", "num"),
    ("tts", "TTS", "num"),
    ("lost_profit", "Loss (PI)", "num"),
    ("rei", "REI", "num"),
)
"""Sortable columns of the results table: field, heading, and whether it is text or a number."""
CHART_POINTS = 2000
"""The most results the TTS-versus-TTR chart draws (the riskiest, when a run has more)."""
REI_BARS = 15
SORT_PATTERN = re.compile("^-?(" + "|".join(RESULT_SORTS) + ")$")


def network_names(page: Page) -> dict[int, NetworkRecord]:
    """The networks the page's user may see, by id (to name the runs' networks)."""
    networks, _total = list_networks(page.session, page.principal, limit=500)
    return {n.id: n for n in networks}


def network_of(page: Page, network_id: int) -> NetworkRecord | None:
    """The network a run was computed on, to name it; None if the reader may not see it."""
    try:
        return get_network(page.session, page.principal, network_id)
    except NotFound:
        return None


def owner_names(page: Page, runs: list[RunRecord]) -> dict[int, str]:
    """Who started each run, as the page's user may know them: "you", a username, or the starter's party."""
    names = usernames(page.session, page.principal, (run.created_by for run in runs))
    owners = {}
    for run in runs:
        if run.created_by == page.principal.user_id:
            owners[run.id] = "you"
        elif run.received_from:
            owners[run.id] = f"a user of {run.origin_party} (received)"
        else:
            owners[run.id] = names.get(run.created_by) or f"a user of {run.origin_party}"
    return owners


COMPARE_CHOICES = 200
"""Completed runs a comparison form offers (newest first)."""


def compare_choices(page: Page) -> list[dict[str, Any]]:
    """The completed runs the page's user may compare, newest first, each with its network and marking."""
    runs, _total = list_runs(page.session, page.principal, status="completed", limit=COMPARE_CHOICES)
    names = networks_by_id(page.session, page.principal, {run.network_id for run in runs})
    return [{"record": run, "network": names.get(run.network_id), "marking": page.label(run)} for run in runs]


def _progress(run: RunRecord) -> dict[str, Any]:
    chosen = (run.parameters or {}).get("scenarios")
    return {
        "scenarios": "node sweep" if chosen == "sweep" else f"{len(chosen or [])} stored",
        "percent": round(100 * run.done / run.total) if run.total else (100 if run.status == "completed" else 0),
    }


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    page: PageDep,
    network: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    deleted: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The visible runs, newest first: status, progress, network and marking."""
    offset = (page_number - 1) * PAGE_SIZE
    runs, total = list_runs(page.session, page.principal, network_id=network, offset=offset, limit=PAGE_SIZE)
    names = network_names(page)
    owners = owner_names(page, runs)
    rows = [
        {
            "record": run,
            "marking": page.label(run),
            "network": names.get(run.network_id),
            "owner": owners[run.id],
            **_progress(run),
        }
        for run in runs
    ]
    return page.render(
        request,
        "runs/list.html",
        rows=rows,
        total=total,
        network=network,
        page=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
        first=offset + 1 if rows else 0,
        last=offset + len(rows),
        deleted=deleted,
    )


def _tts_text(value: float) -> str:
    if math.isinf(value):
        return "∞"
    if math.isnan(value):
        return "not computed"
    return fmt(value)


def _result_row(page: Page, row: ResultRecord) -> dict[str, Any]:
    nodes = [n for n in row.disrupted.split(";") if n]
    return {
        "record": row,
        "marking": page.label(row),
        "nodes": nodes,
        "tts": _tts_text(row.tts_relative_value),
        "tts_plain": _tts_text(row.tts_value) if row.tts_relative_value != row.tts_value else "",
        "ttr": fmt(row.ttr),
        "lost_profit": fmt(row.excess_loss),
        "baseline_loss": fmt(row.baseline_loss) if row.baseline_loss > 0 else "",
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


def _sort_links(sort: str, units: Units) -> list[dict[str, str]]:
    """Each sortable column's heading (in the network's units), its aria-sort, and the sort a click on it asks for."""
    field_, descending = sort.removeprefix("-"), sort.startswith("-")
    headings = {"ttr": f"TTR ({units.times})", "tts": f"TTS ({units.times})", "lost_profit": f"Loss (PI, {units.loss})"}
    links = []
    for name, heading, kind in RESULT_COLUMNS:
        heading = headings.get(name, heading)
        if name == field_:
            aria = "descending" if descending else "ascending"
            target = name if descending else f"-{name}"
        else:
            aria = ""
            target = f"-{name}" if kind == "num" else name
        links.append({"field": name, "heading": heading, "kind": kind, "aria": aria, "target": target})
    return links


def _results(
    page: Page,
    state: ApiState,
    run: RunRecord,
    network: NetworkRecord | None,
    listing: tuple[str, str, bool, int],
) -> dict[str, Any]:
    """The results table's page (sort, search, at risk only, page number), with the run's figures (:func:`_figures`)."""
    sort, q, at_risk, page_number = listing
    offset = (page_number - 1) * PAGE_SIZE
    units = units_of(network)
    rows, matching = list_results(
        page.session, page.principal, run.id, sort=sort, at_risk_only=at_risk, text=q, offset=offset, limit=PAGE_SIZE
    )
    return {
        **_figures(page, state, run, units),
        "rows": [_result_row(page, row) for row in rows],
        "matching": matching,
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "pages": max(1, -(-matching // PAGE_SIZE)),
        "columns": _sort_links(sort, units),
    }


def _figures(page: Page, state: ApiState, run: RunRecord, units: Units) -> dict[str, Any]:
    """The chart, the REI ranking and the counts of a completed run, computed once per reader's view.

    A completed run's results do not change; the key still holds a fingerprint of them
    (:func:`setu.runs.results.results_stamp`) with the reader's view, so readers who see different
    results never share an answer. A reader served from the cache is audited as a computing one.
    """
    session, principal = page.session, page.principal
    key = ("run.figures", view_key(principal), results_stamp(session, run))

    def compute() -> tuple[dict[str, Any], frozenset[MarkingSpec]]:
        own = Page(session, page.auth)  # collects the markings the figures show
        riskiest, everything = list_results(session, principal, run.id, sort="-rei", limit=REI_BARS)
        _risky, at_risk_total = list_results(session, principal, run.id, at_risk_only=True, limit=1)
        charted, clipped = _all_results(own, run.id, everything)
        for row in (*charted, *riskiest):
            own.label(row)
        drawn = [r for r in charted if r.tts is not None or r.tts_infinite]
        # TTS measured from the view's baseline, as "at risk" is: on a view that runs short undisrupted, plain
        # TTS is the baseline's for nearly every scenario, a flat line that puts them all under the diagonal.
        points = [ChartPoint(r.label or r.scenario_id, r.ttr, r.tts_relative_value) for r in drawn]
        bars = [(r.label or r.scenario_id, r.rei) for r in riskiest if r.rei > 0]
        figures = {
            "everything": everything,
            "at_risk_total": at_risk_total,
            "chart": Markup(tts_ttr_scatter(points, tagged=True, unit=units.times if units.time else ""))
            if points
            else None,
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
        return figures, frozenset(own.specs)

    answer = cached(state.figures, key, session, principal, compute)
    page.specs.update(answer.specs)
    return answer.value


def _run_page(
    request: Request,
    page: Page,
    state: ApiState,
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
    if not SORT_PATTERN.match(sort):
        sort = "-rei"
    network = network_of(page, run.network_id)
    listing = (sort, q, at_risk, page_number)
    results = _results(page, state, run, network, listing) if run.status == "completed" else None
    final = run.status in FINAL_STATUSES
    may_change = has_role(principal, *RUNNERS) and (run.created_by == principal.user_id or "admin" in principal.roles)
    may_cancel = not final and may_change
    mine = reference_run(session, principal, run.network_id) if run.reference else None
    return page.render(
        request,
        "runs/detail.html",
        status_code=status_code,
        run=run,
        run_marking=run_marking,
        network=network,
        final=final,
        may_cancel=may_cancel,
        may_change=may_change and not run.received_from,
        owner=owner_names(page, [run])[run.id],
        is_your_reference=mine is not None and mine.run is not None and mine.run.id == run.id,
        others=[c for c in compare_choices(page) if c["record"].id != run.id] if run.status == "completed" else [],
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
    page: PageDep,
    state: StateDep,
    run_id: int,
    sort: Annotated[str, Query(max_length=20)] = "-rei",
    q: Annotated[str, Query(max_length=300)] = "",
    at_risk: bool = False,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """A run's live progress; once completed, its results (sorted, filtered, paged), chart and ranking."""
    return _run_page(request, page, state, run_id, sort=sort, q=q, at_risk=at_risk, page_number=page_number)


def _manage(
    request: Request,
    page: Page,
    state: ApiState,
    run_id: int,
    act: Callable[[], object],
    verb: str,
    done: str,
    ended: Callable[[str], str],
) -> Response:
    """Do ``act`` to a run (cancel, rename, delete) and go to ``done``; a refusal shows why, with its status.

    ``verb`` names the act in a refusal; ``ended`` says why a run in the state it names cannot take it.
    """
    if not 1 <= run_id <= MAX_ID:
        return page.not_found(request)
    try:
        act()
    except NotFound:
        return page.not_found(request)
    except AccessDenied:
        if not has_role(page.principal, "analyst", "admin"):
            return page.forbidden(request, f"Only analysts and admins may {verb} runs.")
        return page.forbidden(request, f"Only the user who started a run, or an admin of its party, may {verb} it.")
    except RunStateError as exc:
        return _run_page(request, page, state, run_id, message=ended(exc.run_status), status_code=409)
    except InputError as exc:
        page.session.rollback()
        message = "; ".join(str(problem) for problem in exc.problems)
        return _run_page(request, page, state, run_id, message=message, status_code=422)
    page.session.commit()
    return RedirectResponse(done, status_code=303)


@router.post("/runs/{run_id}/cancel", response_class=HTMLResponse)
def run_cancel(request: Request, page: FormPageDep, state: StateDep, run_id: int) -> Response:
    """Ask a queued or running run to stop (its starter, or an admin), then show it again."""
    return _manage(
        request,
        page,
        state,
        run_id,
        lambda: cancel_run(page.session, page.principal, run_id),
        "cancel",
        f"/runs/{run_id}",
        lambda status: f"The run already ended: {status}.",
    )


@router.post("/runs/{run_id}/rename", response_class=HTMLResponse)
def run_rename(
    request: Request,
    page: FormPageDep,
    state: StateDep,
    run_id: int,
    name: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Rename a run (its starter, or an admin), then show it again; a refused name shows the page with why."""
    return _manage(
        request,
        page,
        state,
        run_id,
        lambda: rename_run(page.session, page.principal, run_id, name),
        "rename",
        f"/runs/{run_id}",
        lambda status: f"The run is {status}.",
    )


@router.post("/runs/{run_id}/delete", response_class=HTMLResponse)
def run_delete(request: Request, page: FormPageDep, state: StateDep, run_id: int) -> Response:
    """Delete an ended run and its results (its starter, or an admin), then list the runs."""
    return _manage(
        request,
        page,
        state,
        run_id,
        lambda: delete_run(page.session, page.principal, run_id),
        "delete",
        f"/runs?deleted={run_id}",
        lambda status: f"The run is {status}: cancel it before deleting it.",
    )
