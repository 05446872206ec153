"""Exact TTR (lost profit) from a small LP over the part of the network a disruption can change.

The scenario LP differs from the undisrupted one only in the capacity bounds of the disrupted
nodes. Fix every column outside a set ``R`` at the undisrupted optimum ``x*`` and solve for the
columns in ``R`` alone, over the rows they appear in (the restricted LP). Its solution, with
``x*`` outside, is feasible for the whole network. It is also *optimal* when the dual prices
of the restricted rows, with the undisrupted duals ``pi*`` on every other row, leave each
outside column's reduced cost of the sign its value needs (at its lower bound, not negative;
at its upper bound, not positive; between, zero): then primal feasibility, dual feasibility
and complementary slackness hold for the whole LP. Only outside columns that share a row with
``R`` can fail the test (the others keep their undisrupted reduced costs); those that fail
join ``R``, and the LP is solved again. ``R`` starts as what the disruption reaches: the
disrupted nodes, everything downstream of them, the shipments into those nodes and the lost
units of the products among them.

So the answer is the full model's, certified, and the work follows the reach of the scenario
and what is coupled to it (alternates that could ship more, shared sites, their suppliers), not
the size of the network. When ``R`` grows past a share of the network, :meth:`LocalTTR.solve`
answers ``None`` and the caller solves the full model.
"""

from __future__ import annotations

import highspy
import numpy as np
from scipy.sparse import csc_matrix, csr_matrix

from setu.network.compile import FloatArray, IntArray
from setu.stress.graph import closure, ranges
from setu.stress.lp import StressLP, new_highs, run_highs

_INF = highspy.kHighsInf
_OPTIMAL = highspy.HighsModelStatus.kOptimal
_MAX_SHARE = 0.25
"""Past this share of the columns a restricted LP is no cheaper than the warm full model."""
_SMALL = 200
"""A restricted LP this small is cheap whatever share of the network it is."""
_MAX_ROUNDS = 3
"""Past this many growths the disruption is coupled far across the network: the warm full model is cheaper."""
_BOUND_TOL = 1e-9
"""Relative distance within which a column sits at its bound."""
_DUAL_TOL = 1e-9
"""Reduced costs within this (relative to the largest weight) count as of the right sign."""


class LocalTTR:
    """The exact lost profit of a scenario from restricted LPs, certified against the whole TTR model.

    Parameters
    ----------
    model
        The full TTR model with its horizon set; its base is solved here if it is not yet.
        Build a new ``LocalTTR`` after changing the horizon.

    Examples
    --------
    >>> import numpy as np
    >>> from setu.network.compile import compile_network
    >>> from setu.network.generate import three_tier
    >>> from setu.stress.lp import StressLP
    >>> net = compile_network(three_tier(4, 12, 24, seed=3))
    >>> model = StressLP(net, "ttr")
    >>> model.set_horizon(6.0)
    >>> local = LocalTTR(model)
    >>> node = np.array([net.index_of("T2_1")])
    >>> full = model.solve_scenario(node, use_shortcut=False).value
    >>> bool(abs(local.solve(node, np.zeros(1)) - full) <= 1e-7 * max(1.0, full))
    True
    """

    def __init__(self, model: StressLP) -> None:
        if model.kind != "ttr":
            raise ValueError("LocalTTR needs the TTR model")
        self.model = model
        net = model.net
        self.net = net
        base = model.base
        if base.columns is None or base.row_duals is None:
            raise ValueError("the undisrupted TTR model has no optimum to start from")
        lp = model.highs.getLp()
        self.cols = csc_matrix(
            (np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_), np.asarray(lp.a_matrix_.start_)),
            shape=(lp.num_row_, lp.num_col_),
        )
        self.rows = csr_matrix(self.cols)
        self.col_counts = np.diff(self.cols.indptr)
        self.row_counts = np.diff(self.rows.indptr)
        self.cost = np.asarray(lp.col_cost_, dtype=np.float64)
        self.col_lower = np.asarray(lp.col_lower_, dtype=np.float64)
        self.col_upper = np.asarray(lp.col_upper_, dtype=np.float64)
        self.row_lower = np.asarray(lp.row_lower_, dtype=np.float64)
        self.row_upper = np.asarray(lp.row_upper_, dtype=np.float64)
        self.x = np.asarray(base.columns, dtype=np.float64)
        self.pi = np.asarray(base.row_duals, dtype=np.float64)
        self.activity = self.cols @ self.x
        self.reduced = self.cost - self.cols.T @ self.pi
        self.base_value = float(self.cost @ self.x)
        scale = max(1.0, float(np.abs(self.cost).max(initial=0.0)))
        self.dual_tol = _DUAL_TOL * scale
        width = np.maximum(1.0, np.abs(self.x))
        self.at_lower = self.x <= self.col_lower + _BOUND_TOL * width
        self.at_upper = self.x >= self.col_upper - _BOUND_TOL * width
        lay = model.layout
        n = net.n_nodes
        self.forward = csr_matrix((np.ones(net.n_edges), (net.edge_supplier, net.edge_customer)), shape=(n, n))
        self.lost_col = np.full(n, -1, dtype=np.int64)
        self.lost_col[net.product_nodes] = lay.last0 + np.arange(lay.p)
        pooled = lay.pooled_edges
        # Shipment columns into each node: its pooled suppliers' shipments (CSR by customer).
        self.into = csr_matrix(
            (lay.y0 + np.arange(lay.e, dtype=np.int64), (net.edge_customer[pooled], np.arange(lay.e))),
            shape=(n, lay.e),
        )
        self.highs = new_highs()
        self.seen = np.zeros(n, dtype=bool)
        """Scratch mask of the nodes a reach has visited; every reach clears what it set."""
        self.in_lp = np.zeros(self.cols.shape[1], dtype=bool)
        self.row_at = np.full(self.cols.shape[0], -1, dtype=np.int64)
        self.rounds = 0
        """Restricted LPs solved for the last scenario (for benchmarks)."""
        self.size = 0
        """Columns of the last scenario's final restricted LP (for benchmarks)."""

    def reach(self, nodes: IntArray) -> IntArray:
        """The disrupted nodes and every node downstream of them, as a sorted index array."""
        return closure(self.forward, nodes, self.seen)

    def _start(self, nodes: IntArray) -> IntArray:
        down = self.reach(nodes)
        shipments = self.into.data[ranges(self.into.indptr[down], self.into.indptr[down + 1])]
        lost = self.lost_col[down]
        return np.unique(np.concatenate([down, shipments, lost[lost >= 0]]))

    def solve(self, nodes: IntArray, remaining: FloatArray) -> float | None:
        """The exact lost profit with ``nodes`` keeping a ``remaining`` fraction of capacity, or ``None``
        when the restricted LP grows past a quarter of the model or keeps growing (solve the full one then)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        scenario = _Restricted(self, nodes, np.asarray(remaining, dtype=np.float64) * self.col_upper[nodes])
        try:
            added = self._start(nodes)
            limit = max(_MAX_SHARE * len(self.x), _SMALL)
            self.rounds = 0
            while len(added):
                self.rounds += 1
                if len(scenario.columns) + len(added) > limit or self.rounds > _MAX_ROUNDS:
                    return None
                scenario.add(added)
                if run_highs(self.highs) != _OPTIMAL:
                    return None
                added = scenario.violators()
            self.size = len(scenario.columns)
            return scenario.value()
        finally:
            scenario.release()


class _Restricted:
    """One scenario's restricted LP in :attr:`LocalTTR.highs`, grown a set of columns at a time.

    Each growth adds the new columns and the rows only they touch, and moves the bounds of the rows
    they share with the LP by what they no longer carry at their fixed values; HiGHS starts from the
    previous optimal basis, so a round is a short repair, not a new solve.
    """

    def __init__(self, local: LocalTTR, nodes: IntArray, disrupted_upper: FloatArray) -> None:
        self.local = local
        self.nodes = nodes
        self.disrupted_upper = disrupted_upper
        self.columns = np.zeros(0, dtype=np.int64)
        """Columns of the LP, in the order added (local index = position)."""
        self.rows = np.zeros(0, dtype=np.int64)
        self.shift = np.zeros(0)
        """Row bound offsets in force: what the fixed outside columns use of each LP row."""
        # Scratch masks of the whole model, shared by the scenarios of one LocalTTR and cleared by release().
        self.in_lp = local.in_lp
        self.row_at = local.row_at

    def release(self) -> None:
        """Clear the scratch masks for the next scenario."""
        self.in_lp[self.columns] = False
        self.row_at[self.rows] = -1

    def add(self, new: IntArray) -> None:
        local = self.local
        cols = local.cols
        entries = ranges(cols.indptr[new], cols.indptr[new + 1])
        entry_rows = cols.indices[entries]
        values = cols.data[entries]
        counts = local.col_counts[new]
        used = values * np.repeat(local.x[new], counts)
        fresh = np.unique(entry_rows[self.row_at[entry_rows] < 0])
        first = len(self.columns) == 0
        # Rows shared with the LP already: the new columns no longer count among what is carried there.
        shared = self.row_at[entry_rows] >= 0
        if shared.any():
            at = self.row_at[entry_rows[shared]]
            moved = np.bincount(at, weights=used[shared], minlength=len(self.rows))
            touched = np.flatnonzero(moved)
            self.shift[touched] -= moved[touched]
            rows = self.rows[touched]
            local.highs.changeRowsBounds(
                len(touched),
                touched.astype(np.int32),
                local.row_lower[rows] - self.shift[touched],
                local.row_upper[rows] - self.shift[touched],
            )
        # Rows new to the LP: everything the fixed columns use there, but what the new columns do.
        self.row_at[fresh] = len(self.rows) + np.arange(len(fresh))
        in_fresh = ~shared
        own = np.bincount(
            self.row_at[entry_rows[in_fresh]] - len(self.rows), weights=used[in_fresh], minlength=len(fresh)
        )
        fresh_shift = local.activity[fresh] - own
        self.rows = np.concatenate([self.rows, fresh])
        self.shift = np.concatenate([self.shift, fresh_shift])
        upper = local.col_upper[new].copy()
        if first:
            # The first columns hold the disrupted nodes (node i's production is column i; new is sorted).
            upper[np.searchsorted(new, self.nodes)] = self.disrupted_upper
        starts = np.zeros(len(new), dtype=np.int32)
        np.cumsum(counts[:-1], out=starts[1:])
        if first:
            local.highs.clearModel()
        if len(fresh):
            # The rows come empty: their entries are the new columns', added next.
            local.highs.addRows(
                len(fresh),
                local.row_lower[fresh] - fresh_shift,
                local.row_upper[fresh] - fresh_shift,
                0,
                np.zeros(len(fresh), dtype=np.int32),
                np.zeros(0, dtype=np.int32),
                np.zeros(0),
            )
        local.highs.addCols(
            len(new),
            local.cost[new],
            local.col_lower[new],
            upper,
            len(entries),
            starts,
            self.row_at[entry_rows].astype(np.int32),
            values,
        )
        self.columns = np.concatenate([self.columns, new])
        self.in_lp[new] = True

    def value(self) -> float:
        local = self.local
        x = np.asarray(local.highs.getSolution().col_value, dtype=np.float64)
        return local.base_value + float(local.cost[self.columns] @ (x - local.x[self.columns]))

    def violators(self) -> IntArray:
        """Outside columns whose reduced cost, with the LP's row prices, has the wrong sign for their value."""
        local = self.local
        duals = np.asarray(local.highs.getSolution().row_dual, dtype=np.float64)
        change = duals - local.pi[self.rows]
        moving = np.abs(change) > 0
        rows, change = self.rows[moving], change[moving]
        csr = local.rows
        entries = ranges(csr.indptr[rows], csr.indptr[rows + 1])
        touched = csr.indices[entries]
        moved = np.repeat(change, local.row_counts[rows]) * csr.data[entries]
        outside = ~self.in_lp[touched]
        touched, moved = touched[outside], moved[outside]
        if len(touched) == 0:
            return np.zeros(0, dtype=np.int64)
        candidates, where = np.unique(touched, return_inverse=True)
        reduced = local.reduced[candidates] - np.bincount(where, weights=moved, minlength=len(candidates))
        tol = local.dual_tol
        at_lower, at_upper = local.at_lower[candidates], local.at_upper[candidates]
        bad = np.where(at_lower, reduced < -tol, np.where(at_upper, reduced > tol, np.abs(reduced) > tol))
        bad &= ~(at_lower & at_upper)
        found: IntArray = candidates[bad].astype(np.int64)
        return found
