"""The industrial-base registry: firms' sites, what each can make (capability codes), capacity and lead time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base, Marked, Received, guard_received, utcnow


class RegistrySite(Received, Marked, Base):
    """A facility of an organization (usually a firm) as its liaison keeps it current."""

    __tablename__ = "registry_sites"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    country: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    region: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    chokepoints: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    updated_by: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class Capability(Received, Marked, Base):
    """What a site can make: a capability code (see docs), the material, capacity per week and lead time."""

    __tablename__ = "site_capabilities"
    __table_args__ = (UniqueConstraint("site_id", "code", "material"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(
        ForeignKey("registry_sites.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    material: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    capacity: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    """Units per week the site can make."""
    committed: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    """Units per week already committed: capacity minus this is the headroom."""
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    lead_time_weeks: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    qualification_weeks: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    """Weeks a new customer needs to qualify the site as a source."""
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")


for _model in (RegistrySite, Capability):
    guard_received(_model)
