"""Response models of the job endpoints."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, cast

from pydantic import Field

from setu.models.jobs import JobRecord
from setu.schemas import Paged, Strict, utc

JobKind = Literal["network.import", "registry.what_if"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobOut(Strict):
    """A job: what it computes, where it stands in the queue, and how it ended."""

    id: int
    kind: JobKind
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(ge=0, description="Times a worker took the job (a job whose worker died is tried again).")
    cancel_requested: bool = Field(
        description="A cancel was asked; a running job stops at its worker's next heartbeat."
    )
    error: str = Field(description="Why it failed; empty otherwise.")
    result: dict[str, Any] | None = Field(
        description=(
            "The answer once it succeeded: for registry.what_if the what-if (PI and TTS without and with the "
            "alternate, its marking); for network.import the stored network. For a failed job, `http_status` "
            "(what the request would have been answered had it computed at once: 422 bad input, 413 too large, "
            "403, 404, 409) and, for bad input, `problems` (each with `where` and `message`). Null while there is none."
        )
    )
    result_id: int | None = Field(description="The record the job made: an import's network id.")
    result_url: str | None = Field(description="Where to read what the job made (an import's network).")


class JobPage(Paged):
    """A page of your jobs, newest first."""

    items: list[JobOut]


def result_url(kind: str, result_id: int | None) -> str | None:
    """Where the API answers what a job made (an import's network), if it made a record."""
    if kind == "network.import" and result_id is not None:
        return f"/api/v1/networks/{result_id}"
    return None


def job_out(job: JobRecord, *, full: bool = True) -> JobOut:
    """A job as answers show it; with ``full`` False, only its state (an admin's cancel of another's job).

    Parameters
    ----------
    job
        The job.
    full
        Whether the reader may see its error and result: its creator, reading it through the owner filter.

    Returns
    -------
    JobOut
        The job.
    """
    result = json.loads(job.result) if full and job.result else None
    return JobOut(
        id=job.id,
        kind=cast(JobKind, job.kind),
        status=cast(JobStatus, job.status),
        created_at=utc(job.created_at),
        started_at=utc(job.started_at) if job.started_at else None,
        finished_at=utc(job.finished_at) if job.finished_at else None,
        attempts=job.attempts,
        cancel_requested=job.cancel_requested,
        error=job.error if full else "",
        result=result,
        result_id=job.result_id if full else None,
        result_url=result_url(job.kind, job.result_id) if full else None,
    )
