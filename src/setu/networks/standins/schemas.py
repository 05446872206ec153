"""Request and response models of tear lines: stand-ins for the nodes a partner may not see."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from setu.networks.schemas import NodeOut
from setu.schemas import MarkingOut, Strict


class TearLineIn(Strict):
    """Draft stand-ins for the nodes of a network that ``audience`` may not see."""

    audience: str = Field(min_length=2, max_length=8, description="The partner party the stand-ins are for, e.g. `US`.")
    classification: Literal["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"] = Field(
        description="The level the stand-ins are released at (releasable to your party and the audience)."
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
