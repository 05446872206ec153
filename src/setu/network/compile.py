"""Compile a validated :class:`Network` once into the index arrays the stress engine works on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from setu.network.model import Network
from setu.network.validate import validate

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CompiledNetwork:
    """A network as arrays: nodes ``0..n-1``, edges ``0..e-1``, BOM rows ``0..b-1``, products ``0..p-1``.

    The arrays are read-only after compilation and cheap to pickle, so worker processes
    receive one copy and build their warm models from it.
    """

    name: str
    node_ids: list[str]
    materials: list[str]
    capacity: FloatArray
    inventory: FloatArray
    ttr: FloatArray
    """Per-node TTR estimate, ``nan`` where the file gives none."""
    product_nodes: IntArray
    demand: FloatArray
    weight: FloatArray
    edge_supplier: IntArray
    edge_customer: IntArray
    edge_bom_row: IntArray
    """The BOM row (customer, material) that each edge feeds."""
    bom_node: IntArray
    bom_material: list[str]
    bom_quantity: FloatArray
    site_of_node: IntArray
    """Index into ``shared_sites`` of the node's shared-capacity site, or -1."""
    shared_sites: list[str]
    shared_capacity: FloatArray
    attributes: dict[str, list[str]]
    """Per-node text attributes for scenario builders: site, organization, party, country, ..."""
    chokepoints: list[tuple[str, ...]]

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        return int(self.edge_supplier.shape[0])

    @property
    def n_products(self) -> int:
        return int(self.product_nodes.shape[0])

    def has_node(self, node_id: str) -> bool:
        """Whether the network has a node with this id."""
        return node_id in self._index

    def index_of(self, node_id: str) -> int:
        """Position of ``node_id``; raises ``KeyError`` if the network has no such node."""
        return self._index[node_id]

    @property
    def _index(self) -> dict[str, int]:
        cached: dict[str, int] | None = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {node_id: i for i, node_id in enumerate(self.node_ids)}
            object.__setattr__(self, "_index_cache", cached)
        return cached

    def supplying_nodes(self) -> IntArray:
        """Nodes that ship to another node (the default sweep disrupts each of them)."""
        return np.unique(self.edge_supplier)

    def downstream(self, nodes: IntArray) -> IntArray:
        """Every node reachable from ``nodes`` along supply edges, ``nodes`` included."""
        graph = self._forward_graph
        reached = np.zeros(self.n_nodes, dtype=bool)
        for start in nodes:
            if not reached[start]:
                reached[breadth_first_order(graph, int(start), directed=True, return_predecessors=False)] = True
        return np.flatnonzero(reached)

    @property
    def _forward_graph(self) -> csr_matrix:
        cached: csr_matrix | None = self.__dict__.get("_forward_cache")
        if cached is None:
            n = self.n_nodes
            cached = csr_matrix((np.ones(self.n_edges), (self.edge_supplier, self.edge_customer)), shape=(n, n))
            object.__setattr__(self, "_forward_cache", cached)
        return cached

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if not k.endswith("_cache")}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)


ATTRIBUTES = ("site", "organization", "party", "country", "material_class", "name", "program")


def compile_network(network: Network) -> CompiledNetwork:
    """Validate ``network`` and compile it into arrays.

    Parameters
    ----------
    network
        The network as read from a file.

    Returns
    -------
    CompiledNetwork
        Arrays indexed by node, edge, BOM row and product.

    Raises
    ------
    setu.errors.InputError
        If the network fails validation (every problem is listed).
    """
    validate(network)
    index = network.node_index()
    nodes = network.nodes
    bom_key = {(line.node, line.material): i for i, line in enumerate(network.bom)}
    shared = [sc.site for sc in network.site_capacities]
    shared_index = {site: i for i, site in enumerate(shared)}
    return CompiledNetwork(
        name=network.name,
        node_ids=[node.id for node in nodes],
        materials=[node.material for node in nodes],
        capacity=np.array([node.capacity for node in nodes], dtype=np.float64),
        inventory=np.array([node.inventory for node in nodes], dtype=np.float64),
        ttr=np.array([np.nan if node.ttr is None else node.ttr for node in nodes], dtype=np.float64),
        product_nodes=np.array([index[p.node] for p in network.products], dtype=np.int64),
        demand=np.array([p.demand for p in network.products], dtype=np.float64),
        weight=np.array([p.weight for p in network.products], dtype=np.float64),
        edge_supplier=np.array([index[s.supplier] for s in network.supplies], dtype=np.int64),
        edge_customer=np.array([index[s.customer] for s in network.supplies], dtype=np.int64),
        edge_bom_row=np.array(
            [bom_key[(s.customer, nodes[index[s.supplier]].material)] for s in network.supplies], dtype=np.int64
        ),
        bom_node=np.array([index[line.node] for line in network.bom], dtype=np.int64),
        bom_material=[line.material for line in network.bom],
        bom_quantity=np.array([line.quantity for line in network.bom], dtype=np.float64),
        site_of_node=np.array([shared_index.get(node.site, -1) for node in nodes], dtype=np.int64),
        shared_sites=shared,
        shared_capacity=np.array([sc.capacity for sc in network.site_capacities], dtype=np.float64),
        attributes={attr: [str(getattr(node, attr)) for node in nodes] for attr in ATTRIBUTES},
        chokepoints=[node.chokepoints for node in nodes],
    )
