"""Index helpers for per-scenario work that costs what a scenario reaches, never the size of the network."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from setu.network.compile import CompiledNetwork, IntArray


def ranges(starts: NDArray[np.integer[Any]], ends: NDArray[np.integer[Any]]) -> IntArray:
    """The concatenation of ``arange(s, e)`` for each pair, without a Python loop.

    Examples
    --------
    >>> ranges(np.array([0, 5]), np.array([2, 8])).tolist()
    [0, 1, 5, 6, 7]
    """
    lengths = (ends - starts).astype(np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(ends.astype(np.int64) - lengths.cumsum(), lengths)
    found: IntArray = np.arange(total, dtype=np.int64) + offsets
    return found


def closure(graph: csr_matrix, starts: IntArray, scratch: NDArray[np.bool_]) -> IntArray:
    """``starts`` and every node reachable from them along ``graph``'s edges, sorted.

    ``scratch`` is a boolean array of the graph's size, all ``False``; it is left all ``False``, so one
    array serves every call and no call allocates or scans anything the size of the graph.

    Examples
    --------
    >>> chain = csr_matrix((np.ones(2), ([0, 1], [1, 2])), shape=(4, 4))
    >>> closure(chain, np.array([0]), np.zeros(4, dtype=bool)).tolist()
    [0, 1, 2]
    """
    frontier = np.unique(np.asarray(starts, dtype=np.int64))
    scratch[frontier] = True
    found = [frontier]
    indptr, indices = graph.indptr, graph.indices
    while len(frontier):
        nxt = indices[ranges(indptr[frontier], indptr[frontier + 1])].astype(np.int64)
        nxt = np.unique(nxt[~scratch[nxt]])
        scratch[nxt] = True
        found.append(nxt)
        frontier = nxt
    reached = np.concatenate(found)
    scratch[reached] = False
    reached.sort()
    return reached


class Downstream:
    """What sets of nodes reach along a network's supply edges: every node downstream, and the products.

    Parameters
    ----------
    net
        The compiled network.

    Examples
    --------
    >>> from setu.network.compile import compile_network
    >>> from setu.network.generate import three_tier
    >>> net = compile_network(three_tier(4, 6, 8, seed=1))
    >>> down = Downstream(net)
    >>> bool(set(down.products(np.array([10]))) <= set(net.product_nodes.tolist()))
    True
    """

    def __init__(self, net: CompiledNetwork) -> None:
        n = net.n_nodes
        self.forward = csr_matrix((np.ones(net.n_edges), (net.edge_supplier, net.edge_customer)), shape=(n, n))
        self.is_product = np.zeros(n, dtype=bool)
        self.is_product[net.product_nodes] = True
        self.seen = np.zeros(n, dtype=bool)
        """Scratch mask of the walks, left clear by each."""

    def products(self, nodes: IntArray) -> IntArray:
        """The products downstream of ``nodes`` (theirs included), sorted."""
        down = closure(self.forward, np.asarray(nodes, dtype=np.int64), self.seen)
        found: IntArray = down[self.is_product[down]]
        return found
