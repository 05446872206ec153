"""Stress runs on each user's view of a network: queued, executed as jobs for their owner, listed, cancelled."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, bindparam, insert
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.db import transaction
from setu.errors import Conflict, InputError, ScenarioError
from setu.models.base import utcnow
from setu.models.stress import ResultRecord, RunRecord, ScenarioRecord
from setu.network.compile import CompiledNetwork
from setu.networks.reads import require_network
from setu.networks.stamps import view_digest
from setu.networks.views import compiled_view
from setu.runs.scenarios import to_scenario
from setu.runs.stored import baseline_summary, result_rows
from setu.sharing.cache import ViewCache
from setu.sharing.markings import MarkingSpec, combine, marking_specs, store
from setu.sharing.policy import Principal
from setu.sharing.read import (
    built_once,
    deny,
    fetch_visible,
    fetch_visible_id,
    page,
    readable,
    readable_page,
    unfiltered,
)
from setu.sharing.roles import require_role
from setu.stress.engine import run_scenarios
from setu.stress.executors import EXECUTORS, make_executor
from setu.stress.scenarios import Scenario, node_sweep, validate_scenario

__all__ = [
    "RunStateError",
    "execute_run",
    "finish_run",
    "get_run",
    "list_runs",
    "start_run",
]

ERROR_CHARS = 4000
NAME_CHARS = 200
REFERENCE_NAME = "Reference sweep"
"""What a reference sweep is called when its starter gives it no name."""
RUNNERS = ("analyst", "admin")
"""Roles that may start and cancel runs."""


class RunStateError(Conflict):
    """A run cannot do what was asked in its present state (e.g. executing one that already ran).

    Parameters
    ----------
    message
        What went wrong.
    run_status
        The run's status when it was refused, if that is the reason.
    """

    def __init__(self, message: str, *, run_status: str = "") -> None:
        super().__init__(message)
        self.run_status = run_status


class _Cancelled(Exception):
    """Raised inside a run when its cancel event is set."""


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
            readable(principal, ScenarioRecord).where(
                ScenarioRecord.id.in_(wanted), ScenarioRecord.network_id == network_id
            )
        )
    }
    missing = [pk for pk in wanted if pk not in stored]
    if missing:
        raise deny(session, principal, action, "scenario", missing[0])
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
    executor: str | None = None,
    ray_address: str | None = None,
    compute_tts: bool = True,
    views: ViewCache | None = None,
    name: str = "",
    reference: bool = False,
) -> RunRecord:
    """Queue a stress run of ``scenarios`` on the user's view of network ``network_id``.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The runner (analyst or admin).
    network_id
        The network.
    scenarios
        Stored scenario ids (:attr:`ScenarioRecord.id`), or ``"sweep"``: one scenario per visible
        supplying node.
    ttr
        For the sweep, the TTR of every scenario (default: each node's own estimate); for stored
        scenarios, replaces their TTR when given.
    jobs
        Workers for :func:`setu.stress.engine.run_scenarios` (0: one per CPU).
    executor, ray_address
        Where the run's batches run (:func:`setu.stress.executors.make_executor`: serial, process or
        ray; default: serial for one job, else local processes) and the Ray cluster to join.
    compute_tts
        Also compute time-to-survive.
    views
        The app's cache of compiled views (see :func:`setu.networks.views.compiled_view`), if any.
    name
        What the run is called (at most :data:`NAME_CHARS` characters; empty: "Run N").
    reference
        Make it a reference sweep (:mod:`setu.runs.reference`): only for the sweep with each node's
        own TTR and TTS.

    Returns
    -------
    RunRecord
        The queued run (flushed); run it with :func:`execute_run`. Its marking is derived: the most
        restrictive of the marking of every record of the runner's view and of each stored scenario,
        with the runner's party as origin, so only users who see all of them see the run.

    Raises
    ------
    setu.errors.AccessDenied
        If the user is neither analyst nor admin (audited as denied).
    setu.errors.NotFound
        If the network or a scenario does not exist or the user may not see it.
    setu.errors.ScenarioError
        If a scenario does not fit the user's view or the sweep has no TTR.
    setu.errors.InputError
        If the name is too long or holds control characters, or a reference run is not the plain sweep.
    """
    require_role(session, principal, "run.start", *RUNNERS)
    name = check_name(name) or (REFERENCE_NAME if reference else "")
    if reference and (scenarios != "sweep" or ttr is not None or not compute_tts):
        raise InputError("a reference run is the node sweep with each node's own TTR and TTS", "reference")
    if jobs < 0:
        raise InputError(f"jobs must be >= 0, got {jobs}")
    if executor is not None and executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if ttr is not None and (not math.isfinite(ttr) or ttr < 0):
        raise ScenarioError(f"TTR must be a finite number >= 0, got {ttr!r}")
    chosen: list[int] | str = "sweep" if scenarios == "sweep" else [int(pk) for pk in scenarios]
    if not chosen:
        raise ScenarioError("a run needs at least one scenario")
    parameters: dict[str, Any] = {"scenarios": chosen, "ttr": ttr, "jobs": jobs, "compute_tts": compute_tts}
    if executor is not None:
        parameters["executor"] = executor
    if ray_address is not None:
        parameters["ray_address"] = ray_address
    require_network(session, principal, network_id, "run.start")
    view, used = compiled_view(session, principal, network_id, cache=views)
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
        name=name,
        reference=reference,
        view_digest=view_digest(session, principal, network_id),
    )
    session.add(run)
    session.flush()
    record(session, principal, "run.start", "run", run.id, details={"network_id": network_id, **parameters})
    return run


def check_name(name: str) -> str:
    """A run's name as stored: stripped, at most :data:`NAME_CHARS` characters, no control characters.

    Raises
    ------
    setu.errors.InputError
        If it is too long or holds a control character.
    """
    name = name.strip()
    if len(name) > NAME_CHARS:
        raise InputError(f"at most {NAME_CHARS} characters, got {len(name)}", "name")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InputError("no control characters (tabs, line breaks)", "name")
    return name


def _owned_run(session: Session, run_id: int, *statuses: str, runner: str | None = None) -> RunRecord | None:
    """The run ``run_id`` locked for its executing worker, if it is in one of ``statuses`` (any, if none given).

    The worker acts for the run's owner, who queued it: it reads and writes the run record itself
    whatever its marking (which the worker derives), so the read is unfiltered. The row lock makes a
    status change conditional on the status it had, as a concurrent worker or the reaper may change it;
    with ``runner``, also on the worker still holding the run (a worker presumed dead and replaced must
    not finish the run its successor executes).
    """
    statement = unfiltered(RunRecord).where(RunRecord.id == run_id)
    if statuses:
        statement = statement.where(RunRecord.status.in_(statuses))
    if runner is not None:
        statement = statement.where(RunRecord.runner == runner)
    return session.scalars(
        statement.with_for_update(of=RunRecord).execution_options(populate_existing=True)
    ).one_or_none()


def execute_run(
    factory: sessionmaker[Session],
    run_id: int,
    principal: Principal,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    runner: str = "",
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
    runner
        The worker (``host:pid:token``) that claimed the run from the queue
        (:func:`setu.runs.queue.claim_next`): the run must be ``running`` under it. Empty: the run
        is ``queued`` and the caller executes it in its own process.

    Returns
    -------
    RunRecord
        The run as it ended: ``completed``, ``failed`` (with ``error``) or ``cancelled``.

    Raises
    ------
    setu.errors.NotFound
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
        status = run.status
        if runner:
            claimed = _owned_run(session, run_id, "running", runner=runner)
            if claimed is None:
                raise RunStateError(f"run {run_id} is {status}, not running under worker {runner}")
        else:
            claimed = _owned_run(session, run_id, "queued")
            if claimed is None:
                raise RunStateError(f"run {run_id} is {status}, not queued")
            claimed.status, claimed.started_at = "running", utcnow()
        record(session, principal, "run.execute", "run", run_id, details={"worker": runner} if runner else None)
        network_id, parameters = claimed.network_id, dict(claimed.parameters)
    try:
        _compute(factory, run_id, principal, network_id, parameters, cancel, progress, runner)
    except _Cancelled:
        finish_run(factory, run_id, principal, "cancelled", "", runner=runner)
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
        finish_run(factory, run_id, principal, "failed", error, runner=runner)
        if not isinstance(exc, Exception):
            raise
    with factory() as session:
        # How the run ended, for the worker's caller: its owner, whatever marking the run now carries.
        ended: RunRecord = session.scalars(unfiltered(RunRecord).where(RunRecord.id == run_id)).one()
        return ended


def _compute(
    factory: sessionmaker[Session],
    run_id: int,
    principal: Principal,
    network_id: int,
    parameters: dict[str, Any],
    cancel: threading.Event | None,
    progress: Callable[[int, int], None] | None,
    runner: str,
) -> None:
    """Everything after claiming the run, on the owner's view; raises :class:`_Cancelled` when cancelled."""
    held = runner or None
    with transaction(factory) as session:
        view, used = compiled_view(session, principal, network_id)
        scenarios, scenario_specs = _scenarios_of(session, principal, network_id, parameters, view, "run.execute")
        # The view may have changed since the run was queued: derive the marking again from what it uses now.
        marking_id = store(session, combine(used | scenario_specs, principal.party)).id
        digest = view_digest(session, principal, network_id)
        run = _owned_run(session, run_id, runner=held)
        if run is not None:
            run.marking_id, run.total, run.view_digest = marking_id, len(scenarios), digest

    def report(done: int, total: int) -> None:
        with transaction(factory) as step:
            running = _owned_run(step, run_id, "running", runner=held)
            if running is not None:
                running.done = done
                if running.cancel_requested and cancel is not None:
                    cancel.set()  # asked from any process: seen here at each step, not only at the heartbeat
        if progress is not None:
            progress(done, total)
        if cancel is not None and cancel.is_set():
            raise _Cancelled

    if cancel is not None and cancel.is_set():
        raise _Cancelled
    jobs = int(parameters["jobs"])
    executor = make_executor(parameters.get("executor"), jobs, parameters.get("ray_address"))
    result = run_scenarios(
        view, scenarios, executor=executor, compute_tts=bool(parameters["compute_tts"]), progress=report, relative=True
    )
    if cancel is not None and cancel.is_set():
        raise _Cancelled
    rows = result_rows(run_id, result, marking_id)
    with transaction(factory) as session:
        finished = _owned_run(session, run_id, "running", runner=held)
        if finished is None:
            raise RunStateError(f"run {run_id} stopped running before its results were stored")
        if finished.cancel_requested:
            raise _Cancelled
        if rows:
            session.execute(insert(ResultRecord), rows)
        finished.status, finished.done = "completed", len(rows)
        finished.baseline = baseline_summary(view, result.baseline)
        finished.finished_at, finished.wall_seconds = utcnow(), result.wall_seconds
        record(session, principal, "run.complete", "run", run_id, details={"results": len(rows)})


def finish_run(
    factory: sessionmaker[Session], run_id: int, principal: Principal, status: str, error: str, *, runner: str = ""
) -> None:
    """End a queued or running run as ``failed`` or ``cancelled``, with no result (audited as its owner's).

    With ``runner``, only while that worker still holds the run.
    """
    with transaction(factory) as session:
        run = _owned_run(session, run_id, "queued", "running", runner=runner or None)
        if run is None:
            return  # ended already, or taken over by another worker: nothing of ours to end
        run.status, run.error, run.finished_at = status, error, utcnow()
        action = "run.cancel" if status == "cancelled" else "run.fail"
        record(session, principal, action, "run", run_id, details={"error": error} if error else None)


def get_run(session: Session, principal: Principal, run_id: int) -> RunRecord:
    """The run ``run_id`` (status, progress, timings, parameters).

    Raises
    ------
    setu.errors.NotFound
        If there is no such run or the user may not see it (under its derived marking).
    """
    return fetch_visible_id(session, principal, RunRecord, run_id, action="run.read", kind="run")


@built_once
def _run_list(principal: Principal, by_network: bool, by_status: bool) -> tuple[Select[Any], Select[Any]]:
    """How many visible runs match, and a page of them, with the filters asked for as bind parameters."""
    conditions: list[ColumnElement[bool]] = []
    if by_network:
        conditions.append(RunRecord.network_id == bindparam("network_id"))
    if by_status:
        conditions.append(RunRecord.status == bindparam("status"))
    return readable_page(principal, RunRecord, conditions, [RunRecord.id.desc()])


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
    count, listed = _run_list(principal, network_id is not None, status is not None)
    values = {"network_id": network_id, "status": status, "offset": offset, "limit": limit}
    total = int(session.scalar(count, values) or 0)
    rows = session.scalars(listed, values).all()
    record(
        session, principal, "run.list", "run", "", details={"network_id": network_id, "status": status, "total": total}
    )
    return list(rows), total
