"""Submitting jobs: the checks that are cheap and precise made in the request, then the job queued.

What a request can tell at once is answered at once and queues nothing: a role the user lacks (403), a
marking they may not assign (403), a file over the upload limit (413), an empty file or one whose
format cannot be told (422), a scenario or capability they cannot see (404). The rest (reading the
file, computing the what-if) is the worker's, which checks the owner's access again when it executes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from typing import BinaryIO

from sqlalchemy.orm import Session

from setu.errors import InputError
from setu.jobs.execute import spec_to_json
from setu.jobs.service import JobLimits, enqueue
from setu.models.jobs import JobRecord
from setu.network.units import Units, unit_problems
from setu.networks.imports import IMPORT_ROLES, check_assignable
from setu.networks.uploads import (
    UploadFormat,
    UploadLimits,
    choose_format,
    name_problems,
    read_limited,
    safe_filename,
)
from setu.registry.capabilities import get_capability
from setu.runs.jobs import RunLimits
from setu.runs.scenarios import get_scenario
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.roles import require_role


def submit_import(
    session: Session,
    principal: Principal,
    stream: BinaryIO,
    filename: str | None,
    *,
    format: UploadFormat,
    name: str | None,
    marking: MarkingSpec,
    upload_limits: UploadLimits,
    limits: JobLimits,
    reference: RunLimits | None = None,
    units: Units | None = None,
) -> JobRecord:
    """Queue the import of an uploaded network file (what the API's upload and the import page both do).

    Parameters
    ----------
    session
        The request's session, holding no other pending work; committed here.
    principal
        The uploader: an analyst or admin.
    stream, filename
        The uploaded file and the name the client gave it.
    format
        ``auto``, ``setu``, ``accelerator`` or ``willems``.
    name
        The stored name (blank: the file's name without its suffix).
    marking
        The marking of every record (from :func:`setu.sharing.requested.requested_marking`).
    upload_limits
        The upload's size limits (the file's now, the rest when the worker reads it).
    limits
        The job caps.
    reference
        The run queue's limits, to queue the reference sweep of the uploader's view of the stored version
        when they leave room (:func:`setu.jobs.execute.run_import`); None: queue none.

    Returns
    -------
    JobRecord
        The queued job.

    Raises
    ------
    setu.errors.AccessDenied
        If the uploader is neither analyst nor admin (audited).
    setu.errors.MarkingError
        If the uploader could not read ``marking`` (audited).
    setu.networks.uploads.UploadTooLarge
        If the file is over the limit.
    setu.errors.InputError
        If the file is empty, its format cannot be told from its name, or the name cannot be stored.
    setu.errors.TooManyRequests
        If the user or the instance has no room for another job (429 or 503).
    """
    require_role(session, principal, "network.import", *IMPORT_ROLES)
    safe = safe_filename(filename)
    check_assignable(session, principal, (name or "").strip() or safe, [marking])
    choose_format(safe, format)
    if name and (problems := name_problems(name.strip())):
        raise InputError(problems)
    if units is not None and (problems := unit_problems(units.time, units.weight)):
        raise InputError(problems)
    data = read_limited(stream, upload_limits.max_upload_bytes, safe)
    payload = {
        "filename": safe,
        "format": format,
        "name": name,
        "marking": spec_to_json(marking),
        "limits": asdict(upload_limits),
        "reference": None if reference is None else {"queue": reference.queue, "per_user": reference.per_user},
        "units": None if units is None else {"time": units.time, "weight": units.weight},
    }
    return enqueue(session, principal, "network.import", payload, limits=limits, upload=data)


def submit_what_if(
    session: Session,
    principal: Principal,
    scenario: int,
    capability_id: int,
    *,
    material: str | None,
    concern: Collection[str],
    limits: JobLimits,
) -> JobRecord:
    """Queue the registry what-if of ``scenario`` with ``capability_id`` qualified as an alternate.

    Parameters
    ----------
    session
        The request's session, holding no other pending work; committed here.
    principal
        The reader.
    scenario, capability_id
        The stored scenario and the registry capability; both must be visible to the reader now.
    material
        The lost material it replaces (default: chosen when it executes).
    concern
        Country codes of concern (to flag the source).
    limits
        The job caps.

    Returns
    -------
    JobRecord
        The queued job.

    Raises
    ------
    setu.errors.NotFound
        If the scenario or the capability does not exist or the reader may not see it.
    setu.errors.TooManyRequests
        If the user or the instance has no room for another job (429 or 503).
    """
    get_scenario(session, principal, scenario)
    get_capability(session, principal, capability_id, action="registry.what_if")
    session.commit()  # the reads' audit entries stand whether or not the job is admitted
    payload = {
        "scenario": scenario,
        "capability_id": capability_id,
        "material": material,
        "concern": sorted(concern),
    }
    return enqueue(session, principal, "registry.what_if", payload, limits=limits)
