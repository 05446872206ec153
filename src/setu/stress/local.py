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

The restriction depends on the scenario only through its bounds: its rows, columns and matrix are
those of the products the disruption reaches. So it is built once per set of reached products and
kept (the last :data:`KEPT_RESTRICTIONS`, within :data:`KEPT_NONZEROS`); each scenario changes its
bounds and re-solves from the optimal basis the one before it left, which stays dual feasible
because no cost ever changes: some fifty dual simplex pivots instead of three hundred from scratch.
:meth:`LocalTTS.key` tells the caller which scenarios share one, so that it can take them in turn.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import csc_matrix, csr_matrix

from setu.network.compile import FloatArray, IntArray
from setu.stress.graph import Downstream, closure, ranges
from setu.stress.lp import HighsHandle, StressLP, new_highs, run_highs

_INF = highspy.kHighsInf
_OPTIMAL = highspy.HighsModelStatus.kOptimal
_INFEASIBLE = highspy.HighsModelStatus.kInfeasible
_AGREE = 1e-9
_TAU_FLOOR = 1e-12
"""tau at or below this is an unbounded TTS (as :func:`LocalTTS._run` reads it)."""
# Past this share of the network a local LP is no cheaper than the warm full one.
_MAX_SHARE = 0.35
KEPT_RESTRICTIONS = 64
"""Restriction LPs kept warm, least recently used first out (a few hundred rows each on three-tier networks)."""
KEPT_NONZEROS = 2_000_000
"""Matrix entries of the kept LPs together, past which the oldest go (at least one is kept, the one in use):
the memory they hold stays some hundred MB at most, whatever the network's size (a reach of a third of a
10^6-node network is an LP of a million entries)."""


@dataclass(slots=True)
class _Restriction:
    """The restriction LP of one set of reached products, kept warm from one scenario to the next.

    Columns are the upstream nodes' production (first, in ``upstream``'s order), the shipments into
    them, and tau (last); rows are those the upstream nodes own and their shared sites'.
    """

    highs: HighsHandle
    upstream: IntArray
    cols: IntArray
    rows: IntArray
    matrix: csc_matrix
    cost: FloatArray
    upper: FloatArray
    row_lower: FloatArray
    """The restriction's row bounds, undisrupted: the model's less what the lean plan outside uses."""
    row_upper: FloatArray
    relaxed_lower: FloatArray
    """The relaxation's row bounds: the model's own."""
    relaxed_upper: FloatArray


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
        self.downstream = Downstream(net)
        self.backward = self.downstream.forward.T.tocsr()
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
        self._kept: OrderedDict[bytes, _Restriction | None] = OrderedDict()
        self._kept_nonzeros = 0
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
        products = self._products(nodes)
        return products, closure(self.backward, products, self.seen)

    def _products(self, nodes: IntArray) -> IntArray:
        return self.downstream.products(nodes)

    def key(self, nodes: IntArray) -> bytes:
        """What scenarios that share a restriction LP have in common: the products they reach.

        Examples
        --------
        >>> from setu.network.compile import compile_network
        >>> from setu.network.generate import three_tier
        >>> model = StressLP(compile_network(three_tier(4, 6, 8, seed=1)), "tts")
        >>> local = LocalTTS(model)
        >>> local.key(np.array([0])) == local.key(np.array([0]))
        True
        """
        return self._products(np.asarray(nodes, dtype=np.int64)).tobytes()

    def solve(self, nodes: IntArray, remaining: FloatArray) -> float | None:
        """The exact TTS of the scenario, or ``None`` when the local bounds do not meet."""
        self.answered = "undisrupted"
        if self.lean is None:
            if self.base_tts != 0.0:
                self.answered = ""
                return None
            return self.base_tts
        products = self._products(nodes)
        if len(products) == 0:
            return self.base_tts
        sub = self._restriction(products)
        if sub is None:
            self.answered = ""
            return None
        self.inside[sub.upstream] = True
        try:
            return self._bracket(nodes, remaining, sub)
        finally:
            self.inside[sub.upstream] = False

    def _restriction(self, products: IntArray) -> _Restriction | None:
        """The kept restriction LP of ``products``, built and solved undisrupted on first use; None past the share."""
        key = products.tobytes()
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        upstream = closure(self.backward, products, self.seen)
        sub = None if len(upstream) > _MAX_SHARE * self.net.n_nodes else self._build(upstream)
        self._kept[key] = sub
        self._kept_nonzeros += sub.matrix.nnz if sub is not None else 0
        while len(self._kept) > 1 and (len(self._kept) > KEPT_RESTRICTIONS or self._kept_nonzeros > KEPT_NONZEROS):
            _, gone = self._kept.popitem(last=False)
            self._kept_nonzeros -= gone.matrix.nnz if gone is not None else 0
        return sub

    def _build(self, upstream: IntArray) -> _Restriction:
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
        finally:
            row_at[rows] = -1
        # What the fixed outside plan uses of each row: the lean plan's activity, less the inside columns' share.
        carried = self.lean_activity[rows] - np.bincount(
            index, weights=values * self.lean[cols[column_of]], minlength=len(rows)
        )
        k = len(cols)
        upper = np.full(k, _INF)
        upper[: len(upstream)] = net.capacity[upstream]
        cost = np.zeros(k)
        cost[-1] = 1.0
        lower = np.zeros(k)
        # tau may not fall below the lean plan's: its fixed stock terms were feasible only from there up.
        lower[-1] = float(self.lean[lay.last0])
        relaxed_lower, relaxed_upper = self.row_lower[rows], self.row_upper[rows]
        lp = highspy.HighsLp()
        lp.num_col_ = k
        lp.num_row_ = len(rows)
        lp.col_cost_ = cost
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.row_lower_ = relaxed_lower - carried
        lp.row_upper_ = relaxed_upper - carried
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = values
        lp.a_matrix_.num_col_ = k
        lp.a_matrix_.num_row_ = len(rows)
        highs = new_highs()
        highs.passModel(lp)
        return _Restriction(
            highs=highs,
            upstream=upstream,
            cols=cols,
            rows=rows,
            matrix=csc_matrix((values, index, starts), shape=(len(rows), k)),
            cost=cost,
            upper=upper,
            row_lower=relaxed_lower - carried,
            row_upper=relaxed_upper - carried,
            relaxed_lower=relaxed_lower,
            relaxed_upper=relaxed_upper,
        )

    def _bracket(self, nodes: IntArray, remaining: FloatArray, sub: _Restriction) -> float | None:
        net, matrix, highs = self.net, self.matrix, sub.highs
        assert self.lean is not None
        n_rows, k = len(sub.rows), len(sub.cols)
        # A disrupted node outside feeds none of these products; what it can no longer make of the lean
        # plan's output is taken off the rows it shares with them.
        shift = None
        out = nodes[~self.inside[nodes]]
        if len(out):
            cut = np.minimum(self.lean[out], remaining[~self.inside[nodes]] * net.capacity[out]) - self.lean[out]
            row_at = self.row_at
            row_at[sub.rows] = np.arange(n_rows)
            try:
                hits = ranges(matrix.indptr[out], matrix.indptr[out + 1])
                at = row_at[matrix.indices[hits]]
            finally:
                row_at[sub.rows] = -1
            use = at >= 0
            if use.any():
                weights = matrix.data[hits][use] * np.repeat(cut, self.col_counts[out])[use]
                shift = np.bincount(at[use], weights=weights, minlength=n_rows)
        every_row = np.arange(n_rows, dtype=np.int32)
        if shift is not None:
            highs.changeRowsBounds(n_rows, every_row, sub.row_lower - shift, sub.row_upper - shift)
        # Only the disrupted nodes among these columns get their outage bound here.
        hit = self.inside[nodes]
        at_cols = np.searchsorted(sub.upstream, nodes[hit]).astype(np.int32)
        highs.changeColsBounds(len(at_cols), at_cols, np.zeros(len(at_cols)), remaining[hit] * net.capacity[nodes[hit]])
        relaxed = False
        try:
            lower_tts = self._run(highs)
            if lower_tts >= self.base_tts * (1 - 1e-8):
                self.answered = "certified"
                return self.base_tts
            col_upper = sub.upper.copy()
            col_upper[at_cols] = remaining[hit] * net.capacity[nodes[hit]]
            if self._certified(highs, sub, col_upper):
                self.answered = "certified"
                return lower_tts
            # The relaxation: the same LP with the outside plan dropped; a warm re-solve.
            relaxed = True
            highs.changeRowsBounds(n_rows, every_row, sub.relaxed_lower, sub.relaxed_upper)
            highs.changeColBounds(k - 1, 0.0, _INF)
            upper_tts = min(self._run(highs), self.base_tts)
            self.answered = "bracket"
            if lower_tts >= upper_tts * (1 - _AGREE) or (math.isinf(upper_tts) and math.isinf(lower_tts)):
                return upper_tts
            self.answered = ""
            return None
        finally:
            # Read before the bounds change, which resets it: did the last solve leave an optimal basis?
            ended = highs.getModelStatus() in (_OPTIMAL, _INFEASIBLE)
            # Back to the undisrupted restriction for the next scenario that reaches these products.
            highs.changeColsBounds(len(at_cols), at_cols, np.zeros(len(at_cols)), sub.upper[at_cols])
            if shift is not None or relaxed:
                highs.changeRowsBounds(n_rows, every_row, sub.row_lower, sub.row_upper)
            if relaxed:
                highs.changeColBounds(k - 1, float(self.lean[self.model.layout.last0]), _INF)
            if not ended:
                highs.clearSolver()  # no optimal basis to start the next one from: it starts afresh

    def _certified(self, highs: HighsHandle, sub: _Restriction, col_upper: FloatArray) -> bool:
        """Whether the restriction's optimum (just solved) is the relaxation's too, by its row prices alone.

        For any row prices ``y``, with reduced costs ``z = c - A'y``, every plan ``x`` the relaxation
        allows has ``tau = c'x = y'Ax + z'x``, no less than each price times the row bound it leans on
        plus each reduced cost times the column bound it leans on: a lower bound ``D`` on the relaxation's
        tau, so an upper bound on every plan's TTS (weak duality; a price that leans on an infinite bound
        gives no bound). The restriction's tau is a plan's, so when ``D`` reaches it both are the TTS.
        """
        if highs.getModelStatus() != _OPTIMAL:
            return False
        tau = float(highs.getInfo().objective_function_value)
        prices = np.asarray(highs.getSolution().row_dual)
        reduced = sub.cost - sub.matrix.T @ prices
        col_lower = np.zeros(len(sub.cost))  # the relaxation's: tau from 0
        bound = 0.0
        for values, lower, high in ((prices, sub.relaxed_lower, sub.relaxed_upper), (reduced, col_lower, col_upper)):
            up, down = values > 0, values < 0
            leaned = np.concatenate([lower[up], high[down]])
            if not np.all(np.isfinite(leaned)):
                return False
            bound += float(values[up] @ lower[up] + values[down] @ high[down])
        return bound >= tau - _AGREE * max(tau, _TAU_FLOOR)

    @staticmethod
    def _run(highs: HighsHandle) -> float:
        status = run_highs(highs)
        if status == _INFEASIBLE:
            return 0.0
        if status != _OPTIMAL:
            return math.nan
        tau = float(highs.getInfo().objective_function_value)
        return math.inf if tau <= _TAU_FLOOR else 1.0 / tau
