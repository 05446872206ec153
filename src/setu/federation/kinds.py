"""The kinds of record that cross between instances, each declared once: its table, STIX type, fields and references.

Both directions read this table: the sender turns a row into a STIX object's properties with it, the
receiver turns the properties back into a row. A reference names the kind it points at and whether it
is *required*: a record whose required reference does not cross does not cross either (an edge whose
supplier is withheld is withheld), so a released record never points at one the partner cannot have.
An optional reference that does not cross is left out and the receiver fills its place (a network
whose importing organization is withheld belongs, there, to "an undisclosed organization of IN").

Local-only columns never cross: row ids, user ids, counts of a network's nodes (which would tell how
many were withheld); the receiver sets them itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ColumnElement, Date, DateTime, Float, Integer, String, Text

from setu.models.base import Base
from setu.models.framework import ActionItem, Body, Decision, Meeting, Pillar, Project
from setu.models.networks import BomRecord, NetworkRecord, NodeRecord, ProductRecord, SiteCapacityRecord, SupplyRecord
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite
from setu.models.sosa import CalendarEntry, PriorityRequest, RequestEvent
from setu.models.stress import ResultRecord, RunRecord, ScenarioRecord
from setu.sharing.read import unfiltered


@dataclass(frozen=True, slots=True)
class Reference:
    """A column holding another crossing record's local id, sent as that record's STIX id."""

    column: str
    prop: str
    kind: str
    required: bool = True
    receivers_own: bool = False
    """Whether it may name a record of the receiver's own (sent as the receiver's STIX id): a request names the
    supplier party's firm, network or scenario, a transition the request it moves. No other reference may: a
    partner's record never joins or hangs off one of ours (a node of our network, a capability at our site)."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of record that crosses: how its rows and its STIX objects correspond.

    ``fields`` maps column names to STIX property names; ``local`` gives the receiver's values of
    the columns that do not cross.
    """

    name: str
    stix_type: str
    model: type[Base]
    fields: dict[str, str]
    references: tuple[Reference, ...] = ()
    local: dict[str, Any] = field(default_factory=dict)
    standard: bool = False
    """A standard STIX type (identity) rather than one of Setu's own."""
    where: Callable[[Any], ColumnElement[bool]] | None = None
    """A further condition on rows that may cross (a run only once it completed)."""
    natural_key: tuple[str, ...] = ()
    """Columns that name the record the same on both sides (a pillar's code): a received record with the key
    of one this instance holds already is that one, mapped and never changed by the partner."""
    id_lists: dict[str, tuple[str, str]] = field(default_factory=dict)
    """JSON columns holding, under a key, a list of local ids of another kind: ``{column: (key, kind)}``.
    The ids cross as STIX ids; a record naming one that does not cross does not cross either."""
    party: str = ""
    """The column naming the party whose record it is (an organization's, a calendar entry's, a run's origin, a
    request's requesting party): only that party's instance sends it, so a received one must name the sender."""


def _submitted(model: Any) -> ColumnElement[bool]:
    """A request that reached its supplier party: a draft, or one withdrawn as a draft, stays with its drafters."""
    # A condition on which requests cross, not a read of the events.
    return (
        unfiltered(RequestEvent.id)
        .where(RequestEvent.request_id == model.id, RequestEvent.to_state == "SUBMITTED")
        .exists()
    )


def to_json(kind: Kind, column: str, value: Any) -> Any:
    """A column's value as it crosses: dates as ISO 8601, non-finite floats as the strings JSON lacks numbers for."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def from_json(kind: Kind, column: str, value: Any) -> Any:
    """The column value of a crossed property (the inverse of :func:`to_json`).

    Checked against the column as the database would, so that a partner's malformed value is refused with
    its name rather than by the database mid-batch: the type, a text's length, a null where none may be.

    Raises
    ------
    ValueError
        Saying what was expected.
    """
    table_column = kind.model.__table__.columns[column]
    if value is None:
        if not table_column.nullable:
            raise ValueError("a value is required")
        return None
    column_type = table_column.type
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat(str(value))
    if isinstance(column_type, Date):
        return date.fromisoformat(str(value))
    if isinstance(column_type, Float):
        if value in ("Infinity", "-Infinity", "NaN"):
            return float(value.replace("Infinity", "inf").replace("NaN", "nan"))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {type(value).__name__}")
        return float(value)
    if isinstance(column_type, Boolean):
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {type(value).__name__}")
        return value
    if isinstance(column_type, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {type(value).__name__}")
        return value
    if isinstance(column_type, JSON):
        if not isinstance(value, list | dict):
            raise ValueError(f"expected a list or an object, got {type(value).__name__}")
        return value
    if isinstance(column_type, String | Text):
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {type(value).__name__}")
        if column_type.length is not None and len(value) > column_type.length:
            raise ValueError(f"{len(value)} characters, more than the {column_type.length} allowed")
        return value
    return value


KINDS: tuple[Kind, ...] = (
    Kind(
        "organization",
        "identity",
        Organization,
        {
            "name": "name",
            "party_code": "x_setu_party",
            "kind": "x_setu_org_kind",
            "code_of_conduct": "x_setu_code_of_conduct",
        },
        standard=True,
        natural_key=("party_code", "name"),
        party="party_code",
    ),
    Kind(
        "network",
        "x-setu-network",
        NetworkRecord,
        {
            "name": "name",
            "version": "version",
            "format": "format",
            "source": "source",
            "time_unit": "time_unit",
            "weight_unit": "weight_unit",
        },
        (Reference("org_id", "organization_ref", "organization", required=False),),
        local={"created_by": 0, "node_count": 0, "edge_count": 0},
    ),
    Kind(
        "node",
        "x-setu-node",
        NodeRecord,
        {
            "node_id": "node_id",
            "material": "material",
            "capacity": "capacity",
            "inventory": "inventory",
            "site": "site",
            "organization": "organization",
            "party": "party",
            "country": "country",
            "material_class": "material_class",
            "chokepoints": "chokepoints",
            "ttr": "ttr",
            "name": "name",
            "program": "program",
            "latitude": "latitude",
            "longitude": "longitude",
        },
        (Reference("network_id", "network_ref", "network"),),
    ),
    Kind(
        "site_capacity",
        "x-setu-site-capacity",
        SiteCapacityRecord,
        {"site": "site", "capacity": "capacity"},
        (Reference("network_id", "network_ref", "network"),),
    ),
    Kind(
        "supply",
        "x-setu-supply",
        SupplyRecord,
        {},
        (
            Reference("network_id", "network_ref", "network"),
            Reference("supplier_id", "supplier_ref", "node"),
            Reference("customer_id", "customer_ref", "node"),
        ),
    ),
    Kind(
        "bom",
        "x-setu-bom-line",
        BomRecord,
        {"material": "material", "quantity": "quantity"},
        (Reference("network_id", "network_ref", "network"), Reference("node_id", "node_ref", "node")),
    ),
    Kind(
        "product",
        "x-setu-product",
        ProductRecord,
        {"demand": "demand", "weight": "weight"},
        (Reference("network_id", "network_ref", "network"), Reference("node_id", "node_ref", "node")),
    ),
    Kind(
        "registry_site",
        "x-setu-registry-site",
        RegistrySite,
        {
            "name": "name",
            "country": "country",
            "region": "region",
            "latitude": "latitude",
            "longitude": "longitude",
            "chokepoints": "chokepoints",
        },
        (Reference("organization_id", "organization_ref", "organization"),),
        local={"updated_by": 0},
    ),
    Kind(
        "capability",
        "x-setu-capability",
        Capability,
        {
            "code": "code",
            "material": "material",
            "capacity": "capacity",
            "committed": "committed",
            "unit": "unit",
            "lead_time_weeks": "lead_time_weeks",
            "qualification_weeks": "qualification_weeks",
            "notes": "notes",
        },
        (Reference("site_id", "site_ref", "registry_site"),),
    ),
    Kind(
        "scenario",
        "x-setu-scenario",
        ScenarioRecord,
        {
            "scenario_id": "scenario_id",
            "kind": "scenario_kind",
            "label": "label",
            "ttr": "ttr",
            "nodes": "nodes",
            "severities": "severities",
        },
        (Reference("network_id", "network_ref", "network"),),
        local={"created_by": 0},
    ),
    Kind(
        "run",
        "x-setu-run",
        RunRecord,
        {
            "origin_party": "origin_party",
            "status": "status",
            "done": "done",
            "total": "total",
            "created_at": "run_created",
            "started_at": "run_started",
            "finished_at": "run_finished",
            "wall_seconds": "wall_seconds",
            "parameters": "parameters",
        },
        (Reference("network_id", "network_ref", "network"),),
        local={"created_by": 0},
        where=lambda model: model.status == "completed",
        id_lists={"parameters": ("scenarios", "scenario")},
        party="origin_party",
    ),
    Kind(
        "result",
        "x-setu-result",
        ResultRecord,
        {
            "position": "position",
            "scenario_id": "scenario_id",
            "kind": "scenario_kind",
            "label": "label",
            "disrupted": "disrupted",
            "ttr": "ttr",
            "lost_profit": "lost_profit",
            "tts": "tts",
            "tts_infinite": "tts_infinite",
            "rei": "rei",
            "at_risk": "at_risk",
        },
        (Reference("run_id", "run_ref", "run"),),
    ),
    Kind(
        "pillar",
        "x-setu-pillar",
        Pillar,
        {"code": "code", "name": "name", "description": "description"},
        natural_key=("code",),
    ),
    Kind(
        "body",
        "x-setu-body",
        Body,
        {"name": "name", "kind": "body_kind", "chairs": "chairs"},
        (
            Reference("parent_id", "parent_ref", "body", required=False),
            Reference("pillar_id", "pillar_ref", "pillar", required=False),
        ),
        natural_key=("name",),
    ),
    Kind(
        "meeting",
        "x-setu-meeting",
        Meeting,
        {"held_on": "held_on", "title": "title", "location": "location", "summary": "summary"},
        (Reference("body_id", "body_ref", "body"),),
    ),
    Kind(
        "decision", "x-setu-decision", Decision, {"text": "text"}, (Reference("meeting_id", "meeting_ref", "meeting"),)
    ),
    Kind(
        "action",
        "x-setu-action",
        ActionItem,
        {
            "title": "title",
            "owner": "owner",
            "due_on": "due_on",
            "status": "status",
            "completed_on": "completed_on",
            "notes": "notes",
        },
        (
            Reference("body_id", "body_ref", "body", required=False),
            Reference("meeting_id", "meeting_ref", "meeting", required=False),
            Reference("decision_id", "decision_ref", "decision", required=False),
            Reference("pillar_id", "pillar_ref", "pillar", required=False),
            Reference("owner_organization_id", "owner_organization_ref", "organization", required=False),
        ),
        local={"created_by": 0},
    ),
    Kind(
        "project",
        "x-setu-project",
        Project,
        {"name": "name", "program": "program", "status": "status", "description": "description"},
        (
            Reference("pillar_id", "pillar_ref", "pillar", required=False),
            Reference("network_id", "network_ref", "network", required=False),
        ),
        natural_key=("name",),
    ),
    Kind(
        "calendar_entry",
        "x-setu-calendar-entry",
        CalendarEntry,
        {"party_code": "party", "day": "day", "name": "name", "working": "working"},
        # A party's working days, kept by its admins on its instance: the partner counts deadlines on them.
        local={"created_by": 0},
        natural_key=("party_code", "day"),
        party="party_code",
    ),
    Kind(
        "request",
        "x-setu-priority-request",
        PriorityRequest,
        {
            "reference": "reference",
            "requesting_party": "requesting_party",
            "supplier_party": "supplier_party",
            "program": "program",
            "title": "title",
            "item_node_id": "item_node_id",
            "supplier_site": "supplier_site",
            "quantity": "quantity",
            "unit": "unit",
            "justification": "justification",
            "created_at": "request_created",
        },
        (
            Reference("network_id", "network_ref", "network", required=False, receivers_own=True),
            Reference(
                "supplier_organization_id",
                "supplier_organization_ref",
                "organization",
                required=False,
                receivers_own=True,
            ),
            Reference("scenario_pk", "scenario_ref", "scenario", required=False, receivers_own=True),
        ),
        # Its state crosses in its transitions (request events), made by the one instance holding it.
        local={"created_by": 0, "state": "SUBMITTED", "rating": "DO"},
        where=lambda model: _submitted(model),
        party="requesting_party",
    ),
    Kind(
        "request_event",
        "x-setu-request-event",
        RequestEvent,
        {
            "from_state": "from_state",
            "to_state": "to_state",
            "actor_party": "actor_party",
            "at": "event_at",
            "note": "note",
            "details": "details",
        },
        (Reference("request_id", "request_ref", "request", receivers_own=True),),
        local={"actor_id": 0},
    ),
)
"""Every kind that crosses, each after the kinds it references (the order the feed sends them in)."""

BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}
BY_STIX_TYPE: dict[str, Kind] = {kind.stix_type: kind for kind in KINDS}
MARKING_KIND = "marking"
RECEIPT_TYPE = "x-setu-receipt"
