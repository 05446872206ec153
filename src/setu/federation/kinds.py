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

from dataclasses import dataclass, field
from typing import Any

from setu.models.base import Base
from setu.models.networks import BomRecord, NetworkRecord, NodeRecord, ProductRecord, SiteCapacityRecord, SupplyRecord
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite


@dataclass(frozen=True, slots=True)
class Reference:
    """A column holding another crossing record's local id, sent as that record's STIX id."""

    column: str
    prop: str
    kind: str
    required: bool = True


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
    ),
    Kind(
        "network",
        "x-setu-network",
        NetworkRecord,
        {"name": "name", "version": "version", "format": "format", "source": "source"},
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
)
"""Every kind that crosses, each after the kinds it references (the order the feed sends them in)."""

BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}
BY_STIX_TYPE: dict[str, Kind] = {kind.stix_type: kind for kind in KINDS}
MARKING_KIND = "marking"
RECEIPT_TYPE = "x-setu-receipt"
