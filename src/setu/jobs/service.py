"""Jobs as their owner sees them: queued within limits, read and listed only by their creator, cancelled.

A web request that would compute for long (a network import, a registry what-if) stores a ``queued``
job and answers at once; a worker (:mod:`setu.runs.worker`, with :mod:`setu.jobs.execute`) executes it.
A job is admitted only if its user and the instance have room: one user may have at most
``per_user`` jobs queued or running (429 beyond), the instance at most ``queue`` (503 beyond); both
answers carry ``Retry-After`` and come before anything is stored. Only the job's creator reads it,
and a job holding a result only while they may read the result's marking
(:func:`setu.sharing.read.owned_by`): anyone else is answered as if it did not exist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import Conflict, TooManyRequests, Unavailable
from setu.models.jobs import JOB_FINAL_STATUSES, JOB_KINDS, JobRecord
from setu.runs.queue import JOBS, active, request_cancel
from setu.settings import DEFAULT_JOB_QUEUE, DEFAULT_MAX_ACTIVE_JOBS, ApiSettings
from setu.sharing.policy import Principal
from setu.sharing.read import count_readable, deny, fetch_visible_id, page, readable, unfiltered

USER_RETRY_AFTER = 10
"""Seconds a user at their cap is told to wait: about the time an import or a what-if takes."""
SERVER_RETRY_AFTER = 30
"""Seconds everyone is told to wait when the instance's job queue is full."""


class JobStateError(Conflict):
    """A job cannot do what was asked in its present state (cancelling one that ended) (409).

    Parameters
    ----------
    message
        What went wrong.
    job_status
        The job's status when it was refused.
    """

    def __init__(self, message: str, *, job_status: str = "") -> None:
        super().__init__(message)
        self.job_status = job_status


@dataclass(frozen=True, slots=True)
class JobLimits:
    """How many jobs the instance takes, and one user.

    Attributes
    ----------
    queue
        Most jobs queued or running on the instance (``SETU_JOB_QUEUE``); one more is refused with 503.
    per_user
        Most jobs one user may have queued or running (``SETU_MAX_ACTIVE_JOBS``); one more is refused with 429.
    """

    queue: int = DEFAULT_JOB_QUEUE
    per_user: int = DEFAULT_MAX_ACTIVE_JOBS

    @classmethod
    def of(cls, settings: ApiSettings) -> JobLimits:
        """The limits ``settings`` set."""
        return cls(settings.job_queue, settings.max_active_jobs)


def _admit(session: Session, principal: Principal, kind: str, limits: JobLimits, mine: int, everyone: int) -> None:
    """Refuse (and audit) a job beyond the user's or the instance's limit; nothing is stored."""
    if mine < limits.per_user and everyone < limits.queue:
        return
    session.rollback()
    reason = "user limit" if mine >= limits.per_user else "server queue full"
    details = {"reason": reason, "kind": kind, "active": [mine, everyone], "limits": [limits.per_user, limits.queue]}
    record(session, principal, "job.queue", "job", "", decision="deny", details=details)
    session.commit()
    if mine >= limits.per_user:
        raise TooManyRequests(
            f"you have {mine} jobs queued or running, the most one user may have at once ({limits.per_user}); "
            "wait for one to finish, or cancel one, and send this again",
            USER_RETRY_AFTER,
        )
    raise Unavailable(
        f"the server has {everyone} jobs queued or running, as many as it takes; send this again in a minute",
        SERVER_RETRY_AFTER,
    )


def enqueue(
    session: Session,
    principal: Principal,
    kind: str,
    payload: Mapping[str, Any],
    *,
    limits: JobLimits,
    upload: bytes | None = None,
) -> JobRecord:
    """Queue a job of ``kind`` for ``principal`` if they and the instance have room, and commit it.

    Parameters
    ----------
    session
        The caller's session, holding no other pending work; committed here.
    principal
        The user the job works for: the worker executes it as them, with their access then.
    kind
        ``network.import`` or ``registry.what_if``.
    payload
        The validated request (JSON-serializable).
    limits
        The instance's and the per-user caps.
    upload
        An import's file, already within the upload limit.

    Returns
    -------
    JobRecord
        The job, committed and ``queued``.

    Raises
    ------
    setu.errors.TooManyRequests
        If the user has :attr:`JobLimits.per_user` jobs queued or running (429; audited, nothing stored).
    setu.errors.Unavailable
        If the instance has :attr:`JobLimits.queue` jobs queued or running (503; audited, nothing stored).
    """
    if kind not in JOB_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    _admit(session, principal, kind, limits, active(session, JOBS, principal.user_id), active(session, JOBS))
    job = JobRecord(
        kind=kind,
        created_by=principal.user_id,
        origin_party=principal.party,
        status="queued",
        payload=json.dumps(dict(payload), sort_keys=True),
        upload=upload,
        error="",
        result="",
    )
    session.add(job)
    session.flush()
    # Counted again with the job written: on SQLite the write holds the database's write lock, on
    # PostgreSQL the user's row is locked, so another server admitting a job for this user waits.
    _admit(session, principal, kind, limits, active(session, JOBS, principal.user_id) - 1, active(session, JOBS) - 1)
    size = len(upload) if upload is not None else 0
    record(session, principal, "job.queue", "job", job.id, details={"kind": kind, "upload_bytes": size})
    session.commit()
    return job


def get_job(session: Session, principal: Principal, job_id: int) -> JobRecord:
    """The job ``job_id``, if ``principal`` created it and may read its result's marking.

    Raises
    ------
    setu.errors.NotFound
        If there is no such job, another user created it, or its result's marking is beyond the
        reader now (audited as denied; the answer is the same in every case).
    """
    return fetch_visible_id(session, principal, JobRecord, job_id, action="job.read", kind="job")


def list_jobs(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    kind: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[JobRecord], int]:
    """The reader's own jobs, newest first, optionally in one status or of one kind.

    Returns
    -------
    tuple[list[JobRecord], int]
        The page and how many of the reader's readable jobs match in all.
    """
    offset, limit = page(offset, limit)
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(JobRecord.status == status)
    if kind is not None:
        conditions.append(JobRecord.kind == kind)
    total = count_readable(session, principal, JobRecord, *conditions)
    rows = session.scalars(
        readable(principal, JobRecord).where(*conditions).order_by(JobRecord.id.desc()).offset(offset).limit(limit)
    ).all()
    record(session, principal, "job.list", "job", "", details={"status": status, "kind": kind, "total": total})
    return list(rows), total


def _cancellable(session: Session, principal: Principal, job_id: int) -> JobRecord:
    """The job the user may cancel: their own, or, for an admin, any job of a user of their party."""
    if "admin" in principal.roles:
        # An admin stops another user's job without reading it: the lookup is the cancel's own, and the
        # answer below says only its state. Other parties' jobs are not theirs to stop.
        job: JobRecord | None = session.scalars(
            unfiltered(JobRecord).where(JobRecord.id == job_id, JobRecord.origin_party == principal.party)
        ).one_or_none()
        if job is not None:
            return job
        raise deny(session, principal, "job.cancel", "job", job_id)
    found: JobRecord | None = session.scalars(
        readable(principal, JobRecord).where(JobRecord.id == job_id)
    ).one_or_none()
    if found is None:
        raise deny(session, principal, "job.cancel", "job", job_id)
    return found


def cancel_job(session: Session, principal: Principal, job_id: int) -> JobRecord:
    """Cancel the job ``job_id``, from any process: a queued job ends ``cancelled`` now, a running one at its
    worker's next heartbeat (:func:`setu.runs.queue.request_cancel`).

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        Its creator, or an admin of their party.
    job_id
        The job.

    Returns
    -------
    JobRecord
        The job: ``cancelled``, or ``running`` with ``cancel_requested`` set.

    Raises
    ------
    setu.errors.NotFound
        If there is no such job or the user may not cancel it (audited as denied; the same answer).
    JobStateError
        If the job already ended.
    """
    job = _cancellable(session, principal, job_id)
    if job.status in JOB_FINAL_STATUSES:
        raise JobStateError(f"job {job_id} already ended: {job.status}", job_status=job.status)
    outcome = request_cancel(session, job_id, JOBS)
    session.refresh(job)
    if outcome == "ended":
        raise JobStateError(f"job {job_id} already ended: {job.status}", job_status=job.status)
    record(session, principal, "job.cancel", "job", job_id, details={"outcome": outcome})
    return job


def result_of(job: JobRecord) -> dict[str, Any] | None:
    """The job's result as stored (None while there is none)."""
    if not job.result:
        return None
    loaded: dict[str, Any] = json.loads(job.result)
    return loaded


def payload_of(job: JobRecord) -> dict[str, Any]:
    """The job's request as queued."""
    loaded: dict[str, Any] = json.loads(job.payload or "{}")
    return loaded


def may_read(session: Session, principal: Principal, job_id: int) -> bool:
    """Whether ``principal`` may read the job ``job_id`` and its result now (its creator, the marking readable)."""
    return count_readable(session, principal, JobRecord, JobRecord.id == job_id) > 0
