"""What every framework service shares: the writer check, input checks, linked records, labels and due dates.

Every read is filtered by marking in SQL (through :mod:`setu.sharing.read`); a record the user may not
see is answered like a missing one. Writes (admins and desk officers of either party) are audited in the
caller's transaction and left for the caller to commit; a refused write audits the refusal and commits
it at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import InstrumentedAttribute, Session

from setu.audit.log import record
from setu.errors import MarkingError, Problem
from setu.models.accounts import User
from setu.models.base import Marked
from setu.models.framework import ActionItem, Body, Decision, Meeting, Pillar
from setu.models.networks import NetworkRecord
from setu.models.parties import Organization
from setu.sharing.markings import MarkingSpec, combine, store
from setu.sharing.policy import Principal, allows
from setu.sharing.read import count_readable, fetch_visible, page, readable
from setu.sharing.requested import requested_marking
from setu.sharing.roles import has_role, require_role

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
    require_role(session, principal, action, *WRITE_ROLES)


def may_write(principal: Principal) -> bool:
    """Whether ``principal`` may write framework records (pages offer their forms only then).

    Parameters
    ----------
    principal
        The user.

    Returns
    -------
    bool
        True for admins and desk officers; every write checks again with :func:`require_writer`.
    """
    return has_role(principal, *WRITE_ROLES)


def writer_marking(
    session: Session,
    principal: Principal,
    action: str,
    *,
    classification: str,
    releases: list[str] | None,
    national_only: bool,
    groups: list[str] | None = None,
    owners: list[int] | None = None,
) -> MarkingSpec:
    """The marking a write asks for, checked after the writer's role (so a reader is refused, not corrected).

    Parameters
    ----------
    session
        The caller's session.
    principal
        The writer.
    action
        The audited action, refused to a reader.
    classification, releases, national_only, groups, owners
        The marking asked for (see :func:`setu.sharing.requested.requested_marking`).

    Returns
    -------
    MarkingSpec
        The marking; whether the writer may assign it is the writing function's check.

    Raises
    ------
    AccessDenied
        A user without the writer role (audited).
    InputError
        An unknown party, a malformed group or an unknown organization.
    """
    require_writer(session, principal, action)
    return requested_marking(
        session,
        principal,
        classification=classification,
        releases=releases,
        national_only=national_only,
        groups=groups,
        owners=owners,
    )


def inherited(principal: Principal, marking: MarkingSpec, sources: Iterable[Marked]) -> MarkingSpec:
    """``marking`` made at least as restrictive as every record the new one is made from or linked to.

    A decision taken at a meeting, an action item from a decision, a project on a network: whoever may
    not read the source may not read what was made from it (nor learn the source's id through it).
    """
    specs = {MarkingSpec.of(row.marking) for row in sources}
    return combine({marking, *specs}, principal.party) if specs else marking


def check_marking(session: Session, principal: Principal, spec: MarkingSpec, action: str, key: object) -> None:
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


def text_problems(values: Mapping[str, str], required: Iterable[str] = ()) -> list[Problem]:
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


def one_of(name: str, value: str, allowed: Sequence[str]) -> list[Problem]:
    """A problem when ``value`` is not among ``allowed``."""
    return [] if value in allowed else [Problem(name, f"must be one of {', '.join(allowed)}, got {value!r}")]


def primary_key(model: type[Marked]) -> InstrumentedAttribute[int]:
    """The integer primary key column ``id`` every framework model (and network) has."""
    column: InstrumentedAttribute[int] = getattr(model, "id")  # noqa: B009  (the mixin declares no id)
    return column


def linked(session: Session, principal: Principal, model: type[M], pk: int, action: str, kind: str) -> M:
    """A linked record the writer must see: hidden ones are answered as missing (audited)."""
    return fetch_visible(
        session, principal, model, [primary_key(model) == pk], action=action, kind=kind, key=pk, audit_permit=False
    )


def write_record(
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


def listed(
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
    total = count_readable(session, principal, model, *conditions)
    rows = list(
        session.scalars(readable(principal, model).where(*conditions).order_by(*order).offset(offset).limit(limit))
    )
    return rows, total


def read_one(session: Session, principal: Principal, model: type[M], pk: int, kind: str) -> M:
    """The record ``pk`` of ``model``, audited as ``framework.<kind>.read``; hidden and missing raise NotFound."""
    return fetch_visible(
        session, principal, model, [primary_key(model) == pk], action=f"framework.{kind}.read", kind=kind, key=pk
    )


def _names(
    session: Session, principal: Principal, model: type[M], column: Any, ids: Iterable[int | None]
) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    pk = primary_key(model)
    rows = session.execute(readable(principal, pk, column).where(pk.in_(wanted))).all()
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
    # Users are named within the reader's own party only, and only those whose record the reader may read.
    user_names = {
        uid: name
        for uid, name in session.execute(
            readable(principal, User.id, User.username).where(User.id.in_(user_ids), User.party_code == principal.party)
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
