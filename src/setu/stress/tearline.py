"""Whether a partner's view with stand-ins gives the full network's figures, scenario by scenario.

The owner of hidden records checks this before releasing stand-ins (:mod:`setu.network.tearline`): each
node the partner sees is disrupted for its TTR in both networks (a stand-in in the partner's stands for
all the nodes it covers in the full one), and PI and TTS are compared.

Examples
--------
>>> from setu.network.compile import compile_network
>>> from setu.network.model import BomLine, Network, Node, Product, Supply
>>> from setu.network.tearline import partner_network, tear_line
>>> net = Network(
...     "engines",
...     nodes=[Node("ENG", "engine", 10, 2, ttr=4), Node("F1", "forging", 6, 1, ttr=6),
...            Node("F2", "forging", 4, ttr=6)],
...     products=[Product("ENG", 8, 1.0)],
...     bom=[BomLine("ENG", "forging", 1.0)],
...     supplies=[Supply("F1", "ENG"), Supply("F2", "ENG")],
... )
>>> tear = tear_line(net, {"F1", "F2"})
>>> check = check_views(compile_network(net), compile_network(partner_network(net, {"F1", "F2"}, tear)),
...                     tear.covers())
>>> check.scenarios, check.exact
(1, True)
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from setu.network.compile import CompiledNetwork
from setu.stress.engine import run_scenarios
from setu.stress.scenarios import Scenario

RELATIVE_TOLERANCE = 1e-6
"""Two figures agree when they differ by at most this fraction of the larger (solver round-off)."""
CHECK_LIMIT = 5_000
"""The most scenarios a check solves (twice); a larger view is checked on its first scenarios by node id."""
CHUNK = 200
"""Scenarios solved between two looks at the clock (``budget_seconds``)."""


@dataclass(frozen=True, slots=True)
class Difference:
    """A scenario whose figures differ between the full network and the partner's view."""

    scenario: str
    full_pi: float
    partner_pi: float
    full_tts: float
    partner_tts: float


@dataclass(frozen=True)
class ViewCheck:
    """How the partner's figures compare with the full network's.

    ``scenarios`` is how many were compared (of ``candidates``); ``differences`` those that disagree.
    """

    scenarios: int
    candidates: int
    differences: list[Difference] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.differences and self.scenarios == self.candidates

    def summary(self) -> dict[str, object]:
        """The check as stored with a tear line and shown at review."""
        worst = max(self.differences, key=lambda d: abs(d.full_pi - d.partner_pi), default=None)
        return {
            "scenarios": self.scenarios,
            "candidates": self.candidates,
            "differences": len(self.differences),
            "worst": None
            if worst is None
            else {
                "scenario": worst.scenario,
                "full_pi": worst.full_pi,
                "partner_pi": worst.partner_pi,
                "full_tts": _finite(worst.full_tts),
                "partner_tts": _finite(worst.partner_tts),
            },
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _agree(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= RELATIVE_TOLERANCE * max(1.0, abs(a), abs(b))


def check_views(
    full: CompiledNetwork,
    partner: CompiledNetwork,
    covers: Mapping[str, tuple[str, ...]],
    *,
    default_ttr: float = 1.0,
    limit: int = CHECK_LIMIT,
    budget_seconds: float | None = None,
) -> ViewCheck:
    """Disrupt each supplying node of ``partner`` in both networks and compare PI and TTS.

    Parameters
    ----------
    full
        The full network.
    partner
        The partner's view with stand-ins.
    covers
        Each stand-in's id and the full network's nodes it stands for.
    default_ttr
        The TTR of a node with no estimate of its own.
    limit
        The most scenarios compared.
    budget_seconds
        Stop starting new chunks of :data:`CHUNK` scenarios after this long (a request must answer); the
        result says how many of the candidates were compared.

    Returns
    -------
    ViewCheck
        The scenarios compared and those that differ.
    """
    candidates = [int(i) for i in partner.supplying_nodes()]
    chosen = candidates[:limit]
    ours: list[Scenario] = []
    theirs: list[Scenario] = []
    for i in chosen:
        node = partner.node_ids[i]
        estimate = float(partner.ttr[i])
        ttr = estimate if math.isfinite(estimate) else default_ttr
        theirs.append(Scenario(id=node, nodes=(node,), ttr=ttr, kind="node"))
        ours.append(Scenario(id=node, nodes=covers.get(node, (node,)), ttr=ttr, kind="node"))
    started = time.monotonic()
    differences: list[Difference] = []
    compared = 0
    for first in range(0, len(chosen), CHUNK):
        if budget_seconds is not None and first and time.monotonic() - started > budget_seconds:
            break
        mine, yours = ours[first : first + CHUNK], theirs[first : first + CHUNK]
        in_full = run_scenarios(full, mine)
        in_partner = run_scenarios(partner, yours)
        differences += [
            Difference(s.id, float(a_pi), float(b_pi), float(a_tts), float(b_tts))
            for s, a_pi, b_pi, a_tts, b_tts in zip(
                yours, in_full.lost_profit, in_partner.lost_profit, in_full.tts, in_partner.tts, strict=True
            )
            if not (_agree(float(a_pi), float(b_pi)) and _agree(float(a_tts), float(b_tts)))
        ]
        compared += len(yours)
    return ViewCheck(scenarios=compared, candidates=len(candidates), differences=differences)
