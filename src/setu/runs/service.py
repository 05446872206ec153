"""Stored scenarios, stress runs on each user's view of a network, and results under the run's derived marking."""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from sqlalchemy import ColumnElement, CursorResult, false, func, insert, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.db import transaction
from setu.errors import Conflict, InputError, NotFound, ScenarioError
from setu.models.base import utcnow
from setu.models.networks import NodeRecord
from setu.models.stress import ResultRecord, RunRecord, ScenarioRecord
from setu.network.compile import CompiledNetwork
from setu.networks.reads import require_network
from setu.networks.views import compiled_view
from setu.sharing.markings import MarkingSpec, combine, marking_specs, store
from setu.sharing.policy import Principal, visible
from setu.sharing.read import contains, deny, fetch_visible, page
from setu.stress.engine import RESULT_COLUMNS, run_scenarios
from setu.stress.explain import Explanation, explain
from setu.stress.scenarios import KINDS, Scenario, node_sweep, validate_scenario

__all__ = [
    "EXPORT_FORMATS",
    "RESULT_SORTS",
    "ExplainedResult",
    "NotFound",
    "RunStateError",
    "create_scenario",
    "execute_run",
    "explain_result",
    "export_results",
    "get_run",
    "get_scenario",
    "list_results",
    "list_runs",
    "list_scenarios",
    "start_run",
    "to_scenario",
]

EXPORT_FORMATS = ("csv", "json", "parquet")
RESULT_SORTS = ("position", "scenario_id", "kind", "label", "disrupted", "ttr", "lost_profit", "tts", "rei")
"""Columns :func:`list_results` sorts on; prefix ``-`` for descending."""
ERROR_CHARS = 4000


class RunStateError(Conflict):
    """A run cannot do what was asked in its present state (e.g. executing one that already ran)."""


class _Cancelled(Exception):
    """Raised inside a run when its cancel event is set."""


# --- scenarios ----------------------------------------------------------------------------------------


def _check_values(scenario: Scenario) -> None:
    where = f"scenario {scenario.id!r}"
    if not scenario.id:
        raise ScenarioError("a scenario needs an id")
    if scenario.kind not in KINDS:
        raise ScenarioError(f"{where}: kind must be one of {', '.join(KINDS)}, got {scenario.kind!r}")
    if not scenario.nodes:
        raise ScenarioError(f"{where}: disrupts no node")
    if len(set(scenario.nodes)) != len(scenario.nodes):
        raise ScenarioError(f"{where}: a node is listed twice")
    if not isinstance(scenario.ttr, (int, float)) or not math.isfinite(scenario.ttr) or scenario.ttr < 0:
        raise ScenarioError(f"{where}: TTR must be a finite number >= 0, got {scenario.ttr!r}")
    if scenario.severity is not None:
        if len(scenario.severity) != len(scenario.nodes):
            raise ScenarioError(f"{where}: one severity per disrupted node expected")
        if not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in scenario.severity):
            raise ScenarioError(f"{where}: severity must be between 0 and 1")


def create_scenario(session: Session, principal: Principal, network_id: int, scenario: Scenario) -> ScenarioRecord:
    """Store ``scenario`` on network ``network_id``, after checking it against the user's view.

    Its marking is the most restrictive of the network's and of every node it names.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The user creating it.
    network_id
        The network it disrupts.
    scenario
        The scenario; its node ids are those users know.

    Returns
    -------
    ScenarioRecord
        The stored scenario (flushed).

    Raises
    ------
    NotFound
        If the network, or a node the scenario names, does not exist or the user may not see it
        (naming the first such node as given; audited as denied).
    setu.errors.ScenarioError
        If the TTR, severities or id are bad, or the user already has a scenario of that id here.
    """
    network = require_network(session, principal, network_id, "scenario.create")
    _check_values(scenario)
    found: dict[str, int] = {
        node_id: marking_id
        for node_id, marking_id in session.execute(
            select(NodeRecord.node_id, NodeRecord.marking_id).where(
                NodeRecord.network_id == network_id,
                NodeRecord.node_id.in_(scenario.nodes),
                visible(NodeRecord.marking_id, principal),
            )
        ).all()
    }
    missing = [node for node in scenario.nodes if node not in found]
    if missing:
        hidden = (
            session.scalar(
                select(func.count()).where(NodeRecord.network_id == network_id, NodeRecord.node_id == missing[0])
            )
            or 0
        )
        raise deny(
            session,
            principal,
            "scenario.create",
            "node",
            missing[0],
            hidden=hidden > 0,
            details={"network_id": network_id, "scenario_id": scenario.id},
        )
    taken = session.scalar(
        select(func.count()).where(
            ScenarioRecord.network_id == network_id,
            ScenarioRecord.created_by == principal.user_id,
            ScenarioRecord.scenario_id == scenario.id,
        )
    )
    if taken:
        raise ScenarioError(f"you already have a scenario {scenario.id!r} on this network")
    spec = combine(marking_specs(session, [network.marking_id, *found.values()]), principal.party)
    stored = ScenarioRecord(
        network_id=network_id,
        scenario_id=scenario.id,
        kind=scenario.kind,
        label=scenario.label or scenario.id,
        ttr=float(scenario.ttr),
        nodes=list(scenario.nodes),
        severities=None if scenario.severity is None else [float(v) for v in scenario.severity],
        created_by=principal.user_id,
        marking_id=store(session, spec).id,
    )
    session.add(stored)
    session.flush()
    record(
        session,
        principal,
        "scenario.create",
        "scenario",
        stored.id,
        details={"network_id": network_id, "scenario_id": scenario.id, "nodes": len(scenario.nodes)},
    )
    return stored


def to_scenario(stored: ScenarioRecord) -> Scenario:
    """The stored scenario as the stress engine takes it."""
    return Scenario(
        id=stored.scenario_id,
        nodes=tuple(stored.nodes),
        ttr=stored.ttr,
        severity=None if stored.severities is None else tuple(stored.severities),
        kind=stored.kind,
        label=stored.label,
    )


def list_scenarios(
    session: Session, principal: Principal, network_id: int, *, offset: int = 0, limit: int = 100
) -> tuple[list[ScenarioRecord], int]:
    """Visible scenarios of a visible network, by scenario id.

    Returns
    -------
    tuple[list[ScenarioRecord], int]
        The page and how many visible scenarios the network has.

    Raises
    ------
    NotFound
        If there is no such network or the user may not see it.
    """
    offset, limit = page(offset, limit)
    require_network(session, principal, network_id, "scenario.list")
    conditions = [ScenarioRecord.network_id == network_id, visible(ScenarioRecord.marking_id, principal)]
    total = session.scalar(select(func.count()).select_from(ScenarioRecord).where(*conditions)) or 0
    rows = session.scalars(
        select(ScenarioRecord)
        .where(*conditions)
        .order_by(ScenarioRecord.scenario_id, ScenarioRecord.id)
        .offset(offset)
        .limit(limit)
    ).all()
    record(session, principal, "scenario.list", "network", network_id, details={"total": total})
    return list(rows), total


def get_scenario(session: Session, principal: Principal, scenario_pk: int) -> ScenarioRecord:
    """The stored scenario ``scenario_pk``.

    Raises
    ------
    NotFound
        If there is no such scenario or the user may not see it.
    """
    return fetch_visible(
        session,
        principal,
        ScenarioRecord,
        [ScenarioRecord.id == scenario_pk],
        action="scenario.read",
        kind="scenario",
        key=scenario_pk,
    )


# --- runs ---------------------------------------------------------------------------------------------


def _scenarios_of(
    session: Session,
    principal: Principal,
    network_id: int,
    parameters: dict[str, Any],
    view: CompiledNetwork,
    action: str,
) -> tuple[list[Scenario], set[MarkingSpec]]:
    """The scenarios a run's parameters name, checked against ``view``, and their markings."""
    ttr: float | None = parameters.get("ttr")
    chosen = parameters["scenarios"]
    if chosen == "sweep":
        return node_sweep(view, ttr), set()
    wanted = [int(pk) for pk in chosen]
    stored = {
        row.id: row
        for row in session.scalars(
            select(ScenarioRecord).where(
                ScenarioRecord.id.in_(wanted),
                ScenarioRecord.network_id == network_id,
                visible(ScenarioRecord.marking_id, principal),
            )
        )
    }
    missing = [pk for pk in wanted if pk not in stored]
    if missing:
        exists = session.scalar(
            select(func.count()).where(ScenarioRecord.id == missing[0], ScenarioRecord.network_id == network_id)
        )
        raise deny(session, principal, action, "scenario", missing[0], hidden=bool(exists))
    scenarios = [to_scenario(stored[pk]) for pk in wanted]
    if ttr is not None:
        scenarios = [
            Scenario(id=s.id, nodes=s.nodes, ttr=ttr, severity=s.severity, kind=s.kind, label=s.label)
            for s in scenarios
        ]
    for scenario in scenarios:
        validate_scenario(view, scenario)
    return scenarios, marking_specs(session, (row.marking_id for row in stored.values()))


def start_run(
    session: Session,
    principal: Principal,
    network_id: int,
    scenarios: Sequence[int] | Literal["sweep"],
    *,
    ttr: float | None = None,
    jobs: int = 1,
    compute_tts: bool = True,
) -> RunRecord:
    """Queue a stress run of ``scenarios`` on the user's view of network ``network_id``.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The runner.
    network_id
        The network.
    scenarios
        Stored scenario ids (:attr:`ScenarioRecord.id`), or ``"sweep"``: one scenario per visible
        supplying node.
    ttr
        For the sweep, the TTR of every scenario (default: each node's own estimate); for stored
        scenarios, replaces their TTR when given.
    jobs
        Worker processes for :func:`setu.stress.engine.run_scenarios` (0: one per CPU).
    compute_tts
        Also compute time-to-survive.

    Returns
    -------
    RunRecord
        The queued run (flushed); run it with :func:`execute_run`. Its marking is derived: the most
        restrictive of the marking of every record of the runner's view and of each stored scenario,
        with the runner's party as origin, so only users who see all of them see the run.

    Raises
    ------
    NotFound
        If the network or a scenario does not exist or the user may not see it.
    setu.errors.ScenarioError
        If a scenario does not fit the user's view or the sweep has no TTR.
    """
    if jobs < 0:
        raise InputError(f"jobs must be >= 0, got {jobs}")
    if ttr is not None and (not math.isfinite(ttr) or ttr < 0):
        raise ScenarioError(f"TTR must be a finite number >= 0, got {ttr!r}")
    chosen: list[int] | str = "sweep" if scenarios == "sweep" else [int(pk) for pk in scenarios]
    if not chosen:
        raise ScenarioError("a run needs at least one scenario")
    parameters: dict[str, Any] = {"scenarios": chosen, "ttr": ttr, "jobs": jobs, "compute_tts": compute_tts}
    require_network(session, principal, network_id, "run.start")
    view, used = compiled_view(session, principal, network_id)
    selected, scenario_specs = _scenarios_of(session, principal, network_id, parameters, view, "run.start")
    spec = combine(used | scenario_specs, principal.party)
    run = RunRecord(
        network_id=network_id,
        created_by=principal.user_id,
        origin_party=principal.party,
        status="queued",
        done=0,
        total=len(selected),
        parameters=parameters,
        marking_id=store(session, spec).id,
    )
    session.add(run)
    session.flush()
    record(session, principal, "run.start", "run", run.id, details={"network_id": network_id, **parameters})
    return run


def _run_conditions(principal: Principal, run_id: int) -> list[ColumnElement[bool]]:
    return [RunRecord.id == run_id, visible(RunRecord.marking_id, principal)]


def execute_run(
    factory: sessionmaker[Session],
    run_id: int,
    principal: Principal,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunRecord:
    """Compute a queued run on its runner's view and store its results.

    Parameters
    ----------
    factory
        Sessions to the database; each step is its own transaction.
    run_id
        The queued run.
    principal
        The runner (the user who started it).
    cancel
        Set it to stop the run: it ends ``cancelled`` with no result.
    progress
        Also called with (scenarios done, scenarios in all) as work completes.

    Returns
    -------
    RunRecord
        The run as it ended: ``completed``, ``failed`` (with ``error``) or ``cancelled``.

    Raises
    ------
    NotFound
        If there is no such run or the user may not see it.
    RunStateError
        If the run is not queued, or the user did not start it.

    Notes
    -----
    A run stopped part-way never looks finished: progress is kept in short transactions of its
    own; every result and the ``completed`` status are written in one final transaction; any error
    leaves ``failed`` with the error and no result, a cancellation ``cancelled`` with no result. The
    run's marking is derived again from the view it executes on (the view may have changed since it
    was queued), and its results carry that marking.
    """
    with transaction(factory) as session:
        run = fetch_visible(
            session,
            principal,
            RunRecord,
            [RunRecord.id == run_id],
            action="run.execute",
            kind="run",
            key=run_id,
            audit_permit=False,
        )
        if run.created_by != principal.user_id:
            details = {"reason": "only the user who started a run may execute it"}
            record(session, principal, "run.execute", "run", run_id, decision="deny", details=details)
            session.commit()
            raise RunStateError(f"run {run_id} was started by another user; only they may execute it")
        claimed = session.execute(
            update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.status == "queued")
            .values(status="running", started_at=utcnow())
        )
        if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
            raise RunStateError(f"run {run_id} is {run.status}, not queued")
        record(session, principal, "run.execute", "run", run_id)
        network_id, parameters = run.network_id, dict(run.parameters)
    try:
        _compute(factory, run_id, principal, network_id, parameters, cancel, progress)
    except _Cancelled:
        _finish(factory, run_id, principal, "cancelled", "")
    except BaseException as exc:
        _finish(factory, run_id, principal, "failed", f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
        if not isinstance(exc, Exception):
            raise
    with factory() as session:
        return session.scalars(select(RunRecord).where(RunRecord.id == run_id)).one()


def _compute(
    factory: sessionmaker[Session],
    run_id: int,
    principal: Principal,
    network_id: int,
    parameters: dict[str, Any],
    cancel: threading.Event | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Everything after claiming the run; raises :class:`_Cancelled` when cancelled."""
    with transaction(factory) as session:
        view, used = compiled_view(session, principal, network_id)
        scenarios, scenario_specs = _scenarios_of(session, principal, network_id, parameters, view, "run.execute")
        # The view may have changed since the run was queued: derive the marking again from what it uses now.
        marking_id = store(session, combine(used | scenario_specs, principal.party)).id
        session.execute(
            update(RunRecord).where(RunRecord.id == run_id).values(marking_id=marking_id, total=len(scenarios))
        )

    def report(done: int, total: int) -> None:
        with transaction(factory) as step:
            step.execute(
                update(RunRecord).where(RunRecord.id == run_id, RunRecord.status == "running").values(done=done)
            )
        if progress is not None:
            progress(done, total)
        if cancel is not None and cancel.is_set():
            raise _Cancelled

    if cancel is not None and cancel.is_set():
        raise _Cancelled
    result = run_scenarios(
        view, scenarios, jobs=int(parameters["jobs"]), compute_tts=bool(parameters["compute_tts"]), progress=report
    )
    if cancel is not None and cancel.is_set():
        raise _Cancelled
    rei, ttr = result.rei, result.ttr
    rows = [
        {
            "run_id": run_id,
            "position": i,
            "scenario_id": s.id,
            "kind": s.kind,
            "label": s.label,
            "disrupted": ";".join(s.nodes),
            "ttr": float(ttr[i]),
            "lost_profit": float(result.lost_profit[i]),
            "tts": float(result.tts[i]) if math.isfinite(result.tts[i]) else None,
            "tts_infinite": bool(math.isinf(result.tts[i])),
            "rei": float(rei[i]),
            "at_risk": bool(result.tts[i] < ttr[i]),
            "marking_id": marking_id,
        }
        for i, s in enumerate(result.scenarios)
    ]
    with transaction(factory) as session:
        if rows:
            session.execute(insert(ResultRecord), rows)
        finished = session.execute(
            update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.status == "running")
            .values(status="completed", done=len(rows), finished_at=utcnow(), wall_seconds=result.wall_seconds)
        )
        if not isinstance(finished, CursorResult) or finished.rowcount != 1:
            raise RunStateError(f"run {run_id} stopped running before its results were stored")
        record(session, principal, "run.complete", "run", run_id, details={"results": len(rows)})


def _finish(factory: sessionmaker[Session], run_id: int, principal: Principal, status: str, error: str) -> None:
    """End a running run as ``failed`` or ``cancelled``, with no result."""
    with transaction(factory) as session:
        session.execute(
            update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.status.in_(("queued", "running")))
            .values(status=status, error=error, finished_at=utcnow())
        )
        action = "run.cancel" if status == "cancelled" else "run.fail"
        record(session, principal, action, "run", run_id, details={"error": error} if error else None)


def claim_run(factory: sessionmaker[Session], run_id: int, runner: str) -> None:
    """Record that server process ``runner`` (``host:pid:token``) executes the queued run ``run_id``."""
    with transaction(factory) as session:
        session.execute(update(RunRecord).where(RunRecord.id == run_id).values(runner=runner))


def fail_orphaned_runs(factory: sessionmaker[Session], host: str, alive: Callable[[int], bool]) -> list[int]:
    """Mark ``failed`` the unfinished runs whose server process on ``host`` no longer exists.

    A run executes in a thread of the server that queued it; when that process is killed the run
    would stay ``queued`` or ``running`` for ever. Runs claimed on other hosts, and runs computed in a
    caller's own process (no runner), are left alone: their process may still be working.

    Parameters
    ----------
    factory
        Sessions to the database.
    host
        This machine's host name, as runners record it.
    alive
        Whether a process id is alive on this host.

    Returns
    -------
    list[int]
        The ids of the runs marked failed, each audited as ``run.fail``.
    """
    with transaction(factory) as session:
        unfinished = session.execute(
            select(RunRecord.id, RunRecord.runner).where(
                RunRecord.status.in_(("queued", "running")), RunRecord.runner != ""
            )
        ).all()
        orphans = []
        for run_id, runner in unfinished:
            runner_host, pid, _token = ([*runner.rsplit(":", 2), "", ""])[:3]
            if runner_host == host and pid.isdigit() and not alive(int(pid)):
                orphans.append(run_id)
        error = "the server executing it stopped before it finished; start the run again"
        for run_id in orphans:
            session.execute(
                update(RunRecord)
                .where(RunRecord.id == run_id, RunRecord.status.in_(("queued", "running")))
                .values(status="failed", error=error, finished_at=utcnow())
            )
            record(
                session, None, "run.fail", "run", run_id, actor_name="setu serve (startup)", details={"error": error}
            )
    return orphans


def get_run(session: Session, principal: Principal, run_id: int) -> RunRecord:
    """The run ``run_id`` (status, progress, timings, parameters).

    Raises
    ------
    NotFound
        If there is no such run or the user may not see it (under its derived marking).
    """
    return fetch_visible(
        session, principal, RunRecord, [RunRecord.id == run_id], action="run.read", kind="run", key=run_id
    )


def list_runs(
    session: Session,
    principal: Principal,
    *,
    network_id: int | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[RunRecord], int]:
    """Visible runs, newest first, optionally of one network and in one status.

    Returns
    -------
    tuple[list[RunRecord], int]
        The page and how many visible runs match in all.
    """
    offset, limit = page(offset, limit)
    conditions: list[ColumnElement[bool]] = [visible(RunRecord.marking_id, principal)]
    if network_id is not None:
        conditions.append(RunRecord.network_id == network_id)
    if status is not None:
        conditions.append(RunRecord.status == status)
    total = session.scalar(select(func.count()).select_from(RunRecord).where(*conditions)) or 0
    rows = session.scalars(
        select(RunRecord).where(*conditions).order_by(RunRecord.id.desc()).offset(offset).limit(limit)
    ).all()
    record(
        session, principal, "run.list", "run", "", details={"network_id": network_id, "status": status, "total": total}
    )
    return list(rows), total


# --- results ------------------------------------------------------------------------------------------


def _result_order(sort: str) -> list[Any]:
    field = sort.removeprefix("-")
    if field not in RESULT_SORTS:
        raise InputError(f"cannot sort results by {field!r}; expected one of {', '.join(RESULT_SORTS)}")
    descending = sort.startswith("-")
    if field == "tts":
        # Finite values, then unbounded ones (largest), then those not computed, whichever the direction.
        infinite = ResultRecord.tts_infinite.desc() if descending else ResultRecord.tts_infinite.asc()
        value = ResultRecord.tts.desc().nulls_last() if descending else ResultRecord.tts.asc().nulls_last()
        keys = [ResultRecord.tts.is_(None) & ResultRecord.tts_infinite.is_(false()), infinite, value]
    else:
        column = getattr(ResultRecord, field)
        keys = [column.desc() if descending else column.asc()]
    return [*keys, ResultRecord.position.asc()]


def _result_conditions(
    principal: Principal, run_id: int, min_rei: float | None, at_risk_only: bool, text: str
) -> list[ColumnElement[bool]]:
    conditions = [ResultRecord.run_id == run_id, visible(ResultRecord.marking_id, principal)]
    if min_rei is not None:
        conditions.append(ResultRecord.rei >= min_rei)
    if at_risk_only:
        conditions.append(ResultRecord.at_risk.is_(true()))
    if text:
        conditions.append(
            or_(
                contains(ResultRecord.scenario_id, text),
                contains(ResultRecord.label, text),
                contains(ResultRecord.disrupted, text),
            )
        )
    return conditions


def _require_run(session: Session, principal: Principal, run_id: int, action: str) -> RunRecord:
    return fetch_visible(
        session,
        principal,
        RunRecord,
        [RunRecord.id == run_id],
        action=action,
        kind="run",
        key=run_id,
        audit_permit=False,
    )


def list_results(
    session: Session,
    principal: Principal,
    run_id: int,
    *,
    sort: str = "-rei",
    min_rei: float | None = None,
    at_risk_only: bool = False,
    text: str = "",
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[ResultRecord], int]:
    """Results of a visible run, filtered, sorted and paged in SQL.

    Parameters
    ----------
    sort
        One of :data:`RESULT_SORTS`, ``-`` first for descending (ties go by position). TTS sorts
        unbounded values above every finite one and values not computed last.
    min_rei
        Only results with REI at least this.
    at_risk_only
        Only results whose TTS is shorter than their TTR.
    text
        Case-insensitive text looked for in the scenario id, label and disrupted nodes.
    offset, limit
        The page.

    Returns
    -------
    tuple[list[ResultRecord], int]
        The page and how many visible results match in all.

    Raises
    ------
    NotFound
        If there is no such run or the user may not see it.
    """
    offset, limit = page(offset, limit)
    order = _result_order(sort)
    _require_run(session, principal, run_id, "results.list")
    conditions = _result_conditions(principal, run_id, min_rei, at_risk_only, text)
    total = session.scalar(select(func.count()).select_from(ResultRecord).where(*conditions)) or 0
    rows = session.scalars(select(ResultRecord).where(*conditions).order_by(*order).offset(offset).limit(limit)).all()
    record(
        session,
        principal,
        "results.list",
        "run",
        run_id,
        details={"sort": sort, "min_rei": min_rei, "at_risk_only": at_risk_only, "text": text, "total": total},
    )
    return list(rows), total


def export_results(session: Session, principal: Principal, run_id: int, format: str) -> bytes:
    """Every visible result of a run as a file: ``csv``, ``json`` or ``parquet``.

    CSV and JSON hold the columns ``scenario_id, disrupted, ttr, lost_profit, tts, rei`` (as
    :func:`setu.stress.export.write_results` writes them), with an unbounded TTS written ``inf``
    (a TTS not computed is empty in CSV, ``null`` in JSON); Parquet adds ``kind``, ``label`` and
    ``at_risk`` and holds TTS as a float (``inf``, ``NaN``).

    Raises
    ------
    NotFound
        If there is no such run or the user may not see it (audited as a denied export).
    setu.errors.InputError
        If ``format`` is not one of :data:`EXPORT_FORMATS`.
    """
    if format not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    _require_run(session, principal, run_id, "results.export")
    rows = session.scalars(
        select(ResultRecord)
        .where(ResultRecord.run_id == run_id, visible(ResultRecord.marking_id, principal))
        .order_by(ResultRecord.position)
    ).all()
    record(session, principal, "results.export", "run", run_id, details={"format": format, "rows": len(rows)})
    if format == "json":
        records = [
            {
                "scenario_id": r.scenario_id,
                "disrupted": r.disrupted,
                "ttr": r.ttr,
                "lost_profit": r.lost_profit,
                "tts": "inf" if r.tts_infinite else r.tts,
                "rei": r.rei,
            }
            for r in rows
        ]
        return (json.dumps(records, indent=1) + "\n").encode()
    frame = pd.DataFrame(
        {
            "scenario_id": [r.scenario_id for r in rows],
            "disrupted": [r.disrupted for r in rows],
            "ttr": [r.ttr for r in rows],
            "lost_profit": [r.lost_profit for r in rows],
            "tts": [r.tts_value for r in rows],
            "rei": [r.rei for r in rows],
            "kind": [r.kind for r in rows],
            "label": [r.label for r in rows],
            "at_risk": [r.at_risk for r in rows],
        }
    )
    if format == "csv":
        return frame.loc[:, list(RESULT_COLUMNS)].to_csv(index=False, float_format="%.12g").encode()
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


# --- explanations -------------------------------------------------------------------------------------


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
    NotFound
        If there is no such run or result, or the user may not see it (audited as denied).
    RunStateError
        If the run has not completed.
    setu.errors.ScenarioError
        If the scenario no longer fits the user's view (the network changed since the run).
    setu.networks.service.ViewError
        If the user's view has no product.
    """
    action = "results.explain"
    run = _require_run(session, principal, run_id, action)
    if run.status != "completed":
        raise RunStateError(f"run {run_id} is {run.status}; only a completed run's scenarios can be explained")
    conditions = [ResultRecord.run_id == run_id, ResultRecord.scenario_id == scenario_key]
    result = session.scalars(
        select(ResultRecord)
        .where(*conditions, visible(ResultRecord.marking_id, principal))
        .order_by(ResultRecord.position)
        .limit(1)
    ).first()
    if result is None:
        exists = session.scalar(select(func.count()).select_from(ResultRecord).where(*conditions)) or 0
        raise deny(session, principal, action, "scenario", scenario_key, hidden=exists > 0, details={"run_id": run_id})
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
