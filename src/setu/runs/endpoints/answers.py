"""How answers show scenarios, runs, results and explanations: each record with its marking."""

from __future__ import annotations

import math

from setu.accounts.lookups import usernames
from setu.deps import Marker
from setu.models.stress import ResultRecord, RunRecord, ScenarioRecord
from setu.runs.compare import Comparison, Figures, ScenarioChange
from setu.runs.explanations import ExplainedResult
from setu.runs.schemas import (
    BaselineOut,
    ChangeOut,
    ComparisonOut,
    ExplanationOut,
    FiguresOut,
    FlowChangeOut,
    ProductLossOut,
    ResultOut,
    RunOut,
    ScenarioOut,
)
from setu.schemas import utc, utc_or_none


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


def run_out(marker: Marker, run: RunRecord, owners: dict[int, str] | None = None) -> RunOut:
    """A run as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    run
        The run.
    owners
        Usernames by user id the reader may see (read once for a page); read here when None.

    Returns
    -------
    RunOut
        Its state, progress, parameters and derived marking.
    """
    parameters = run.parameters or {}
    chosen = parameters.get("scenarios", [])
    if owners is None:
        owners = usernames(marker.session, marker.principal, [run.created_by])
    if run.received_from:
        started_by = ""
    elif run.created_by == marker.principal.user_id:
        started_by = "you"
    else:
        started_by = owners.get(run.created_by, "")
    return RunOut(
        id=run.id,
        network_id=run.network_id,
        name=run.name,
        reference=run.reference,
        started_by=started_by,
        origin_party=run.origin_party,
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
        cancel_requested=bool(run.cancel_requested),
        attempts=int(run.attempts or 0),
        baseline=BaselineOut(**run.baseline) if run.baseline else None,
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
        baseline_loss=row.baseline_loss,
        excess_loss=row.excess_loss,
        tts=row.tts,
        tts_infinite=row.tts_infinite,
        tts_relative=_finite_or_none(row.tts_relative_value)
        if row.tts_relative_value == row.tts_relative_value
        else None,
        tts_relative_infinite=math.isinf(row.tts_relative_value),
        rei=row.rei,
        at_risk=row.at_risk,
        marking=marker.of(row),
    )


def _finite_or_none(value: float) -> float | None:
    return None if math.isinf(value) else value


def explanation_out(marker: Marker, explained: ExplainedResult) -> ExplanationOut:
    """An explained scenario as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    explained
        The explanation from :func:`setu.runs.explanations.explain_result`.

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


def _figures_out(figures: Figures) -> FiguresOut:
    tts = figures.tts
    return FiguresOut(
        loss=figures.loss,
        tts=tts if math.isfinite(tts) else None,
        tts_infinite=math.isinf(tts),
        ttr=figures.ttr,
        at_risk=figures.at_risk,
        rei=figures.rei,
    )


def _change_out(change: ScenarioChange) -> ChangeOut:
    tts = change.tts_change
    return ChangeOut(
        scenario_id=change.scenario_id,
        label=change.label,
        disrupted=[n for n in change.disrupted.split(";") if n],
        a=_figures_out(change.a),
        b=_figures_out(change.b),
        loss_change=change.loss_change,
        tts_change=tts if math.isfinite(tts) else None,
        changed=change.changed,
    )


def comparison_out(
    marker: Marker, comparison: Comparison, shown: list[ScenarioChange], offset: int, limit: int
) -> ComparisonOut:
    """A comparison as answers show it: the page of changes ``shown``, the counts, and its marking."""
    owners = usernames(marker.session, marker.principal, [comparison.a.created_by, comparison.b.created_by])
    return ComparisonOut(
        a=run_out(marker, comparison.a, owners),
        b=run_out(marker, comparison.b, owners),
        both=len(comparison.changes),
        changed=comparison.changed,
        only_a=comparison.only_a,
        only_b=comparison.only_b,
        newly_at_risk=comparison.newly_at_risk,
        no_longer_at_risk=comparison.no_longer_at_risk,
        scale=comparison.scale,
        scale_run_id=comparison.scale_run.id if comparison.scale_run is not None else None,
        offset=offset,
        limit=limit,
        items=[_change_out(change) for change in shown],
        banner=marker.banner(comparison.spec),
        marking=marker.out(comparison.spec),
    )
