"""Framework coordination records: pillars, bodies, meetings, decisions, action items and projects.

Every read is filtered by marking in SQL; a record the user may not see is answered like a missing
one. Writes (admins and desk officers of either party) are audited in the caller's transaction and
left for the caller to commit; a refused write audits the refusal and commits it at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError

from setu.audit.log import record
from setu.errors import AccessDenied, Conflict, InputError, MarkingError, Problem
from setu.models.accounts import User
from setu.models.base import Marked, Marking, utcnow
from setu.models.framework import ACTION_STATUSES, BODY_KINDS, ActionItem, Body, Decision, Meeting, Pillar, Project
from setu.models.networks import NetworkRecord
from setu.models.parties import Organization
from setu.sharing.markings import MarkingSpec, combine, store
from setu.sharing.policy import Principal, allows, visible
from setu.sharing.read import MAX_LIMIT, fetch_visible, page
from setu.sharing.roles import check_role

M = TypeVar("M", bound=Marked)

WRITE_ROLES = ("admin", "desk_officer")
"""Roles that may write framework records (either party's; see docs/framework.md)."""
OPEN_STATUSES = ("open", "in_progress")
"""Statuses of an action item still to be done: only these can be overdue."""
PROJECT_STATUSES = ("proposed", "active", "completed", "suspended")
"""Statuses a project may have."""
SYSTEM_USER = 0
"""``created_by`` of records written by operator tools (the demo seed), which act for no user."""

# Column widths, checked before writing so a long text is bad input rather than a database error.
_WIDTHS = {
    "code": 32,
    "name": 200,
    "chairs": 300,
    "title": 300,
    "location": 200,
    "owner": 200,
    "program": 200,
}


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


@dataclass(frozen=True)
class PillarPosture:
    """Counts of one pillar's visible action items and projects.

    Attributes
    ----------
    pillar
        The pillar, or ``None`` for items with no pillar (or one the reader may not see).
    counts
        Action items by status.
    overdue
        Open or in-progress items past their due date.
    programs
        Programs of the pillar's visible projects (sorted, distinct).
    projects
        How many visible projects the pillar has.
    marking
        The most restrictive marking of everything counted: a count reveals what is behind it.
    """

    pillar: Pillar | None
    counts: dict[str, int]
    overdue: int
    programs: list[str]
    projects: int
    marking: MarkingSpec | None


@dataclass
class Labels:
    """Names of the records that items link to, only where the reader may see the linked record."""

    pillars: dict[int, str] = field(default_factory=dict)
    bodies: dict[int, str] = field(default_factory=dict)
    meetings: dict[int, str] = field(default_factory=dict)
    decisions: dict[int, str] = field(default_factory=dict)
    organizations: dict[int, str] = field(default_factory=dict)
    networks: dict[int, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)


# --- helpers ------------------------------------------------------------------------------------------


def today_utc() -> date:
    """The current date in UTC: the default "today" of due dates and completion dates."""
    return datetime.now(UTC).date()


def is_overdue(status: str, due_on: date, today: date) -> bool:
    """Whether an action item is overdue on ``today``: still open or in progress and due before it.

    Parameters
    ----------
    status
        The item's status.
    due_on
        Its due date.
    today
        The date asked about; an item due on ``today`` is not yet overdue.

    Returns
    -------
    bool
        The answer; :func:`overdue_condition` states the same rule in SQL.
    """
    return status in OPEN_STATUSES and due_on < today


def overdue_condition(today: date) -> ColumnElement[bool]:
    """The SQL form of :func:`is_overdue` on :class:`ActionItem` rows."""
    return and_(ActionItem.status.in_(OPEN_STATUSES), ActionItem.due_on < today)


def days_overdue(due_on: date, today: date) -> int:
    """Calendar days from the due date to ``today`` (weekends and holidays count; 0 if not past due)."""
    return max((today - due_on).days, 0)


def require_writer(session: Session, principal: Principal, action: str) -> None:
    """Allow framework writes only to admins and desk officers; a refusal is audited and committed.

    Parameters
    ----------
    session
        The caller's session (holding no other pending work).
    principal
        The user.
    action
        The audited action refused.

    Raises
    ------
    AccessDenied
        If the user holds neither role.
    """
    try:
        check_role(principal, *WRITE_ROLES)
    except AccessDenied:
        record(session, principal, action, decision="deny", details={"reason": "role", "requires": list(WRITE_ROLES)})
        session.commit()
        raise


def _check_marking(session: Session, principal: Principal, spec: MarkingSpec, action: str, key: object) -> None:
    """Refuse a marking the writer could not read themselves (audited and committed)."""
    if allows(principal, spec):
        return
    record(
        session,
        principal,
        action,
        "framework",
        str(key),
        decision="deny",
        details={"reason": "marking not readable by the writer", "marking": spec.banner()},
    )
    session.commit()
    raise MarkingError(f"you may not mark records {spec.banner()}: you could not read them yourself")


def _text_problems(values: Mapping[str, str], required: Iterable[str] = ()) -> list[Problem]:
    """Texts too long for their column, holding NUL, or required and blank."""
    problems: list[Problem] = []
    for name in required:
        if not values[name].strip():
            problems.append(Problem(name, "must not be blank"))
    for name, value in values.items():
        width = _WIDTHS.get(name)
        if width is not None and len(value) > width:
            problems.append(Problem(name, f"at most {width} characters, got {len(value)}"))
        if "\x00" in value:
            problems.append(Problem(name, "must not contain NUL characters"))
    return problems


def _one_of(name: str, value: str, allowed: Sequence[str]) -> list[Problem]:
    return [] if value in allowed else [Problem(name, f"must be one of {', '.join(allowed)}, got {value!r}")]


def _pk(model: type[Marked]) -> InstrumentedAttribute[int]:
    """The integer primary key column ``id`` every framework model (and network) has."""
    column: InstrumentedAttribute[int] = getattr(model, "id")  # noqa: B009  (the mixin declares no id)
    return column


def _linked(session: Session, principal: Principal, model: type[M], pk: int, action: str, kind: str) -> M:
    """A linked record the writer must see: hidden ones are answered as missing (audited)."""
    return fetch_visible(
        session, principal, model, [_pk(model) == pk], action=action, kind=kind, key=pk, audit_permit=False
    )


def _write(
    session: Session,
    principal: Principal | None,
    row: Marked,
    spec: MarkingSpec,
    action: str,
    kind: str,
    details: dict[str, Any],
    actor_name: str = "",
) -> None:
    """Store ``row`` under ``spec`` and audit it in the same transaction."""
    row.marking_id = store(session, spec).id
    session.add(row)
    session.flush()
    pk: int = row.id  # type: ignore[attr-defined]
    record(
        session,
        principal,
        action,
        kind,
        pk,
        actor_name=actor_name,
        details={**details, "marking": spec.banner()},
    )


def _listed(
    session: Session,
    principal: Principal,
    model: type[M],
    conditions: list[ColumnElement[bool]],
    order: Sequence[Any],
    offset: int,
    limit: int,
) -> tuple[list[M], int]:
    """A page of the visible rows of ``model`` matching ``conditions``, and how many match in all."""
    offset, limit = page(offset, limit)
    marking_id: InstrumentedAttribute[int] = model.marking_id
    where = [visible(marking_id, principal), *conditions]
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = list(session.scalars(select(model).where(*where).order_by(*order).offset(offset).limit(limit)))
    return rows, total


def _get(session: Session, principal: Principal, model: type[M], pk: int, kind: str) -> M:
    return fetch_visible(
        session, principal, model, [_pk(model) == pk], action=f"framework.{kind}.read", kind=kind, key=pk
    )


def _names(
    session: Session, principal: Principal, model: type[M], column: Any, ids: Iterable[int | None]
) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    marking_id: InstrumentedAttribute[int] = model.marking_id
    pk = _pk(model)
    rows = session.execute(select(pk, column).where(pk.in_(wanted), visible(marking_id, principal))).all()
    return {row[0]: str(row[1]) for row in rows}


def labels(
    session: Session,
    principal: Principal,
    *,
    pillars: Iterable[int | None] = (),
    bodies: Iterable[int | None] = (),
    meetings: Iterable[int | None] = (),
    decisions: Iterable[int | None] = (),
    organizations: Iterable[int | None] = (),
    networks: Iterable[int | None] = (),
    users: Iterable[int | None] = (),
) -> Labels:
    """Names of linked records ``principal`` may see, by id; hidden ones are left out.

    A visible item may link to a record its reader may not see (an action under a national-only
    body): the link then reads as absent, so neither the name nor the existence of the record leaks.

    Parameters
    ----------
    session
        Any session.
    principal
        The reader.
    pillars, bodies, meetings, decisions, organizations, networks, users
        The linked ids (``None`` ignored).

    Returns
    -------
    Labels
        Pillar names, body names, meeting titles, decision texts, organization and network names,
        and usernames (users are named only within the reader's own party).
    """
    user_ids = sorted({u for u in users if u is not None})
    user_names = {
        uid: name
        for uid, name in session.execute(
            select(User.id, User.username).where(User.id.in_(user_ids), User.party_code == principal.party)
        ).all()
    }
    return Labels(
        pillars=_names(session, principal, Pillar, Pillar.name, pillars),
        bodies=_names(session, principal, Body, Body.name, bodies),
        meetings=_names(session, principal, Meeting, Meeting.title, meetings),
        decisions=_names(session, principal, Decision, Decision.text, decisions),
        organizations=_names(session, principal, Organization, Organization.name, organizations),
        networks=_names(session, principal, NetworkRecord, NetworkRecord.name, networks),
        users=user_names,
    )


def action_labels(session: Session, principal: Principal, actions: Sequence[ActionItem]) -> Labels:
    """:func:`labels` of everything ``actions`` link to."""
    return labels(
        session,
        principal,
        pillars=(a.pillar_id for a in actions),
        bodies=(a.body_id for a in actions),
        meetings=(a.meeting_id for a in actions),
        decisions=(a.decision_id for a in actions),
        organizations=(a.owner_organization_id for a in actions),
        users=(a.owner_user_id for a in actions),
    )


def owner_text(action: ActionItem, names: Labels) -> str:
    """Who owns ``action`` as people read it: the owner text, else the owning organization or user."""
    if action.owner:
        return action.owner
    if action.owner_organization_id in names.organizations:
        return names.organizations[action.owner_organization_id]
    if action.owner_user_id in names.users:
        return names.users[action.owner_user_id]
    return "unassigned"


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
    problems = _text_problems({"code": code, "name": name, "description": description}, ("code", "name"))
    if not problems and session.scalar(select(Pillar.id).where(Pillar.code == code)) is not None:
        problems.append(Problem("code", f"a pillar with code {code!r} exists already"))
    if problems:
        raise InputError(problems)
    _check_marking(session, principal, marking, action, code)
    row = Pillar(code=code, name=name, description=description)
    _write(session, principal, row, marking, action, "pillar", {"code": code, "name": name})
    return row


def list_pillars(
    session: Session, principal: Principal, *, offset: int = 0, limit: int = 100
) -> tuple[list[Pillar], int]:
    """Visible pillars by code, and how many there are."""
    return _listed(session, principal, Pillar, [], [Pillar.code, Pillar.id], offset, limit)


def get_pillar(session: Session, principal: Principal, pillar_id: int) -> Pillar:
    """One pillar, or :class:`NotFound` (hidden and missing alike; audited)."""
    return _get(session, principal, Pillar, pillar_id, "pillar")


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
    problems = _text_problems({"name": name, "chairs": chairs}, ("name",)) + _one_of("kind", kind, BODY_KINDS)
    if kind == "policy_group" and parent_id is not None:
        problems.append(Problem("parent_id", "a policy group reports to no other body; leave it empty"))
    if kind == "working_group" and parent_id is None:
        problems.append(Problem("parent_id", "a working group needs the body it reports to"))
    if not problems and session.scalar(select(Body.id).where(Body.name == name)) is not None:
        problems.append(Problem("name", f"a body named {name!r} exists already"))
    if problems:
        raise InputError(problems)
    if parent_id is not None:
        _linked(session, principal, Body, parent_id, action, "body")
    if pillar_id is not None:
        _linked(session, principal, Pillar, pillar_id, action, "pillar")
    _check_marking(session, principal, marking, action, name)
    row = Body(name=name, kind=kind, parent_id=parent_id, pillar_id=pillar_id, chairs=chairs)
    _write(session, principal, row, marking, action, "body", {"name": name, "kind": kind, "parent_id": parent_id})
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
    return _listed(session, principal, Body, conditions, [Body.name, Body.id], offset, limit)


def get_body(session: Session, principal: Principal, body_id: int) -> Body:
    """One body, or :class:`NotFound` (hidden and missing alike; audited)."""
    return _get(session, principal, Body, body_id, "body")


# --- meetings and decisions ---------------------------------------------------------------------------


def create_meeting(
    session: Session,
    principal: Principal,
    *,
    body_id: int,
    held_on: date,
    marking: MarkingSpec,
    title: str = "",
    location: str = "",
    summary: str = "",
) -> Meeting:
    """Record a meeting of a body the writer may see.

    Returns
    -------
    Meeting
        The stored meeting.

    Raises
    ------
    AccessDenied, MarkingError, InputError, NotFound
        As for :func:`create_body`.
    """
    action = "framework.meeting.create"
    require_writer(session, principal, action)
    problems = _text_problems({"title": title, "location": location, "summary": summary})
    if problems:
        raise InputError(problems)
    _linked(session, principal, Body, body_id, action, "body")
    _check_marking(session, principal, marking, action, body_id)
    row = Meeting(body_id=body_id, held_on=held_on, title=title, location=location, summary=summary)
    _write(session, principal, row, marking, action, "meeting", {"body_id": body_id, "held_on": held_on.isoformat()})
    return row


def list_meetings(
    session: Session, principal: Principal, *, body_id: int | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[Meeting], int]:
    """Visible meetings, newest first; ``body_id`` lists one body's."""
    conditions = [Meeting.body_id == body_id] if body_id is not None else []
    return _listed(session, principal, Meeting, conditions, [Meeting.held_on.desc(), Meeting.id.desc()], offset, limit)


def get_meeting(session: Session, principal: Principal, meeting_id: int) -> Meeting:
    """One meeting, or :class:`NotFound` (hidden and missing alike; audited)."""
    return _get(session, principal, Meeting, meeting_id, "meeting")


def create_decision(
    session: Session, principal: Principal, *, meeting_id: int, text: str, marking: MarkingSpec
) -> Decision:
    """Record a decision taken at a meeting the writer may see.

    Returns
    -------
    Decision
        The stored decision.

    Raises
    ------
    AccessDenied, MarkingError, InputError, NotFound
        As for :func:`create_body`.
    """
    action = "framework.decision.create"
    require_writer(session, principal, action)
    problems = _text_problems({"text": text}, ("text",))
    if problems:
        raise InputError(problems)
    _linked(session, principal, Meeting, meeting_id, action, "meeting")
    _check_marking(session, principal, marking, action, meeting_id)
    row = Decision(meeting_id=meeting_id, text=text)
    _write(session, principal, row, marking, action, "decision", {"meeting_id": meeting_id})
    return row


def list_decisions(
    session: Session, principal: Principal, *, meeting_id: int | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[Decision], int]:
    """Visible decisions in the order recorded; ``meeting_id`` lists one meeting's."""
    conditions = [Decision.meeting_id == meeting_id] if meeting_id is not None else []
    return _listed(session, principal, Decision, conditions, [Decision.id], offset, limit)


def get_decision(session: Session, principal: Principal, decision_id: int) -> Decision:
    """One decision, or :class:`NotFound` (hidden and missing alike; audited)."""
    return _get(session, principal, Decision, decision_id, "decision")


# --- action items -------------------------------------------------------------------------------------


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
        Who owns it: as people name them, the organization, the user.
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
    problems = _text_problems({"title": title, "owner": owner, "notes": notes}, ("title",))
    problems += _one_of("status", status, ACTION_STATUSES)
    problems += _owner_problems(session, owner_organization_id, owner_user_id)
    if problems:
        raise InputError(problems)
    if pillar_id is not None:
        _linked(session, principal, Pillar, pillar_id, action, "pillar")
    if decision_id is not None:
        decision = _linked(session, principal, Decision, decision_id, action, "decision")
        if meeting_id is not None and meeting_id != decision.meeting_id:
            problems.append(Problem("meeting_id", f"decision {decision_id} was taken at another meeting"))
        meeting_id = decision.meeting_id
    if meeting_id is not None:
        meeting = _linked(session, principal, Meeting, meeting_id, action, "meeting")
        if body_id is not None and body_id != meeting.body_id:
            problems.append(Problem("body_id", f"meeting {meeting_id} is of another body"))
        body_id = meeting.body_id
    if body_id is not None:
        _linked(session, principal, Body, body_id, action, "body")
    if problems:
        raise InputError(problems)
    _check_marking(session, principal, marking, action, title)
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
    _write(session, principal, row, marking, action, "action", details)
    return row


def _owner_problems(session: Session, org_id: int | None, user_id: int | None) -> list[Problem]:
    problems: list[Problem] = []
    if org_id is not None and session.get(Organization, org_id) is None:
        problems.append(Problem("owner_organization_id", f"unknown organization id {org_id}"))
    if user_id is not None and session.get(User, user_id) is None:
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
    problems = _text_problems(texts, ("title",) if title is not None else ())
    if status is not None:
        problems += _one_of("status", status, ACTION_STATUSES)
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
    return _listed(session, principal, ActionItem, conditions, [ActionItem.due_on, ActionItem.id], offset, limit)


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
    return _get(session, principal, ActionItem, action_id, "action")


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


# --- projects -----------------------------------------------------------------------------------------


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
    problems = _text_problems({"name": name, "program": program, "description": description}, ("name",))
    problems += _one_of("status", status, PROJECT_STATUSES)
    if not problems and session.scalar(select(Project.id).where(Project.name == name)) is not None:
        problems.append(Problem("name", f"a project named {name!r} exists already"))
    if problems:
        raise InputError(problems)
    if pillar_id is not None:
        _linked(session, principal, Pillar, pillar_id, action, "pillar")
    if network_id is not None:
        _linked(session, principal, NetworkRecord, network_id, action, "network")
    _check_marking(session, principal, marking, action, name)
    row = Project(
        name=name, pillar_id=pillar_id, program=program, network_id=network_id, status=status, description=description
    )
    details = {"name": name, "program": program, "network_id": network_id, "pillar_id": pillar_id}
    _write(session, principal, row, marking, action, "project", details)
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
    return _listed(session, principal, Project, conditions, [Project.name, Project.id], offset, limit)


def get_project(session: Session, principal: Principal, project_id: int) -> Project:
    """One project, or :class:`NotFound` (hidden and missing alike; audited)."""
    return _get(session, principal, Project, project_id, "project")


# --- posture ------------------------------------------------------------------------------------------


def posture(session: Session, principal: Principal, today: date) -> list[PillarPosture]:
    """Per pillar: visible action items by status, how many are overdue, and the visible projects.

    Counted in SQL over visible rows only. Items whose pillar the reader may not see are counted
    under "no pillar", so a hidden pillar's name never shows. Each row's marking combines the markings
    of everything counted in it (and of the pillar), since the numbers reveal those records.

    Parameters
    ----------
    session
        Any session.
    principal
        The reader.
    today
        The date overdue is counted on.

    Returns
    -------
    list of PillarPosture
        Visible pillars by code (every one, even with nothing counted), then "no pillar" if it counts anything.
    """
    pillars, _ = list_pillars(session, principal, limit=MAX_LIMIT)
    shown = {p.id: p for p in pillars}
    late = func.sum(case((overdue_condition(today), 1), else_=0))
    action_rows = session.execute(
        select(ActionItem.pillar_id, ActionItem.status, ActionItem.marking_id, func.count(), late)
        .where(visible(ActionItem.marking_id, principal))
        .group_by(ActionItem.pillar_id, ActionItem.status, ActionItem.marking_id)
    ).all()
    project_rows = session.execute(
        select(Project.pillar_id, Project.program, Project.marking_id, func.count())
        .where(visible(Project.marking_id, principal))
        .group_by(Project.pillar_id, Project.program, Project.marking_id)
    ).all()
    counts: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ACTION_STATUSES, 0))
    overdue_counts: dict[int | None, int] = defaultdict(int)
    markings: dict[int | None, set[int]] = defaultdict(set)
    programs: dict[int | None, set[str]] = defaultdict(set)
    projects: dict[int | None, int] = defaultdict(int)
    for pillar_id, status, marking_id, count, late_count in action_rows:
        key = pillar_id if pillar_id in shown else None
        counts[key][status] = counts[key].get(status, 0) + count
        overdue_counts[key] += int(late_count or 0)
        markings[key].add(marking_id)
    for pillar_id, program, marking_id, count in project_rows:
        key = pillar_id if pillar_id in shown else None
        projects[key] += count
        if program:
            programs[key].add(program)
        markings[key].add(marking_id)
    for pillar in pillars:
        markings[pillar.id].add(pillar.marking_id)
    specs = {m.id: MarkingSpec.of(m) for m in session.scalars(select(Marking).where(Marking.id.in_(_all(markings))))}
    keys: list[int | None] = [p.id for p in pillars]
    if None in counts or None in projects:
        keys.append(None)
    return [
        PillarPosture(
            pillar=shown.get(key) if key is not None else None,
            counts=dict(counts[key]),
            overdue=overdue_counts[key],
            programs=sorted(programs[key]),
            projects=projects[key],
            marking=combine([specs[m] for m in markings[key]], principal.party) if markings[key] else None,
        )
        for key in keys
    ]


def _all(groups: Mapping[Any, set[int]]) -> list[int]:
    return sorted({m for ids in groups.values() for m in ids})
