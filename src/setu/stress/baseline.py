"""What a network loses with nothing disrupted: the baseline that figures on a partial view are measured from.

A reader who may not see some suppliers computes on a network that already runs short: a product whose
material comes only from a hidden supplier cannot be made at all. On such a view every scenario's PI
includes that shortfall and every TTS is cut short by it, so the figures say "everything is at risk"
and the two parties' numbers for one forge differ for reasons nobody can see. Measured from the baseline
instead, a scenario's figures say what the disruption itself costs:

- loss beyond the baseline: ``PI(S, t) - PI(∅, t)``, the scenario's loss minus the undisrupted view's over
  the same horizon;
- TTS relative to the baseline: the TTS of the same network whose demand is what the view sustains
  undisrupted (``d - λ``, with ``λ`` the steady-state lost rate of each product), so it answers "how long
  does the network keep delivering what it delivers now".

On a network that meets its demand indefinitely (``λ = 0``) both equal the plain figures.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from setu.network.compile import CompiledNetwork, FloatArray
from setu.stress.lp import StressLP

SHORT_TOLERANCE = 1e-9
"""A lost rate below this (relative to the product's demand) is solver noise, not a shortfall."""
TIE_BREAK = 1e-6
"""Relative weight added to every product's so that, among equally costly losses, the least is chosen
(a product of zero weight would otherwise be dropped for nothing)."""


@dataclass(frozen=True)
class Baseline:
    """The undisrupted network's shortfall.

    Attributes
    ----------
    shortfall
        Per product (in the order of ``net.product_nodes``), the demand per time unit it cannot meet
        in steady state, stock used up.
    loss_rate
        The weighted loss per time unit in steady state: ``sum(weight * shortfall)``.
    tts
        TTS of the undisrupted network: ``inf`` when it meets demand indefinitely, else when it runs short
        (0 when it cannot meet demand from the start).
    """

    shortfall: FloatArray
    loss_rate: float
    tts: float

    @property
    def short(self) -> bool:
        """Whether the undisrupted network fails to meet some demand in steady state."""
        return bool((self.shortfall > 0).any())

    def short_products(self, net: CompiledNetwork) -> list[str]:
        """The node ids of the products that run short undisrupted."""
        return [net.node_ids[int(net.product_nodes[i])] for i in np.flatnonzero(self.shortfall > 0)]


def baseline(net: CompiledNetwork) -> Baseline:
    """The steady-state shortfall and the TTS of ``net`` with nothing disrupted.

    Parameters
    ----------
    net
        The compiled network (a reader's view of one).

    Returns
    -------
    Baseline
        Zero shortfall and ``tts = inf`` for a network that meets its demand indefinitely.

    Examples
    --------
    >>> from setu.network.compile import compile_network
    >>> from setu.network.generate import three_tier
    >>> net = compile_network(three_tier(4, 6, 8, seed=1))
    >>> baseline(net).short
    False
    """
    # Steady state: no stock, one time unit; the lost units per product are then lost rates.
    top = float(net.weight.max()) if len(net.weight) else 1.0
    steady = dataclasses.replace(
        net,
        inventory=np.zeros_like(net.inventory),
        weight=net.weight + TIE_BREAK * max(top, 1.0),
    )
    model = StressLP(steady, "ttr")
    model.set_horizon(1.0)
    solution = model.solve_base()
    assert solution.columns is not None
    start = model.layout.last0
    lost = np.clip(solution.columns[start : start + len(net.product_nodes)], 0.0, None)
    lost[lost <= SHORT_TOLERANCE * np.maximum(net.demand, 1.0)] = 0.0
    tts = StressLP(net, "tts").solve_base().value
    return Baseline(shortfall=lost, loss_rate=float(net.weight @ lost), tts=float(tts))


def sustainable(net: CompiledNetwork, base: Baseline) -> CompiledNetwork:
    """``net`` with each product's demand cut to what it sustains undisrupted (``d - λ``): the network TTS
    relative to the baseline is computed on."""
    return dataclasses.replace(net, demand=np.clip(net.demand - base.shortfall, 0.0, None))


def baseline_losses(net: CompiledNetwork, horizons: Iterable[float]) -> dict[float, float]:
    """PI of the undisrupted network over each horizon: what every scenario of that TTR loses anyway.

    Parameters
    ----------
    net
        The compiled network.
    horizons
        TTR values (repeats are solved once).

    Returns
    -------
    dict
        ``PI(∅, t)`` by ``t``.
    """
    wanted = sorted({float(t) for t in horizons if math.isfinite(t)})
    if not wanted:
        return {}
    model = StressLP(net, "ttr")
    losses = {}
    for t in wanted:
        model.set_horizon(t)
        losses[t] = float(model.solve_base().value)
    return losses
