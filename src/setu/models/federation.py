"""Federation: the partners an instance exchanges records with, its outbound feed per partner, and what it received.

The sending side keeps a stable STIX id per local record (:class:`StixId`), the feed of changes it
released to each partner (:class:`OutboundEntry`, numbered from 1 per partner) and the last state it
sent of each record (:class:`SentObject`, with the partner's receipt of a retraction). The receiving side
keeps every feed entry it applied (:class:`AppliedEntry`, for replays and gaps) and, per received record,
its provenance and, once retracted, its tombstone (:class:`ReceivedObject`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base, Marked, utcnow


class Partner(Base):
    """A partner instance this one exchanges records with: its party, address and pinned keys.

    ``public_key`` (raw Ed25519, hex) verifies everything the partner signs: feed objects, receipts,
    checkpoints. ``tls_certificate`` is the partner's pinned certificate (PEM) for mutual TLS.
    ``max_classification`` is the highest level the link is accredited for and ``groups`` the
    need-to-know groups both sides agreed to share: a record above the one or needing a group outside
    the other never crosses.
    """

    __tablename__ = "federation_partners"

    party: Mapped[str] = mapped_column(String(8), primary_key=True)
    url: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    public_key: Mapped[str] = mapped_column(String(64), nullable=False)
    tls_certificate: Mapped[str] = mapped_column(Text, nullable=False, default="")
    max_classification: Mapped[int] = mapped_column(Integer, nullable=False)
    groups: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    added_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class StixId(Base):
    """The STIX id a local record crosses under: random, so that it reveals neither row ids nor counts."""

    __tablename__ = "federation_stix_ids"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    local_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)


class OutboundEntry(Marked, Base):
    """One entry of the feed to one partner: a record's released state, or its retraction (``revoked``).

    Marked with the record's marking, so the operator's view of the feed goes through the read filter
    like the record itself. ``object`` is the signed STIX object exactly as sent.
    """

    __tablename__ = "federation_outbound"

    partner: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    object: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class SentObject(Marked, Base):
    """The last state of one record sent to one partner, and the partner's receipt if it was retracted."""

    __tablename__ = "federation_sent"

    partner: Mapped[str] = mapped_column(String(8), primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    local_id: Mapped[int] = mapped_column(Integer, nullable=False)
    content_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    first_sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    receipt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When the partner says it applied the retraction (from its signed receipt)."""
    receipt: Mapped[str] = mapped_column(Text, nullable=False, default="")
    """The partner's signed receipt, as received."""


class AppliedEntry(Base):
    """One feed entry applied from a partner: what makes a replay a no-op and a gap or a fork an error."""

    __tablename__ = "federation_applied"

    partner: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(100), nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 of the signed object as received."""
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class ReceivedObject(Marked, Base):
    """A record received from a partner: where it lives here, its provenance and, once retracted, its tombstone.

    Marked with the record's marking (a tombstone still says that the record existed).
    """

    __tablename__ = "federation_received"
    __table_args__ = (Index("ix_federation_received_local", "kind", "local_id"),)

    partner: Mapped[str] = mapped_column(String(8), primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    local_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    signature: Mapped[str] = mapped_column(String(100), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    retracted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WitnessedCheckpoint(Base):
    """A partner's audit-log checkpoint this instance verified and cosigned as its witness (the last is the state).

    ``consistency`` is the proof (hex hashes, JSON) from the previous witnessed checkpoint, kept so the
    whole chain can be checked again offline. A fork (a checkpoint that contradicts one cosigned here) is
    kept as a row with ``fork`` set and never cosigned.
    """

    __tablename__ = "federation_witnessed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    tree_size: Mapped[int] = mapped_column(Integer, nullable=False)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    issued_at: Mapped[str] = mapped_column(String(40), nullable=False)
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    signature: Mapped[str] = mapped_column(String(100), nullable=False)
    consistency: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    cosignature: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    fork: Mapped[str] = mapped_column(Text, nullable=False, default="")
    """Empty, or why this checkpoint was refused (it forks the log the witness cosigned)."""
    witnessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
