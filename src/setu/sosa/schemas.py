"""Request and response models of the priority-delivery request and calendar endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from setu.schemas import MAX_ID, MarkingOut, Paged, Strict, Text
from setu.sosa.workflow import NOT_A_DATE

Rating = Literal["DO", "DX"]
State = Literal[
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
]
Action = Literal[
    "submit",
    "withdraw",
    "begin_determination",
    "authorize",
    "decline",
    "issue_order",
    "accept",
    "reject",
    "start_performance",
    "report_delay",
    "confirm_delay",
    "deliver",
    "escalate",
    "resolve",
]
Classification = Literal["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID, description="The version you loaded (optimistic locking).")]


def _specific_date(value: Any) -> Any:
    if isinstance(value, str) and NOT_A_DATE.search(value):
        raise ValueError(f"{value!r} is not a date: a rated order needs a specific date (15 CFR 700.12(b))")
    return value


class MarkingIn(Strict):
    """The marking asked for a request; your party is its origin, and you must be able to read it."""

    classification: Classification = "UNCLASSIFIED"
    releases: list[Annotated[Text, Field(max_length=8)]] | None = Field(
        default=None, max_length=20, description="Party codes (default: both parties of the request)."
    )
    national_only: bool = False
    groups: list[Annotated[Text, Field(max_length=64)]] | None = Field(default=None, max_length=20)


class RequestFields(Strict):
    """The fields of a draft its requesting party sets (all optional)."""

    title: Annotated[Text, Field(max_length=300)] | None = None
    rating: Rating | None = None
    program: Annotated[Text, Field(max_length=200)] | None = None
    program_symbol: Annotated[Text, Field(max_length=16)] | None = Field(default=None, description="e.g. A1 (DO-A1).")
    quantity: Annotated[float, Field(ge=0, lt=1e15, allow_inf_nan=False)] | None = None
    unit: Annotated[Text, Field(max_length=32)] | None = None
    delivery_date: date | None = Field(default=None, description="A specific date; 'as soon as possible' is not one.")
    justification: Annotated[Text, Field(max_length=20000)] | None = None
    authorized_signer: Annotated[Text, Field(max_length=200)] | None = None
    supplier_organization_id: Id | None = Field(default=None, description="The supplier party's firm.")
    supplier_site: Annotated[Text, Field(max_length=200)] | None = Field(
        default=None, description="A registry site of that firm, by name."
    )
    network_id: Id | None = None
    item_node_id: Annotated[Text, Field(max_length=200)] | None = Field(
        default=None, description="The requested item: a node of the network."
    )
    scenario_pk: Id | None = Field(default=None, description="The stored stress scenario that motivated it.")

    @field_validator("delivery_date", mode="before")
    @classmethod
    def _no_asap(cls, value: Any) -> Any:
        return _specific_date(value)


class RequestIn(RequestFields):
    """A new draft: the supplier party, its fields, and optionally its marking."""

    supplier_party: Annotated[Text, Field(min_length=1, max_length=8)]
    marking: MarkingIn | None = None


class RequestPatch(RequestFields):
    """Changes to a draft, with the version you loaded."""

    version: Version
    marking: MarkingIn | None = None


class TransitionIn(Strict):
    """An action on a request, what it carries, and the version you loaded."""

    action: Action
    fields: dict[Annotated[Text, Field(max_length=64)], Any] = Field(
        default_factory=dict,
        max_length=20,
        description=(
            "issue_order: rating, program_symbol, delivery_date, authorized_signer, certified; authorize: rating, "
            "program_symbol; reject: reason, earliest_date; report_delay: reason, revised_date; decline and "
            "escalate: reason; every action: note."
        ),
    )
    version: Version


class RequestOut(Strict):
    """A request, its deadlines, whether it is overdue, and what you may do with it now."""

    id: int
    reference: str
    state: State
    rating: Rating
    program_symbol: str
    program: str
    title: str
    requesting_party: str
    supplier_party: str
    supplier_organization_id: int | None
    supplier_site: str
    network_id: int | None
    item_node_id: str
    scenario_pk: int | None
    quantity: float
    unit: str
    delivery_date: date | None
    authorized_signer: str
    certified: bool
    justification: str
    reason: str
    earliest_date: date | None
    received_on: date | None
    response_due: date | None = Field(description="Accept or reject by this day (supplier's working days).")
    delay_noticed_on: date | None
    delay_confirm_due: date | None
    delay_confirmed_on: date | None
    revised_delivery_date: date | None
    escalated_from: str
    awaiting: str = Field(
        "",
        description="An action of the requesting party sent to the supplier party's instance, which holds the "
        "request's state, and not answered yet (federation); empty when none.",
    )
    overdue: bool
    actions: list[Action] = Field(description="The actions you may take in its present state.")
    created_at: datetime
    updated_at: datetime
    version: int
    marking: MarkingOut


class RequestPage(Paged):
    """A page of visible requests, DX ahead of DO."""

    items: list[RequestOut]


class EventOut(Strict):
    """One transition of a request."""

    id: int
    from_state: str
    to_state: str
    actor_id: int
    actor_party: str
    at: datetime
    note: str
    details: dict[str, Any]
    marking: MarkingOut


class EventPage(Paged):
    """A request's visible transitions, oldest first."""

    items: list[EventOut]


class CalendarEntryIn(Strict):
    """A day to add to a party's calendar."""

    day: date
    name: Annotated[Text, Field(max_length=200)] = ""
    working: bool = Field(default=False, description="True: a working day despite weekend or holiday.")


class CalendarEntryOut(Strict):
    """A day an admin added to a party's calendar."""

    id: int
    party: str
    day: date
    name: str
    working: bool
    marking: MarkingOut


class HolidayOut(Strict):
    """A public holiday of the party's country."""

    day: date
    name: str


class CalendarOut(Strict):
    """A party's working-day calendar for a year: its country's public holidays and its admins' entries."""

    party: str
    country: str
    year: int
    holidays: list[HolidayOut]
    entries: list[CalendarEntryOut]
