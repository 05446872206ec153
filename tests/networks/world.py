"""A two-party world for the stored-network and run tests: parties, ministries and firms, users, markings.

The generated small three-tier network (``generated.small()``, the shape of the accelerator's small data
set) is dressed with sites, organizations and parties, and imported by an Indian ministry analyst with
some nodes India-only, one proprietary to HAL and one need-to-know ENGINE.
The US side then marks one of its own nodes US-only (as an edit by a US user would), so no user sees
every node. Words that appear only on India-only nodes let tests look for leaks in any output.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import generated
from principals import (
    ENGINE_NTK,
    HAL_PROPRIETARY,
    IN_ANALYST,
    IN_BEL_INDUSTRY,
    IN_HAL_INDUSTRY,
    IN_ONLY,
    SHARED,
    US_ANALYST,
    US_GE_INDUSTRY,
    US_ONLY,
    seed,
)
from setu.audit.log import integrate
from setu.models.audit import AuditEntry
from setu.models.networks import NetworkRecord, NodeRecord, SupplyRecord
from setu.network.io.accelerator import read_accelerator
from setu.network.model import Network, Node
from setu.networks import import_network
from setu.sharing.markings import MarkingSpec, combine, store
from setu.sharing.policy import Principal, allows

IN_HAL_USER, IN_BEL_USER, US_GE_USER = IN_HAL_INDUSTRY, IN_BEL_INDUSTRY, US_GE_INDUSTRY
USERS = (IN_ANALYST, IN_HAL_USER, IN_BEL_USER, US_ANALYST, US_GE_USER)

IN_ONLY_NODES = ("T2_9", "T3_16", "T3_17")
US_ONLY_NODES = ("T3_1",)
HAL_NODES = ("T2_6",)
NTK_NODES = ("T3_11",)
SECRET_WORDS = ("Vikram", "Nashik", "Agni", "T2_9", "T3_16", "T3_17")
"""Text found only on India-only nodes (their ids, organization, site and program)."""

ACCELERATOR = Path("stress-test-accelerator")


def _dress(node: Node, ttr: dict[str, float] | None = None) -> Node:
    tier = node.id.split("_")[0]
    number = int(node.id.split("_")[1])
    if node.id in IN_ONLY_NODES:
        attrs = {"organization": "Vikram Alloys", "site": "Nashik Secret Forge", "party": "IN", "country": "IN"}
        attrs["program"] = "Project Agni"
    elif node.id in US_ONLY_NODES:
        attrs = {"organization": "Liberty Castings", "site": "Pittsburgh Annex", "party": "US", "country": "US"}
    elif node.id in HAL_NODES:
        attrs = {"organization": "HAL", "site": "Koraput", "party": "IN", "country": "IN"}
    elif tier == "T1":
        attrs = {"organization": "HAL", "site": "Bengaluru", "party": "IN", "country": "IN", "program": "Tejas"}
    elif tier == "T2" and number <= 5:
        attrs = {"organization": "GE Aerospace", "site": "Lynn", "party": "US", "country": "US", "program": "F414"}
    elif tier == "T2":
        attrs = {"organization": "BEL", "site": "Bengaluru", "party": "IN", "country": "IN"}
    elif number % 2:
        attrs = {"organization": "Mishra Dhatu", "site": "Hyderabad", "party": "IN", "country": "IN"}
    else:
        attrs = {"organization": "Allegheny", "site": "Pittsburgh", "party": "US", "country": "US"}
    estimate = node.ttr if ttr is None else ttr.get(node.id)
    return dataclasses.replace(node, name=f"{attrs['organization']} {node.id}", ttr=estimate, **attrs)


def small_network() -> Network:
    """The generated small network with sites, organizations, parties and its TTR estimates."""
    network = generated.small()
    network.nodes = [_dress(node) for node in network.nodes]
    return network


def published_small_network(shared_data: Path) -> Network:
    """The accelerator's published small network, dressed the same way, for checks against its expected values."""
    folder = shared_data / ACCELERATOR
    network = read_accelerator(folder / "dataset_small.json")
    with (folder / "ttr_small.csv").open() as handle:
        ttr = {row["node"]: float(row["ttr"]) for row in csv.DictReader(handle)}
    network.nodes = [_dress(node, ttr) for node in network.nodes]
    return network


def expected_small(shared_data: Path) -> dict[str, tuple[float, float]]:
    """Expected (lost profit, TTS) of each single-node scenario of the small network."""
    with (shared_data / ACCELERATOR / "expected_small.csv").open() as handle:
        return {row["node"]: (float(row["lost_profit"]), float(row["tts"])) for row in csv.DictReader(handle)}


def node_markings() -> dict[str, MarkingSpec]:
    """The markings the Indian importer assigns to particular nodes."""
    marks = dict.fromkeys(IN_ONLY_NODES, IN_ONLY)
    marks.update(dict.fromkeys(HAL_NODES, HAL_PROPRIETARY))
    marks.update(dict.fromkeys(NTK_NODES, ENGINE_NTK))
    return marks


def spec_of(node_id: str) -> MarkingSpec:
    """Each node's marking once the world is built (the US-only node included)."""
    if node_id in US_ONLY_NODES:
        return US_ONLY
    return node_markings().get(node_id, SHARED)


def edge_spec(supplier: str, customer: str) -> MarkingSpec:
    """Each supply edge's marking once the world is built (its ends' combined; US-only at the US node)."""
    if supplier in US_ONLY_NODES or customer in US_ONLY_NODES:
        return US_ONLY
    return combine((spec_of(supplier), spec_of(customer)), "IN")


def visible_ids(network: Network, principal: Principal) -> set[str]:
    """The oracle: node ids ``principal`` may see, by the Python rule."""
    return {node.id for node in network.nodes if allows(principal, spec_of(node.id))}


def build_world(session: Session, network: Network) -> NetworkRecord:
    """Seed the parties, import ``network`` as the Indian analyst, and mark the US node US-only."""
    seed(session)
    stored = import_network(
        session,
        IN_ANALYST,
        network,
        name="small",
        format="accelerator",
        source="dataset_small.json",
        marking=SHARED,
        node_markings=node_markings(),
    )
    us_only = store(session, US_ONLY).id
    nodes = select(NodeRecord.id).where(NodeRecord.network_id == stored.id, NodeRecord.node_id.in_(US_ONLY_NODES))
    session.execute(update(NodeRecord).where(NodeRecord.id.in_(nodes)).values(marking_id=us_only))
    session.execute(
        update(SupplyRecord)
        .where(SupplyRecord.supplier_id.in_(nodes) | SupplyRecord.customer_id.in_(nodes))
        .values(marking_id=us_only)
    )
    return stored


def audit_count(session: Session, action: str, decision: str = "permit") -> int:
    """How many audit entries record ``action`` with ``decision``."""
    integrate(session)  # sequence what is pending, as every reader of the log does
    query = select(func.count()).where(AuditEntry.action == action, AuditEntry.decision == decision)
    return session.scalar(query) or 0


def counter(values: list[str]) -> list[tuple[str, int]]:
    """Distinct non-empty values with their counts, in sorted order."""
    return sorted((v, n) for v, n in Counter(values).items() if v)
