"""What auditors read of the audit log: checkpoints, inclusion and consistency proofs, a verification of it all.

Every function takes the request's session and the reader, refuses anyone but an auditor (the refusal
audited as ``audit.read``, see :func:`require_auditor`), and returns plain dataclasses with a ``to_dict()``
in JSON types (hashes and signatures as hex). Pages of entries are in :mod:`setu.audit.entries`.

Proofs are built from the stored leaf hashes through a per-database cache of the Merkle tree, extended
with new entries as they commit: the log is append-only, so a served prefix never changes. A client
checks a proof against a checkpoint whose signature it verified; :mod:`setu.audit.verify` is what
checks the stored log itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from setu.audit.checkpoints import checkpoint_text, public_keys
from setu.audit.export import (
    CheckpointRecord,
    KeyRecord,
    checkpoints_document,
    load_checkpoints,
    parse_trusted_keys,
)
from setu.audit.export import (
    snapshot as log_snapshot,
)
from setu.audit.log import AuditError, canonical_time, integrate, record, stored_leaf_hashes
from setu.audit.merkle import MerkleTree
from setu.audit.verify import VerifyResult, verify_snapshot
from setu.models.audit import AuditEntry, Checkpoint
from setu.sharing.policy import Principal
from setu.sharing.roles import require_role

MAX_PAGE = 1000
AUDITOR_ROLES = ("auditor",)
"""Who may read the audit log."""


def require_auditor(session: Session, principal: Principal, action: str = "audit.read") -> None:
    """Allow reading the log only to auditors; a refusal is audited (as ``action``, denied) and committed.

    Raises
    ------
    AccessDenied
        If ``principal`` is not an auditor.
    """
    require_role(session, principal, action, *AUDITOR_ROLES)


@dataclass(frozen=True, slots=True)
class SignatureView:
    """A countersignature as served."""

    party: str
    key_id: str
    public_key: bytes
    signature: bytes
    signed_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "key_id": self.key_id,
            "public_key": self.public_key.hex(),
            "signature": self.signature.hex(),
            "signed_at": self.signed_at,
        }


@dataclass(frozen=True, slots=True)
class CheckpointView:
    """A checkpoint as served, with the exact signed text and the public keys to check it with."""

    id: int
    party: str
    tree_size: int
    root_hash: bytes
    issued_at: str
    key_id: str
    public_key: bytes
    signature: bytes
    signed_text: str
    countersignatures: tuple[SignatureView, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "party": self.party,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "issued_at": self.issued_at,
            "key_id": self.key_id,
            "public_key": self.public_key.hex(),
            "signature": self.signature.hex(),
            "signed_text": self.signed_text,
            "countersignatures": [c.to_dict() for c in self.countersignatures],
        }


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Leaf ``seq`` (hash ``leaf_hash``) is in the tree of ``tree_size`` entries with head ``root_hash``."""

    seq: int
    tree_size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
    root_hash: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "path": [p.hex() for p in self.path],
            "root_hash": self.root_hash.hex(),
        }


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The tree of ``first`` entries (head ``first_root``) is a prefix of the tree of ``second``."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: tuple[bytes, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "first_root": self.first_root.hex(),
            "second_root": self.second_root.hex(),
            "path": [p.hex() for p in self.path],
        }


class _TreeCache:
    """One Merkle tree per database, grown as entries commit.

    Requests read the tree without the lock: they only ask for sizes their session saw, whose nodes
    were all hashed before the tree was handed out, and growing it only appends to its lists.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trees: dict[str, MerkleTree] = {}

    def tree(self, session: Session) -> tuple[MerkleTree, int]:
        """The cached tree, holding at least the ``size`` entries ``session`` sees; and that size."""
        url = session.get_bind().engine.url.render_as_string(hide_password=True)
        count, last = session.execute(select(func.count(), func.max(AuditEntry.seq))).one()
        size = 0 if last is None else int(last) + 1
        if count != size:
            raise AuditError(f"the audit log has gaps ({count} entries up to seq {size - 1}); run `setu audit verify`")
        with self._lock:
            tree = self._trees.get(url)
            if tree is not None and tree.size:
                # Another database at the same URL (recreated, or entries rolled back) starts over. The
                # tree may also be ahead of this session (another request saw later commits): compare
                # the last leaf both know.
                known = min(tree.size, size)
                if known == 0 or stored_leaf_hashes(session, known - 1, known) != [tree.leaves[known - 1]]:
                    tree = None
            if tree is None:
                tree = MerkleTree()
                self._trees[url] = tree
            if tree.size < size:
                tree.extend(stored_leaf_hashes(session, tree.size, size))
            return tree, size

    def clear(self) -> None:
        with self._lock:
            self._trees.clear()


_cache = _TreeCache()


def _tree_and_size(session: Session) -> tuple[MerkleTree, int]:
    integrate(session, if_pending=True)  # a proof covers every entry recorded before the request
    return _cache.tree(session)


def clear_cache() -> None:
    """Forget the cached trees (tests that rebuild a database at the same URL; memory)."""
    _cache.clear()


def _view(session: Session, checkpoint: Checkpoint) -> CheckpointView:
    keys = public_keys(session)
    issuer = keys.get(checkpoint.key_id)
    return CheckpointView(
        id=checkpoint.id,
        party=checkpoint.party,
        tree_size=checkpoint.tree_size,
        root_hash=bytes(checkpoint.root_hash),
        issued_at=canonical_time(checkpoint.issued_at),
        key_id=checkpoint.key_id,
        public_key=bytes(issuer.public_key) if issuer else b"",
        signature=bytes(checkpoint.signature),
        signed_text=checkpoint_text(
            checkpoint.party, checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at
        ).decode("ascii"),
        countersignatures=tuple(
            SignatureView(
                party=c.party,
                key_id=c.key_id,
                public_key=bytes(keys[c.key_id].public_key) if c.key_id in keys else b"",
                signature=bytes(c.signature),
                signed_at=canonical_time(c.signed_at),
            )
            for c in checkpoint.countersignatures
        ),
    )


def latest_checkpoint(session: Session, principal: Principal, party: str | None = None) -> CheckpointView | None:
    """The newest checkpoint (of ``party``, if given), with its signatures and public keys.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    party
        Only this party's checkpoints.

    Returns
    -------
    CheckpointView or None
        ``None`` when none was issued.
    """
    require_auditor(session, principal)
    query = select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1)
    if party is not None:
        query = query.where(Checkpoint.party == party)
    checkpoint = session.scalars(query).first()
    return None if checkpoint is None else _view(session, checkpoint)


def get_checkpoint(session: Session, principal: Principal, checkpoint_id: int) -> CheckpointView | None:
    """One checkpoint by id, or ``None`` (auditors)."""
    require_auditor(session, principal)
    checkpoint = session.get(Checkpoint, checkpoint_id)
    return None if checkpoint is None else _view(session, checkpoint)


def list_checkpoints(
    session: Session, principal: Principal, *, party: str | None = None, start: int = 0, limit: int = 100
) -> list[CheckpointView]:
    """Checkpoints in issue order, from id ``start`` on.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    party
        Only this party's checkpoints.
    start
        Smallest checkpoint id.
    limit
        At most this many (capped at 1000).

    Returns
    -------
    list of CheckpointView
        The page.
    """
    require_auditor(session, principal)
    query = select(Checkpoint).where(Checkpoint.id >= start).order_by(Checkpoint.id).limit(max(0, min(limit, MAX_PAGE)))
    if party is not None:
        query = query.where(Checkpoint.party == party)
    return [_view(session, c) for c in session.scalars(query)]


def inclusion_proof(session: Session, principal: Principal, seq: int, tree_size: int | None = None) -> InclusionProof:
    """The RFC 9162 inclusion proof of entry ``seq`` in the tree of ``tree_size`` entries.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    seq
        The entry.
    tree_size
        The tree to prove against, usually a checkpoint's size (default: the whole log).

    Returns
    -------
    InclusionProof
        The proof, with the leaf hash and the root it leads to.
    """
    require_auditor(session, principal)
    tree, size = _tree_and_size(session)
    tree_size = size if tree_size is None else tree_size
    if not 0 < tree_size <= size:
        raise AuditError(f"no tree of size {tree_size}: the log has {size} entries")
    if not 0 <= seq < tree_size:
        raise AuditError(f"no entry {seq} in a tree of size {tree_size}")
    return InclusionProof(
        seq=seq,
        tree_size=tree_size,
        leaf_hash=tree.leaves[seq],
        path=tuple(tree.inclusion_proof(seq, tree_size)),
        root_hash=tree.root(tree_size),
    )


def consistency_proof(
    session: Session, principal: Principal, first: int, second: int | None = None
) -> ConsistencyProof:
    """The RFC 9162 consistency proof between the trees of ``first`` and ``second`` entries.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader (an auditor).
    first
        The older size (``0 <= first <= second``), usually an earlier checkpoint's.
    second
        The newer size (default: the whole log).

    Returns
    -------
    ConsistencyProof
        The proof with both roots.
    """
    require_auditor(session, principal)
    tree, size = _tree_and_size(session)
    second = size if second is None else second
    if not 0 <= first <= second <= size:
        raise AuditError(f"no consistency proof from size {first} to {second}: the log has {size} entries")
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=tree.root(first),
        second_root=tree.root(second),
        path=tuple(tree.consistency_proof(first, second)),
    )


PINNED_KEYS_ENV = "SETU_AUDIT_PINNED_KEYS"
PINNED_CHECKPOINTS_ENV = "SETU_AUDIT_PINNED_CHECKPOINTS"


@dataclass(frozen=True, slots=True)
class Pins:
    """What a verification trusts instead of the database: pinned public keys and held checkpoints."""

    keys: tuple[KeyRecord, ...] | None = None
    checkpoints: tuple[CheckpointRecord, ...] = ()

    @classmethod
    def parse(cls, keys: bytes | None, checkpoints: bytes | None) -> Pins:
        """Pins from the files an auditor uploads (either may be absent or empty)."""
        return cls(
            keys=tuple(parse_trusted_keys(keys)) if keys else None,
            checkpoints=tuple(load_checkpoints(checkpoints)) if checkpoints else (),
        )

    @classmethod
    def configured(cls) -> Pins:
        """Pins from the files ``SETU_AUDIT_PINNED_KEYS`` and ``SETU_AUDIT_PINNED_CHECKPOINTS`` name, if set."""
        paths = [os.environ.get(name, "").strip() for name in (PINNED_KEYS_ENV, PINNED_CHECKPOINTS_ENV)]
        keys, checkpoints = (Path(p).read_bytes() if p else None for p in paths)
        return cls.parse(keys, checkpoints)

    def merged(self, other: Pins) -> Pins:
        """These pins, with ``other``'s where these have none."""
        return Pins(self.keys if self.keys is not None else other.keys, self.checkpoints or other.checkpoints)


def export_checkpoints(session: Session, principal: Principal) -> dict[str, Any]:
    """Every signed checkpoint as the file an auditor keeps (auditors; the download is audited)."""
    require_auditor(session, principal, "audit.checkpoint.export")  # a refused download is a denied export
    document = checkpoints_document(session)
    record(
        session,
        principal,
        "audit.checkpoint.export",
        "audit_log",
        details={"checkpoints": len(document["checkpoints"])},
    )
    return document


def verify_for_auditor(
    session: Session, principal: Principal, snapshot: Session, pins: Pins | None = None
) -> VerifyResult:
    """Verify the whole log as ``setu audit verify`` does, for an auditor; the verification is audited.

    Parameters
    ----------
    session
        The request's session: pending entries are sequenced and committed there first; the refusal
        or the ``audit.verify`` entry is written there (not committed).
    principal
        The reader (an auditor).
    snapshot
        A fresh session to read the log in, one transaction for entries and checkpoints alike.
    pins
        Pinned keys and held checkpoints (uploaded, or configured); none: the database checked against itself.

    Returns
    -------
    VerifyResult
        The findings.
    """
    require_auditor(session, principal)
    # Sequence what is pending in the request's transaction (not the snapshot's, which must see the
    # result) and commit: on SQLite the request's writes would otherwise hold the lock the snapshot needs.
    integrate(session, if_pending=True)
    session.commit()
    if snapshot.get_bind().dialect.name == "postgresql":
        # One snapshot for entries and checkpoints alike: a checkpoint issued while the entries
        # are read must not look like it covers more than the log holds.
        snapshot.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    pins = pins or Pins()
    held: Sequence[CheckpointRecord] = pins.checkpoints
    # Read only: the pending entries were sequenced above, and the snapshot must not take the log lock.
    result = verify_snapshot(log_snapshot(snapshot), pins.keys, held)
    record(
        session,
        principal,
        "audit.verify",
        "audit_log",
        details={
            "ok": result.ok,
            "entries": result.entries,
            "checkpoints": result.checkpoints,
            "problems": len(result.problems),
            "first_bad_seq": result.first_bad_seq,
            "pinned_keys": result.pinned_keys,
            "held_checkpoints": result.held_checkpoints,
        },
    )
    return result
