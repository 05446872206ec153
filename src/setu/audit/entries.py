"""Pages of audit entries for auditors: in ``seq`` order with leaf hashes (API), newest first (viewer), suggestions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from setu.audit.log import AuditError, entry_fields
from setu.audit.service import MAX_PAGE, require_auditor
from setu.models.audit import AuditEntry
from setu.sharing.policy import Principal


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
    party: str | None = None,
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
    action, party, object_type, object_id
        Only entries with these values.

    Returns
    -------
    EntryPage
        The entries as JSON objects (the leaf fields plus ``leaf_hash``), and where the next page starts.
    """
    require_auditor(session, principal)
    limit = max(1, min(limit, MAX_PAGE))
    query = select(AuditEntry).where(AuditEntry.seq >= start)
    for column, value in (
        (AuditEntry.action, action),
        (AuditEntry.party, party),
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
    party: str,
    offset: int = 0,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    actor_id: int | None = None,
    object_type: str | None = None,
    decision: str | None = None,
) -> tuple[tuple[Mapping[str, Any], ...], int]:
    """A page of the entries of one party (``""``: of no party), newest first, and how many match.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    party
        Only entries of this party; the caller decides which the reader may see.
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
    conditions = [AuditEntry.party == party]
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


def entry_values(session: Session, principal: Principal, field: str, *, party: str, limit: int = 200) -> list[str]:
    """The distinct values of an entry column among one party's entries, sorted (for filter suggestions).

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    field
        One of :data:`ENTRY_VALUE_FIELDS`.
    party
        Only entries of this party (``""``: of no party).
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
    column = getattr(AuditEntry, field)
    query = select(column).where(AuditEntry.party == party, column != "").distinct().order_by(column).limit(limit)
    return [str(value) for value in session.scalars(query)]
