"""The audit log: one row per write, access decision or export, each a leaf of an RFC 9162 Merkle tree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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
