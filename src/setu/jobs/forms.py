"""Where the API and the pages queue a job: the caps from the app's settings, and the 202 answer that points at it."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from setu.deps import ApiState
from setu.jobs.schemas import JobOut, job_out
from setu.jobs.service import JobLimits
from setu.middleware import PREFIX
from setu.models.jobs import JobRecord
from setu.runs.forms import jobs_of
from setu.schemas import ErrorBody

JOB_LIMITED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Queued: the job, with `Location: /api/v1/jobs/{id}` to poll until it ends."},
    429: {"model": ErrorBody, "description": "You have as many jobs queued or running as one user may (Retry-After)."},
    503: {"model": ErrorBody, "description": "The server's job queue is full, or the database is busy (Retry-After)."},
}
"""The answers of an endpoint that queues a job."""


def job_limits(state: ApiState) -> JobLimits:
    """The instance's and the per-user job caps of the app's settings."""
    return JobLimits.of(state.settings)


def job_path(job: JobRecord) -> str:
    """The API address of a job (the ``Location`` of a 202 answer)."""
    return f"{PREFIX}/jobs/{job.id}"


def page_path(job: JobRecord) -> str:
    """The page of a job."""
    return f"/jobs/{job.id}"


def accepted(request: Request, response: Response, job: JobRecord) -> JobOut:
    """The answer to a request that queued ``job``: its body, with ``Location`` pointing at it; wakes a worker.

    Parameters
    ----------
    request
        The request (its app holds the worker threads to wake).
    response
        The response, to carry the ``Location`` header.
    job
        The queued job.

    Returns
    -------
    JobOut
        The job as ``GET`` of its ``Location`` answers it.
    """
    response.headers["Location"] = job_path(job)
    wake(request)
    return job_out(job)


def wake(request: Request) -> None:
    """Make an idle worker thread of this app look at the queues now (``setu worker`` processes poll)."""
    jobs_of(request).wake()
