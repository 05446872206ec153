"""A layered layout of a supply network for a map: one column per tier, rows ordered to reduce crossings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Layout:
    """Map coordinates of the nodes ``0..n-1`` of a supply network.

    Attributes
    ----------
    x, y
        Coordinates in ``[0, 1]``: raw materials on the left (``x = 0``), finished products on the
        right (``x = 1``), rows spread down each column and centred on the fullest one.
    tier
        The node's tier: the number of supply steps on the longest path from it down to a node that
        ships to no one (normally a finished product, tier 0). Nodes of one supply cycle share a tier.
    reaches_product
        Whether some supply path leads from the node to a product.
    columns
        How many columns (tiers) there are.
    rows
        How many nodes the fullest column holds.
    """

    x: FloatArray
    y: FloatArray
    tier: IntArray
    reaches_product: BoolArray
    columns: int
    rows: int


def _edges(n: int, suppliers: ArrayLike, customers: ArrayLike) -> tuple[IntArray, IntArray]:
    source = np.asarray(suppliers, dtype=np.int64).ravel()
    target = np.asarray(customers, dtype=np.int64).ravel()
    if source.shape != target.shape:
        raise ValueError(f"suppliers and customers differ in length: {source.size} and {target.size}")
    if source.size and (min(source.min(), target.min()) < 0 or max(source.max(), target.max()) >= n):
        raise ValueError(f"edge ends must be node indices in 0..{n - 1}")
    return source, target


def _gather(order: IntArray, pointer: IntArray, nodes: IntArray) -> IntArray:
    """The entries ``order[pointer[v]:pointer[v + 1]]`` of every ``v`` in ``nodes``, concatenated."""
    starts = pointer[nodes]
    lengths = pointer[nodes + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    # Each output slot's offset within its own run, added to its run's start: one index array, no loop.
    run_starts = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return order[run_starts + np.arange(total, dtype=np.int64)]


def _grouped(keys: IntArray, values: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """``values`` sorted by ``keys`` and the pointer of each key's run (a CSR index)."""
    by_key = np.argsort(keys, kind="stable")
    pointer = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=pointer[1:])
    return values[by_key], pointer


def supply_tiers(n: int, suppliers: ArrayLike, customers: ArrayLike) -> IntArray:
    """The tier of every node: the longest path, in supply steps, from it to a node shipping to no one.

    Every supply cycle (strongly connected set of nodes) is first contracted to one node, so the
    tiers are defined for any graph; on a graph without cycles every supplier's tier is greater
    than each of its customers'.

    Parameters
    ----------
    n
        The number of nodes.
    suppliers, customers
        The supply edges, one ``suppliers[e] -> customers[e]`` per edge, as node indices.

    Returns
    -------
    numpy.ndarray
        ``n`` non-negative integers.

    Raises
    ------
    ValueError
        If the edge arrays differ in length or name a node outside ``0..n-1``.
    """
    source, target = _edges(n, suppliers, customers)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = csr_matrix((np.ones(source.size, dtype=np.int8), (source, target)), shape=(n, n))
    count, component = connected_components(graph, directed=True, connection="strong")
    labels: IntArray = np.asarray(component, dtype=np.int64)
    ends = np.stack([labels[source], labels[target]], axis=1)
    pairs: IntArray = np.unique(ends[ends[:, 0] != ends[:, 1]], axis=0).reshape(-1, 2)
    upper, lower = pairs[:, 0], pairs[:, 1]
    # Peel the contracted graph from its sinks: a component's round is its longest path to a sink.
    remaining = np.bincount(upper, minlength=count)
    suppliers_of, pointer = _grouped(lower, upper, count)
    tier = np.full(count, -1, dtype=np.int64)
    frontier = np.flatnonzero(remaining == 0)
    level = 0
    while frontier.size:
        tier[frontier] = level
        above = _gather(suppliers_of, pointer, frontier)
        remaining -= np.bincount(above, minlength=count)
        frontier = np.unique(above[remaining[above] == 0])
        level += 1
    result: IntArray = tier[labels]
    return result


def reaching(n: int, suppliers: ArrayLike, customers: ArrayLike, targets: ArrayLike) -> BoolArray:
    """Which nodes have a supply path to one of ``targets`` (the targets themselves included).

    Parameters
    ----------
    n
        The number of nodes.
    suppliers, customers
        The supply edges as node indices.
    targets
        Node indices, such as the finished products.

    Returns
    -------
    numpy.ndarray
        ``n`` booleans.

    Raises
    ------
    ValueError
        If an edge or a target names a node outside ``0..n-1``.
    """
    source, target = _edges(n, suppliers, customers)
    start = np.unique(np.asarray(targets, dtype=np.int64).ravel())
    if start.size and (start.min() < 0 or start.max() >= n):
        raise ValueError(f"targets must be node indices in 0..{n - 1}")
    seen = np.zeros(n, dtype=bool)
    suppliers_of, pointer = _grouped(target, source, n)
    frontier = start
    while frontier.size:
        seen[frontier] = True
        above = _gather(suppliers_of, pointer, frontier)
        frontier = np.unique(above[~seen[above]])
    return seen


def _spread(tier: IntArray, key: FloatArray, rows: int) -> FloatArray:
    """Rank nodes by ``key`` within their tier; centred row positions in ``(0, 1)``."""
    n = tier.size
    order = np.lexsort((np.arange(n), key, tier))
    sorted_tier = tier[order]
    first = np.searchsorted(sorted_tier, sorted_tier, side="left")
    sizes = np.bincount(tier)
    rank = np.empty(n, dtype=np.float64)
    rank[order] = np.arange(n) - first
    offset = (rows - sizes[tier]) / 2.0
    y: FloatArray = (offset + rank + 0.5) / rows
    return y


def _sweep(
    y: FloatArray,
    members: list[IntArray],
    columns: list[int],
    neighbours: IntArray,
    pointer: IntArray,
    rows: int,
) -> None:
    """One Gauss-Seidel barycenter pass over ``columns`` in order, updating ``y`` in place."""
    for column in columns:
        nodes = members[column]
        if nodes.size < 2:
            continue
        counts = pointer[nodes + 1] - pointer[nodes]
        around = _gather(neighbours, pointer, nodes)
        owner = np.repeat(np.arange(nodes.size), counts)
        sums = np.bincount(owner, weights=y[around], minlength=nodes.size)
        # A node with no neighbour on this side keeps its place rather than jumping to the top.
        key = np.where(counts > 0, sums / np.maximum(counts, 1), y[nodes])
        rank = np.empty(nodes.size, dtype=np.float64)
        rank[np.lexsort((y[nodes], key))] = np.arange(nodes.size)
        y[nodes] = ((rows - nodes.size) / 2.0 + rank + 0.5) / rows


def layered_layout(
    n: int,
    suppliers: ArrayLike,
    customers: ArrayLike,
    products: ArrayLike = (),
    *,
    sweeps: int = 4,
) -> Layout:
    """Lay a supply network out in columns by tier, ordering each column to reduce edge crossings.

    Column = tier (see :func:`supply_tiers`), finished products on the right. Rows start in the
    given node order and are reordered by a few barycenter sweeps (Sugiyama et al., 1981):
    alternately each column by the mean row of its customers (right to left) and of its suppliers
    (left to right).

    Parameters
    ----------
    n
        The number of nodes.
    suppliers, customers
        The supply edges, one ``suppliers[e] -> customers[e]`` per edge, as node indices; cycles,
        self-loops and repeated edges are allowed.
    products
        Indices of the finished products (for :attr:`Layout.reaches_product`).
    sweeps
        How many barycenter passes to make (0 keeps the given order).

    Returns
    -------
    Layout
        Coordinates in ``[0, 1]``, tiers and reachability.

    Raises
    ------
    ValueError
        If an edge or a product names a node outside ``0..n-1``, or ``sweeps`` is negative.

    Notes
    -----
    Linear in nodes and edges per sweep, apart from sorting; a column of a single node costs nothing.
    """
    if sweeps < 0:
        raise ValueError(f"sweeps must be >= 0, got {sweeps}")
    source, target = _edges(n, suppliers, customers)
    tier = supply_tiers(n, source, target)
    reaches = reaching(n, source, target, products)
    if n == 0:
        empty = np.zeros(0, dtype=np.float64)
        return Layout(empty, empty.copy(), tier, reaches, 0, 0)
    columns = int(tier.max()) + 1
    sizes = np.bincount(tier, minlength=columns)
    rows = int(sizes.max())
    x = (columns - 1 - tier) / (columns - 1) if columns > 1 else np.full(n, 0.5)
    y = _spread(tier, np.zeros(n), rows)

    by_tier = np.argsort(tier, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    members = [by_tier[bounds[c] : bounds[c + 1]] for c in range(columns)]
    keep = source != target
    customers_of, out_pointer = _grouped(source[keep], target[keep], n)
    suppliers_of, in_pointer = _grouped(target[keep], source[keep], n)
    toward_raw = list(range(columns))
    toward_products = toward_raw[::-1]
    for number in range(sweeps):
        if number % 2 == 0:
            _sweep(y, members, toward_raw, customers_of, out_pointer, rows)
        else:
            _sweep(y, members, toward_products, suppliers_of, in_pointer, rows)
    return Layout(x.astype(np.float64), y, tier, reaches, columns, rows)
