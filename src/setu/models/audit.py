"""The audit log: one row per write, access decision or export, each a leaf of an RFC 9162 Merkle tree.

Entries are first written to ``audit_pending`` in the transaction of the event they record (no lock,
no ``seq``); the sequencer (:func:`setu.audit.log.integrate`) moves them into ``audit_entries`` in
batches, giving each its ``seq`` and leaf hash.

Beside the entries: each party's Ed25519 public signing keys (never the private ones), the checkpoints
(signed tree heads) the parties issue, and the countersignatures one party puts on the other's checkpoints.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from setu.models.base import Base, utcnow


class AuditEntry(Base):
    """One audited event. ``seq`` is the leaf index (0-based, gap-free); ``leaf_hash`` its RFC 9162 hash."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    party: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    object_type: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    object_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    decision: Mapped[str] = mapped_column(String(8), nullable=False, default="permit")
    details: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AuditPending(Base):
    """An entry recorded but not yet sequenced: the fields of :class:`AuditEntry` but ``seq`` and ``leaf_hash``.

    ``id`` orders the batch the sequencer takes; it is no promise of the final order (on PostgreSQL a
    row committed later than a higher id is sequenced after it). ``at`` is the time of the event.
    """

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    party: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    object_type: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    object_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    decision: Mapped[str] = mapped_column(String(8), nullable=False, default="permit")
    details: Mapped[str] = mapped_column(Text, nullable=False, default="{}")


class SigningKey(Base):
    """The public half of a party's Ed25519 checkpoint-signing key.

    ``key_id`` is the first 16 hex digits of SHA-256 of the raw public key. The private half is never in
    the database: each party's instance holds its own in key files or a PKCS#11 token
    (:mod:`setu.audit.keys`). This table is only a directory; verifiers pin the keys they trust.
    """

    __tablename__ = "audit_signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    party: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class Checkpoint(Base):
    """A signed tree head: party ``party`` states that the first ``tree_size`` entries hash to ``root_hash``."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    tree_size: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64), nullable=False)

    countersignatures: Mapped[list[Countersignature]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Countersignature.id"
    )


class Countersignature(Base):
    """Another party's signature over the same checkpoint text: it reproduced the root and agrees."""

    __tablename__ = "audit_countersignatures"
    __table_args__ = (UniqueConstraint("checkpoint_id", "party"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("audit_checkpoints.id", ondelete="CASCADE"), nullable=False, index=True
    )
    party: Mapped[str] = mapped_column(String(8), nullable=False)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
