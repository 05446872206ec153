"""The naive baseline: the TTR / TTS LP rebuilt from scratch in Pyomo for every scenario, solved by HiGHS.

This is how the public stress-test accelerator works (a modelling layer builds the model per
scenario from the JSON dicts), written here from the formulation in DESIGN.md with continuous
variables. Run it directly to check it against ``expected_small.csv``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyomo.environ as pyo
from pyomo.opt import TerminationCondition

DATA = Path("/work/shared/data/stress-test-accelerator")

Data = dict[str, Any]

_UNBOUNDED = {TerminationCondition.unbounded, TerminationCondition.infeasibleOrUnbounded}


def load(path: str | Path) -> Data:
    """The accelerator's JSON as plain dicts, the way that project holds it."""
    data: Data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


def make_solver(name: str = "auto") -> tuple[str, Any]:
    """A Pyomo HiGHS solver and its name: ``appsi_highs`` if available, else ``highs``."""
    names = ["appsi_highs", "highs"] if name == "auto" else [name]
    for candidate in names:
        solver = pyo.SolverFactory(candidate)
        if solver.available(exception_flag=False):
            # One thread, as Setu uses: a fair one-core comparison. It also keeps HiGHS's
            # process-wide thread scheduler at one thread, which Setu's instances require.
            solver.options["threads"] = 1
            return candidate, solver
    raise RuntimeError(f"no Pyomo HiGHS interface available (tried {', '.join(names)})")


def _build(data: Data, disrupted: Iterable[str], ttr: float | None) -> pyo.ConcreteModel:
    """The model of one scenario; ``ttr=None`` builds the TTS model (``t`` a variable, no lost units)."""
    products: list[str] = data["tier1"]
    nodes: list[str] = products + data["tier2"] + data["tier3"]
    edges = [(i, j) for i, j in data["edges"]]
    r: dict[str, dict[str, float]] = data["r"]
    suppliers: dict[str, dict[str, list[str]]] = data["P"]
    customers: dict[str, list[str]] = data["N_plus"]
    f, d, s, c = data["f"], data["d"], data["s"], data["c"]
    out = set(disrupted)

    m = pyo.ConcreteModel()
    m.A = pyo.Set(initialize=nodes)
    m.V = pyo.Set(initialize=products)
    m.E = pyo.Set(initialize=edges, dimen=2)
    m.D = pyo.Set(initialize=list(r))
    m.BOM = pyo.Set(initialize=[(j, k) for j in r for k in r[j]], dimen=2)
    m.U = pyo.Set(initialize=[i for i in nodes if customers.get(i)])
    m.S = pyo.Set(initialize=[j for j in nodes if j in out])

    m.u = pyo.Var(m.A, within=pyo.NonNegativeReals)
    m.y = pyo.Var(m.E, within=pyo.NonNegativeReals)
    if ttr is None:
        m.t = pyo.Var(within=pyo.NonNegativeReals)
        horizon: Any = m.t
    else:
        m.l = pyo.Var(m.V, within=pyo.NonNegativeReals)
        horizon = ttr

    def bom(m: pyo.ConcreteModel, j: str, k: str) -> Any:
        return r[j][k] * m.u[j] - sum(m.y[i, j] for i in suppliers.get(j, {}).get(k, [])) <= 0

    def ship(m: pyo.ConcreteModel, i: str) -> Any:
        return sum(m.y[i, j] for j in customers[i]) - m.u[i] <= s[i]

    def outage(m: pyo.ConcreteModel, j: str) -> Any:
        return m.u[j] == 0

    def demand(m: pyo.ConcreteModel, j: str) -> Any:
        lost = 0 if ttr is None else m.l[j]
        return lost + m.u[j] + s[j] >= d[j] * horizon

    def capacity(m: pyo.ConcreteModel, j: str) -> Any:
        return m.u[j] <= c[j] * horizon

    m.bom = pyo.Constraint(m.BOM, rule=bom)
    m.ship = pyo.Constraint(m.U, rule=ship)
    m.outage = pyo.Constraint(m.S, rule=outage)
    m.demand = pyo.Constraint(m.V, rule=demand)
    m.capacity = pyo.Constraint(m.A, rule=capacity)
    if ttr is None:
        m.obj = pyo.Objective(expr=m.t, sense=pyo.maximize)
    else:
        m.obj = pyo.Objective(expr=sum(f[j] * m.l[j] for j in m.V), sense=pyo.minimize)
    return m


def _solve(model: pyo.ConcreteModel, solver: Any) -> float:
    results = solver.solve(model, load_solutions=False)
    condition = results.solver.termination_condition
    if condition in _UNBOUNDED:
        return math.inf  # only the TTS model can be unbounded: no horizon is too long
    if condition != TerminationCondition.optimal:
        raise RuntimeError(f"HiGHS via Pyomo: {condition}")
    model.solutions.load_from(results)
    return float(pyo.value(model.obj))


@dataclass(frozen=True, slots=True)
class Timed:
    """One scenario's value and its build and solve times (seconds)."""

    value: float
    build: float
    solve: float

    @property
    def total(self) -> float:
        return self.build + self.solve


def ttr(data: Data, disrupted: Sequence[str], t: float, solver: Any) -> Timed:
    """Lost profit over the horizon ``t`` with ``disrupted`` out: build the model, then solve it."""
    start = time.perf_counter()
    model = _build(data, disrupted, t)
    built = time.perf_counter()
    value = _solve(model, solver)
    return Timed(value, built - start, time.perf_counter() - built)


def tts(data: Data, disrupted: Sequence[str], solver: Any) -> Timed:
    """Time to survive with ``disrupted`` out (``inf`` when unbounded): build the model, then solve it."""
    start = time.perf_counter()
    model = _build(data, disrupted, None)
    built = time.perf_counter()
    value = _solve(model, solver)
    return Timed(value, built - start, time.perf_counter() - built)


def rel_diff(a: float, b: float) -> float:
    """``|a - b| / max(|a|, |b|, 1)``, 0 when both are the same infinity."""
    if math.isinf(a) or math.isinf(b):
        return 0.0 if a == b else math.inf
    return abs(a - b) / max(abs(a), abs(b), 1.0)


def check_small(solver: Any, tolerance: float = 1e-6) -> float:
    """Solve every single-node scenario of the small network and compare with ``expected_small.csv``.

    Returns the largest relative difference; raises ``AssertionError`` past ``tolerance``.
    """
    data = load(DATA / "dataset_small.json")
    worst = 0.0
    with (DATA / "expected_small.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            node, t = row["node"], float(row["ttr"])
            pi = ttr(data, [node], t, solver).value
            survive = tts(data, [node], solver).value
            diff = max(rel_diff(pi, float(row["lost_profit"])), rel_diff(survive, float(row["tts"])))
            if diff > tolerance:
                expected = f"{row['lost_profit']}, {row['tts']}"
                raise AssertionError(f"{node}: baseline PI={pi}, TTS={survive}; expected {expected}")
            worst = max(worst, diff)
    return worst


if __name__ == "__main__":
    used, highs = make_solver(sys.argv[1] if len(sys.argv) > 1 else "auto")
    print(f"solver: {used}; max relative difference {check_small(highs):.2e}")
    print("baseline check: ok")
