"""SoSA priority-delivery requests, their transition history, and the working-day calendar entries admins add."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base, Marked, Received, guard_received, utcnow

RATINGS = ("DO", "DX")
"""DPAS ratings (15 CFR 700.11): DX outranks DO."""
REQUEST_STATES = (
    "DRAFT",
    "SUBMITTED",
    "UNDER_DETERMINATION",
    "AUTHORIZED",
    "DECLINED",
    "RATED_ORDER_ISSUED",
    "ACCEPTED",
    "REJECTED",
    "IN_PERFORMANCE",
    "DELAYED",
    "DELIVERED",
    "ESCALATED",
    "WITHDRAWN",
)

STATE_HELD = (
    "state",
    "escalated_from",
    "rating",
    "program_symbol",
    "delivery_date",
    "authorized_signer",
    "certified",
    "reason",
    "earliest_date",
    "received_on",
    "response_due",
    "delay_noticed_on",
    "delay_confirm_due",
    "delay_confirmed_on",
    "revised_delivery_date",
)
"""A request's state and what its transitions set: once submitted, held by one instance (the supplier party's)
and copied to the other from the transitions it makes (federation)."""


class PriorityRequest(Received, Marked, Base):
    """A request by one party for priority delivery from the other party's industry, and its rated order.

    The state follows the workflow in DESIGN.md; ``version`` is the optimistic-locking counter, so two
    users acting on one request at once cannot both succeed. Dates are calendar dates; the deadlines
    (``response_due``, ``delay_confirm_due``) are computed on the responding party's working days.
    """

    __tablename__ = "sosa_requests"
    __table_args__ = (UniqueConstraint("reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), nullable=False)
    requesting_party: Mapped[str] = mapped_column(ForeignKey("parties.code"), nullable=False, index=True)
    supplier_party: Mapped[str] = mapped_column(ForeignKey("parties.code"), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(32), nullable=False, default="DRAFT", index=True)
    rating: Mapped[str] = mapped_column(String(2), nullable=False)
    program_symbol: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    """The program identification symbol that goes with the rating (e.g. A1 in DO-A1)."""
    program: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id", ondelete="SET NULL"), nullable=True)
    item_node_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    """The requested item, as the node id users know in ``network_id``."""
    supplier_site: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    supplier_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), nullable=True)
    scenario_pk: Mapped[int | None] = mapped_column(ForeignKey("scenarios.id", ondelete="SET NULL"), nullable=True)
    """The stress scenario that motivated the request, if any."""
    quantity: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    delivery_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    authorized_signer: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    certified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    """Whether the rated order carries the DPAS certification statement (15 CFR 700.12(d))."""
    justification: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    """Why it was declined, rejected, delayed or escalated (the latest such reason)."""
    earliest_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    """On rejection: the earliest delivery date the supplier can meet."""
    received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    """When the supplier received the rated order: the accept-or-reject clock starts here."""
    response_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    delay_noticed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    delay_confirm_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    delay_confirmed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revised_delivery_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    escalated_from: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    awaiting: Mapped[str] = mapped_column(String(32), nullable=False, default="", server_default="")
    """An action of the requesting party sent to the supplier party's instance, not answered yet (federation)."""

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    held_here: ClassVar[frozenset[str]] = frozenset({*STATE_HELD, "version", "updated_at"})
    """Columns the supplier party's instance changes on a request it received: the request's state is held there."""


class RequestEvent(Received, Marked, Base):
    """One transition of a request: who moved it from which state to which, when, and with what."""

    __tablename__ = "sosa_request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("sosa_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_state: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    to_state: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_id: Mapped[int] = mapped_column(Integer, nullable=False)
    actor_party: Mapped[str] = mapped_column(String(8), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)


class CalendarEntry(Received, Marked, Base):
    """A day an admin adds to a party's working-day calendar, on top of the public holidays.

    ``working`` False makes the day a non-working day (a closure, a holiday the package lacks);
    True makes an otherwise non-working day a working one.
    """

    __tablename__ = "calendar_entries"
    __table_args__ = (UniqueConstraint("party_code", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"), nullable=False, index=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    working: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


for _model in (PriorityRequest, RequestEvent, CalendarEntry):
    guard_received(_model)
