"""Parties to the arrangement and their organizations (ministries, agencies, firms)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base, Marked, Received, guard_received

ORGANIZATION_KINDS = ("ministry", "agency", "firm")
GOVERNMENT_KINDS = ("ministry", "agency")


class Party(Base):
    """A nation in the arrangement. Public: every user may read parties."""

    __tablename__ = "parties"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    holiday_country: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    """ISO country whose public holidays make up the party's working-day calendar."""


class Organization(Received, Marked, Base):
    """A ministry, agency or firm of one party."""

    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("party_code", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    code_of_conduct: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    """Whether the firm joined its party's SoSA code of conduct."""

    @property
    def is_government(self) -> bool:
        return self.kind in GOVERNMENT_KINDS


for _model in (Organization,):
    guard_received(_model)
