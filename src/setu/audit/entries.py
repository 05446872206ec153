"""Pages of audit entries for auditors: in ``seq`` order with leaf hashes (API), newest first (viewer), suggestions.

Entries are marked data: each belongs to a party (the acting user's, or that of the account it concerns)
or to none (``""``, system entries). Every read here applies :func:`readable_entries`, the one filter of
the log: an auditor reads their own party's entries (``scope="party"``) or those of no party
(``scope="system"``), never the other party's, whatever a caller asks.

Pending entries (recorded, not yet sequenced) are never shown: each read sequences them first, in the
request's transaction (:func:`~setu.audit.log.integrate`), so it sees every entry recorded before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from setu.audit.log import AuditError, entry_fields, integrate
from setu.audit.service import MAX_PAGE, require_auditor
from setu.models.audit import AuditEntry
from setu.sharing.policy import Principal

Scope = Literal["party", "system"]
SCOPES: tuple[Scope, ...] = ("party", "system")


def readable_entries(principal: Principal, scope: str) -> ColumnElement[bool]:
    """The condition on :class:`AuditEntry` rows ``principal`` may read in ``scope`` (the log's read filter).

    Parameters
    ----------
    principal
        The reader.
    scope
        ``party``: entries of the reader's party; ``system``: entries of no party.

    Returns
    -------
    ColumnElement
        The ``WHERE`` condition.
    """
    if scope not in SCOPES:
        raise AuditError(f"no scope {scope!r}; expected one of {', '.join(SCOPES)}")
    return AuditEntry.party == (principal.party if scope == "party" else "")


@dataclass(frozen=True, slots=True)
class EntryPage:
    """A page of entries in ``seq`` order; ``next_start`` is the ``start`` of the next page (``None``: last)."""

    entries: tuple[Mapping[str, Any], ...]
    next_start: int | None
    tree_size: int

    def to_dict(self) -> dict[str, Any]:
        return {"entries": [dict(e) for e in self.entries], "next_start": self.next_start, "tree_size": self.tree_size}


def list_entries(
    session: Session,
    principal: Principal,
    *,
    start: int = 0,
    limit: int = 100,
    action: str | None = None,
    scope: str = "party",
    object_type: str | None = None,
    object_id: str | None = None,
) -> EntryPage:
    """A page of entries from ``seq >= start``, optionally filtered, each with its leaf hash.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    start
        Smallest ``seq`` (pass the previous page's ``next_start``).
    limit
        At most this many (capped at 1000).
    action, object_type, object_id
        Only entries with these values.
    scope
        ``party`` (the reader's party) or ``system`` (no party); see :func:`readable_entries`.

    Returns
    -------
    EntryPage
        The entries as JSON objects (the leaf fields plus ``leaf_hash``), and where the next page starts.
    """
    require_auditor(session, principal)
    integrate(session, if_pending=True)  # read your writes: what was recorded before is in the log
    limit = max(1, min(limit, MAX_PAGE))
    query = select(AuditEntry).where(AuditEntry.seq >= start, readable_entries(principal, scope))
    for column, value in (
        (AuditEntry.action, action),
        (AuditEntry.object_type, object_type),
        (AuditEntry.object_id, object_id),
    ):
        if value is not None:
            query = query.where(column == value)
    # One row more than asked tells whether there is a next page without a count.
    rows = list(session.scalars(query.order_by(AuditEntry.seq).limit(limit + 1)))
    page = rows[:limit]
    entries = tuple({**entry_fields(e), "leaf_hash": bytes(e.leaf_hash).hex()} for e in page)
    next_start = page[-1].seq + 1 if len(rows) > limit else None
    last = session.scalar(select(func.max(AuditEntry.seq)))
    return EntryPage(entries=entries, next_start=next_start, tree_size=0 if last is None else last + 1)


ENTRY_VALUE_FIELDS = ("action", "actor", "object_type")
"""Entry columns :func:`entry_values` lists the distinct values of (for filter suggestions)."""


def recent_entries(
    session: Session,
    principal: Principal,
    *,
    scope: str = "party",
    offset: int = 0,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    actor_id: int | None = None,
    object_type: str | None = None,
    decision: str | None = None,
) -> tuple[tuple[Mapping[str, Any], ...], int]:
    """A page of the entries the reader may read in ``scope``, newest first, and how many match.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    scope
        ``party`` (the reader's party) or ``system`` (no party); see :func:`readable_entries`.
    offset
        Entries to skip, newest first.
    limit
        At most this many (capped at 1000).
    action, actor, actor_id, object_type, decision
        Only entries with these values.

    Returns
    -------
    tuple
        The entries as JSON objects (the leaf fields plus ``leaf_hash``), and the count of all matching.
    """
    require_auditor(session, principal)
    integrate(session, if_pending=True)
    conditions = [readable_entries(principal, scope)]
    for column, value in (
        (AuditEntry.action, action),
        (AuditEntry.actor, actor),
        (AuditEntry.actor_id, actor_id),
        (AuditEntry.object_type, object_type),
        (AuditEntry.decision, decision),
    ):
        if value is not None:
            conditions.append(column == value)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    query = (
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.seq.desc())
        .offset(max(0, offset))
        .limit(max(1, min(limit, MAX_PAGE)))
    )
    entries = tuple({**entry_fields(e), "leaf_hash": bytes(e.leaf_hash).hex()} for e in session.scalars(query))
    return entries, int(total)


def entry_values(
    session: Session, principal: Principal, field: str, *, scope: str = "party", limit: int = 200
) -> list[str]:
    """The distinct values of an entry column among the entries the reader may read in ``scope`` (suggestions).

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    field
        One of :data:`ENTRY_VALUE_FIELDS`.
    scope
        ``party`` or ``system``; see :func:`readable_entries`.
    limit
        At most this many values.

    Returns
    -------
    list of str
        The values.
    """
    require_auditor(session, principal)
    if field not in ENTRY_VALUE_FIELDS:
        raise AuditError(f"no suggestions for {field!r}; expected one of {', '.join(ENTRY_VALUE_FIELDS)}")
    integrate(session, if_pending=True)
    column = getattr(AuditEntry, field)
    query = (
        select(column).where(readable_entries(principal, scope), column != "").distinct().order_by(column).limit(limit)
    )
    return [str(value) for value in session.scalars(query)]
