"""HTTP endpoints of scenarios, stress runs (executed in the background) and their results and exports."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from setu.deps import AuthDep, Marker, MarkerDep, SessionDep, StateDep
from setu.errors import AccessDenied, InputError
from setu.models.stress import FINAL_STATUSES, ResultRecord, RunRecord, ScenarioRecord
from setu.networks.views import compiled_view
from setu.runs.schemas import (
    ExplanationOut,
    FlowChangeOut,
    ProductLossOut,
    ResultOut,
    ResultPage,
    RunIn,
    RunOut,
    RunPage,
    RunStatus,
    ScenarioIn,
    ScenarioOut,
    ScenarioPage,
)
from setu.runs.service import (
    RESULT_SORTS,
    ExplainedResult,
    RunStateError,
    create_scenario,
    explain_result,
    export_results,
    get_run,
    get_scenario,
    list_results,
    list_runs,
    list_scenarios,
    start_run,
)
from setu.schemas import ERROR_RESPONSES, MAX_ID, ErrorBody, Text, utc, utc_or_none
from setu.sharing.policy import Principal
from setu.sharing.read import MAX_LIMIT
from setu.sharing.roles import require_role
from setu.stress import scenarios as build
from setu.stress.scenarios import Scenario

router = APIRouter(tags=["scenarios and runs"], responses=ERROR_RESPONSES)

NetworkId = Annotated[int, Path(ge=1, le=MAX_ID, description="The network's id.")]
ScenarioId = Annotated[int, Path(ge=1, le=MAX_ID, description="The stored scenario's id.")]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="The run's id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most items to return.")]
RESULT_SORT_PATTERN = "^-?(" + "|".join(RESULT_SORTS) + ")$"
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The run is not in a state that allows it."}
}
_EXPORT_ROW = {
    "type": "object",
    "properties": {
        "scenario_id": {"type": "string"},
        "disrupted": {"type": "string"},
        "ttr": {"type": "number"},
        "lost_profit": {"type": "number"},
        "tts": {"anyOf": [{"type": "number"}, {"type": "string", "enum": ["inf"]}, {"type": "null"}]},
        "rei": {"type": "number"},
    },
    "required": ["scenario_id", "disrupted", "ttr", "lost_profit", "tts", "rei"],
}
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The results as a file (CSV, JSON or Parquet).",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": _EXPORT_ROW}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
        "headers": {
            "Content-Disposition": {"description": "attachment; filename=...", "schema": {"type": "string"}},
            "X-Setu-Marking": {"description": "The banner of the run's marking (ASCII).", "schema": {"type": "string"}},
        },
    },
    **CONFLICT,
}


def scenario_out(marker: Marker, record: ScenarioRecord) -> ScenarioOut:
    """A stored scenario as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    record
        The scenario.

    Returns
    -------
    ScenarioOut
        The scenario and its marking.
    """
    return ScenarioOut(
        id=record.id,
        network_id=record.network_id,
        scenario_id=record.scenario_id,
        kind=record.kind,  # type: ignore[arg-type]
        label=record.label,
        ttr=record.ttr,
        nodes=list(record.nodes),
        severities=None if record.severities is None else list(record.severities),
        created_at=utc(record.created_at),
        marking=marker.of(record),
    )


def run_out(marker: Marker, run: RunRecord) -> RunOut:
    """A run as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    run
        The run.

    Returns
    -------
    RunOut
        Its state, progress, parameters and derived marking.
    """
    parameters = run.parameters or {}
    chosen = parameters.get("scenarios", [])
    return RunOut(
        id=run.id,
        network_id=run.network_id,
        status=run.status,  # type: ignore[arg-type]
        done=run.done,
        total=run.total,
        scenarios="sweep" if chosen == "sweep" else [int(pk) for pk in chosen],
        ttr=parameters.get("ttr"),
        compute_tts=bool(parameters.get("compute_tts", True)),
        created_at=utc(run.created_at),
        started_at=utc_or_none(run.started_at),
        finished_at=utc_or_none(run.finished_at),
        wall_seconds=run.wall_seconds,
        error=run.error,
        marking=marker.of(run),
    )


def result_out(marker: Marker, row: ResultRecord) -> ResultOut:
    """A result as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    row
        The result.

    Returns
    -------
    ResultOut
        PI, TTS, REI and the marking.
    """
    return ResultOut(
        position=row.position,
        scenario_id=row.scenario_id,
        kind=row.kind,
        label=row.label,
        disrupted=[n for n in row.disrupted.split(";") if n],
        ttr=row.ttr,
        lost_profit=row.lost_profit,
        tts=row.tts,
        tts_infinite=row.tts_infinite,
        rei=row.rei,
        at_risk=row.at_risk,
        marking=marker.of(row),
    )


def _checked_id(scenario: Scenario, body: ScenarioIn) -> Scenario:
    """The built scenario with the id and label asked for; refused if its id or label is too long to store."""
    sid = body.id or scenario.id
    label = body.label if body.label is not None else scenario.label
    if len(sid) > 200:
        raise InputError("the scenario's generated id is longer than 200 characters; give an id", "body.id")
    if len(label) > 300:
        raise InputError("the scenario's generated label is longer than 300 characters; give a label", "body.label")
    return Scenario(
        id=sid, nodes=scenario.nodes, ttr=scenario.ttr, severity=scenario.severity, kind=body.kind, label=label
    )


def build_scenario(session: Session, principal: Principal, network_id: int, body: ScenarioIn) -> Scenario:
    """The scenario ``body`` asks for, built on ``principal``'s view of the network.

    Parameters
    ----------
    session
        The request's session.
    principal
        The user.
    network_id
        The network.
    body
        The kind and its parameters.

    Returns
    -------
    Scenario
        The scenario, not yet stored. Node ids the user cannot see are kept as given, so that storing
        it answers them as not found.

    Raises
    ------
    setu.errors.ScenarioError
        If nothing matches, or no TTR is given and the nodes have no estimate.
    """
    if body.kind in ("node", "custom"):
        nodes = tuple(body.nodes or ())
        ttr = body.ttr
        if ttr is None:
            view, _ = compiled_view(session, principal, network_id)
            known = [view.index_of(n) for n in nodes if view.has_node(n)]
            # A node outside the view is hidden or missing: create_scenario answers it as not found.
            ttr = build.scenario_ttr(view, known, None, f"{body.kind} scenario") if len(known) == len(nodes) else 0.0
        severity = None if body.severities is None else tuple(body.severities)
        default_id = f"{body.kind}:{'+'.join(nodes)}"
        label = f"{body.kind}: {', '.join(nodes)}"
        return _checked_id(Scenario(default_id, nodes, ttr, severity, body.kind, label[:300]), body)
    view, _ = compiled_view(session, principal, network_id)
    if body.kind in ("site", "organization", "party", "country"):
        built = build.by_attribute(view, body.kind, body.value or "", body.ttr)
    elif body.kind == "material":
        built = build.by_material(view, body.value or "", body.ttr)
    elif body.kind == "chokepoint":
        built = build.by_chokepoint(view, body.value or "", body.ttr)
    else:
        built = build.export_control(
            view, body.materials or [], body.countries or [], body.ttr, body.severity, body.label or ""
        )
    return _checked_id(built, body)


@router.post("/networks/{network_id}/scenarios", status_code=201)
def new_scenario(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId, body: ScenarioIn
) -> ScenarioOut:
    """Build a scenario on your view of the network and store it (analyst or admin).

    Its marking is the most restrictive of the network's and every disrupted node's. A node you may
    not see is answered 404 exactly as one that does not exist.
    """
    require_role(session, auth.principal, "scenario.create", "analyst", "admin")
    scenario = build_scenario(session, auth.principal, network_id, body)
    out = scenario_out(marker, create_scenario(session, auth.principal, network_id, scenario))
    session.commit()
    return out


@router.get("/networks/{network_id}/scenarios")
def get_scenarios(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId, offset: Offset = 0, limit: Limit = 100
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


@router.post("/networks/{network_id}/runs", status_code=202)
def new_run(
    auth: AuthDep, session: SessionDep, state: StateDep, marker: MarkerDep, network_id: NetworkId, body: RunIn
) -> RunOut:
    """Queue a stress run on your view of the network and start it in the background (analyst or admin).

    Poll ``GET /runs/{id}`` for its progress. The run's marking admits only those who see every
    record it used.
    """
    principal = auth.principal
    require_role(session, principal, "run.start", "analyst", "admin")
    chosen: list[int] | Literal["sweep"] = "sweep" if body.sweep else list(body.scenario_ids or [])
    run = start_run(
        session,
        principal,
        network_id,
        chosen,
        ttr=body.ttr,
        jobs=state.settings.run_jobs,
        compute_tts=body.compute_tts,
    )
    out = run_out(marker, run)
    session.commit()
    state.jobs.start(run.id, principal)
    return out


@router.get("/runs")
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
    items = [run_out(marker, row) for row in rows]
    out = marker.listing(RunPage, rows, items, total, offset, limit)
    session.commit()
    return out


@router.get("/runs/{run_id}")
def get_one_run(auth: AuthDep, session: SessionDep, marker: MarkerDep, run_id: RunId) -> RunOut:
    """A run: status (queued, running, completed, failed, cancelled) and progress (done of total)."""
    out = run_out(marker, get_run(session, auth.principal, run_id))
    session.commit()
    return out


@router.post("/runs/{run_id}/cancel", status_code=202, responses=CONFLICT)
def cancel_run(auth: AuthDep, session: SessionDep, state: StateDep, marker: MarkerDep, run_id: RunId) -> RunOut:
    """Ask a queued or running run to stop (its starter, or an admin); it ends ``cancelled`` with no result."""
    principal = auth.principal
    require_role(session, principal, "run.cancel", "analyst", "admin")
    run = get_run(session, principal, run_id)
    if run.created_by != principal.user_id and "admin" not in principal.roles:
        raise AccessDenied("only the user who started a run, or an admin, may cancel it")
    if run.status in FINAL_STATUSES:
        raise RunStateError(f"run {run_id} already ended: {run.status}")
    out = run_out(marker, run)
    session.commit()
    if not state.jobs.cancel(run_id):
        raise RunStateError(f"run {run_id} is not executing in this server")
    return out


@router.get("/runs/{run_id}/results")
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


@router.get("/runs/{run_id}/export", response_class=Response, responses=EXPORT_RESPONSES)
def export(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    run_id: RunId,
    format: Literal["csv", "json", "parquet"] = "csv",
) -> Response:
    """Every result of a completed run as a file download: CSV, JSON or Parquet."""
    run = get_run(session, auth.principal, run_id)
    if run.status != "completed":
        raise RunStateError(f"run {run_id} is {run.status}; only a completed run's results can be exported")
    data = export_results(session, auth.principal, run_id, format)
    banner = marker.banner(marker.spec(run)).encode("ascii", "replace").decode("ascii")
    session.commit()
    headers = {
        "Content-Disposition": f'attachment; filename="setu-run-{run_id}-results.{format}"',
        "X-Setu-Marking": banner,
    }
    return Response(content=data, media_type=MEDIA_TYPES[format], headers=headers)


def _finite_or_none(value: float) -> float | None:
    return None if math.isinf(value) else value


def explanation_out(marker: Marker, explained: ExplainedResult) -> ExplanationOut:
    """An explained scenario as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    explained
        The explanation from :func:`setu.runs.service.explain_result`.

    Returns
    -------
    ExplanationOut
        Losses, binding materials, re-routed shipments and the marking.
    """
    e = explained.explanation
    s = e.scenario
    return ExplanationOut(
        run_id=explained.run.id,
        scenario_id=s.id,
        kind=s.kind,
        label=s.label,
        disrupted=list(s.nodes),
        severities=None if s.severity is None else list(s.severity),
        ttr=s.ttr,
        lost_profit=e.lost_profit,
        base_lost_profit=e.base_lost_profit,
        tts=_finite_or_none(e.tts),
        tts_infinite=math.isinf(e.tts),
        base_tts=_finite_or_none(e.base_tts),
        base_tts_infinite=math.isinf(e.base_tts),
        at_risk=e.tts < s.ttr,
        first_short=list(e.first_short),
        losses=[
            ProductLossOut(
                product=loss.product,
                lost_units=loss.lost_units,
                lost_value=loss.lost_value,
                demand_over_ttr=loss.demand_over_ttr,
                binding=loss.binding,
                binding_suppliers=list(loss.binding_suppliers),
            )
            for loss in e.losses
        ],
        rerouted=[
            FlowChangeOut(
                supplier=f.supplier,
                customer=f.customer,
                material=f.material,
                base=f.base,
                scenario=f.scenario,
                change=f.change,
            )
            for f in e.rerouted
        ],
        marking=marker.out(explained.marking),
    )


@router.get("/runs/{run_id}/explain", responses=CONFLICT)
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
