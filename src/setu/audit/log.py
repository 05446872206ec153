"""Record audit entries in the caller's transaction, so an event and its record commit or vanish together.

An entry's leaf is the canonical JSON of all its fields (its ``seq`` included, so moving an entry breaks
its hash); :func:`leaf_data` states that form and is the one definition the verifier and the proofs use.

Recording and sequencing are two steps, as in Trillian and Tessera. :func:`record` inserts the entry
into ``audit_pending`` with no lock, so audited transactions do not wait for each other; the entry is
durable when that transaction commits. :func:`integrate` then takes the log lock, gives the committed
pending rows the next ``seq`` values in ``id`` order, hashes them into ``audit_entries`` and deletes
them, all in one transaction: every entry is moved once or not at all, so the log has no gap and no
duplicate whoever dies when. The sequencer thread (:mod:`setu.audit.sequencer`) integrates every few
hundred milliseconds, and every reader of the log integrates first, so it reads its own writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete, event, func, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from setu.audit.merkle import hash_leaf
from setu.errors import SetuError
from setu.models.accounts import User
from setu.models.audit import AuditEntry, AuditPending
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
    """Hold the log's append lock until ``session``'s transaction ends, so one sequencer takes the next seq.

    Only :func:`integrate`, checkpoints and :func:`record` with ``sequenced=True`` take it; recording an
    ordinary entry does not.

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


def _pending_values(
    session: Session,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: str | int,
    decision: str,
    actor_name: str,
    details: dict[str, Any] | None,
    party: str | None,
) -> dict[str, Any]:
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if party is None:
        party = actor.party if actor else _subject_party(session, object_type, object_id, details or {})
    values = {
        "actor": actor_name or (f"user {actor.user_id}" if actor else ACTOR_SYSTEM),
        "party": party,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
    }
    return {
        # The time of the event, not of its sequencing: timestamps need not rise with seq.
        "at": utcnow(),
        "actor_id": actor.user_id if actor else None,
        "decision": decision,
        "details": json.dumps(details or {}, sort_keys=True, default=str),
        **{name: value[: _WIDTHS[name]] for name, value in values.items()},
    }


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
    sequenced: bool = False,
) -> AuditPending | AuditEntry:
    """Record one entry of the audit log inside ``session``'s transaction.

    The entry commits or rolls back with the change it records. It goes to the pending table without
    any lock; the sequencer gives it its ``seq`` later (:func:`integrate`), and readers of the log
    integrate before reading, so a committed entry is seen by every later read.

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
    sequenced
        Append to the log itself, right after the entries it holds now, under the log lock held to the
        end of the transaction (pending entries are not integrated first). For entries whose place in
        the log matters: a checkpoint's own entry, the entry of an export.

    Returns
    -------
    AuditPending or AuditEntry
        The pending entry as it will be written (no ``id`` yet); with ``sequenced``, the entry with its
        ``seq`` and ``leaf_hash``.

    Notes
    -----
    A transaction's pending entries are written together, in one statement, when it commits (or when
    something in it reads the pending entries: :func:`write_recorded`), not one insert each: a page
    that records eight reads costs one round trip. Inside a savepoint an entry is written at once, so
    that it rolls back with the savepoint's change.
    """
    values = _pending_values(session, actor, action, object_type, object_id, decision, actor_name, details, party)
    for collector in session.info.get(_COLLECTORS, ()):
        collector.append(values)
    if not sequenced:
        if session.in_nested_transaction():
            session.execute(insert(AuditPending), [values])
        else:
            session.connection()  # begins the transaction whose end (commit or rollback) the entry follows
            _recorded_in(session).append(values)
        _count_on_commit(session)
        return AuditPending(**values)
    lock_log(session)
    entry = AuditEntry(seq=log_size(session), **{name: values[name] for name in _PENDING_FIELDS})
    entry.leaf_hash = leaf_hash(leaf_data(entry))
    session.add(entry)
    session.flush()
    return entry


_PENDING_FIELDS = tuple(name for name in LEAF_FIELDS if name != "seq")
_recorded: list[Callable[[int], None]] = []


def on_record(callback: Callable[[int], None]) -> Callable[[], None]:
    """Call ``callback(n)`` (cheap, never raising) when a transaction of this process that recorded ``n``
    pending entries commits (the sequencer counts them to wake at a full batch).

    Returns
    -------
    callable
        What stops the calls.
    """
    _recorded.append(callback)
    return lambda: _recorded.remove(callback) if callback in _recorded else None


_UNWRITTEN = "setu_audit_unwritten"
_PENDING: Table = AuditPending.__table__  # type: ignore[assignment]  # a mapped class's table is a Table
_COLLECTORS = "setu_audit_collectors"


def _recorded_in(session: Session) -> list[dict[str, Any]]:
    unwritten: list[dict[str, Any]] = session.info.setdefault(_UNWRITTEN, [])
    return unwritten


def write_recorded(session: Session) -> None:
    """Insert the entries recorded in ``session``'s transaction and not yet written, in one statement."""
    unwritten = session.info.pop(_UNWRITTEN, None)
    if unwritten:
        # The table's own INSERT with the rows as parameters: compiled once per process and sent as an
        # executemany (pipelined by psycopg, one prepared statement on SQLite). A multi-row VALUES built
        # per call went through the ORM's bulk path and a fresh compilation each time: 3 ms a request.
        session.execute(insert(_PENDING), unwritten)


@contextmanager
def collecting(session: Session) -> Iterator[list[dict[str, Any]]]:
    """The values of every entry recorded in ``session`` inside the block, in the order recorded.

    Yields
    ------
    list of dict
        Filled as entries are recorded (the fields of :class:`AuditPending`).
    """
    found: list[dict[str, Any]] = []
    collectors: list[list[dict[str, Any]]] = session.info.setdefault(_COLLECTORS, [])
    collectors.append(found)
    try:
        yield found
    finally:
        collectors.remove(found)


def _count_on_commit(session: Session) -> None:
    """Count the entry in ``session``'s transaction; the count is reported when it commits."""
    if not session.info.get("setu_recorded_listening"):
        session.info["setu_recorded_listening"] = True

        @event.listens_for(session, "before_commit")
        def write(done: Session) -> None:
            write_recorded(done)

        # After the commit, not at the record: a sequencer woken before the commit would find nothing.
        @event.listens_for(session, "after_commit")
        def committed(done: Session) -> None:
            count = done.info.pop("setu_recorded", 0)
            for callback in list(_recorded) if count else ():
                callback(count)

        @event.listens_for(session, "after_rollback")
        def forget(done: Session) -> None:
            done.info.pop("setu_recorded", None)

        @event.listens_for(session, "after_transaction_end")
        def ended(done: Session, transaction: SessionTransaction) -> None:
            # Only the outermost transaction: a savepoint rolled back keeps the entries recorded around it.
            if transaction.parent is None:
                done.info.pop(_UNWRITTEN, None)

    session.info["setu_recorded"] = session.info.get("setu_recorded", 0) + 1


def pending_count(session: Session) -> int:
    """Entries recorded and committed (or in ``session``'s transaction) but not yet sequenced."""
    write_recorded(session)
    return int(session.scalar(select(func.count()).select_from(AuditPending)) or 0)


def integrate(session: Session, limit: int | None = None, *, if_pending: bool = False) -> int:
    """Sequence pending entries: give them the next ``seq`` values in ``id`` order and move them into the log.

    Runs in ``session``'s transaction and takes the log lock (:func:`lock_log`) until it ends: the moved
    rows are inserted and their pending rows deleted in the same transaction, so when it commits every
    one of them is in the log once, and when it rolls back (or the process dies) none is and all are
    still pending. Rows committed by other transactions after the batch was read are left for the next
    call; on PostgreSQL that may put a higher ``id`` before a lower one committed later, which is fine:
    the log's order is the order of sequencing.

    Parameters
    ----------
    session
        A session in READ COMMITTED (PostgreSQL's default) or on SQLite; its transaction holds the lock.
        Not one in a repeatable-read snapshot older than the last sequencing: integrate in a fresh
        transaction first (:func:`setu.audit.sequencer.integrate_pending`).
    limit
        At most this many entries (``None``: all pending).
    if_pending
        Take the lock only when a pending row is visible (readers and the sequencer's idle turns, so
        they do not queue on the lock for nothing). Not for callers that need the lock held afterwards.

    Returns
    -------
    int
        The number of entries sequenced.
    """
    write_recorded(session)  # this transaction's own entries are pending too
    if if_pending and session.scalar(select(AuditPending.id).limit(1)) is None:
        return 0
    lock_log(session)
    query = select(AuditPending).order_by(AuditPending.id)
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    if not rows:
        return 0
    start = log_size(session)
    values: list[dict[str, Any]] = []
    for offset, row in enumerate(rows):
        fields = {name: getattr(row, name) for name in _PENDING_FIELDS}
        entry = AuditEntry(seq=start + offset, **fields)
        values.append({**fields, "seq": entry.seq, "leaf_hash": leaf_hash(leaf_data(entry))})
    # Core statements, not the unit of work: one executemany for the batch, and the pending objects of
    # the caller's own transaction are left as they are (expunged below) rather than flushed as deletes.
    session.execute(insert(AuditEntry), values)
    session.execute(
        delete(AuditPending).where(AuditPending.id.in_([row.id for row in rows])),
        execution_options={"synchronize_session": False},
    )
    for row in rows:
        session.expunge(row)
    return len(rows)
