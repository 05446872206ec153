"""The supply-network model as users describe it: nodes, products, bills of materials and sourcing."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Node:
    """A site making one material (the unit the stress test disrupts).

    Attributes other than ``id``, ``material``, ``capacity`` and ``inventory`` describe
    the node for scenario builders (site, organization, party, country, material class,
    chokepoints on its outbound route) and carry its own time-to-recover estimate.
    """

    id: str
    material: str
    capacity: float
    inventory: float = 0.0
    site: str = ""
    organization: str = ""
    party: str = ""
    country: str = ""
    material_class: str = ""
    chokepoints: tuple[str, ...] = ()
    ttr: float | None = None
    name: str = ""
    program: str = ""
    latitude: float | None = None
    """Where the site is, in degrees (WGS 84), for the geographic map; ``None`` places it at its country's centre."""
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class Product:
    """A node with external demand: ``demand`` units per time unit, ``weight`` per lost unit."""

    node: str
    demand: float
    weight: float


@dataclass(frozen=True, slots=True)
class BomLine:
    """``quantity`` units of ``material`` are needed per unit of ``node``'s output."""

    node: str
    material: str
    quantity: float


@dataclass(frozen=True, slots=True)
class Supply:
    """A qualified sourcing edge: ``supplier`` ships its material to ``customer``.

    Suppliers of the same material to the same customer are interchangeable alternates.
    """

    supplier: str
    customer: str


@dataclass(frozen=True, slots=True)
class SiteCapacity:
    """A capacity shared by every node at ``site`` (units per time unit, summed over them)."""

    site: str
    capacity: float


@dataclass(slots=True)
class Network:
    """A multi-tier supply network, as read from a file and before compilation."""

    name: str
    nodes: list[Node]
    products: list[Product]
    bom: list[BomLine]
    supplies: list[Supply]
    site_capacities: list[SiteCapacity] = field(default_factory=list)
    source: str = ""
    time_unit: str = ""
    """The time unit of rates and TTRs (:data:`setu.network.units.TIME_UNITS`); empty: not declared."""
    weight_unit: str = ""
    """The unit of the products' loss weights (e.g. ``USD k``); empty: not declared."""

    def node_index(self) -> dict[str, int]:
        """Map each node id to its position in ``nodes``."""
        return {node.id: i for i, node in enumerate(self.nodes)}
