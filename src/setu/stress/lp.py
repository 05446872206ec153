"""The TTR and TTS linear programs, built once per network in HiGHS and changed in place per scenario.

Column layout: production ``u`` (one per node), shipments ``y`` (one per edge), then lost
units ``l`` (one per product, TTR model) or ``tau = 1/t`` (TTS model). Row layout: BOM rows,
ship rows (one per supplying node), demand rows (one per product), shared-site rows.
Capacity is the column bound of ``u``.

The TTS model is solved in the reciprocal horizon: dividing every constraint of
``max t`` by ``t`` and writing ``u/t``, ``y/t`` as the production and shipment *rates* gives
``min tau`` with ``sum y - u - s tau <= 0`` (ship), ``u + s tau >= d`` (demand) and
``u <= c``. It is the same LP with a linear objective, but capacity becomes a bound and
an unbounded TTS becomes ``tau = 0``, an ordinary optimum; an infeasible one is TTS = 0.

A scenario only changes column bounds of ``u``, so the optimal basis of the undisrupted
network stays dual feasible and the dual simplex re-solves from it in a few pivots. A scenario
that cuts many nodes at once is solved cold with presolve instead (:data:`COLD_CUT_NODES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix

from setu.network.compile import CompiledNetwork, FloatArray, IntArray

Kind = Literal["ttr", "tts"]

# highspy's type stubs lack several methods used here (changeRowsBounds, ...): the handle is Any.
HighsHandle = Any

_plain_highs: Any
try:
    # The plain binding: highspy.Highs adds Python callbacks to every solve and prints a
    # banner on stdout for each new instance, which would corrupt CSV written to stdout.
    from highspy._core import _Highs as _plain_highs
except ImportError:  # pragma: no cover - other highspy layouts
    _plain_highs = highspy.Highs


def new_highs() -> HighsHandle:
    """A silent, single-threaded HiGHS instance using the dual simplex without presolve.

    Presolve would discard the warm basis; scenario solves are short dual simplex repairs.
    """
    highs = _plain_highs()
    highs.setOptionValue("output_flag", False)
    # One thread: the sweep's parallelism is worker processes; HiGHS threads would fight them.
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("solver", "simplex")
    return highs


def run_highs(highs: HighsHandle) -> Any:
    """Run ``highs`` and return its model status.

    HiGHS keeps one thread scheduler per process, fixed by the first solve: if another
    user in this process (a notebook's Pyomo model, say) started it with more threads, our
    one-thread instances refuse to run until it is reset.
    """
    highs.run()
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kNotset:
        _plain_highs.resetGlobalScheduler(True)
        highs.run()
        status = highs.getModelStatus()
    return status


_OPTIMAL = highspy.HighsModelStatus.kOptimal
_TIME_LIMIT = highspy.HighsModelStatus.kTimeLimit
BASE_SIMPLEX_SECONDS = 0.25
BASE_SIMPLEX_SECONDS_PER_ROW = 6e-5
"""How long the undisrupted base gets the dual simplex before the interior point takes over: the larger of
the two (6 s for 100,000 rows). Sparse networks finish well within it at any size (a 100,000-node
three-tier base: 5 s); networks whose low tiers serve every program factor densely and take many times
longer (a 10,000-node generated base: 24 s), and their scenarios repair faster from the crossover's basis."""
_INFEASIBLE = highspy.HighsModelStatus.kInfeasible
_INFEASIBLE_OR_UNBOUNDED = highspy.HighsModelStatus.kUnboundedOrInfeasible
COLD_CUT_NODES = 100
"""A scenario that cuts the base production of at least this many nodes is solved cold, with presolve, not
repaired from the base basis: the repair pivots at least once per cut node, each pivot costs O(rows), and
past about this many the cold solve is cheaper. Measured on a 100,000-node three-tier network (TTR model,
warm / cold seconds): 18 cut 0.15 / 0.38, 88 cut 0.39 / 0.37, 353 cut 1.5 / 0.35, every tenth sub-supplier
(6,567) out 265 / 1.3; the TTS model breaks even between 100 and 200."""
COLD_SOLVER: dict[Kind, str] = {"ttr": "ipm", "tts": "simplex"}
"""The HiGHS solver of a cold solve (the interior point ends with a crossover to a vertex: the same optimum).
On that network's wide scenarios the TTR model took 0.5 s by the interior point and 1.3-3.6 s by the simplex
method; the TTS model 0.9-1.5 s by the simplex method, 1.1-1.3 s by the interior point."""
# tau below this is a horizon beyond 1e12 time units: no finite horizon breaks the network.
_TAU_ZERO = 1e-12
_INF = highspy.kHighsInf
# Relative tolerance used to decide whether the undisrupted solution already survives a scenario.
_FEAS_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each block of columns and rows starts in the LP.

    Only *pooled* BOM rows (a material with two or more alternate suppliers) get a row and
    shipment columns. A single-source material needs none: shipping it beyond what the
    customer uses gains nothing and only uses up the supplier, so some optimum ships exactly
    ``r_kj u_j``, and that amount goes straight into the supplier's ship row. This is the
    presolve HiGHS would do, done once so that warm starts stay possible; on networks with
    few alternates it removes most of the LP.
    """

    n: int
    p: int
    ship_nodes: IntArray
    pooled_rows: IntArray
    """BOM rows (indices into the network's BOM) kept as LP rows, in LP row order."""
    pooled_edges: IntArray
    """Edges with a shipment column, in column order."""
    kind: Kind

    @property
    def b(self) -> int:
        return len(self.pooled_rows)

    @property
    def e(self) -> int:
        return len(self.pooled_edges)

    @property
    def y0(self) -> int:
        return self.n

    @property
    def last0(self) -> int:
        """First column after ``y``: ``l`` (TTR) or ``tau`` (TTS)."""
        return self.n + self.e

    @property
    def ship0(self) -> int:
        return self.b

    @property
    def demand0(self) -> int:
        return self.b + len(self.ship_nodes)

    @property
    def site0(self) -> int:
        return self.demand0 + self.p


@dataclass(frozen=True, slots=True)
class Solution:
    """A solved LP: objective (PI for TTR, TTS for TTS; ``inf`` if unbounded) and column values."""

    value: float
    columns: FloatArray | None
    row_duals: FloatArray | None = None


def _matrix(net: CompiledNetwork, kind: Kind) -> tuple[coo_matrix, Layout]:
    n, p, b = net.n_nodes, net.n_products, len(net.bom_node)
    ship_nodes = np.unique(net.edge_supplier)
    sources = np.bincount(net.edge_bom_row, minlength=b)
    pooled_rows = np.flatnonzero(sources >= 2)
    pooled_edges = np.flatnonzero(sources[net.edge_bom_row] >= 2)
    single_edges = np.flatnonzero(sources[net.edge_bom_row] == 1)
    layout = Layout(n=n, p=p, ship_nodes=ship_nodes, pooled_rows=pooled_rows, pooled_edges=pooled_edges, kind=kind)
    n_sites = len(net.shared_sites)
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    vals: list[FloatArray] = []

    def add(r: NDArray[np.int64], c: NDArray[np.int64], v: FloatArray) -> None:
        rows.append(r)
        cols.append(c)
        vals.append(v)

    # BOM (pooled materials): r_kj u_j - sum_i y_ij <= 0
    lp_row_of_bom = np.full(b, -1, dtype=np.int64)
    lp_row_of_bom[pooled_rows] = np.arange(layout.b)
    add(np.arange(layout.b), net.bom_node[pooled_rows], net.bom_quantity[pooled_rows])
    y_cols = layout.y0 + np.arange(layout.e)
    add(lp_row_of_bom[net.edge_bom_row[pooled_edges]], y_cols, -np.ones(layout.e))
    # Ship: sum_j y_ij + sum_{single-source j} r_ij u_j - u_i <= s_i
    ship_row = np.full(n, -1, dtype=np.int64)
    ship_row[ship_nodes] = layout.ship0 + np.arange(len(ship_nodes))
    add(ship_row[net.edge_supplier[pooled_edges]], y_cols, np.ones(layout.e))
    add(
        ship_row[net.edge_supplier[single_edges]],
        net.edge_customer[single_edges],
        net.bom_quantity[net.edge_bom_row[single_edges]],
    )
    add(ship_row[ship_nodes], ship_nodes, -np.ones(len(ship_nodes)))
    # Demand: u_j + l_j >= d_j t - s_j   (TTR)   or   u_j + s_j tau >= d_j   (TTS)
    demand_rows = layout.demand0 + np.arange(p)
    add(demand_rows, net.product_nodes, np.ones(p))
    if kind == "ttr":
        add(demand_rows, layout.last0 + np.arange(p), np.ones(p))
        n_cols = layout.last0 + p
    else:
        add(demand_rows, np.full(p, layout.last0), net.inventory[net.product_nodes])
        # Ship rows of the rate form: stock spreads over the horizon, s_i tau.
        add(ship_row[ship_nodes], np.full(len(ship_nodes), layout.last0), -net.inventory[ship_nodes])
        n_cols = layout.last0 + 1
    # Shared sites: sum_{k in site} u_k <= c_site t   (TTR)   or   <= c_site   (TTS)
    at_site = np.flatnonzero(net.site_of_node >= 0)
    add(layout.site0 + net.site_of_node[at_site], at_site, np.ones(len(at_site)))
    n_rows = layout.site0 + n_sites
    matrix = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_cols))
    return matrix, layout


class StressLP:
    """One warm HiGHS model of a network, for either the TTR or the TTS program.

    Parameters
    ----------
    net
        The compiled network.
    kind
        ``"ttr"``: minimise weighted lost units over a horizon ``t`` set by :meth:`set_horizon`.
        ``"tts"``: the longest horizon with no loss (solved as ``min tau``, ``tau = 1/t``).

    Notes
    -----
    Typical use: :meth:`set_horizon` (TTR only), then :meth:`solve_base`, then
    :meth:`solve_scenario` for each scenario. Every scenario undoes its own bound changes,
    so the model is always the undisrupted network between calls.
    """

    def __init__(self, net: CompiledNetwork, kind: Kind) -> None:
        self.net = net
        self.kind: Kind = kind
        matrix, self.layout = _matrix(net, kind)
        lay = self.layout
        csc = matrix.tocsc()
        csc.sum_duplicates()
        n_rows, n_cols = csc.shape

        cost = np.zeros(n_cols)
        row_lower = np.full(n_rows, -_INF)
        row_upper = np.zeros(n_rows)
        row_upper[lay.demand0 : lay.site0] = _INF
        if kind == "ttr":
            cost[lay.last0 :] = net.weight
            row_upper[lay.ship0 : lay.demand0] = net.inventory[lay.ship_nodes]
            self._capacity = net.capacity.copy()
        else:
            cost[lay.last0] = 1.0
            row_lower[lay.demand0 : lay.site0] = net.demand
            row_upper[lay.site0 :] = net.shared_capacity
            self._capacity = net.capacity.copy()
        col_upper = np.full(n_cols, _INF)
        col_upper[: lay.n] = self._capacity

        lp = highspy.HighsLp()
        lp.num_col_ = n_cols
        lp.num_row_ = n_rows
        lp.col_cost_ = cost
        lp.col_lower_ = np.zeros(n_cols)
        lp.col_upper_ = col_upper
        lp.row_lower_ = row_lower
        lp.row_upper_ = row_upper
        lp.sense_ = highspy.ObjSense.kMinimize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data
        lp.a_matrix_.num_col_ = n_cols
        lp.a_matrix_.num_row_ = n_rows

        self.highs = new_highs()
        self.highs.passModel(lp)

        # The TTS model lives in rates (per unit time): its "horizon" for capacity is 1.
        self.horizon = 1.0 if kind == "tts" else math.nan
        self._is_product = np.zeros(lay.n, dtype=bool)
        self._is_product[net.product_nodes] = True
        self._base_shipped = np.zeros(lay.n)
        self._base: Solution | None = None
        self._base_basis: highspy.HighsBasis | None = None
        self._all_nodes = np.arange(lay.n, dtype=np.int32)

    # -- horizon and base -------------------------------------------------------------------------

    def set_horizon(self, t: float) -> None:
        """Set the scenario horizon (TTR model): demand ``d t`` and capacity ``c t``."""
        if self.kind != "ttr":
            raise ValueError("the TTS model has no fixed horizon")
        if t == self.horizon:
            return
        net, lay = self.net, self.layout
        self.horizon = t
        self._capacity = net.capacity * t
        self.highs.changeColsBounds(lay.n, self._all_nodes, np.zeros(lay.n), self._capacity)
        p = lay.p
        self.highs.changeRowsBounds(
            p,
            (lay.demand0 + np.arange(p)).astype(np.int32),
            net.demand * t - net.inventory[net.product_nodes],
            np.full(p, _INF),
        )
        n_sites = len(net.shared_sites)
        if n_sites:
            self.highs.changeRowsBounds(
                n_sites,
                (lay.site0 + np.arange(n_sites)).astype(np.int32),
                np.full(n_sites, -_INF),
                net.shared_capacity * t,
            )
        self._base = None

    def solve_base(self) -> Solution:
        """Solve the undisrupted network and keep its basis for warm starts.

        The dual simplex gets :data:`BASE_SIMPLEX_SECONDS_PER_ROW` a row (at least :data:`BASE_SIMPLEX_SECONDS`).
        A base it cannot finish by then (networks whose low tiers serve every program factor densely) goes
        to the interior point with crossover, which also leaves a basis the scenarios' repairs run much
        faster from. Either way the optimum is the same; only the time differs.
        """
        # HiGHS counts run time over the instance's whole life: the limit is that plus this solve's allowance.
        allowance = max(BASE_SIMPLEX_SECONDS, BASE_SIMPLEX_SECONDS_PER_ROW * self.highs.getNumRow())
        self.highs.setOptionValue("time_limit", self.highs.getRunTime() + allowance)
        try:
            status = run_highs(self.highs)
        finally:
            self.highs.setOptionValue("time_limit", math.inf)
        if status == _TIME_LIMIT:
            self.highs.clearSolver()
            self.highs.setOptionValue("solver", "ipm")
            try:
                status = run_highs(self.highs)
            finally:
                self.highs.setOptionValue("solver", "simplex")
        base = self._result(status, keep_columns=True)
        self._base = base
        self._base_basis = self.highs.getBasis()
        if base.columns is not None:
            self._base_shipped = np.bincount(
                self.net.edge_supplier, weights=self.edge_flows(base.columns), minlength=self.layout.n
            ).astype(np.float64)
        return base

    @property
    def base(self) -> Solution:
        if self._base is None:
            return self.solve_base()
        return self._base

    def edge_flows(self, columns: FloatArray) -> FloatArray:
        """Shipment on every edge of the network from a solution's columns.

        Single-source edges have no column: they carry exactly what the customer uses.
        """
        net, lay = self.net, self.layout
        flows = net.bom_quantity[net.edge_bom_row] * columns[net.edge_customer]
        flows[lay.pooled_edges] = columns[lay.y0 : lay.y0 + lay.e]
        return flows

    # -- scenarios --------------------------------------------------------------------------------

    def survives_with_base(self, nodes: IntArray, remaining: FloatArray) -> bool:
        """Whether the undisrupted optimum stays feasible when ``nodes`` keep only ``remaining`` capacity.

        Then the scenario's optimum equals the base optimum (a scenario only removes
        feasible points), and no solve is needed. ``remaining`` is the fraction kept (0 = outage).
        Cutting a node's production only relaxes its BOM and shared-site rows, so what can
        break is its ship row (shipments beyond stock plus what it may still make) or, for a
        product, its demand row.
        """
        base = self.base
        if base.columns is None:
            return False
        u = base.columns[nodes]
        cap = remaining * self._capacity[nodes]
        tol = _FEAS_TOL * np.maximum(1.0, u)
        cut = u > cap + tol
        if not cut.any():
            return True
        cut_nodes = nodes[cut]
        if self._is_product[cut_nodes].any():
            return False
        stock = self.net.inventory[cut_nodes]
        if self.kind == "tts":
            stock = stock * base.columns[self.layout.last0]
        return bool(np.all(self._base_shipped[cut_nodes] <= cap[cut] + stock + tol[cut]))

    def solve_scenario(
        self,
        nodes: IntArray,
        remaining: FloatArray | None = None,
        *,
        keep_columns: bool = False,
        use_shortcut: bool = True,
    ) -> Solution:
        """Solve with ``nodes`` disrupted, keeping a ``remaining`` fraction of capacity (default 0).

        Returns PI for the TTR model and TTS (``inf`` when no horizon is too long) for the
        TTS model. The model is restored to the undisrupted network before returning.
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        if remaining is None:
            remaining = np.zeros(len(nodes))
        base = self.base
        if use_shortcut and not keep_columns and self.survives_with_base(nodes, remaining):
            return Solution(base.value, None)
        idx = nodes.astype(np.int32)
        k = len(idx)
        if keep_columns and self._base_basis is not None:
            # An explanation is always repaired from the base: what it shows as changed is then what the
            # disruption changed, not a move to another vertex of the same optimum.
            self.highs.setBasis(self._base_basis)
        self.highs.changeColsBounds(k, idx, np.zeros(k), remaining * self._capacity[idx])
        if not keep_columns and self.is_wide(nodes, remaining):
            solution = self._result(self._run_cold(), keep_columns)
        else:
            solution = self._run(keep_columns)
        self.highs.changeColsBounds(k, idx, np.zeros(k), self._capacity[idx])
        # The next scenario starts from this one's optimal basis, which stays dual feasible (no cost
        # changes): HiGHS keeps its factorisation and edge weights, where setting the base basis again
        # made it rebuild both. On far-coupled scenarios of 10^5 nodes that is 15-20% less time a solve.
        return solution

    def is_wide(self, nodes: IntArray, remaining: FloatArray) -> bool:
        """Whether the scenario cuts the base production of :data:`COLD_CUT_NODES` nodes or more: then a cold
        solve of the whole model is cheaper than any repair, local or warm."""
        columns = self.base.columns
        if columns is None or len(nodes) < COLD_CUT_NODES:
            return False
        produced = columns[nodes]
        cut = produced > remaining * self._capacity[nodes] + _FEAS_TOL * np.maximum(1.0, produced)
        return int(np.count_nonzero(cut)) >= COLD_CUT_NODES

    def _run(self, keep_columns: bool) -> Solution:
        return self._result(run_highs(self.highs), keep_columns)

    def _run_cold(self) -> Any:
        """Solve the model as it stands from scratch, with presolve; the next scenario warm-starts from its basis."""
        self.highs.clearSolver()
        self.highs.setOptionValue("presolve", "on")
        self.highs.setOptionValue("solver", COLD_SOLVER[self.kind])
        try:
            status = run_highs(self.highs)
        finally:
            self.highs.setOptionValue("presolve", "off")
            self.highs.setOptionValue("solver", "simplex")
        if status == _INFEASIBLE_OR_UNBOUNDED:
            # Presolve may not tell the two apart; neither model is unbounded (costs are >= 0, columns >= 0).
            status = _INFEASIBLE
        return status

    def _result(self, status: Any, keep_columns: bool) -> Solution:
        """The solution HiGHS holds after a run that ended in ``status``."""
        if status not in (_OPTIMAL, _INFEASIBLE):
            # Cold once: a warm start can stall on a numerically awkward basis.
            status = self._run_cold()
        if status == _INFEASIBLE and self.kind == "tts":
            # No positive horizon meets demand: a disrupted product with no stock, say.
            return Solution(0.0, None)
        if status != _OPTIMAL:
            raise RuntimeError(
                f"HiGHS did not solve the {self.kind.upper()} LP: {self.highs.modelStatusToString(status)}"
            )
        objective = float(self.highs.getInfo().objective_function_value)
        columns = duals = None
        if keep_columns:
            solution = self.highs.getSolution()
            columns, duals = np.array(solution.col_value), np.array(solution.row_dual)
        if self.kind == "tts":
            return Solution(math.inf if objective <= _TAU_ZERO else 1.0 / objective, columns, duals)
        return Solution(objective, columns, duals)
