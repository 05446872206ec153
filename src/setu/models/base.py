"""The declarative base and the record marking that every stored record carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, MetaData, String, event, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, object_session, relationship

from setu.errors import Conflict

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Marking(Base):
    """A releasability marking: every part must admit a user before the record is theirs to read.

    - ``classification``: level 0..3 (see :mod:`setu.sharing.markings`); the user's clearance must reach it.
    - ``releases``: the parties the record is released to; the user's party must be one of them.
    - ``national_only``: only users of ``origin_party`` (overrides the releases).
    - ``owners``: proprietary to organizations: for each owner, the user must be a member of it or
      belong to a government body (ministry, agency) of the owner's party.
    - ``groups``: need-to-know groups; the user must belong to every one.

    Markings are immutable once written: a record changes marking by pointing at another one.
    """

    __tablename__ = "markings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    classification: Mapped[int] = mapped_column(Integer, nullable=False)
    origin_party: Mapped[str] = mapped_column(String(8), nullable=False)
    national_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    releases: Mapped[list[MarkingRelease]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MarkingRelease.party"
    )
    groups: Mapped[list[MarkingGroup]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MarkingGroup.group"
    )
    owners: Mapped[list[MarkingOwner]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="MarkingOwner.org_id"
    )


class MarkingRelease(Base):
    """One party a marking releases its record to."""

    __tablename__ = "marking_releases"

    marking_id: Mapped[int] = mapped_column(ForeignKey("markings.id", ondelete="CASCADE"), primary_key=True)
    party: Mapped[str] = mapped_column(String(8), primary_key=True)


class MarkingGroup(Base):
    """One need-to-know group a marking requires."""

    __tablename__ = "marking_groups"

    marking_id: Mapped[int] = mapped_column(ForeignKey("markings.id", ondelete="CASCADE"), primary_key=True)
    group: Mapped[str] = mapped_column(String(64), primary_key=True)


class MarkingOwner(Base):
    """One organization a marking makes its record proprietary to (with that organization's party)."""

    __tablename__ = "marking_owners"

    marking_id: Mapped[int] = mapped_column(ForeignKey("markings.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    party: Mapped[str] = mapped_column(String(8), nullable=False)
    """The owner's party, kept here so the read filter needs no join to organizations."""


class Marked:
    """Mixin: the record's marking (required on every stored record)."""

    @declared_attr
    def marking_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("markings.id"), nullable=False, index=True)

    @declared_attr
    def marking(cls) -> Mapped[Marking]:
        # Loaded only when read: answers take a record's marking from the process's cache of markings by
        # id (:func:`setu.sharing.markings.specs_by_id`), so most reads never need the row.
        return relationship(Marking, lazy="select")


class Owned:
    """Mixin: a record only the user who created it may read (a job), and, once it holds a result derived
    from marked records, only while that user may still read the result's marking.

    ``result_marking_id`` is empty until there is a result; :func:`setu.sharing.read.readable` adds both
    conditions to every query of an owned model, as it adds the marking filter to a marked one.
    """

    @declared_attr
    def created_by(cls) -> Mapped[int]:
        return mapped_column(Integer, nullable=False, index=True)

    @declared_attr
    def result_marking_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("markings.id"), nullable=True)


class Received:
    """Mixin: a kind of record that may arrive from a partner instance (federation).

    ``received_from`` is empty for the instance's own records and names the partner party for a received
    one. A received record is read-only here: it changes only when the partner's feed changes it, so
    the ORM refuses any other update or delete of it (:class:`ReceivedReadOnly`).
    """

    @declared_attr
    def received_from(cls) -> Mapped[str | None]:
        return mapped_column(String(8), nullable=True, index=True)


APPLYING_FEED = "setu.federation.applying"
"""``session.info`` key set while a partner's feed is applied: the one writer of received records."""


class ReceivedReadOnly(Conflict):
    """Raised on a local change to a record received from a partner (it is the partner's to change; 409)."""

    def __init__(self, target: Any) -> None:
        self.partner = str(target.received_from)
        super().__init__(
            f"this {type(target).__name__} was received from {self.partner}'s instance and is read-only here; "
            f"it changes when {self.partner} changes it"
        )


def _refuse_local_change(_mapper: Any, _connection: Any, target: Any) -> None:
    if target.received_from is None:
        return
    session = object_session(target)
    if session is None or not session.info.get(APPLYING_FEED):
        raise ReceivedReadOnly(target)


def _refuse_local_update(mapper: Any, connection: Any, target: Any) -> None:
    # A kind may name columns this instance holds even on a received row (a request's state, held by the
    # supplier party's instance): an update touching only those is this instance's own.
    held_here: frozenset[str] = getattr(type(target), "held_here", frozenset())
    if held_here and target.received_from is not None:
        state = inspect(target)
        if all(attr.key in held_here or not attr.history.has_changes() for attr in state.attrs):
            return
    _refuse_local_change(mapper, connection, target)


def guard_received(model: type[Received]) -> None:
    """Make the ORM refuse local updates and deletes of ``model``'s received rows."""
    event.listen(model, "before_update", _refuse_local_update)
    event.listen(model, "before_delete", _refuse_local_change)


class MarkingImmutable(RuntimeError):
    """Raised on an attempt to change or delete a stored marking (records point at another one instead)."""


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    # Every process keeps the markings it has read by id; a marking changed in place would leave them
    # answering with the old value, so the ORM refuses it outright.
    raise MarkingImmutable(f"markings are immutable once written; {type(target).__name__} may not change")


for _model in (Marking, MarkingRelease, MarkingGroup, MarkingOwner):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
