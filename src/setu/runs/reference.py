"""A network version's reference sweep per reader's view: the run the dashboard, the map and node pages use.

Figures that stand for "the risk of this network" must not move because someone ran one ad-hoc
scenario, and must not come from a view other than the reader's. A *reference sweep* is the node sweep
(each visible supplier disrupted alone, for its own TTR, with TTS) flagged ``reference``; it stores the
digest of the view it was computed on (:func:`setu.networks.stamps.view_digest`). A reader's reference
is the newest completed reference sweep they may read whose digest equals their own view's: a run on a
partner's narrower view, which the reader may well be allowed to read, is not their picture of the
network and is never used as one. Other runs are used only when a reader picks one
(:func:`chosen_run`), and pages then say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam
from sqlalchemy.orm import Session

from setu.errors import InputError
from setu.models.stress import RunRecord
from setu.networks.stamps import view_digest
from setu.runs.service import get_run, start_run
from setu.sharing.cache import ViewCache
from setu.sharing.policy import Principal
from setu.sharing.read import built_once, readable

ACTIVE = ("queued", "running")


@dataclass(frozen=True, slots=True)
class RunChoice:
    """The run a page's risk figures come from, and why.

    Attributes
    ----------
    run
        The completed run used, or None when there is none.
    reference
        Whether ``run`` is the reader's reference sweep (False: a run the reader picked).
    pending
        A reference sweep on the reader's view still queued or running, if any.
    stale
        Whether the reader may see a completed reference sweep of this network computed on another view
        (their view has changed since, or it is a partner's): the page says why it is not used.
    """

    run: RunRecord | None
    reference: bool
    pending: RunRecord | None = None
    stale: bool = False


def start_reference_sweep(
    session: Session, principal: Principal, network_id: int, *, views: ViewCache | None = None
) -> RunRecord:
    """Queue the reference sweep of network ``network_id`` on ``principal``'s view.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The runner (analyst or admin); the sweep is computed on their view.
    network_id
        The network version.
    views
        The app's cache of compiled views, if any.

    Returns
    -------
    RunRecord
        The queued run, named :data:`setu.runs.service.REFERENCE_NAME`, flagged ``reference``.

    Raises
    ------
    setu.errors.AccessDenied, setu.errors.NotFound, setu.errors.ScenarioError
        As :func:`setu.runs.service.start_run`.
    """
    return start_run(session, principal, network_id, "sweep", reference=True, views=views)


@built_once
def _reference_runs(principal: Principal) -> Select[Any]:
    """The newest completed reference sweep of a network on the view ``digest`` and the newest being computed."""
    newest = [
        readable(principal, RunRecord.id)
        .where(
            RunRecord.network_id == bindparam("network_id"),
            RunRecord.reference.is_(True),
            RunRecord.view_digest == bindparam("digest"),
        )
        .where(status)
        .order_by(RunRecord.id.desc())
        .limit(1)
        .scalar_subquery()
        for status in (RunRecord.status == "completed", RunRecord.status.in_(ACTIVE))
    ]
    # One statement for both.
    return readable(principal, RunRecord).where(RunRecord.id.in_(newest))


@built_once
def _newest_completed(principal: Principal) -> Select[Any]:
    """The newest completed reference sweep of a network, on any view the reader may read."""
    statement = readable(principal, RunRecord).where(
        RunRecord.network_id == bindparam("network_id"),
        RunRecord.reference.is_(True),
        RunRecord.status == "completed",
    )
    return statement.order_by(RunRecord.id.desc()).limit(1)


def reference_run(session: Session, principal: Principal, network_id: int) -> RunChoice:
    """The reader's reference sweep of a network: the newest completed one on exactly their view.

    Parameters
    ----------
    session
        The request's session. Nothing is audited here: the caller's read of the figures records the
        run it used.
    principal
        The reader.
    network_id
        The network version.

    Returns
    -------
    RunChoice
        The run (None when there is none yet), the one being computed, and whether one on another view
        exists.

    Notes
    -----
    Only runs the reader may read are considered, so the answer never reveals a run they may not see.
    """
    digest = view_digest(session, principal, network_id)
    if not digest:
        return RunChoice(None, True)
    found = session.scalars(_reference_runs(principal), {"network_id": network_id, "digest": digest}).all()
    done = next((run for run in found if run.status == "completed"), None)
    pending = next((run for run in found if run.status in ACTIVE), None)
    stale = False
    if done is None:
        stale = session.scalars(_newest_completed(principal), {"network_id": network_id}).first() is not None
    return RunChoice(done, True, pending, stale)


def chosen_run(session: Session, principal: Principal, network_id: int, run_id: int | None) -> RunChoice:
    """The run a reader picked for a network's figures, or their reference sweep when they picked none.

    Parameters
    ----------
    session, principal, network_id
        As for :func:`reference_run`.
    run_id
        The picked run, or None.

    Returns
    -------
    RunChoice
        The picked run (``reference`` True only if it is the reader's reference sweep), or
        :func:`reference_run`.

    Raises
    ------
    setu.errors.NotFound
        If the picked run does not exist or the reader may not see it (audited as denied).
    setu.errors.InputError
        If the picked run belongs to another network or has not completed.
    """
    if run_id is None:
        return reference_run(session, principal, network_id)
    run = get_run(session, principal, run_id)
    if run.network_id != network_id:
        raise InputError(f"run {run_id} was computed on another network", "run")
    if run.status != "completed":
        raise InputError(f"run {run_id} is {run.status}; only a completed run has figures", "run")
    mine = reference_run(session, principal, network_id)
    return RunChoice(run, mine.run is not None and mine.run.id == run.id, mine.pending, mine.stale)
