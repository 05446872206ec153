"""Stored networks (versioned imports), their nodes, edges, bills of materials and products."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from setu.models.base import Base, Marked, Received, guard_received, utcnow


class NetworkRecord(Received, Marked, Base):
    """One imported version of a network.

    Versions count per importing organization and name: importing ``name`` again from the same
    organization writes version n+1 beside the older ones. Counting per organization rather than
    globally keeps a version number from revealing that another organization (or the partner)
    holds a network of the same name. ``marking`` is the import's default marking.
    """

    __tablename__ = "networks"
    __table_args__ = (UniqueConstraint("org_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    format: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    source: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    """The file the network was read from, as the importer named it."""
    time_unit: Mapped[str] = mapped_column(String(16), nullable=False, default="", server_default="")
    """The time unit of its rates and TTRs (:mod:`setu.network.units`); empty: not declared."""
    weight_unit: Mapped[str] = mapped_column(String(60), nullable=False, default="", server_default="")
    node_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    edge_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    """The importing user's id."""
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    """The importing user's organization (the scope of version numbers)."""


class NodeRecord(Received, Marked, Base):
    """A node of a stored network: a site making one material, with every attribute of :class:`Node`.

    ``node_id`` is the id users and files know, unique within its network; ``chokepoints`` are
    joined by ``;``. A node may carry a marking other than its network's.
    """

    __tablename__ = "network_nodes"
    __table_args__ = (
        UniqueConstraint("network_id", "node_id"),
        Index("ix_network_nodes_material", "network_id", "material"),
        Index("ix_network_nodes_site", "network_id", "site"),
        Index("ix_network_nodes_organization", "network_id", "organization"),
        Index("ix_network_nodes_party", "network_id", "party"),
        Index("ix_network_nodes_country", "network_id", "country"),
        Index("ix_network_nodes_material_class", "network_id", "material_class"),
        Index("ix_network_nodes_program", "network_id", "program"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    node_id: Mapped[str] = mapped_column(String(200), nullable=False)
    material: Mapped[str] = mapped_column(String(200), nullable=False)
    capacity: Mapped[float] = mapped_column(Float, nullable=False)
    inventory: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    site: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    organization: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    party: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    country: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    material_class: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    chokepoints: Mapped[str] = mapped_column(Text, nullable=False, default="")
    ttr: Mapped[float | None] = mapped_column(Float, nullable=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    program: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    tear_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("network_tear_lines.id", ondelete="CASCADE"), nullable=True, index=True
    )
    """The tear line this node is a stand-in of (:class:`TearLineRecord`); local, it never crosses."""


class SupplyRecord(Received, Marked, Base):
    """A sourcing edge: ``supplier`` ships its material to ``customer`` (both nodes of one network)."""

    __tablename__ = "network_supplies"
    __table_args__ = (UniqueConstraint("supplier_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("network_nodes.id", ondelete="CASCADE"), nullable=False)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("network_nodes.id", ondelete="CASCADE"), nullable=False, index=True
    )


class BomRecord(Received, Marked, Base):
    """A bill-of-materials line: ``quantity`` units of ``material`` per unit of the node's output."""

    __tablename__ = "network_bom"
    __table_args__ = (UniqueConstraint("node_id", "material"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False, index=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("network_nodes.id", ondelete="CASCADE"), nullable=False)
    material: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)


class ProductRecord(Received, Marked, Base):
    """A node with external demand (units per time unit) and a weight per lost unit."""

    __tablename__ = "network_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False, index=True)
    node_id: Mapped[int] = mapped_column(
        ForeignKey("network_nodes.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    demand: Mapped[float] = mapped_column(Float, nullable=False)
    weight: Mapped[float] = mapped_column(Float, nullable=False)


class SiteCapacityRecord(Received, Marked, Base):
    """A capacity shared by every node at ``site`` in one network."""

    __tablename__ = "network_site_capacities"
    __table_args__ = (UniqueConstraint("network_id", "site"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    site: Mapped[str] = mapped_column(String(200), nullable=False)
    capacity: Mapped[float] = mapped_column(Float, nullable=False)
    tear_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("network_tear_lines.id", ondelete="CASCADE"), nullable=True, index=True
    )
    """The tear line whose undisclosed site this is; local, it never crosses."""


class TearLineRecord(Marked, Base):
    """Stand-ins an owner made for the nodes of a network that ``audience`` may not see.

    Marked as the hidden records it was made from, so only those who may read all of them see it. While
    ``state`` is ``draft`` its stand-ins carry that marking too; releasing re-marks them
    with :func:`setu.networks.standins.release_marking`. Deleting it deletes its stand-ins.
    """

    __tablename__ = "network_tear_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False, index=True)
    audience: Mapped[str] = mapped_column(String(8), nullable=False)
    classification: Mapped[int] = mapped_column(Integer, nullable=False)
    """The level stand-ins are released at (releasable to the owner's party and ``audience``)."""
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    fold: Mapped[str] = mapped_column(String(16), nullable=False, default="twins")
    """How hidden nodes were folded (:data:`setu.network.tearline.FOLDS`): ``twins`` exactly, or by ``material``."""
    hidden_nodes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    standins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    check: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    """What :func:`setu.stress.tearline.check_views` found, and why figures may still differ (``inexact``)."""
    created_by: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    released_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TearLineCover(Marked, Base):
    """A hidden node a stand-in stands for, marked as that node: a reader who sees it leaves the stand-in out.

    A node has at most one stand-in (``covered_id`` is unique), so two owners drafting at once cannot make
    the partner count a hidden supplier twice.
    """

    __tablename__ = "network_tear_line_covers"
    __table_args__ = (UniqueConstraint("covered_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False, index=True)
    tear_line_id: Mapped[int] = mapped_column(
        ForeignKey("network_tear_lines.id", ondelete="CASCADE"), nullable=False, index=True
    )
    standin_id: Mapped[int] = mapped_column(ForeignKey("network_nodes.id", ondelete="CASCADE"), nullable=False)
    covered_id: Mapped[int] = mapped_column(ForeignKey("network_nodes.id", ondelete="CASCADE"), nullable=False)


for _model in (NetworkRecord, NodeRecord, SupplyRecord, BomRecord, ProductRecord, SiteCapacityRecord):
    guard_received(_model)
