"""Exact TTS from small LPs over the part of the network a disruption can reach.

A disruption of ``S`` can only starve the products downstream of ``S`` (set ``A``), and what
those products can get is decided by the nodes upstream of them (``U``, which holds ``S``).
Two LPs on ``U`` alone, both in the rate form of :mod:`setu.stress.lp`, bracket the TTS:

* the *relaxation* drops what ``U``'s suppliers ship to customers outside ``U``: every
  feasible plan of the whole network is feasible here, so its TTS is an upper bound;
* the *restriction* keeps those shipments (and everything outside ``U``) at a lean
  undisrupted plan: each of its plans extends to a plan of the whole network, so its
  TTS is a lower bound.

When both agree (or the lower bound reaches the undisrupted TTS, itself an upper bound),
the TTS is exact without touching the full model; otherwise the caller re-solves the full
model. The restriction is solved first, and its row prices usually settle the question alone:
by weak duality they bound the relaxation's optimum from the other side (a *certificate*), so
the relaxation LP is solved only when they do not (2% of the single-node scenarios of a
10,000-node three-tier network). Both LPs differ only in bounds, so the relaxation is a warm
re-solve of the restriction.
"""

from __future__ import annotations

import math

import highspy
import numpy as np
from scipy.sparse import csc_matrix, csr_matrix

from setu.network.compile import FloatArray, IntArray
from setu.stress.graph import closure, ranges
from setu.stress.lp import StressLP, new_highs, run_highs

_INF = highspy.kHighsInf
_OPTIMAL = highspy.HighsModelStatus.kOptimal
_INFEASIBLE = highspy.HighsModelStatus.kInfeasible
_AGREE = 1e-9
_TAU_FLOOR = 1e-12
"""tau at or below this is an unbounded TTS (as :func:`LocalTTS._run` reads it)."""
# Past this share of the network a local LP is no cheaper than the warm full one.
_MAX_SHARE = 0.35


class LocalTTS:
    """Bracket the TTS of a scenario with two LPs over the nodes upstream of what it reaches.

    Parameters
    ----------
    model
        The full TTS model (``kind="tts"``); its base is solved here if it is not yet.
    """

    def __init__(self, model: StressLP) -> None:
        if model.kind != "tts":
            raise ValueError("LocalTTS needs the TTS model")
        self.model = model
        net = model.net
        self.net = net
        lay = model.layout
        lp = model.highs.getLp()
        self.matrix = csc_matrix(
            (np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_), np.asarray(lp.a_matrix_.start_)),
            shape=(lp.num_row_, lp.num_col_),
        )
        self.row_lower = np.asarray(lp.row_lower_)
        self.row_upper = np.asarray(lp.row_upper_)
        self.base_tts = model.base.value
        self.lean = self._lean_plan(lp)
        n = net.n_nodes
        self.forward = csr_matrix((np.ones(net.n_edges), (net.edge_supplier, net.edge_customer)), shape=(n, n))
        self.backward = self.forward.T.tocsr()
        self.is_product = np.zeros(n, dtype=bool)
        self.is_product[net.product_nodes] = True
        # Row blocks owned by each node: its BOM rows, its ship row, its demand row (CSR by node).
        owner = np.full(lp.num_row_, -1, dtype=np.int64)
        owner[: lay.b] = net.bom_node[lay.pooled_rows]
        owner[lay.ship0 : lay.demand0] = lay.ship_nodes
        owner[lay.demand0 : lay.site0] = net.product_nodes
        owned = np.flatnonzero(owner >= 0)
        self.rows_owned = csr_matrix((owned, (owner[owned], np.arange(len(owned)))), shape=(n, len(owned)))
        # Shipment columns into each node, from its pooled suppliers (CSR by customer).
        self.into = csr_matrix(
            (lay.y0 + np.arange(lay.e, dtype=np.int64), (net.edge_customer[lay.pooled_edges], np.arange(lay.e))),
            shape=(n, lay.e),
        )
        self.site_rows = lay.site0 + np.arange(len(net.shared_sites))
        self.col_counts = np.diff(self.matrix.indptr)
        self.lean_activity = self.matrix @ self.lean if self.lean is not None else None
        # Scratch arrays of the whole model, each left clean by the call that uses it.
        self.seen = np.zeros(n, dtype=bool)
        self.inside = np.zeros(n, dtype=bool)
        self.row_at = np.full(lp.num_row_, -1, dtype=np.int64)
        self.highs = new_highs()
        self.answered = ""
        """How the last scenario's TTS was found: ``certified`` (the restriction and its prices),
        ``bracket`` (both LPs), ``undisrupted`` or ``""`` (none: the caller solves the full model)."""

    def _lean_plan(self, lp: highspy.HighsLp) -> FloatArray | None:
        """An undisrupted plan at the base TTS that makes and ships as little as possible.

        Leaner plans leave more slack at shared suppliers, so the restriction agrees with
        the relaxation more often.
        """
        lay = self.model.layout
        base = self.model.base
        if base.columns is None:  # no positive horizon even undisrupted: every TTS is 0
            return None
        tau = float(base.columns[lay.last0])
        lean = new_highs()
        lean.passModel(lp)
        cost = np.ones(lp.num_col_)
        cost[lay.last0] = 0.0
        lean.changeColsCost(lp.num_col_, np.arange(lp.num_col_, dtype=np.int32), cost)
        lean.changeColBounds(lay.last0, tau, tau * (1 + 1e-9) + 1e-12)
        if run_highs(lean) != _OPTIMAL:
            return base.columns
        return np.array(lean.getSolution().col_value)

    def reach(self, nodes: IntArray) -> tuple[IntArray, IntArray]:
        """The products downstream of ``nodes`` and every node upstream of those products (sorted)."""
        down = closure(self.forward, nodes, self.seen)
        products = down[self.is_product[down]]
        return products, closure(self.backward, products, self.seen)

    def solve(self, nodes: IntArray, remaining: FloatArray) -> float | None:
        """The exact TTS of the scenario, or ``None`` when the local bounds do not meet."""
        net = self.net
        self.answered = "undisrupted"
        if self.lean is None:
            if self.base_tts != 0.0:
                self.answered = ""
                return None
            return self.base_tts
        products, upstream = self.reach(nodes)
        if len(products) == 0:
            return self.base_tts
        if len(upstream) > _MAX_SHARE * net.n_nodes:
            self.answered = ""
            return None
        self.inside[upstream] = True
        try:
            return self._bracket(nodes, remaining, upstream)
        finally:
            self.inside[upstream] = False

    def _bracket(self, nodes: IntArray, remaining: FloatArray, upstream: IntArray) -> float | None:
        net, lay, matrix = self.net, self.model.layout, self.matrix
        assert self.lean is not None and self.lean_activity is not None
        # Every array below is the size of the sub-network: nothing scans the whole model.
        into = self.into
        edges = into.data[ranges(into.indptr[upstream], into.indptr[upstream + 1])]
        cols = np.concatenate([upstream, edges, [lay.last0]]).astype(np.int64)
        owned = self.rows_owned
        rows = owned.data[ranges(owned.indptr[upstream], owned.indptr[upstream + 1])].astype(np.int64)
        if len(self.site_rows):
            sites = net.site_of_node[upstream]
            rows = np.concatenate([rows, self.site_rows[np.unique(sites[sites >= 0])]])
        row_at = self.row_at
        row_at[rows] = np.arange(len(rows))
        try:
            entries = ranges(matrix.indptr[cols], matrix.indptr[cols + 1])
            kept = row_at[matrix.indices[entries]] >= 0
            entries = entries[kept]
            column_of = np.repeat(np.arange(len(cols)), self.col_counts[cols])[kept]
            starts = np.searchsorted(column_of, np.arange(len(cols) + 1)).astype(np.int32)
            index = row_at[matrix.indices[entries]].astype(np.int32)
            values = matrix.data[entries]
            # What the fixed outside plan uses of each row: the lean plan's activity, less the inside
            # columns' share, less what a disrupted node outside can no longer make.
            carried = self.lean_activity[rows] - np.bincount(
                index, weights=values * self.lean[cols[column_of]], minlength=len(rows)
            )
            out = nodes[~self.inside[nodes]]
            if len(out):
                cut = np.minimum(self.lean[out], remaining[~self.inside[nodes]] * net.capacity[out]) - self.lean[out]
                hits = ranges(matrix.indptr[out], matrix.indptr[out + 1])
                at = row_at[matrix.indices[hits]]
                use = at >= 0
                carried += np.bincount(
                    at[use],
                    weights=matrix.data[hits][use] * np.repeat(cut, self.col_counts[out])[use],
                    minlength=len(rows),
                )
        finally:
            row_at[rows] = -1

        k = len(cols)
        upper = np.full(k, _INF)
        upper[: len(upstream)] = net.capacity[upstream]
        # A disrupted node that feeds none of these products cannot change the TTS: only the
        # others get their outage bound here.
        hit = self.inside[nodes]
        upper[np.searchsorted(upstream, nodes[hit])] = remaining[hit] * net.capacity[nodes[hit]]
        cost = np.zeros(k)
        cost[-1] = 1.0
        lean_tau = float(self.lean[lay.last0])
        relaxed_lower, relaxed_upper = self.row_lower[rows], self.row_upper[rows]
        lp = highspy.HighsLp()
        lp.num_col_ = k
        lp.num_row_ = len(rows)
        lp.col_cost_ = cost
        lower = np.zeros(k)
        lower[-1] = lean_tau
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        # The restriction first: the outside plan's use of each row is spent, and tau may not fall below
        # the lean plan's (its fixed stock terms were feasible only from there up).
        lp.row_lower_ = relaxed_lower - carried
        lp.row_upper_ = relaxed_upper - carried
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = values
        lp.a_matrix_.num_col_ = k
        lp.a_matrix_.num_row_ = len(rows)
        self.highs.passModel(lp)
        lower_tts = self._run()
        if lower_tts >= self.base_tts * (1 - 1e-8):
            self.answered = "certified"
            return self.base_tts
        restricted = csc_matrix((values, index, starts), shape=(len(rows), k))
        if self._certified(restricted, cost, upper, relaxed_lower, relaxed_upper):
            self.answered = "certified"
            return lower_tts
        # The relaxation: the same LP with the outside plan dropped; a warm re-solve.
        self.highs.changeRowsBounds(len(rows), np.arange(len(rows), dtype=np.int32), relaxed_lower, relaxed_upper)
        self.highs.changeColBounds(k - 1, 0.0, _INF)
        upper_tts = min(self._run(), self.base_tts)
        self.answered = "bracket"
        if lower_tts >= upper_tts * (1 - _AGREE) or (math.isinf(upper_tts) and math.isinf(lower_tts)):
            return upper_tts
        self.answered = ""
        return None

    def _certified(
        self, matrix: csc_matrix, cost: FloatArray, upper: FloatArray, row_lower: FloatArray, row_upper: FloatArray
    ) -> bool:
        """Whether the restriction's optimum (just solved) is the relaxation's too, by its row prices alone.

        For any row prices ``y``, with reduced costs ``z = c - A'y``, every plan ``x`` the relaxation
        allows has ``tau = c'x = y'Ax + z'x``, no less than each price times the row bound it leans on
        plus each reduced cost times the column bound it leans on: a lower bound ``D`` on the relaxation's
        tau, so an upper bound on every plan's TTS (weak duality; a price that leans on an infinite bound
        gives no bound). The restriction's tau is a plan's, so when ``D`` reaches it both are the TTS.
        """
        if self.highs.getModelStatus() != _OPTIMAL:
            return False
        tau = float(self.highs.getInfo().objective_function_value)
        prices = np.asarray(self.highs.getSolution().row_dual)
        reduced = cost - matrix.T @ prices
        col_lower = np.zeros(len(cost))  # the relaxation's: tau from 0
        bound = 0.0
        for values, lower, high in ((prices, row_lower, row_upper), (reduced, col_lower, upper)):
            up, down = values > 0, values < 0
            leaned = np.concatenate([lower[up], high[down]])
            if not np.all(np.isfinite(leaned)):
                return False
            bound += float(values[up] @ lower[up] + values[down] @ high[down])
        return bound >= tau - _AGREE * max(tau, _TAU_FLOOR)

    def _run(self) -> float:
        status = run_highs(self.highs)
        if status == _INFEASIBLE:
            return 0.0
        if status != _OPTIMAL:
            return math.nan
        tau = float(self.highs.getInfo().objective_function_value)
        return math.inf if tau <= 1e-12 else 1.0 / tau
