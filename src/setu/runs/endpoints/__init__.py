"""HTTP endpoints of scenarios, stress runs (executed in the background) and their results and exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from setu.accounts.lookups import usernames
from setu.audit.log import record
from setu.deps import AuthDep, MarkerDep, SessionDep, StateDep
from setu.networks.reads import require_network
from setu.report.run import run_report_pdf
from setu.runs import manage
from setu.runs.compare import compare_runs
from setu.runs.endpoints.answers import comparison_out, explanation_out, result_out, run_out, scenario_out
from setu.runs.explanations import explain_result
from setu.runs.forms import JobsDep
from setu.runs.reference import reference_run
from setu.runs.results import RESULT_SORTS, export_results, list_results, require_run
from setu.runs.scenarios import build_scenario, create_scenario, get_scenario, list_scenarios
from setu.runs.schemas import (
    EXPORT_RESPONSES,
    MEDIA_TYPES,
    REPORT_RESPONSES,
    ComparisonOut,
    ExplanationOut,
    ReferenceOut,
    ResultPage,
    RunIn,
    RunOut,
    RunPage,
    RunRename,
    RunStatus,
    ScenarioIn,
    ScenarioOut,
    ScenarioPage,
)
from setu.runs.service import RunStateError, get_run, list_runs, start_run
from setu.schemas import ERROR_RESPONSES, MAX_ID, ErrorBody, Text
from setu.sharing.read import MAX_LIMIT

router = APIRouter(prefix="/runs", tags=["scenarios and runs"], responses=ERROR_RESPONSES)

NetworkQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="The network's id.")]
ScenarioId = Annotated[int, Path(ge=1, le=MAX_ID, description="The stored scenario's id.")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="The run's id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most items to return.")]
RESULT_SORT_PATTERN = "^-?(" + "|".join(RESULT_SORTS) + ")$"
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The run is not in a state that allows it."}
}
LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "You have as many runs queued or running as one user may (Retry-After)."}
}


@router.post("/scenarios", status_code=201)
def new_scenario(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: ScenarioIn) -> ScenarioOut:
    """Build a scenario on your view of network ``network_id`` and store it (analyst or admin).

    Its marking is the most restrictive of the network's and every disrupted node's. A node you may
    not see is answered 404 exactly as one that does not exist.
    """
    scenario = build_scenario(session, auth.principal, body.network_id, body)
    out = scenario_out(marker, create_scenario(session, auth.principal, body.network_id, scenario))
    session.commit()
    return out


@router.get("/scenarios")
def get_scenarios(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    network_id: NetworkQuery,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ScenarioPage:
    """Visible scenarios of a network, by scenario id."""
    rows, total = list_scenarios(session, auth.principal, network_id, offset=offset, limit=limit)
    items = [scenario_out(marker, row) for row in rows]
    out = marker.listing(ScenarioPage, rows, items, total, offset, limit)
    session.commit()
    return out


@router.get("/scenarios/{scenario_id}")
def get_one_scenario(auth: AuthDep, session: SessionDep, marker: MarkerDep, scenario_id: ScenarioId) -> ScenarioOut:
    """One stored scenario."""
    out = scenario_out(marker, get_scenario(session, auth.principal, scenario_id))
    session.commit()
    return out


@router.post("", status_code=202, responses=LIMITED)
def new_run(
    auth: AuthDep, session: SessionDep, state: StateDep, jobs: JobsDep, marker: MarkerDep, body: RunIn
) -> RunOut:
    """Queue a stress run on your view of network ``network_id`` and start it in the background (analyst or admin).

    Poll ``GET /runs/{id}`` for its progress. The run's marking admits only those who see every
    record it used. It waits ``queued`` until a worker is free. A user with ``SETU_MAX_ACTIVE_RUNS``
    runs queued or running is answered 429, a server whose queue is full 503 (both with
    ``Retry-After``), and nothing is stored.
    """
    principal = auth.principal
    chosen: list[int] | Literal["sweep"] = "sweep" if body.sweep else list(body.scenario_ids or [])
    run = jobs.submit(
        session,
        principal,
        lambda: start_run(
            session,
            principal,
            body.network_id,
            chosen,
            ttr=body.ttr,
            compute_tts=body.compute_tts,
            **state.settings.run_placement(),
            views=state.views,
            name=body.name,
            reference=body.reference,
        ),
    )
    return run_out(marker, run)


@router.get("")
def get_runs(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    network_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: RunStatus | None = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> RunPage:
    """Visible runs, newest first, optionally of one network and in one status."""
    rows, total = list_runs(session, auth.principal, network_id=network_id, status=status, offset=offset, limit=limit)
    owners = usernames(session, auth.principal, (row.created_by for row in rows))
    items = [run_out(marker, row, owners) for row in rows]
    out = marker.listing(RunPage, rows, items, total, offset, limit)
    session.commit()
    return out


@router.get("/reference")
def get_reference(auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkQuery) -> ReferenceOut:
    """Your reference sweep of a network: the newest completed node sweep flagged ``reference`` that was computed
    on exactly your view (the records you may see, under the markings they carry now).

    Ad-hoc runs never take its place. A sweep computed on another view (a partner's narrower one) is not
    your picture of the network and is never used, even when you may read it; ``other_views`` says one
    exists. Start one with ``POST /runs`` and ``sweep: true, reference: true``.
    """
    require_network(session, auth.principal, network_id, "run.reference")
    choice = reference_run(session, auth.principal, network_id)
    record(
        session,
        auth.principal,
        "run.reference",
        "network",
        network_id,
        details={
            "run": choice.run.id if choice.run else None,
            "pending": choice.pending.id if choice.pending else None,
        },
    )
    out = ReferenceOut(
        run=run_out(marker, choice.run) if choice.run else None,
        pending=run_out(marker, choice.pending) if choice.pending else None,
        other_views=choice.stale,
    )
    session.commit()
    return out


@router.get("/compare", responses={413: {"model": ErrorBody, "description": "A run has too many results."}})
def get_comparison(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    a: Annotated[int, Query(ge=1, le=MAX_ID, description="The first run.")],
    b: Annotated[int, Query(ge=1, le=MAX_ID, description="The run compared with it.")],
    changed_only: bool = False,
    offset: Offset = 0,
    limit: Limit = 100,
) -> ComparisonOut:
    """Two completed runs, scenario by scenario: what changed from ``a`` to ``b``, the largest change first.

    Scenarios are matched by id, whichever network version each run was computed on. REI is rescaled to
    one yardstick for both runs: the largest loss beyond the baseline in your reference sweep of ``a``'s
    network (``scale_run_id``), else in the two runs together. The answer carries the most restrictive
    marking of both runs, their results and that sweep.
    """
    comparison = compare_runs(session, auth.principal, a, b)
    shown = [c for c in comparison.changes if c.changed] if changed_only else comparison.changes
    out = comparison_out(marker, comparison, shown[offset : offset + limit], offset, limit)
    session.commit()
    return out


@router.get("/{run_id}")
def get_one_run(auth: AuthDep, session: SessionDep, marker: MarkerDep, run_id: RunId) -> RunOut:
    """A run: status (queued, running, completed, failed, cancelled) and progress (done of total)."""
    out = run_out(marker, get_run(session, auth.principal, run_id))
    session.commit()
    return out


@router.post("/{run_id}/cancel", status_code=202, responses=CONFLICT)
def cancel_run(auth: AuthDep, session: SessionDep, marker: MarkerDep, run_id: RunId) -> RunOut:
    """Ask a queued or running run to stop (its starter, or an admin of its party): it ends ``cancelled``, no result.

    A queued run is ``cancelled`` at once; a running one at its worker's next heartbeat, in whichever
    process executes it (the answer shows it ``running`` with ``cancel_requested``).
    """
    out = run_out(marker, manage.cancel_run(session, auth.principal, run_id))
    session.commit()
    return out


@router.patch("/{run_id}")
def patch_run(auth: AuthDep, session: SessionDep, marker: MarkerDep, run_id: RunId, body: RunRename) -> RunOut:
    """Rename a run (its starter, or an admin of its party)."""
    out = run_out(marker, manage.rename_run(session, auth.principal, run_id, body.name))
    session.commit()
    return out


@router.delete("/{run_id}", status_code=204, responses=CONFLICT)
def remove_run(auth: AuthDep, session: SessionDep, run_id: RunId) -> Response:
    """Delete an ended run and its results (its starter, or an admin of its party); a queued or running one: 409."""
    manage.delete_run(session, auth.principal, run_id)
    session.commit()
    return Response(status_code=204)


@router.get("/{run_id}/results")
def get_results(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    run_id: RunId,
    sort: Annotated[
        str, Query(pattern=RESULT_SORT_PATTERN, description="A column; `-` first for descending.")
    ] = "-rei",
    min_rei: Annotated[
        float | None, Query(allow_inf_nan=False, description="Only results with REI at least this.")
    ] = None,
    at_risk: Annotated[bool, Query(description="Only results whose TTS is shorter than their TTR.")] = False,
    q: Annotated[Text, Query(max_length=300, description="Text in the scenario id, label or disrupted nodes.")] = "",
    offset: Offset = 0,
    limit: Limit = 100,
) -> ResultPage:
    """Results of a run, filtered, sorted and paged."""
    rows, total = list_results(
        session,
        auth.principal,
        run_id,
        sort=sort,
        min_rei=min_rei,
        at_risk_only=at_risk,
        text=q,
        offset=offset,
        limit=limit,
    )
    items = [result_out(marker, row) for row in rows]
    out = marker.listing(ResultPage, rows, items, total, offset, limit)
    session.commit()
    return out


@router.get("/{run_id}/export", response_class=Response, responses=EXPORT_RESPONSES)
def export(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    run_id: RunId,
    format: Literal["csv", "json", "parquet", "xlsx"] = "csv",
) -> Response:
    """Every result of a completed run as a file download: CSV, JSON, Parquet or Excel, its marking inside.

    CSV: the banner in the first and last rows; JSON: ``{"marking": {...}, "results": [...]}``; Parquet:
    the ``setu.marking`` schema metadata; Excel: the banner above and below the table and in every
    printed page's header and footer. ``X-Setu-Marking`` repeats the banner.
    """
    # Read as the export it is: a refusal is audited as a denied results.export, not a denied read.
    run = require_run(session, auth.principal, run_id, "results.export")
    if run.status != "completed":
        raise RunStateError(f"run {run_id} is {run.status}; only a completed run's results can be exported")
    data, spec = export_results(session, auth.principal, run_id, format)
    banner = marker.banner(spec).encode("ascii", "replace").decode("ascii")
    session.commit()
    headers = {
        "Content-Disposition": f'attachment; filename="setu-run-{run_id}-results.{format}"',
        "X-Setu-Marking": banner,
    }
    return Response(content=data, media_type=MEDIA_TYPES[format], headers=headers)


@router.get("/{run_id}/report.pdf", response_class=Response, responses=REPORT_RESPONSES)
def report_pdf(auth: AuthDep, session: SessionDep, marker: MarkerDep, run_id: RunId) -> Response:
    """A completed run's report as a PDF printed by Chromium on the server: its figures and riskiest scenarios.

    The banner of the results you may see is printed at the top and the bottom of every page and is the
    document's title; ``X-Setu-Marking`` repeats it. 503 where the server has no Chromium, 429 while
    :data:`setu.report.pdf.MAX_PRINTS` reports are printing.
    """
    run = require_run(session, auth.principal, run_id, "results.export")
    if run.status != "completed":
        raise RunStateError(f"run {run_id} is {run.status}; only a completed run has a report")
    data, spec = run_report_pdf(session, auth.principal, run_id)
    banner = marker.banner(spec).encode("ascii", "replace").decode("ascii")
    session.commit()
    headers = {"Content-Disposition": f'attachment; filename="setu-run-{run_id}-report.pdf"', "X-Setu-Marking": banner}
    return Response(content=data, media_type="application/pdf", headers=headers)


@router.get("/{run_id}/explain", responses=CONFLICT)
def get_explanation(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    run_id: RunId,
    scenario: Annotated[Text, Query(min_length=1, max_length=200, description="The result's scenario id.")],
) -> ExplanationOut:
    """Why one scenario of a completed run scores as it does, computed on your view of the network.

    Which products lose and how much, which material binds, which shipments were re-routed. It
    carries the run's marking; a run or scenario you may not see answers 404 as a missing one.
    """
    out = explanation_out(marker, explain_result(session, auth.principal, run_id, scenario))
    session.commit()
    return out
