"""A naive reference model of the TTR/TTS linear programs, for checking the engine.

Built from scratch per scenario, straight from a :class:`setu.network.model.Network` (never from
``CompiledNetwork`` arrays or ``StressLP``), in the textbook *t*-form of DESIGN.md and solved with
``scipy.optimize.linprog(method="highs")``. Columns: production ``u_j`` (one per node), shipments
``y_ij`` (one per supply edge), lost units ``l_j`` (one per product) and the horizon ``t``:

* TTR: ``t`` is fixed by its bounds and ``min sum_j f_j l_j``;
* TTS: ``l`` is fixed at 0 and ``max t`` (``min -t``); unbounded means no horizon breaks the network
  (decided on the recession cone: the same rows with zero right-hand sides and ``t = 1``).

Rows (all ``<=``):

* BOM           ``r_kj u_j - sum_{i in P_jk} y_ij <= 0``
* ship          ``sum_j y_ij - u_i <= s_i``                     (nodes that ship to someone)
* outage        ``u_j - (1 - delta_j) c_j t <= 0``               (disrupted nodes)
* demand        ``-l_j - u_j + d_j t <= s_j``                    (products)
* capacity      ``u_j - c_j t <= 0``                             (every node)
* shared site   ``sum_{k at site} u_k - c_site t <= 0``
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from scipy.optimize import linprog

from setu.network.model import Network

Row = dict[int, float]


def _build(network: Network, disrupted: dict[str, float]) -> tuple[list[Row], list[float], int, int, int]:
    """Rows (column -> coefficient) and right-hand sides; returns also the first ``l`` column and ``t``."""
    index = {node.id: i for i, node in enumerate(network.nodes)}
    unknown = set(disrupted) - set(index)
    if unknown:
        raise KeyError(f"unknown disrupted node(s) {sorted(unknown)}")
    n = len(network.nodes)
    e = len(network.supplies)
    p = len(network.products)
    l0 = n + e
    t_col = l0 + p
    material = {node.id: node.material for node in network.nodes}

    rows: list[Row] = []
    rhs: list[float] = []

    # Bill of materials: each BOM line is fed by the supply edges of that material to that customer.
    feeders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for edge, supply in enumerate(network.supplies):
        feeders[(supply.customer, material[supply.supplier])].append(n + edge)
    for line in network.bom:
        row: Row = {index[line.node]: line.quantity}
        for col in feeders[(line.node, line.material)]:
            row[col] = row.get(col, 0.0) - 1.0
        rows.append(row)
        rhs.append(0.0)

    # Ship: what a node sends out is at most its stock plus what it makes.
    outgoing: dict[str, list[int]] = defaultdict(list)
    for edge, supply in enumerate(network.supplies):
        outgoing[supply.supplier].append(n + edge)
    for node in network.nodes:
        if outgoing[node.id]:
            row = dict.fromkeys(outgoing[node.id], 1.0)
            row[index[node.id]] = -1.0
            rows.append(row)
            rhs.append(node.inventory)

    # Outage of the disrupted nodes: u_j <= (1 - severity) c_j t.
    for node_id, severity in disrupted.items():
        j = index[node_id]
        rows.append({j: 1.0, t_col: -(1.0 - severity) * network.nodes[j].capacity})
        rhs.append(0.0)

    # Cumulative demand: l_j + u_j + s_j >= d_j t.
    for k, product in enumerate(network.products):
        j = index[product.node]
        rows.append({l0 + k: -1.0, j: -1.0, t_col: product.demand})
        rhs.append(network.nodes[j].inventory)

    # Capacity of every node: u_j <= c_j t.
    for j, node in enumerate(network.nodes):
        rows.append({j: 1.0, t_col: -node.capacity})
        rhs.append(0.0)

    # Shared sites: sum over the site's nodes of u_k <= c_site t.
    for shared in network.site_capacities:
        row = {j: 1.0 for j, node in enumerate(network.nodes) if node.site == shared.site}
        row[t_col] = -shared.capacity
        rows.append(row)
        rhs.append(0.0)
    return rows, rhs, l0, t_col, t_col + 1


def _dense(rows: list[Row], n_cols: int) -> np.ndarray:
    matrix = np.zeros((len(rows), n_cols))
    for r, row in enumerate(rows):
        for c, v in row.items():
            matrix[r, c] += v
    return matrix


def reference_pi(network: Network, disrupted: dict[str, float], t: float) -> float:
    """PI(S, t): least weighted loss over a horizon ``t`` with ``disrupted`` (node -> severity) out."""
    rows, rhs, l0, t_col, n_cols = _build(network, disrupted)
    cost = np.zeros(n_cols)
    for k, product in enumerate(network.products):
        cost[l0 + k] = product.weight
    bounds: list[tuple[float, float | None]] = [(0.0, None)] * n_cols
    bounds[t_col] = (t, t)
    result = linprog(cost, A_ub=_dense(rows, n_cols), b_ub=np.array(rhs), bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"reference TTR LP failed: {result.message}")
    return float(result.fun)


def reference_tts(network: Network, disrupted: dict[str, float]) -> float:
    """TTS(S): the longest horizon with no loss; ``inf`` if unbounded, 0 if only ``t = 0`` is feasible.

    Unboundedness is decided first, on the recession cone (the same rows with every right-hand
    side 0, and ``t = 1``): ``max t`` is unbounded exactly when that system has a solution. HiGHS
    sometimes reports an unbounded ``max t`` as infeasible, so it is never asked to detect it.
    """
    rows, rhs, l0, t_col, n_cols = _build(network, disrupted)
    matrix = _dense(rows, n_cols)
    bounds: list[tuple[float, float | None]] = [(0.0, None)] * n_cols
    for k in range(len(network.products)):
        bounds[l0 + k] = (0.0, 0.0)
    ray_bounds = list(bounds)
    ray_bounds[t_col] = (1.0, 1.0)
    ray = linprog(np.zeros(n_cols), A_ub=matrix, b_ub=np.zeros(len(rhs)), bounds=ray_bounds, method="highs")
    if ray.status == 0:
        return math.inf
    if ray.status != 2:
        raise RuntimeError(f"reference TTS ray LP failed: {ray.message}")
    cost = np.zeros(n_cols)
    cost[t_col] = -1.0
    result = linprog(cost, A_ub=matrix, b_ub=np.array(rhs), bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"reference TTS LP failed: {result.message}")
    return max(0.0, float(-result.fun))
