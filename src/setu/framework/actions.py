"""Action items: raised at meetings or from decisions, owned, due on a date, changed under a version guard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from setu.audit.log import record
from setu.errors import Conflict, InputError, Problem
from setu.framework.common import (
    check_marking,
    days_overdue,
    inherited,
    linked,
    listed,
    one_of,
    overdue_condition,
    read_one,
    require_writer,
    text_problems,
    today_utc,
    write_record,
)
from setu.models.accounts import User
from setu.models.base import Marked, utcnow
from setu.models.framework import ACTION_STATUSES, ActionItem, Body, Decision, Meeting, Pillar
from setu.models.parties import Organization
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.read import MAX_LIMIT, fetch_visible, readable


class StaleVersion(Conflict):
    """An update named a version of an action item that is no longer the stored one (answered 409).

    Parameters
    ----------
    action_id
        The action item.
    expected
        The version the caller last read.
    stored
        The version stored now (``None`` when a concurrent writer changed it during the update).
    """

    def __init__(self, action_id: int, expected: int, stored: int | None) -> None:
        self.action_id = action_id
        self.expected = expected
        self.stored = stored
        now = f"it is now version {stored}" if stored is not None else "another update changed it meanwhile"
        super().__init__(
            f"action {action_id} was changed since you read it (you sent version {expected}; {now}): "
            "read it again and reapply your change"
        )


class Overdue(NamedTuple):
    """An overdue action item and by how many calendar days."""

    action: ActionItem
    days: int


def _completion(status: str, previous: date | None, today: date) -> date | None:
    """The completion date that goes with ``status``: kept or set when done, cleared otherwise."""
    if status != "done":
        return None
    return previous or today


def create_action(
    session: Session,
    principal: Principal,
    *,
    title: str,
    due_on: date,
    marking: MarkingSpec,
    body_id: int | None = None,
    meeting_id: int | None = None,
    decision_id: int | None = None,
    pillar_id: int | None = None,
    owner: str = "",
    owner_organization_id: int | None = None,
    owner_user_id: int | None = None,
    status: str = "open",
    notes: str = "",
    today: date | None = None,
) -> ActionItem:
    """Add an action item with its owner and due date.

    A decision implies its meeting and a meeting its body: they are filled in when left out, and
    must agree when given. Every linked record must be visible to the writer.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The writer (admin or desk officer).
    title, due_on, notes
        What is to be done, by when, and anything more.
    marking
        The item's marking; the writer must be able to read it.
    body_id, meeting_id, decision_id, pillar_id
        Where the item comes from and the pillar it serves.
    owner, owner_organization_id, owner_user_id
        Who owns it: as people name them, the organization, the user (both records the writer may read;
        any other id is answered as unknown).
    status
        One of :data:`setu.models.framework.ACTION_STATUSES`.
    today
        The completion date when created done (default: today in UTC).

    Returns
    -------
    ActionItem
        The stored item (version 1).

    Raises
    ------
    AccessDenied, MarkingError, InputError, NotFound
        A writer without the role, a marking they could not read, bad input, a hidden or missing link.
    """
    action = "framework.action.create"
    require_writer(session, principal, action)
    problems = text_problems({"title": title, "owner": owner, "notes": notes}, ("title",))
    problems += one_of("status", status, ACTION_STATUSES)
    problems += _owner_problems(session, principal, owner_organization_id, owner_user_id)
    if problems:
        raise InputError(problems)
    sources: list[Marked] = []
    if pillar_id is not None:
        sources.append(linked(session, principal, Pillar, pillar_id, action, "pillar"))
    if decision_id is not None:
        decision = linked(session, principal, Decision, decision_id, action, "decision")
        sources.append(decision)
        if meeting_id is not None and meeting_id != decision.meeting_id:
            problems.append(Problem("meeting_id", f"decision {decision_id} was taken at another meeting"))
        meeting_id = decision.meeting_id
    if meeting_id is not None:
        meeting = linked(session, principal, Meeting, meeting_id, action, "meeting")
        sources.append(meeting)
        if body_id is not None and body_id != meeting.body_id:
            problems.append(Problem("body_id", f"meeting {meeting_id} is of another body"))
        body_id = meeting.body_id
    if body_id is not None:
        sources.append(linked(session, principal, Body, body_id, action, "body"))
    if problems:
        raise InputError(problems)
    marking = inherited(principal, marking, sources)
    check_marking(session, principal, marking, action, title)
    row = ActionItem(
        title=title,
        due_on=due_on,
        body_id=body_id,
        meeting_id=meeting_id,
        decision_id=decision_id,
        pillar_id=pillar_id,
        owner=owner,
        owner_organization_id=owner_organization_id,
        owner_user_id=owner_user_id,
        status=status,
        completed_on=_completion(status, None, today or today_utc()),
        notes=notes,
        created_by=principal.user_id,
    )
    details = {"title": title, "due_on": due_on.isoformat(), "status": status, "body_id": body_id}
    write_record(session, principal, row, marking, action, "action", details)
    return row


def _owner_problems(session: Session, principal: Principal, org_id: int | None, user_id: int | None) -> list[Problem]:
    """Problems with an owning organization or user: each must be one the writer may read.

    An id the writer may not read is answered exactly as one nobody has, so the owner field is no
    oracle for which of the other party's user or organization ids exist.
    """
    problems: list[Problem] = []
    if (
        org_id is not None
        and session.scalar(readable(principal, Organization.id).where(Organization.id == org_id)) is None
    ):
        problems.append(Problem("owner_organization_id", f"unknown organization id {org_id}"))
    if user_id is not None and session.scalar(readable(principal, User.id).where(User.id == user_id)) is None:
        problems.append(Problem("owner_user_id", f"unknown user id {user_id}"))
    return problems


def update_action(
    session: Session,
    principal: Principal,
    action_id: int,
    *,
    version: int,
    status: str | None = None,
    due_on: date | None = None,
    title: str | None = None,
    owner: str | None = None,
    notes: str | None = None,
    today: date | None = None,
) -> ActionItem:
    """Change an action item's status, due date, title, owner text or notes, guarded by its version.

    The caller sends the version it last read; if the item changed since, nothing is written and
    :class:`StaleVersion` says so (the HTTP API answers 409). Marking done sets the completion date
    (``today``, default today in UTC); leaving done clears it.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The writer (admin or desk officer) who may see the item.
    action_id
        The item.
    version
        The version the caller read.
    status, due_on, title, owner, notes
        The new values; ``None`` keeps the old.
    today
        The completion date when the item becomes done.

    Returns
    -------
    ActionItem
        The item after the change (its version one higher).

    Raises
    ------
    AccessDenied, InputError, NotFound, StaleVersion
        A writer without the role, bad input, a hidden or missing item, a stale version.
    """
    action = "framework.action.update"
    require_writer(session, principal, action)
    texts = {k: v for k, v in {"title": title, "owner": owner, "notes": notes}.items() if v is not None}
    problems = text_problems(texts, ("title",) if title is not None else ())
    if status is not None:
        problems += one_of("status", status, ACTION_STATUSES)
    if problems:
        raise InputError(problems)
    row = fetch_visible(
        session,
        principal,
        ActionItem,
        [ActionItem.id == action_id],
        action=action,
        kind="action",
        key=action_id,
        audit_permit=False,
    )
    if row.version != version:
        _conflict(session, principal, action_id, version, row.version)
    changes: dict[str, Any] = {}
    if status is not None and status != row.status:
        changes["status"] = [row.status, status]
        row.status = status
        row.completed_on = _completion(status, row.completed_on, today or today_utc())
    if due_on is not None and due_on != row.due_on:
        changes["due_on"] = [row.due_on.isoformat(), due_on.isoformat()]
        row.due_on = due_on
    for name, value in texts.items():
        if getattr(row, name) != value:
            changes[name] = [getattr(row, name), value]
            setattr(row, name, value)
    if not changes:
        return row
    row.updated_at = utcnow()
    try:
        session.flush()
    except StaleDataError:
        # Another writer changed the row between our read and our UPDATE (its WHERE on the version failed).
        session.rollback()
        _conflict(session, principal, action_id, version, None)
    record(session, principal, action, "action", action_id, details={"version": row.version, "changes": changes})
    return row


def _conflict(session: Session, principal: Principal, action_id: int, expected: int, stored: int | None) -> None:
    record(
        session,
        principal,
        "framework.action.update",
        "action",
        action_id,
        decision="deny",
        details={"reason": "stale version", "sent": expected, "stored": stored},
    )
    session.commit()
    raise StaleVersion(action_id, expected, stored)


def _action_conditions(
    *,
    statuses: Sequence[str],
    body_id: int | None,
    meeting_id: int | None,
    pillar_id: int | None,
    owner_organization_id: int | None,
    overdue_on: date | None,
) -> list[ColumnElement[bool]]:
    unknown = [s for s in statuses if s not in ACTION_STATUSES]
    if unknown:
        raise InputError(f"must be among {', '.join(ACTION_STATUSES)}, got {unknown[0]!r}", "status")
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(ActionItem.status.in_(sorted(set(statuses))))
    if body_id is not None:
        conditions.append(ActionItem.body_id == body_id)
    if meeting_id is not None:
        conditions.append(ActionItem.meeting_id == meeting_id)
    if pillar_id is not None:
        conditions.append(ActionItem.pillar_id == pillar_id)
    if owner_organization_id is not None:
        conditions.append(ActionItem.owner_organization_id == owner_organization_id)
    if overdue_on is not None:
        conditions.append(overdue_condition(overdue_on))
    return conditions


def list_actions(
    session: Session,
    principal: Principal,
    *,
    statuses: Sequence[str] = (),
    body_id: int | None = None,
    meeting_id: int | None = None,
    pillar_id: int | None = None,
    owner_organization_id: int | None = None,
    overdue_on: date | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[ActionItem], int]:
    """Visible action items, earliest due first, filtered; and how many match in all.

    Parameters
    ----------
    session
        Any session.
    principal
        The reader.
    statuses
        Only these statuses (empty: all).
    body_id, meeting_id, pillar_id, owner_organization_id
        Only items linked to these.
    overdue_on
        Only items overdue on this date (see :func:`is_overdue`).
    offset, limit
        The page.

    Returns
    -------
    tuple[list[ActionItem], int]
        The page and the total.

    Raises
    ------
    InputError
        An unknown status, or a bad page.
    """
    conditions = _action_conditions(
        statuses=statuses,
        body_id=body_id,
        meeting_id=meeting_id,
        pillar_id=pillar_id,
        owner_organization_id=owner_organization_id,
        overdue_on=overdue_on,
    )
    return listed(session, principal, ActionItem, conditions, [ActionItem.due_on, ActionItem.id], offset, limit)


def all_actions(session: Session, principal: Principal, **filters: Any) -> list[ActionItem]:
    """Every visible action item :func:`list_actions` would list with ``filters``, page after page."""
    found: list[ActionItem] = []
    while True:
        rows, total = list_actions(session, principal, offset=len(found), limit=MAX_LIMIT, **filters)
        found.extend(rows)
        if not rows or len(found) >= total:
            return found


def get_action(session: Session, principal: Principal, action_id: int) -> ActionItem:
    """One action item, or :class:`NotFound` (hidden and missing alike; audited)."""
    return read_one(session, principal, ActionItem, action_id, "action")


def overdue(session: Session, principal: Principal, today: date) -> list[Overdue]:
    """Visible action items open or in progress and due before ``today``, oldest first.

    Parameters
    ----------
    session
        Any session.
    principal
        The reader.
    today
        The date asked about.

    Returns
    -------
    list of Overdue
        Each item with its days overdue, counted in calendar days (see :func:`days_overdue`).
    """
    return [Overdue(row, days_overdue(row.due_on, today)) for row in all_actions(session, principal, overdue_on=today)]
