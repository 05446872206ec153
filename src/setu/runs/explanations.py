"""Explanations: why one scenario of a completed run scores as it does, recomputed on the reader's view."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import ScenarioError
from setu.models.stress import ResultRecord, RunRecord, ScenarioRecord
from setu.networks.views import compiled_view
from setu.runs.results import require_run
from setu.runs.service import RunStateError
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.policy import Principal
from setu.sharing.read import deny, fetch_visible, readable
from setu.stress.explain import Explanation, explain
from setu.stress.scenarios import Scenario, validate_scenario

__all__ = ["ExplainedResult", "explain_result"]


@dataclass(frozen=True, slots=True)
class ExplainedResult:
    """Why one scenario of a run scores as it does, and the marking the explanation carries."""

    run: RunRecord
    result: ResultRecord
    explanation: Explanation
    marking: MarkingSpec
    """The run's marking, made more restrictive by whatever the view it was computed on holds now."""


def explain_result(session: Session, principal: Principal, run_id: int, scenario_key: str) -> ExplainedResult:
    """Explain the scenario ``scenario_key`` of a completed run on the user's view of its network.

    The scenario is rebuilt from the stored result (its disrupted nodes and TTR as run) and, for a run
    of stored scenarios, the stored scenario's severities; :func:`setu.stress.explain.explain` then
    solves it with full solutions on the user's marking-filtered view: which products lose and how
    much, which material binds, where shipments were re-routed.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The reading user.
    run_id
        The run.
    scenario_key
        The result's scenario id (the first result of that id, if a run holds several).

    Returns
    -------
    ExplainedResult
        The run, the result, the explanation and its marking: the run's, combined with the marking
        of every record of the view the explanation was computed on (the same as the run's while the
        network has not changed since).

    Raises
    ------
    setu.errors.NotFound
        If there is no such run or result, or the user may not see it (audited as denied).
    RunStateError
        If the run has not completed.
    setu.errors.ScenarioError
        If the scenario no longer fits the user's view (the network changed since the run).
    setu.errors.ViewError
        If the user's view has no product.
    """
    action = "results.explain"
    run = require_run(session, principal, run_id, action)
    if run.status != "completed":
        raise RunStateError(f"run {run_id} is {run.status}; only a completed run's scenarios can be explained")
    conditions = [ResultRecord.run_id == run_id, ResultRecord.scenario_id == scenario_key]
    result = session.scalars(
        readable(principal, ResultRecord).where(*conditions).order_by(ResultRecord.position).limit(1)
    ).first()
    if result is None:
        raise deny(session, principal, action, "scenario", scenario_key, details={"run_id": run_id})
    severity: tuple[float, ...] | None = None
    chosen = run.parameters.get("scenarios")
    if isinstance(chosen, list) and result.position < len(chosen):
        pk = int(chosen[result.position])
        stored = fetch_visible(
            session,
            principal,
            ScenarioRecord,
            [ScenarioRecord.id == pk],
            action=action,
            kind="scenario",
            key=pk,
            audit_permit=False,
        )
        severity = None if stored.severities is None else tuple(float(v) for v in stored.severities)
    scenario = Scenario(
        id=result.scenario_id,
        nodes=tuple(node for node in result.disrupted.split(";") if node),
        ttr=result.ttr,
        severity=severity,
        kind=result.kind,
        label=result.label,
    )
    view, used = compiled_view(session, principal, run.network_id)
    try:
        validate_scenario(view, scenario)
    except ScenarioError as exc:
        raise ScenarioError(f"the network has changed since run {run_id}: {exc}") from None
    explanation = explain(view, scenario)
    marking = combine(used | {MarkingSpec.of(run.marking)}, run.origin_party)
    record(session, principal, action, "run", run_id, details={"scenario_id": scenario_key})
    return ExplainedResult(run, result, explanation, marking)
