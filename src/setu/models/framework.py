"""Framework coordination: pillars, bodies (a policy group and its working groups), meetings, decisions, actions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base, Marked, Received, guard_received, utcnow

ACTION_STATUSES = ("open", "in_progress", "done", "cancelled")
BODY_KINDS = ("policy_group", "working_group", "other")


class Pillar(Received, Marked, Base):
    """A pillar of the 10-year framework (technology cooperation, supply-chain integration, ...)."""

    __tablename__ = "framework_pillars"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")


class Body(Received, Marked, Base):
    """A framework body: the Defence Policy Group, a working group reporting to it, and so on."""

    __tablename__ = "framework_bodies"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="working_group")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("framework_bodies.id"), nullable=True)
    pillar_id: Mapped[int | None] = mapped_column(ForeignKey("framework_pillars.id"), nullable=True)
    chairs: Mapped[str] = mapped_column(String(300), nullable=False, default="")


class Meeting(Received, Marked, Base):
    """A meeting of a body."""

    __tablename__ = "framework_meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("framework_bodies.id"), nullable=False, index=True)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    location: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")


class Decision(Received, Marked, Base):
    """A decision recorded at a meeting."""

    __tablename__ = "framework_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("framework_meetings.id"), nullable=False, index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)


class ActionItem(Received, Marked, Base):
    """An action item with an owner, a due date and a status; ``version`` guards concurrent updates."""

    __tablename__ = "framework_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("framework_bodies.id"), nullable=True, index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("framework_meetings.id"), nullable=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("framework_decisions.id"), nullable=True)
    pillar_id: Mapped[int | None] = mapped_column(ForeignKey("framework_pillars.id"), nullable=True)
    owner_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), nullable=True)
    owner_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    owner: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    """The owner as people name them (a person or an office), beside the organization and user links."""
    due_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Project(Received, Marked, Base):
    """A co-production or technology-cooperation project, linked to a program and its network."""

    __tablename__ = "framework_projects"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    pillar_id: Mapped[int | None] = mapped_column(ForeignKey("framework_pillars.id"), nullable=True)
    program: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="active")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")


for _model in (Pillar, Body, Meeting, Decision, ActionItem, Project):
    guard_received(_model)
