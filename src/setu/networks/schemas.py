"""Response models of the stored-network endpoints: networks, nodes, neighbourhoods, counts, suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from setu.schemas import MarkingOut, PageBanner, Paged, Strict


class NetworkSummary(Strict):
    """One imported version of a network."""

    id: int
    name: str
    version: int = Field(ge=1, description="Counts per importing organization and name.")
    format: str = Field(description="The format it was read in: setu, accelerator or willems.")
    source: str = Field(description="The uploaded file's name.")
    time_unit: str = Field(description="The time unit of its rates and TTRs (hour ... year); empty: not declared.")
    weight_unit: str = Field(description="The unit of its products' loss weights; empty: not declared.")
    created_at: datetime
    marking: MarkingOut


class NetworkOut(NetworkSummary):
    """A network with how many of its nodes the user sees."""

    nodes: int = Field(ge=0, description="Nodes of the network the user may see.")


class NetworkPage(Paged):
    """A page of visible networks, newest version first within a name."""

    items: list[NetworkSummary]


class NodeOut(Strict):
    """A node: a site making one material."""

    node_id: str
    name: str
    material: str
    capacity: float
    inventory: float
    ttr: float | None = Field(description="Its own time-to-recover estimate, if known.")
    site: str
    organization: str
    party: str
    country: str
    material_class: str
    program: str
    chokepoints: list[str]
    marking: MarkingOut


class NodePage(Paged):
    """A page of visible nodes that match the search and filters."""

    items: list[NodeOut]


class NeighbourhoodOut(PageBanner):
    """A node and the visible nodes around it, over visible edges only."""

    node: NodeOut
    suppliers: list[NodeOut] = Field(description="Nodes shipping to it.")
    customers: list[NodeOut] = Field(description="Nodes it ships to.")
    alternates: list[NodeOut] = Field(description="Other suppliers of its material to its customers.")
    dependents: list[NodeOut] = Field(description="Every node downstream of it.")
    totals: dict[str, int] = Field(
        description="How many suppliers, customers, alternates and dependents there are; each list holds the "
        "first 1000 by node id."
    )


class ValueCountOut(Strict):
    """A distinct value among the visible nodes, how many carry it, and the marking of what it reveals."""

    value: str
    nodes: int = Field(ge=1)
    marking: MarkingOut = Field(description="The most restrictive marking of the visible nodes carrying the value.")


class ValueCountList(PageBanner):
    """Every distinct value among the visible nodes, with its count."""

    items: list[ValueCountOut]
    total: int = Field(ge=0)


class SuggestionOut(Strict):
    """A completion for a filter field, with the marking of the nodes carrying it."""

    value: str
    marking: MarkingOut


class SuggestionList(PageBanner):
    """Completions of a prefix among the visible nodes."""

    field: str
    prefix: str
    items: list[SuggestionOut]


class TearLineIn(Strict):
    """Draft stand-ins for the nodes of a network that ``audience`` may not see."""

    audience: str = Field(min_length=2, max_length=8, description="The partner party the stand-ins are for, e.g. `US`.")
    classification: Literal["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"] = Field(
        description="The level the stand-ins are released at (releasable to your party and the audience)."
    )
    fold: Literal["twins", "material"] = Field(
        default="twins",
        description="twins: fold only interchangeable nodes (the partner's figures stay exact); material: one "
        "stand-in per material, country and marking (fewer records; the check says what the figures lose).",
    )


class StandInOut(Strict):
    """A stand-in: its node, the hidden nodes it stands for, and its links."""

    node: NodeOut
    covers: list[str] = Field(description="Ids of the hidden nodes it stands for (only their readers see these).")
    suppliers: list[str]
    customers: list[str]
    demand: float | None = Field(description="Demand per time unit, where it stands in for a hidden product.")


class TearLineOut(Strict):
    """A tear line: its state, what it hides, and how the partner's figures compare with yours."""

    id: int
    network_id: int
    audience: str
    state: Literal["draft", "released"]
    fold: Literal["twins", "material"]
    release_marking: str = Field(description="The banner its stand-ins carry once released.")
    hidden_nodes: int = Field(description="Nodes the audience may not see that the stand-ins take the place of.")
    check: dict[str, Any] = Field(
        description="Scenarios compared (`scenarios` of `candidates`), how many differ (`differences`) and the worst; "
        "`inexact` lists what stand-ins cannot carry without naming it."
    )
    created_at: datetime
    released_at: datetime | None
    standins: list[StandInOut]
    marking: MarkingOut
