"""The audit log as verification reads it: a snapshot of entries, checkpoints and public keys, and its export file.

``setu audit export`` writes the snapshot as JSON; ``setu audit verify --file`` reads it back, so the log
can be checked away from the server, and ``--keys`` reads the public keys a verifier trusts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from setu.audit.checkpoints import checkpoint_text
from setu.audit.log import LEAF_FIELDS, canonical_time, integrate
from setu.models.audit import AuditEntry, Checkpoint, SigningKey

EXPORT_FORMAT = "setu-audit-export/1"
CHECKPOINTS_FORMAT = "setu-audit-checkpoints/1"
"""The file of signed checkpoints an auditor keeps (``setu audit checkpoint export``, the viewer's download)."""


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """One log entry as read: the fields its leaf covers and the leaf hash stored beside them."""

    fields: Mapping[str, Any]
    leaf_hash: bytes

    @property
    def seq(self) -> int:
        return int(self.fields["seq"])


@dataclass(frozen=True, slots=True)
class SignatureRecord:
    """A countersignature: ``party`` signed the checkpoint text with key ``key_id``."""

    party: str
    key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    """A checkpoint as read, ``issued_at`` already in canonical text."""

    id: int
    party: str
    tree_size: int
    root_hash: bytes
    issued_at: str
    key_id: str
    signature: bytes
    countersignatures: tuple[SignatureRecord, ...] = ()

    @property
    def name(self) -> str:
        return f"checkpoint {self.id} of {self.party} at size {self.tree_size}"

    def signed_text(self) -> bytes:
        return checkpoint_text(self.party, self.tree_size, self.root_hash, self.issued_at)

    def to_json(self) -> dict[str, Any]:
        """The export form (hex for bytes)."""
        return {
            "id": self.id,
            "party": self.party,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "issued_at": self.issued_at,
            "key_id": self.key_id,
            "signature": self.signature.hex(),
            "signed_text": self.signed_text().decode("ascii"),
            "countersignatures": [
                {"party": s.party, "key_id": s.key_id, "signature": s.signature.hex()} for s in self.countersignatures
            ],
        }

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> CheckpointRecord:
        """Read the form :meth:`to_json` writes (``signed_text`` is recomputed, never trusted)."""
        return cls(
            id=int(row["id"]),
            party=str(row["party"]),
            tree_size=int(row["tree_size"]),
            root_hash=bytes.fromhex(row["root_hash"]),
            issued_at=str(row["issued_at"]),
            key_id=str(row["key_id"]),
            signature=bytes.fromhex(row["signature"]),
            countersignatures=tuple(
                SignatureRecord(str(s["party"]), str(s["key_id"]), bytes.fromhex(s["signature"]))
                for s in row.get("countersignatures", [])
            ),
        )


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A public signing key."""

    key_id: str
    party: str
    public_key: bytes


@dataclass(slots=True)
class LogSnapshot:
    """Everything verification reads: entries in ``seq`` order, checkpoints in issue order, public keys."""

    entries: list[EntryRecord]
    checkpoints: list[CheckpointRecord]
    keys: list[KeyRecord]

    def to_json(self) -> dict[str, Any]:
        """The export form (hex for bytes); private keys are never part of it."""
        return {
            "format": EXPORT_FORMAT,
            "entries": [{**e.fields, "leaf_hash": e.leaf_hash.hex()} for e in self.entries],
            "checkpoints": [c.to_json() for c in self.checkpoints],
            "keys": [{"key_id": k.key_id, "party": k.party, "public_key": k.public_key.hex()} for k in self.keys],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogSnapshot:
        """Read the export form written by :meth:`to_json`.

        Parameters
        ----------
        data
            The parsed JSON document.

        Returns
        -------
        LogSnapshot
            The snapshot.
        """
        if data.get("format") != EXPORT_FORMAT:
            raise ValueError(f"not a Setu audit export (format {data.get('format')!r}, expected {EXPORT_FORMAT!r})")
        entries = [
            EntryRecord({name: row[name] for name in LEAF_FIELDS}, bytes.fromhex(row["leaf_hash"]))
            for row in data.get("entries", [])
        ]
        checkpoints = [CheckpointRecord.from_json(row) for row in data.get("checkpoints", [])]
        keys = [
            KeyRecord(str(row["key_id"]), str(row["party"]), bytes.fromhex(row["public_key"]))
            for row in data.get("keys", [])
        ]
        return cls(entries, checkpoints, keys)


def snapshot(session: Session) -> LogSnapshot:
    """Read the log, the checkpoints and the public keys from the database.

    Parameters
    ----------
    session
        Any session (run it in one transaction for a consistent view).

    Returns
    -------
    LogSnapshot
        What :func:`verify_snapshot` checks.
    """
    columns = [getattr(AuditEntry, name) for name in LEAF_FIELDS]
    entries: list[EntryRecord] = []
    # Plain rows, not ORM objects: a 100,000-entry log reads in a fraction of the time.
    for row in session.execute(select(*columns, AuditEntry.leaf_hash).order_by(AuditEntry.seq)):
        values = dict(zip(LEAF_FIELDS, row[:-1], strict=True))
        values["at"] = canonical_time(values["at"])
        entries.append(EntryRecord(values, bytes(row[-1])))
    checkpoints = _checkpoints(session)
    keys = [
        KeyRecord(k.key_id, k.party, bytes(k.public_key))
        for k in session.scalars(select(SigningKey).order_by(SigningKey.id))
    ]
    return LogSnapshot(entries, checkpoints, keys)


def _checkpoints(session: Session) -> list[CheckpointRecord]:
    return [
        CheckpointRecord(
            id=c.id,
            party=c.party,
            tree_size=c.tree_size,
            root_hash=bytes(c.root_hash),
            issued_at=canonical_time(c.issued_at),
            key_id=c.key_id,
            signature=bytes(c.signature),
            countersignatures=tuple(
                SignatureRecord(s.party, s.key_id, bytes(s.signature)) for s in c.countersignatures
            ),
        )
        for c in session.scalars(select(Checkpoint).order_by(Checkpoint.issued_at, Checkpoint.id))
    ]


def load_export(path: Path) -> LogSnapshot:
    """Read an export file written by :func:`write_export` (``setu audit export``)."""
    return LogSnapshot.from_json(json.loads(path.read_text(encoding="utf-8")))


def write_export(session: Session, path: Path) -> LogSnapshot:
    """Write the log, checkpoints and public keys to a JSON file that :func:`load_export` reads.

    Parameters
    ----------
    session
        A session in READ COMMITTED or on SQLite: pending entries are sequenced first in its transaction,
        which then holds the log lock to its end (an entry appended ``sequenced`` comes right after).
    path
        The file to write.

    Returns
    -------
    LogSnapshot
        What was written.
    """
    integrate(session)
    data = snapshot(session)
    path.write_text(json.dumps(data.to_json(), indent=1) + "\n", encoding="utf-8")
    return data


def load_trusted_keys(path: Path) -> list[KeyRecord]:
    """Public keys from a JSON file: an export, or a bare list of ``{key_id, party, public_key}``.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    list of KeyRecord
        The keys.
    """
    return parse_trusted_keys(path.read_text(encoding="utf-8"))


def checkpoints_document(session: Session) -> dict[str, Any]:
    """Every signed checkpoint with its countersignatures, as the file an auditor keeps.

    The auditor keeps each download: a later ``setu audit verify --checkpoint FILE`` fails when the log
    no longer holds these checkpoints or no longer reproduces their roots. Every field is signed or
    recomputed on reading; the file needs no protection but against loss.

    Parameters
    ----------
    session
        Any session.

    Returns
    -------
    dict
        ``{"format": "setu-audit-checkpoints/1", "checkpoints": [...]}`` in JSON types.
    """
    return {"format": CHECKPOINTS_FORMAT, "checkpoints": [c.to_json() for c in _checkpoints(session)]}


def load_checkpoints(content: bytes | str) -> list[CheckpointRecord]:
    """The checkpoints of a file :func:`checkpoints_document` wrote, or of a whole export (its checkpoints).

    Parameters
    ----------
    content
        The file's bytes or text.

    Returns
    -------
    list of CheckpointRecord
        The checkpoints, as held by the auditor.
    """
    data = json.loads(content)
    if not isinstance(data, dict) or data.get("format") not in (CHECKPOINTS_FORMAT, EXPORT_FORMAT):
        raise ValueError(f"not a file of Setu audit checkpoints (expected format {CHECKPOINTS_FORMAT!r})")
    return [CheckpointRecord.from_json(row) for row in data.get("checkpoints", [])]


def parse_trusted_keys(content: bytes | str) -> list[KeyRecord]:
    """Public keys from JSON text: ``setu audit keys export``'s list, or an export's ``keys``."""
    data = json.loads(content)
    rows = data.get("keys", []) if isinstance(data, dict) else data
    return [KeyRecord(str(r["key_id"]), str(r["party"]), bytes.fromhex(r["public_key"])) for r in rows]
