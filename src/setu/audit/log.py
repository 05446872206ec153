"""Append audit entries in the caller's transaction, so an event and its record commit or vanish together."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from setu.models.audit import AuditEntry
from setu.sharing.policy import Principal

ACTOR_SYSTEM = "system"


def leaf_data(entry: AuditEntry) -> bytes:
    """The canonical bytes of an entry that its leaf hash covers (every field but the hash)."""
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "party": entry.party,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "decision": entry.decision,
        "details": entry.details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256 of 0x00 followed by the data."""
    return hashlib.sha256(b"\x00" + data).digest()


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
) -> AuditEntry:
    """Append one entry to the audit log inside ``session``'s transaction.

    Parameters
    ----------
    actor
        The user acting (``None`` for the system itself).
    action
        What happened: ``network.import``, ``node.read``, ``results.export``, ``login`` ...
    decision
        ``permit`` or ``deny`` for access decisions; ``permit`` for writes that happened.
    """
    # Serialise appends: the next sequence number must be taken by one writer at a time.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE"))
    last = session.scalar(select(func.max(AuditEntry.seq)))
    entry = AuditEntry(
        seq=0 if last is None else last + 1,
        actor_id=actor.user_id if actor else None,
        actor=actor_name or (f"user {actor.user_id}" if actor else ACTOR_SYSTEM),
        party=actor.party if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        decision=decision,
        details=json.dumps(details or {}, sort_keys=True, default=str),
    )
    from setu.models.base import utcnow

    entry.at = utcnow()
    entry.leaf_hash = leaf_hash(leaf_data(entry))
    session.add(entry)
    session.flush()
    return entry
