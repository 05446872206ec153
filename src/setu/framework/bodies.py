"""The framework's structure: its pillars, and the bodies (a policy group and the groups reporting to it)."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from setu.errors import InputError, Problem
from setu.framework.common import (
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
from setu.models.framework import BODY_KINDS, Body, Pillar
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.read import unfiltered

# --- pillars ------------------------------------------------------------------------------------------


def create_pillar(
    session: Session, principal: Principal, *, code: str, name: str, marking: MarkingSpec, description: str = ""
) -> Pillar:
    """Add a pillar of the framework.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The writer (admin or desk officer).
    code, name, description
        Short code (unique), name and description.
    marking
        The pillar's marking; the writer must be able to read it.

    Returns
    -------
    Pillar
        The stored pillar.

    Raises
    ------
    AccessDenied, MarkingError, InputError
        A writer without the role, a marking they could not read, bad or duplicate input.
    """
    action = "framework.pillar.create"
    require_writer(session, principal, action)
    problems = text_problems({"code": code, "name": name, "description": description}, ("code", "name"))
    # A uniqueness check before the write: a code is taken even by a pillar the writer may not see.
    if not problems and session.scalar(unfiltered(Pillar.id).where(Pillar.code == code)) is not None:
        problems.append(Problem("code", f"a pillar with code {code!r} exists already"))
    if problems:
        raise InputError(problems)
    check_marking(session, principal, marking, action, code)
    row = Pillar(code=code, name=name, description=description)
    write_record(session, principal, row, marking, action, "pillar", {"code": code, "name": name})
    return row


def list_pillars(
    session: Session, principal: Principal, *, offset: int = 0, limit: int = 100
) -> tuple[list[Pillar], int]:
    """Visible pillars by code, and how many there are."""
    return listed(session, principal, Pillar, [], [Pillar.code, Pillar.id], offset, limit)


def get_pillar(session: Session, principal: Principal, pillar_id: int) -> Pillar:
    """One pillar, or :class:`NotFound` (hidden and missing alike; audited)."""
    return read_one(session, principal, Pillar, pillar_id, "pillar")


# --- bodies -------------------------------------------------------------------------------------------


def create_body(
    session: Session,
    principal: Principal,
    *,
    name: str,
    marking: MarkingSpec,
    kind: str = "working_group",
    parent_id: int | None = None,
    pillar_id: int | None = None,
    chairs: str = "",
) -> Body:
    """Add a body: a policy group, a working group reporting to one, or another forum.

    A policy group reports to no one; a working group names the body it reports to (its parent).
    Parent and pillar must be records the writer may see.

    Returns
    -------
    Body
        The stored body.

    Raises
    ------
    AccessDenied, MarkingError, InputError, NotFound
        As for :func:`create_pillar`; NotFound for a parent or pillar missing or hidden.
    """
    action = "framework.body.create"
    require_writer(session, principal, action)
    problems = text_problems({"name": name, "chairs": chairs}, ("name",)) + one_of("kind", kind, BODY_KINDS)
    if kind == "policy_group" and parent_id is not None:
        problems.append(Problem("parent_id", "a policy group reports to no other body; leave it empty"))
    if kind == "working_group" and parent_id is None:
        problems.append(Problem("parent_id", "a working group needs the body it reports to"))
    # A uniqueness check before the write: a name is taken even by a body the writer may not see.
    if not problems and session.scalar(unfiltered(Body.id).where(Body.name == name)) is not None:
        problems.append(Problem("name", f"a body named {name!r} exists already"))
    if problems:
        raise InputError(problems)
    sources: list[Marked] = []
    if parent_id is not None:
        sources.append(linked(session, principal, Body, parent_id, action, "body"))
    if pillar_id is not None:
        sources.append(linked(session, principal, Pillar, pillar_id, action, "pillar"))
    marking = inherited(principal, marking, sources)
    check_marking(session, principal, marking, action, name)
    row = Body(name=name, kind=kind, parent_id=parent_id, pillar_id=pillar_id, chairs=chairs)
    write_record(session, principal, row, marking, action, "body", {"name": name, "kind": kind, "parent_id": parent_id})
    return row


def list_bodies(
    session: Session,
    principal: Principal,
    *,
    parent_id: int | None = None,
    kind: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[Body], int]:
    """Visible bodies by name; ``parent_id`` lists the bodies reporting to one, ``kind`` one kind."""
    conditions: list[ColumnElement[bool]] = []
    if parent_id is not None:
        conditions.append(Body.parent_id == parent_id)
    if kind is not None:
        conditions.append(Body.kind == kind)
    return listed(session, principal, Body, conditions, [Body.name, Body.id], offset, limit)


def get_body(session: Session, principal: Principal, body_id: int) -> Body:
    """One body, or :class:`NotFound` (hidden and missing alike; audited)."""
    return read_one(session, principal, Body, body_id, "body")
