"""Executing jobs in a worker: each kind's executor, run as the job's owner with their access at that moment.

:data:`JOB_SOURCE` is the jobs queue as a worker takes from it (:class:`setu.runs.worker.Source`). A job
ends in one transaction with what it made: an import's network is stored, and the job marked
``succeeded``, only if the worker still holds the job (the reaper may have given it to another) and
nobody cancelled it; otherwise nothing is kept. An error ends it ``failed`` with the reason; an
input error keeps its problems, each at its place in the file, in the job's result.
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.errors import InputError, SetuError
from setu.models.base import utcnow
from setu.models.jobs import JobRecord
from setu.network.units import Units
from setu.networks.imports import import_upload
from setu.networks.uploads import UploadFormat, UploadLimits
from setu.registry.mitigation import what_if
from setu.runs.queue import JOBS, RUNS, active, fail_held
from setu.runs.reference import start_reference_sweep
from setu.runs.service import ERROR_CHARS
from setu.runs.worker import Source
from setu.sharing.files import marking_fields
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.policy import Principal
from setu.sharing.read import unfiltered, unfiltered_update

log = logging.getLogger("setu.jobs")

MAX_PROBLEMS = 1000
"""Problems of a failed import kept in its result (a file broken everywhere says how many more there were)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an executor made: the answer, the record it created (if any), and the answer's marking."""

    result: dict[str, Any]
    marking: MarkingSpec
    result_id: int | None = None


Executor = Callable[[Session, Principal, dict[str, Any], bytes | None], Outcome]
"""Computes a job in the given session as its owner: ``(session, owner, payload, upload) -> Outcome``."""


def spec_to_json(spec: MarkingSpec) -> dict[str, Any]:
    """A marking as a job's payload keeps it (the marking an import assigns)."""
    return {
        "classification": spec.classification,
        "origin_party": spec.origin_party,
        "releases": sorted(spec.releases),
        "national_only": spec.national_only,
        "owners": sorted([org, party] for org, party in spec.owners),
        "groups": sorted(spec.groups),
    }


def spec_of_json(data: dict[str, Any]) -> MarkingSpec:
    """The marking :func:`spec_to_json` kept."""
    return MarkingSpec(
        classification=int(data["classification"]),
        origin_party=str(data["origin_party"]),
        releases=frozenset(data["releases"]),
        national_only=bool(data["national_only"]),
        owners=frozenset((int(org), str(party)) for org, party in data["owners"]),
        groups=frozenset(data["groups"]),
    )


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def run_what_if(session: Session, owner: Principal, payload: dict[str, Any], _upload: bytes | None) -> Outcome:
    """The registry what-if (:func:`setu.registry.mitigation.what_if`) on the owner's view now."""
    answer = what_if(
        session,
        owner,
        int(payload["scenario"]),
        int(payload["capability_id"]),
        material=payload.get("material"),
        concern=frozenset(payload.get("concern", [])),
    )
    e, source = answer.effect, answer.source
    result = {
        "scenario": answer.scenario.id,
        "network_id": answer.scenario.network_id,
        "material": e.material,
        "capability": {
            "id": source.capability.id,
            "code": source.capability.code,
            "material": source.capability.material,
        },
        "site": {"id": source.site.id, "name": source.site.name, "country": source.site.country},
        "firm": {"id": source.organization.id, "name": source.organization.name},
        "concern": source.concern,
        "capacity": e.capacity,
        "qualification_weeks": e.qualification,
        "ttr": e.ttr,
        "pi_without": e.pi_without,
        "pi_with": e.pi_with,
        "pi_saved": e.pi_saved,
        "tts_without": _finite(e.tts_without),
        "tts_without_infinite": math.isinf(e.tts_without),
        "tts_with": _finite(e.tts_with),
        "tts_with_infinite": math.isinf(e.tts_with),
        "tts_gained": _finite(e.tts_gained),
        "closes_gap": e.closes_gap,
        "marking": marking_fields(session, answer.marking),
    }
    return Outcome(result, answer.marking)


def run_import(session: Session, owner: Principal, payload: dict[str, Any], upload: bytes | None) -> Outcome:
    """A network import (:func:`setu.networks.imports.import_upload`) of the queued file, as its owner."""
    if upload is None:
        raise InputError("the job holds no file", "file")
    spec = spec_of_json(payload["marking"])
    limits = UploadLimits(**payload["limits"])
    format: UploadFormat = payload["format"]
    stored = import_upload(
        session,
        owner,
        io.BytesIO(upload),
        payload["filename"],
        format=format,
        name=payload.get("name"),
        marking=spec,
        limits=limits,
        units=Units(**payload["units"]) if payload.get("units") else None,
    )
    result = {
        "network_id": stored.id,
        "name": stored.name,
        "version": stored.version,
        "format": stored.format,
        "source": stored.source,
        "nodes": stored.node_count,
        "edges": stored.edge_count,
        "marking": marking_fields(session, spec),
        **_queue_reference(session, owner, stored.id, payload.get("reference")),
    }
    return Outcome(result, spec, stored.id)


def _queue_reference(
    session: Session, owner: Principal, network_id: int, limits: dict[str, int] | None
) -> dict[str, Any]:
    """Queue the reference sweep of the importer's view of the version just stored, if the run queue has room.

    It commits with the import; the dashboard offers it again when it was not queued.
    """
    if limits is None:
        return {}
    if active(session, RUNS, owner.user_id) >= limits["per_user"] or active(session, RUNS) >= limits["queue"]:
        note = "not queued: the run queue is full; run it from the dashboard"
        return {"reference_run_id": None, "reference_note": note}
    try:
        # Refused before it writes anything (no TTR for some node, no product in the view): the import stands.
        run = start_reference_sweep(session, owner, network_id)
    except SetuError as exc:
        return {"reference_run_id": None, "reference_note": f"not queued: {exc}"}
    return {"reference_run_id": run.id, "reference_note": "queued"}


EXECUTORS: dict[str, Executor] = {"network.import": run_import, "registry.what_if": run_what_if}
"""The executor of each job kind."""


def _end(session: Session, job_id: int, runner: str, values: dict[str, Any]) -> bool:
    """End the job ``runner`` holds with ``values``, in ``session``; False (nothing changed) if it is no longer its."""
    # An ended job needs its uploaded file no more (a retry does, so it is kept until the end).
    changed = session.execute(
        unfiltered_update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.status == "running", JobRecord.runner == runner)
        .values(finished_at=utcnow(), **JOBS.ended, **values)
    )
    return bool(getattr(changed, "rowcount", 0) == 1)


def _cancelled(sessions: sessionmaker[Session], job_id: int, owner: Principal, runner: str) -> str:
    with sessions() as session:
        if _end(session, job_id, runner, {"status": "cancelled"}):
            record(session, owner, "job.cancel", "job", job_id, details={"outcome": "stopped", "worker": runner})
            session.commit()
            return "cancelled"
    return "lost"


def execute_job(
    sessions: sessionmaker[Session], job_id: int, owner: Principal, cancel: threading.Event, runner: str
) -> str:
    """Execute the job ``job_id`` that ``runner`` claimed, as ``owner``; how it ended.

    Parameters
    ----------
    sessions
        Sessions to the database.
    job_id
        The job.
    owner
        Its creator as their account stands now: every read and check is theirs.
    cancel
        Set when a cancel was asked (or the job is no longer this worker's): nothing is kept.
    runner
        The worker holding the job.

    Returns
    -------
    str
        ``succeeded``, ``failed``, ``cancelled``, or ``lost`` (another worker holds it now; nothing kept).
    """
    with sessions() as session:
        # The worker acts for the job's owner, who queued it: its own queue row, read whatever it holds.
        job = session.scalars(unfiltered(JobRecord).where(JobRecord.id == job_id)).one()
        kind, payload, upload = job.kind, json.loads(job.payload or "{}"), job.upload
        record(session, owner, "job.execute", "job", job_id, details={"kind": kind, "worker": runner})
        session.commit()
    if cancel.is_set():
        return _cancelled(sessions, job_id, owner, runner)
    executor = EXECUTORS.get(kind)
    try:
        if executor is None:
            raise InputError(f"unknown job kind {kind!r}", "kind")
        with sessions() as session:
            outcome = executor(session, owner, payload, upload)
            if cancel.is_set():
                session.rollback()
                return _cancelled(sessions, job_id, owner, runner)
            values = {
                "status": "succeeded",
                "result": json.dumps(outcome.result, sort_keys=True),
                "result_id": outcome.result_id,
                "result_marking_id": store(session, outcome.marking).id,
                "error": "",
            }
            if not _end(session, job_id, runner, values):
                session.rollback()  # the reaper gave the job to another worker: what we made is not kept
                return "lost"
            details = {"kind": kind, "result_id": outcome.result_id, "worker": runner}
            record(session, owner, "job.complete", "job", job_id, details=details)
            session.commit()
            return "succeeded"
    except InputError as exc:
        problems = [{"where": p.where, "message": p.message} for p in exc.problems]
        error = f"{len(problems)} problem(s), nothing was stored: " + "; ".join(str(p) for p in exc.problems[:5])
        kept = {"problems": problems[:MAX_PROBLEMS], "problem_total": len(problems), "http_status": exc.status}
        return _failed(sessions, job_id, runner, error, json.dumps(kept))
    except SetuError as exc:
        # The status the request would have been answered had it computed at once (413 for a network too large).
        return _failed(sessions, job_id, runner, str(exc), json.dumps({"http_status": exc.status}))
    except IntegrityError:
        # Two imports of one name raced for a version number; the other one has it.
        error = "another import of the same name took this version at the same time; import it again"
        return _failed(sessions, job_id, runner, error, json.dumps({"http_status": 409}))
    except Exception as exc:  # a fault in the computation still ends the job, with its reason
        log.exception("job %s (%s) failed", job_id, kind)
        return _failed(sessions, job_id, runner, f"{type(exc).__name__}: {exc}", "")


def _failed(sessions: sessionmaker[Session], job_id: int, runner: str, error: str, result: str) -> str:
    # The failed job's file goes with it (JOBS.ended): the user fixes it and uploads it again.
    return "failed" if fail_held(sessions, job_id, runner, error[:ERROR_CHARS], JOBS, result=result) else "lost"


JOB_SOURCE = Source(JOBS, execute_job)
"""The jobs queue as a worker takes from it."""
