"""Co-production and technology-cooperation projects of the framework, each linked to a program and its network."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from setu.errors import InputError, Problem
from setu.framework.common import (
    PROJECT_STATUSES,
    check_marking,
    inherited,
    linked,
    listed,
    one_of,
    read_one,
    require_writer,
    text_problems,
    write_record,
)
from setu.models.base import Marked
from setu.models.framework import Pillar, Project
from setu.models.networks import NetworkRecord
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.read import unfiltered


def create_project(
    session: Session,
    principal: Principal,
    *,
    name: str,
    marking: MarkingSpec,
    pillar_id: int | None = None,
    program: str = "",
    network_id: int | None = None,
    status: str = "active",
    description: str = "",
) -> Project:
    """Add a co-production or technology-cooperation project, linked to a program and its network.

    The network must be one the writer may see: a hidden network is answered as a missing one.

    Returns
    -------
    Project
        The stored project.

    Raises
    ------
    AccessDenied, MarkingError, InputError, NotFound
        As for :func:`create_body`.
    """
    action = "framework.project.create"
    require_writer(session, principal, action)
    problems = text_problems({"name": name, "program": program, "description": description}, ("name",))
    problems += one_of("status", status, PROJECT_STATUSES)
    # A uniqueness check before the write: a name is taken even by a project the writer may not see.
    if not problems and session.scalar(unfiltered(Project.id).where(Project.name == name)) is not None:
        problems.append(Problem("name", f"a project named {name!r} exists already"))
    if problems:
        raise InputError(problems)
    sources: list[Marked] = []
    if pillar_id is not None:
        sources.append(linked(session, principal, Pillar, pillar_id, action, "pillar"))
    if network_id is not None:
        sources.append(linked(session, principal, NetworkRecord, network_id, action, "network"))
    marking = inherited(principal, marking, sources)
    check_marking(session, principal, marking, action, name)
    row = Project(
        name=name, pillar_id=pillar_id, program=program, network_id=network_id, status=status, description=description
    )
    details = {"name": name, "program": program, "network_id": network_id, "pillar_id": pillar_id}
    write_record(session, principal, row, marking, action, "project", details)
    return row


def list_projects(
    session: Session,
    principal: Principal,
    *,
    pillar_id: int | None = None,
    program: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[Project], int]:
    """Visible projects by name; ``pillar_id`` and ``program`` (exact) filter."""
    conditions: list[ColumnElement[bool]] = []
    if pillar_id is not None:
        conditions.append(Project.pillar_id == pillar_id)
    if program is not None:
        conditions.append(Project.program == program)
    return listed(session, principal, Project, conditions, [Project.name, Project.id], offset, limit)


def get_project(session: Session, principal: Principal, project_id: int) -> Project:
    """One project, or :class:`NotFound` (hidden and missing alike; audited)."""
    return read_one(session, principal, Project, project_id, "project")


def newest_network_id(session: Session, name: str) -> int | None:
    """The id of the newest network named ``name``, or None: for operator tools that link projects to it.

    Parameters
    ----------
    session
        Any session.
    name
        The network's name (the demo network's, for the framework seed).

    Returns
    -------
    int or None
        The id, whoever may read the network.
    """
    # Not a user's read: the operator's seed links the demo's projects to the demo network, acting for no user.
    statement = unfiltered(NetworkRecord.id).where(NetworkRecord.name == name)
    found: int | None = session.scalar(statement.order_by(NetworkRecord.id.desc()).limit(1))
    return found
