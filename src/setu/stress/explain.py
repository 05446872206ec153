"""Why a scenario scores as it does: products that lose, the material that binds, shipments re-routed."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from setu.network.compile import CompiledNetwork
from setu.stress.lp import StressLP
from setu.stress.scenarios import Scenario, validate_scenario

# Changes smaller than this share of the larger flow are solver noise, not re-routing.
_REL_TOL = 1e-7


@dataclass(frozen=True, slots=True)
class ProductLoss:
    """A product that loses units in the scenario compared with the undisrupted network."""

    product: str
    lost_units: float
    lost_value: float
    demand_over_ttr: float
    binding: str
    """What limits its output: a material name, ``capacity``, or ``outage`` (the product is disrupted)."""
    binding_suppliers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlowChange:
    """A shipment that changes between the undisrupted plan and the scenario's plan."""

    supplier: str
    customer: str
    material: str
    base: float
    scenario: float

    @property
    def change(self) -> float:
        return self.scenario - self.base


@dataclass
class Explanation:
    """The story of one scenario, from the TTR and TTS solutions."""

    scenario: Scenario
    lost_profit: float
    base_lost_profit: float
    tts: float
    base_tts: float
    losses: list[ProductLoss] = field(default_factory=list)
    rerouted: list[FlowChange] = field(default_factory=list)
    first_short: list[str] = field(default_factory=list)
    """Products whose demand binds at the TTS: the first to run short."""

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary (``inf`` TTS as the string ``"inf"``)."""
        out = asdict(self)
        for key in ("tts", "base_tts"):
            if math.isinf(out[key]):
                out[key] = "inf"
        for change, record in zip(self.rerouted, out["rerouted"], strict=True):
            record["change"] = change.change
        return out

    def to_text(self) -> str:
        """A plain-language summary for the terminal."""
        s = self.scenario
        lines = [
            f"Scenario {s.id}: {len(s.nodes)} node(s) out for {s.ttr:g} time units",
            f"  lost profit {self.lost_profit:,.2f} (undisrupted: {self.base_lost_profit:,.2f})",
            f"  time to survive {_fmt_t(self.tts)} (undisrupted: {_fmt_t(self.base_tts)})",
        ]
        if self.tts < s.ttr:
            lines.append(f"  TTS < TTR: the network runs short {s.ttr - self.tts:,.2f} time units before recovery")
        if self.first_short:
            lines.append(f"  first to run short: {', '.join(self.first_short)}")
        if self.losses:
            lines.append("  products that lose:")
            for loss in self.losses:
                via = f" from {', '.join(loss.binding_suppliers)}" if loss.binding_suppliers else ""
                lines.append(
                    f"    {loss.product}: {loss.lost_units:,.1f} units ({loss.lost_value:,.2f}); "
                    f"binding: {loss.binding}{via}"
                )
        if self.rerouted:
            lines.append("  re-routed shipments:")
            for flow in self.rerouted[:15]:
                lines.append(
                    f"    {flow.supplier} -> {flow.customer} ({flow.material}): "
                    f"{flow.base:,.1f} -> {flow.scenario:,.1f}"
                )
            if len(self.rerouted) > 15:
                lines.append(f"    ... and {len(self.rerouted) - 15} more")
        return "\n".join(lines)


def _fmt_t(value: float) -> str:
    return "unbounded" if math.isinf(value) else f"{value:,.3f}"


def _binding(
    net: CompiledNetwork,
    node: int,
    columns: np.ndarray,
    shipments: np.ndarray,
    horizon: float,
    disrupted: set[int],
    reached: set[int],
) -> tuple[str, tuple[str, ...]]:
    """The input that limits ``node``'s output: its scarcest BOM material, or capacity, or the outage.

    Several materials often tie (the node receives exactly what it uses of each); the one
    fed by the disruption (a supplier that is disrupted or downstream of it) is the cause.
    """
    if node in disrupted:
        return "outage", ()
    if columns[node] >= net.capacity[node] * horizon * (1 - 1e-9):
        return "capacity", ()
    rows = np.flatnonzero(net.bom_node == node)
    if len(rows) == 0:
        return "capacity", ()
    received = np.bincount(net.edge_bom_row, weights=shipments, minlength=len(net.bom_node))[rows]
    ratio = received / net.bom_quantity[rows]
    tied = rows[ratio <= ratio.min() * (1 + 1e-9) + 1e-9]

    def suppliers(row: int) -> list[int]:
        return [int(i) for i in net.edge_supplier[net.edge_bom_row == row]]

    row = next((int(r) for r in tied if any(i in reached for i in suppliers(int(r)))), int(tied[0]))
    return net.bom_material[row], tuple(net.node_ids[i] for i in suppliers(row))


def explain(net: CompiledNetwork, scenario: Scenario) -> Explanation:
    """Solve ``scenario`` with full solutions and explain the result.

    Parameters
    ----------
    net
        The compiled network.
    scenario
        The scenario to explain.

    Returns
    -------
    Explanation
        Losses per product with the binding material, re-routed shipments, and the
        products that run short first at the TTS.
    """
    validate_scenario(net, scenario)
    nodes = scenario.node_indices(net)
    remaining = scenario.remaining()
    ttr_model = StressLP(net, "ttr")
    ttr_model.set_horizon(scenario.ttr)
    base = ttr_model.solve_base()
    hit = ttr_model.solve_scenario(nodes, remaining, keep_columns=True)
    tts_model = StressLP(net, "tts")
    tts_base = tts_model.solve_base()
    tts_hit = tts_model.solve_scenario(nodes, remaining, keep_columns=True)
    assert base.columns is not None and hit.columns is not None

    lay = ttr_model.layout
    disrupted = set(nodes.tolist())
    base_flows, hit_flows = ttr_model.edge_flows(base.columns), ttr_model.edge_flows(hit.columns)
    reached = set(net.downstream(nodes).tolist())
    losses = []
    lost_base = base.columns[lay.last0 : lay.last0 + lay.p]
    lost_hit = hit.columns[lay.last0 : lay.last0 + lay.p]
    for k in np.argsort(-(lost_hit - lost_base) * net.weight):
        extra = lost_hit[k] - lost_base[k]
        if extra <= _REL_TOL * max(1.0, net.demand[k] * scenario.ttr):
            continue
        product = int(net.product_nodes[k])
        binding, suppliers = _binding(net, product, hit.columns, hit_flows, scenario.ttr, disrupted, reached)
        losses.append(
            ProductLoss(
                product=net.node_ids[product],
                lost_units=float(extra),
                lost_value=float(extra * net.weight[k]),
                demand_over_ttr=float(net.demand[k] * scenario.ttr),
                binding=binding,
                binding_suppliers=suppliers,
            )
        )

    rerouted = _flow_changes(net, base_flows, hit_flows)
    first_short: list[str] = []
    if tts_hit.row_duals is not None and math.isfinite(tts_hit.value):
        # A product binds the TTS when its demand row has a shadow price: more of it would
        # shorten the horizon. Rows that are merely met exactly have none.
        demand0 = tts_model.layout.demand0
        prices = np.abs(tts_hit.row_duals[demand0 : demand0 + net.n_products])
        priced = np.flatnonzero(prices > 1e-9 * max(1.0, float(prices.max(initial=0.0))))
        first_short = [net.node_ids[int(net.product_nodes[k])] for k in priced[np.argsort(-prices[priced])]]
    return Explanation(
        scenario=scenario,
        lost_profit=hit.value,
        base_lost_profit=base.value,
        tts=tts_hit.value,
        base_tts=tts_base.value,
        losses=losses,
        rerouted=rerouted,
        first_short=first_short,
    )


def _flow_changes(net: CompiledNetwork, before: np.ndarray, after: np.ndarray) -> list[FlowChange]:
    scale = np.maximum(1.0, np.maximum(before, after))
    changed = np.flatnonzero(np.abs(after - before) > _REL_TOL * scale * 10)
    order = changed[np.argsort(-np.abs(after - before)[changed])]
    return [
        FlowChange(
            supplier=net.node_ids[int(net.edge_supplier[i])],
            customer=net.node_ids[int(net.edge_customer[i])],
            material=net.materials[int(net.edge_supplier[i])],
            base=max(0.0, float(before[i])),
            scenario=max(0.0, float(after[i])),
        )
        for i in order
    ]
