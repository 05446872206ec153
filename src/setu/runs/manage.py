"""Changing runs that exist: cancel, rename and delete, by the user who started them or an admin."""

from __future__ import annotations

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import AccessDenied
from setu.models.stress import FINAL_STATUSES, RunRecord
from setu.runs.queue import request_cancel
from setu.runs.service import RUNNERS, RunStateError, check_name, get_run
from setu.sharing.policy import Principal
from setu.sharing.read import unfiltered
from setu.sharing.roles import require_role

__all__ = ["cancel_run", "delete_run", "rename_run"]


def cancel_run(session: Session, principal: Principal, run_id: int) -> RunRecord:
    """Cancel the run ``run_id``, from any process: a queued run ends ``cancelled`` now, a running one at its
    worker's next heartbeat (:func:`setu.runs.queue.request_cancel`).

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The user asking: the run's starter or an admin of its party, holding the analyst or admin role.
    run_id
        The run.

    Returns
    -------
    RunRecord
        The run: ``cancelled``, or ``running`` with ``cancel_requested`` set.

    Raises
    ------
    setu.errors.AccessDenied
        If the user is neither analyst nor admin (audited as denied), or neither started the run nor is an admin.
    setu.errors.NotFound
        If there is no such run or the user may not see it.
    RunStateError
        If the run already ended (its status in ``run_status``).
    """
    run = _own_or_admin(session, principal, "run.cancel", run_id)
    if run.status in FINAL_STATUSES:
        raise RunStateError(f"run {run_id} already ended: {run.status}", run_status=run.status)
    outcome = request_cancel(session, run_id)
    if outcome == "ended":
        session.refresh(run)
        raise RunStateError(f"run {run_id} already ended: {run.status}", run_status=run.status)
    record(session, principal, "run.cancel", "run", run_id, details={"outcome": outcome})
    session.refresh(run)
    return run


def _own_or_admin(session: Session, principal: Principal, action: str, run_id: int) -> RunRecord:
    """The visible run ``run_id`` if ``principal`` started it or is an admin of its party; audited denials.

    An admin answers for their own party's runs, as for its jobs: a partner's admin who may read a run
    (a shared reference sweep, say) may not cancel, rename or delete it.
    """
    require_role(session, principal, action, *RUNNERS)
    run = get_run(session, principal, run_id)
    admin = "admin" in principal.roles and run.origin_party == principal.party
    if run.created_by != principal.user_id and not admin:
        reason = "only the user who started a run, or an admin of its own party, may change it"
        record(session, principal, action, "run", run_id, decision="deny", details={"reason": reason})
        session.commit()
        raise AccessDenied(reason)
    return run


def rename_run(session: Session, principal: Principal, run_id: int, name: str) -> RunRecord:
    """Rename the run ``run_id`` (its starter, or an admin of its party).

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The user asking.
    run_id
        The run.
    name
        The new name (see :func:`check_name`).

    Returns
    -------
    RunRecord
        The renamed run.

    Raises
    ------
    setu.errors.AccessDenied
        If the user is neither analyst nor admin, or neither started the run nor is an admin (audited).
    setu.errors.NotFound
        If there is no such run or the user may not see it.
    setu.errors.InputError
        If the name is not acceptable.
    """
    name = check_name(name)
    run = _own_or_admin(session, principal, "run.rename", run_id)
    record(session, principal, "run.rename", "run", run_id, details={"from": run.name, "to": name})
    run.name = name
    session.flush()
    return run


def delete_run(session: Session, principal: Principal, run_id: int) -> None:
    """Delete the ended run ``run_id`` and its results (its starter, or an admin of its party).

    A reference sweep may be deleted too: pages then use the newest remaining one on the reader's view,
    or say there is none.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The user asking.
    run_id
        The run.

    Raises
    ------
    setu.errors.AccessDenied
        If the user is neither analyst nor admin, or neither started the run nor is an admin (audited).
    setu.errors.NotFound
        If there is no such run or the user may not see it.
    RunStateError
        If the run is queued or running (cancel it first).
    """
    run = _own_or_admin(session, principal, "run.delete", run_id)
    locked = session.scalars(
        unfiltered(RunRecord).where(RunRecord.id == run_id, RunRecord.status.in_(FINAL_STATUSES)).with_for_update()
    ).one_or_none()
    if locked is None:
        raise RunStateError(f"run {run_id} is {run.status}; cancel it before deleting it", run_status=run.status)
    details = {"network_id": run.network_id, "name": run.name, "reference": run.reference, "status": run.status}
    session.delete(locked)  # its results go with it (ON DELETE CASCADE)
    record(session, principal, "run.delete", "run", run_id, details=details)
    session.flush()
