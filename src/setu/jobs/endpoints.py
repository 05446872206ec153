"""HTTP endpoints of jobs: your jobs, one job with its result, and cancelling one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from setu.deps import AuthDep, MarkerDep, SessionDep
from setu.jobs.schemas import JobKind, JobOut, JobPage, JobStatus, job_out
from setu.jobs.service import cancel_job, get_job, list_jobs, may_read
from setu.models.jobs import JobRecord
from setu.schemas import ERROR_RESPONSES, MAX_ID, ErrorBody
from setu.sharing.markings import specs_by_id
from setu.sharing.read import MAX_LIMIT

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=ERROR_RESPONSES)

JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="The job's id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most items to return.")]
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody, "description": "The job already ended."}}


@router.get("")
def get_jobs(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    status: JobStatus | None = None,
    kind: JobKind | None = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> JobPage:
    """Your jobs, newest first, optionally in one status or of one kind (nobody else's are listed or counted).

    The banner is the most restrictive marking of the results on the page.
    """
    rows, total = list_jobs(session, auth.principal, status=status, kind=kind, offset=offset, limit=limit)
    marked = [row.result_marking_id for row in rows if row.result_marking_id is not None]
    banner = marker.page(specs_by_id(session, marked).values())
    out = JobPage(
        items=[job_out(row) for row in rows],
        total=total,
        offset=offset,
        limit=limit,
        banner=banner.banner,
        classification=banner.classification,
    )
    session.commit()
    return out


@router.get("/{job_id}")
def get_one_job(auth: AuthDep, session: SessionDep, job_id: JobId) -> JobOut:
    """One of your jobs: its state, and its result or error once it ended.

    Poll it after a ``202`` whose ``Location`` names it. A job of another user, or one whose result's
    marking you may no longer read, is answered ``404`` as a missing one is.
    """
    out = job_out(get_job(session, auth.principal, job_id))
    session.commit()
    return out


@router.post("/{job_id}/cancel", status_code=202, responses=CONFLICT)
def post_cancel(auth: AuthDep, session: SessionDep, job_id: JobId) -> JobOut:
    """Ask a queued or running job to stop (its creator, or an admin of their party); it keeps nothing.

    A queued job is ``cancelled`` at once; a running one at its worker's next heartbeat, in whichever
    process executes it. An admin cancelling another user's job is answered its state only.
    """
    job: JobRecord = cancel_job(session, auth.principal, job_id)
    out = job_out(job, full=may_read(session, auth.principal, job_id))
    session.commit()
    return out
