"""Append audit entries in the caller's transaction, so an event and its record commit or vanish together.

An entry's leaf is the canonical JSON of all its fields (its ``seq`` included, so moving an entry breaks
its hash); :func:`leaf_data` states that form and is the one definition the verifier and the proofs use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from setu.audit.merkle import hash_leaf
from setu.errors import SetuError
from setu.models.accounts import User
from setu.models.audit import AuditEntry
from setu.models.base import utcnow
from setu.sharing.policy import Principal

ACTOR_SYSTEM = "system"
DECISIONS = ("permit", "deny")
LEAF_VERSION = 1
"""Version of the leaf format, hashed into every leaf so a later format cannot be mistaken for this one."""

LEAF_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "party",
    "action",
    "object_type",
    "object_id",
    "decision",
    "details",
)
"""The entry fields a leaf hash covers: every column but ``leaf_hash`` itself."""

# Column widths, so a long value is cut before it is hashed rather than rejected (PostgreSQL) or
# stored longer than declared (SQLite).
_WIDTHS = {"actor": 200, "party": 8, "action": 64, "object_type": 64, "object_id": 200}


class AuditError(SetuError):
    """The audit log refuses an operation: an unknown key, a checkpoint that does not match the log, ... (422)."""

    status = 422


def canonical_time(moment: datetime) -> str:
    """A timestamp as it is hashed and signed: UTC, microseconds, ``Z`` (``2025-01-31T09:30:00.000000Z``).

    Parameters
    ----------
    moment
        An aware datetime, or a naive one holding UTC (SQLite returns stored timestamps naive).

    Returns
    -------
    str
        The canonical text.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_fields(entry: AuditEntry) -> dict[str, Any]:
    """The fields of ``entry`` that its leaf covers, as JSON values (the timestamp in canonical form).

    Parameters
    ----------
    entry
        A stored or new entry.

    Returns
    -------
    dict
        One key per name in :data:`LEAF_FIELDS`.
    """
    return {
        "seq": entry.seq,
        "at": canonical_time(entry.at),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "party": entry.party,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "decision": entry.decision,
        "details": entry.details,
    }


def canonical_leaf(fields: Mapping[str, Any]) -> bytes:
    """The bytes a leaf hash covers: sorted-key, compact, ASCII JSON of the fields and the format version.

    Parameters
    ----------
    fields
        The values of :data:`LEAF_FIELDS` (extra keys are ignored), as from :func:`entry_fields`.

    Returns
    -------
    bytes
        The leaf data.
    """
    body = {name: fields[name] for name in LEAF_FIELDS}
    body["v"] = LEAF_VERSION
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def leaf_data(entry: AuditEntry) -> bytes:
    """The canonical bytes of an entry that its leaf hash covers (every field but the hash)."""
    return canonical_leaf(entry_fields(entry))


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256 of 0x00 followed by the data."""
    return hash_leaf(data)


def lock_log(session: Session) -> None:
    """Hold the log's append lock until ``session``'s transaction ends, so one writer takes the next seq.

    PostgreSQL: a table lock that conflicts with itself but not with plain reads. SQLite: a write that
    changes nothing still opens the write transaction, and SQLite admits one writer at a time (others wait
    out the busy timeout); taking it before reading the last seq keeps two writers from reading the same one.

    Parameters
    ----------
    session
        The caller's session; its transaction holds the lock.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE"))
    elif dialect == "sqlite":
        session.execute(text("UPDATE audit_entries SET seq = seq WHERE seq < 0"))


def log_size(session: Session) -> int:
    """Number of leaves in the log: one more than the highest ``seq`` (0 when empty).

    Parameters
    ----------
    session
        Any session.

    Returns
    -------
    int
        The tree size of the whole log.
    """
    last = session.scalar(select(func.max(AuditEntry.seq)))
    return 0 if last is None else last + 1


def stored_leaf_hashes(session: Session, start: int = 0, stop: int | None = None) -> list[bytes]:
    """The stored leaf hashes of entries ``start <= seq < stop``, in ``seq`` order.

    Parameters
    ----------
    session
        Any session.
    start, stop
        The ``seq`` range (``stop`` ``None``: to the end).

    Returns
    -------
    list of bytes
        The hashes as stored (trusted as is; :mod:`setu.audit.verify` recomputes them).
    """
    query = select(AuditEntry.leaf_hash).where(AuditEntry.seq >= start).order_by(AuditEntry.seq)
    if stop is not None:
        query = query.where(AuditEntry.seq < stop)
    return [bytes(h) for h in session.scalars(query)]


def _subject_party(session: Session, object_type: str, object_id: str | int, details: Mapping[str, Any]) -> str:
    """The party of the user an entry without an actor concerns, or ``""`` (a system entry)."""
    subject = object_id if object_type == "user" else details.get("user_id")
    try:
        user_id = int(str(subject))
    except ValueError:
        return ""
    # Imported here: the read helper audits its denials through this module. Unfiltered because this is
    # not a user's read: it marks the entry with the party whose account it concerns.
    from setu.sharing.read import unfiltered

    found = session.scalar(unfiltered(User.party_code).where(User.id == user_id))
    return str(found) if found else ""


def record(
    session: Session,
    actor: Principal | None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    *,
    decision: str = "permit",
    actor_name: str = "",
    details: dict[str, Any] | None = None,
    party: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit log inside ``session``'s transaction.

    The entry commits or rolls back with the change it records. The append lock (:func:`lock_log`) is
    held to the end of the transaction, so audited transactions append one after another; keep them short.

    An entry is marked data: its ``party`` is the party whose data it records, and only that party's
    auditors read it (``""``: a system entry, read by every auditor). It is the acting user's party; for
    an entry without one (an operator tool, a failed login) it is the party of the user it concerns (the
    object when that is a user, else ``details["user_id"]``), so a system entry never carries one party's
    accounts, clearances, groups or failed logins to the other's auditors.

    Parameters
    ----------
    session
        The caller's session, inside the transaction of the change recorded.
    actor
        The user acting (``None`` for the system itself).
    action
        What happened: ``network.import``, ``node.read``, ``results.export``, ``login`` ...
    object_type, object_id
        What it happened to.
    decision
        ``permit`` or ``deny`` for access decisions; ``permit`` for writes that happened.
    actor_name
        A name to show for the actor (default ``user <id>``, or ``system``).
    details
        Anything else worth keeping, as JSON (values JSON cannot hold are stored as text). Never anything
        a user typed that may be a secret (a username that matched no account may be a password).
    party
        The party whose data the entry is, when neither the actor nor the user it concerns says.

    Returns
    -------
    AuditEntry
        The flushed entry, with its ``seq`` and ``leaf_hash``.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    lock_log(session)
    if party is None:
        party = actor.party if actor else _subject_party(session, object_type, object_id, details or {})
    values = {
        "actor": actor_name or (f"user {actor.user_id}" if actor else ACTOR_SYSTEM),
        "party": party,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
    }
    cut = {name: value[: _WIDTHS[name]] for name, value in values.items()}
    entry = AuditEntry(
        seq=log_size(session),
        # Taken under the lock, so timestamps rise with seq (as far as the clock does).
        at=utcnow(),
        actor_id=actor.user_id if actor else None,
        decision=decision,
        details=json.dumps(details or {}, sort_keys=True, default=str),
        **cut,
    )
    entry.leaf_hash = leaf_hash(leaf_data(entry))
    session.add(entry)
    session.flush()
    return entry
