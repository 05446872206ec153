"""Mitigation what-if: which materials a scenario loses, and what qualifying an alternate source saves.

An *alternate* is a new supplier node of a lost material: capacity ``c`` per time unit, no stock,
qualified (able to deliver) only from time ``q`` on, shipping to every node with a bill-of-materials
line for that material. Over a horizon ``t`` its production is at most ``c * max(0, t - q)``.

PI at the scenario's TTR uses that bound directly: the alternate enters the network with capacity
``c * max(0, TTR - q) / TTR`` per time unit, so the TTR program's ``u <= c_alt * TTR`` is exactly
``u <= c * max(0, TTR - q)``, and the stress engine solves it unchanged.

TTS is exact too. Let ``T0`` be the scenario's TTS without the alternate. Before ``q`` the alternate
makes nothing, so if ``T0 < q`` the network runs short at ``T0`` whatever the alternate could do
later: TTS stays ``T0``. If ``T0 >= q``, every horizon ``t >= q`` has the *linear* bound
``u <= c (t - q)``; in the engine's reciprocal form (rates ``u' = u / t``, ``tau = 1 / t``) it is the
row ``u' + c q tau <= c``, added to the TTS program of the network with the alternate. The feasible
horizons at or beyond ``q`` then form an interval containing ``T0`` (the alternate may make nothing),
and ``min tau`` gives its far end: the TTS with the alternate. (For ``q = 0`` the row is the plain
capacity bound.)

Both PI and TTS can only improve with an alternate (it may make nothing), and both improvements
shrink as ``q`` grows (the bound ``c * max(0, t - q)`` tightens); at ``q >= TTR`` PI saves nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import highspy
import numpy as np

from setu.network.compile import CompiledNetwork, FloatArray, IntArray
from setu.stress.lp import StressLP
from setu.stress.scenarios import Scenario, validate_scenario

ALTERNATE_ID = "alternate"
"""Node id given to the alternate (suffixed if the network already has a node of that id)."""
# PI changes smaller than this share of the base demand value are solver noise, not a binding loss.
_REL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class LostMaterial:
    """A material a scenario takes away from its customers.

    Attributes
    ----------
    material
        The material (as the network's nodes name it).
    material_class
        Its class (from the first of its suppliers), for capability matching.
    suppliers
        Every supplier of it in the network (node ids).
    disrupted
        Those the scenario disrupts.
    customers
        Nodes with a bill-of-materials line for it.
    all_sources_lost
        Every supplier is fully out (no capacity left).
    binds
        Restoring the disrupted suppliers' capacity lowers PI: the loss of this material costs output.
    lost_rate
        Units per time unit the disrupted suppliers shipped in the undisrupted plan over the TTR, times
        the capacity fraction each loses (capacity times severity when the TTR is 0).
    pi_relief
        How much PI falls when the disrupted suppliers of this material are restored.
    """

    material: str
    material_class: str
    suppliers: tuple[str, ...]
    disrupted: tuple[str, ...]
    customers: tuple[str, ...]
    all_sources_lost: bool
    binds: bool
    lost_rate: float
    pi_relief: float


@dataclass(frozen=True, slots=True)
class AlternateEffect:
    """PI and TTS of a scenario without and with an alternate qualified after ``qualification``.

    Attributes
    ----------
    material
        The material the alternate makes.
    capacity
        The alternate's capacity per time unit.
    qualification
        Time until it can deliver.
    pi_without, pi_with
        Lost value over the TTR without and with the alternate.
    tts_without, tts_with
        Time to survive without and with it (``inf``: never runs short).
    """

    material: str
    capacity: float
    qualification: float
    ttr: float
    pi_without: float
    pi_with: float
    tts_without: float
    tts_with: float

    @property
    def pi_saved(self) -> float:
        """Lost value the alternate avoids (never negative)."""
        return max(0.0, self.pi_without - self.pi_with)

    @property
    def tts_gained(self) -> float:
        """Time to survive the alternate adds (``inf`` when it makes the network never run short)."""
        if math.isinf(self.tts_with) and math.isinf(self.tts_without):
            return 0.0
        return max(0.0, self.tts_with - self.tts_without)

    @property
    def closes_gap(self) -> bool:
        """With the alternate the network survives the whole TTR (TTS >= TTR)."""
        return self.tts_with >= self.ttr


def customers_of(net: CompiledNetwork, material: str) -> IntArray:
    """Nodes with a bill-of-materials line for ``material``.

    Parameters
    ----------
    net
        The compiled network.
    material
        A material name.

    Returns
    -------
    numpy.ndarray
        Node positions, ascending.
    """
    rows = np.array([m == material for m in net.bom_material], dtype=bool)
    return np.unique(net.bom_node[rows]).astype(np.int64)


def suppliers_of(net: CompiledNetwork, material: str) -> IntArray:
    """Nodes that ship ``material`` to another node.

    Parameters
    ----------
    net
        The compiled network.
    material
        A material name.

    Returns
    -------
    numpy.ndarray
        Node positions, ascending.
    """
    shipping = net.supplying_nodes()
    chosen: IntArray = shipping[np.array([net.materials[int(i)] == material for i in shipping], dtype=bool)]
    return chosen.astype(np.int64)


def with_alternate(
    net: CompiledNetwork, material: str, capacity: float, *, node_id: str = ALTERNATE_ID, country: str = ""
) -> tuple[CompiledNetwork, int]:
    """``net`` plus a supplier of ``material`` with ``capacity`` per time unit and no stock.

    It ships to every node with a bill-of-materials line for ``material`` and is at no shared site.

    Parameters
    ----------
    net
        The compiled network.
    material
        The material it makes; some node must need it.
    capacity
        Units per time unit (>= 0).
    node_id
        Its id; suffixed ``-2``, ``-3`` ... if taken.
    country
        Its country attribute (for reports).

    Returns
    -------
    tuple[CompiledNetwork, int]
        The extended network and the alternate's position in it (the last node).

    Raises
    ------
    ValueError
        If no node needs ``material`` or ``capacity`` is negative or not finite.
    """
    if not (math.isfinite(capacity) and capacity >= 0):
        raise ValueError(f"capacity must be a finite number >= 0, got {capacity!r}")
    rows = np.flatnonzero(np.array([m == material for m in net.bom_material], dtype=bool))
    if len(rows) == 0:
        raise ValueError(f"no node of the network needs material {material!r}")
    alt_id, k = node_id, 1
    while net.has_node(alt_id):
        k += 1
        alt_id = f"{node_id}-{k}"
    n = net.n_nodes
    attributes = {key: [*values, ""] for key, values in net.attributes.items()}
    attributes["name"][-1] = alt_id
    attributes["country"][-1] = country
    if "material_class" in attributes:
        classes = net.attributes["material_class"]
        first = next((c for m, c in zip(net.materials, classes, strict=True) if m == material), "")
        attributes["material_class"][-1] = first
    extended = replace(
        net,
        node_ids=[*net.node_ids, alt_id],
        materials=[*net.materials, material],
        capacity=np.append(net.capacity, capacity),
        inventory=np.append(net.inventory, 0.0),
        ttr=np.append(net.ttr, np.nan),
        edge_supplier=np.concatenate([net.edge_supplier, np.full(len(rows), n, dtype=np.int64)]),
        edge_customer=np.concatenate([net.edge_customer, net.bom_node[rows]]),
        edge_bom_row=np.concatenate([net.edge_bom_row, rows.astype(np.int64)]),
        site_of_node=np.append(net.site_of_node, -1),
        attributes=attributes,
        chokepoints=[*net.chokepoints, ()],
    )
    # ``replace`` copies the cached index maps of ``net``; they no longer fit the extended arrays.
    extended.__dict__.pop("_index_cache", None)
    extended.__dict__.pop("_forward_cache", None)
    return extended, n


def _pi(net: CompiledNetwork, nodes: IntArray, remaining: FloatArray, ttr: float) -> float:
    model = StressLP(net, "ttr")
    model.set_horizon(ttr)
    return model.solve_scenario(nodes, remaining, use_shortcut=False).value


def _tts(net: CompiledNetwork, nodes: IntArray, remaining: FloatArray) -> float:
    return StressLP(net, "tts").solve_scenario(nodes, remaining, use_shortcut=False).value


def lost_materials(net: CompiledNetwork, scenario: Scenario) -> list[LostMaterial]:
    """The materials ``scenario`` takes away: every source lost, or a lost capacity that binds.

    A material is listed when at least one of its suppliers is disrupted and either all of them are
    fully out, or restoring the disrupted ones lowers PI over the TTR (their lost capacity binds).
    Materials only made by nodes that ship to nobody (finished products) are not listed: an
    alternate source of them has no customer to ship to.

    Parameters
    ----------
    net
        The compiled network.
    scenario
        The scenario (validated against ``net``).

    Returns
    -------
    list of LostMaterial
        Binding materials first, by how much restoring them lowers PI, then the others by name.
    """
    validate_scenario(net, scenario)
    nodes = scenario.node_indices(net)
    remaining = scenario.remaining()
    kept = dict(zip(nodes.tolist(), remaining.tolist(), strict=True))
    model = StressLP(net, "ttr")
    model.set_horizon(scenario.ttr)
    base = model.solve_base()
    pi = model.solve_scenario(nodes, remaining, use_shortcut=False).value
    flows = model.edge_flows(base.columns) if base.columns is not None else np.zeros(net.n_edges)
    shipped = np.bincount(net.edge_supplier, weights=flows, minlength=net.n_nodes)
    scale = max(1.0, float(np.sum(net.demand * net.weight)) * max(1.0, scenario.ttr))
    found: list[LostMaterial] = []
    for material in sorted({net.materials[int(i)] for i in nodes}):
        suppliers = suppliers_of(net, material)
        hit = [int(i) for i in suppliers if int(i) in kept]
        if not hit:
            continue
        all_lost = all(kept.get(int(i), 1.0) <= 0.0 for i in suppliers)
        others = np.array([i for i in nodes.tolist() if i not in hit], dtype=np.int64)
        rest = np.array([kept[i] for i in others.tolist()], dtype=np.float64)
        relieved = model.solve_scenario(others, rest, use_shortcut=False).value if len(others) else base.value
        relief = max(0.0, pi - relieved)
        binds = relief > _REL_TOL * scale
        if not (all_lost or binds):
            continue
        if scenario.ttr > 0:
            rate = sum(float(shipped[i]) * (1.0 - kept[i]) for i in hit) / scenario.ttr
        else:
            rate = sum(float(net.capacity[i]) * (1.0 - kept[i]) for i in hit)
        classes = net.attributes.get("material_class", [""] * net.n_nodes)
        found.append(
            LostMaterial(
                material=material,
                material_class=classes[int(suppliers[0])],
                suppliers=tuple(net.node_ids[int(i)] for i in suppliers),
                disrupted=tuple(net.node_ids[i] for i in hit),
                customers=tuple(net.node_ids[int(i)] for i in customers_of(net, material)),
                all_sources_lost=all_lost,
                binds=binds,
                lost_rate=rate,
                pi_relief=relief,
            )
        )
    found.sort(key=lambda m: (not m.binds, -m.pi_relief, m.material))
    return found


def tts_with_alternate(
    net: CompiledNetwork, scenario: Scenario, material: str, capacity: float, qualification: float
) -> float:
    """The scenario's TTS once an alternate of ``material`` is qualified at ``qualification``.

    See the module notes: ``T0`` without the alternate when ``T0 < q``; else the TTS program of the
    network with the alternate plus the row ``u' + c q tau <= c``.

    Parameters
    ----------
    net
        The compiled network (without the alternate).
    scenario
        The scenario.
    material
        What the alternate makes.
    capacity
        Its capacity per time unit.
    qualification
        When it can start delivering (>= 0).

    Returns
    -------
    float
        The time to survive (``inf`` when the network never runs short).
    """
    nodes, remaining = scenario.node_indices(net), scenario.remaining()
    without = _tts(net, nodes, remaining)
    if without < qualification or math.isinf(without):
        return without
    extended, alt = with_alternate(net, material, capacity)
    model = StressLP(extended, "tts")
    if qualification > 0:
        tau = model.layout.last0
        model.highs.addRow(
            -highspy.kHighsInf,
            capacity,
            2,
            np.array([alt, tau], dtype=np.int32),
            np.array([1.0, capacity * qualification]),
        )
    with_alt = model.solve_scenario(nodes, remaining, use_shortcut=False).value
    # Rounding in the solver must not report an alternate as harmful: it may always make nothing.
    return max(with_alt, without)


def evaluate_alternate(
    net: CompiledNetwork, scenario: Scenario, material: str, capacity: float, qualification: float
) -> AlternateEffect:
    """PI and TTS of ``scenario`` without and with an alternate source of ``material``.

    Parameters
    ----------
    net
        The compiled network.
    scenario
        The scenario (validated against ``net``).
    material
        The lost material the alternate makes; some node must need it.
    capacity
        The alternate's capacity per time unit (>= 0).
    qualification
        Time until it can deliver (>= 0): over a horizon ``t`` it makes at most
        ``capacity * max(0, t - qualification)``.

    Returns
    -------
    AlternateEffect
        PI and TTS with and without it; ``pi_saved`` and ``tts_gained`` give the saving.

    Raises
    ------
    ValueError
        If ``capacity`` or ``qualification`` is negative or not finite, or no node needs ``material``.
    setu.errors.ScenarioError
        If the scenario does not fit ``net``.
    """
    if not (math.isfinite(qualification) and qualification >= 0):
        raise ValueError(f"qualification must be a finite number >= 0, got {qualification!r}")
    validate_scenario(net, scenario)
    ttr = float(scenario.ttr)
    nodes, remaining = scenario.node_indices(net), scenario.remaining()
    # Production over the TTR is at most c * max(0, TTR - q): as a per-time-unit capacity, divided by TTR.
    effective = capacity * max(0.0, ttr - qualification) / ttr if ttr > 0 else 0.0
    extended, _ = with_alternate(net, material, effective)
    pi_without = _pi(net, nodes, remaining, ttr)
    pi_with = min(pi_without, _pi(extended, nodes, remaining, ttr))
    tts_without = _tts(net, nodes, remaining)
    tts_with = tts_with_alternate(net, scenario, material, capacity, qualification)
    return AlternateEffect(
        material=material,
        capacity=float(capacity),
        qualification=float(qualification),
        ttr=ttr,
        pi_without=pi_without,
        pi_with=pi_with,
        tts_without=tts_without,
        tts_with=tts_with,
    )
