"""The demo's scenario library: export controls, sanctions, strait closures and site outages.

Each event is one of the standard builders of :mod:`setu.stress.scenarios` applied to the demo
network (or a user's view of it), with its time to recover in weeks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from setu.demo.data import BAB, FORGE_SITE, GAN_FAB_SITE, HORMUZ, MALACCA, TAIWAN
from setu.errors import ScenarioError
from setu.network.compile import CompiledNetwork
from setu.stress.scenarios import Scenario, by_attribute, by_chokepoint, export_control


@dataclass(frozen=True, slots=True)
class _Event:
    id: str
    label: str
    ttr: float
    """Weeks."""
    build: Callable[[CompiledNetwork, float], Scenario]
    """Which nodes it disrupts: one of the standard builders, given the network and the TTR."""


# Export controls are modelled as cutting the Chinese sources outright (or by 70% for licensing):
# a node-level model cannot tell a ban on exports to the US from a ban on all exports.
_LIBRARY: tuple[_Event, ...] = (
    _Event(
        "cn-ga-ge-ban",
        "China bans gallium and germanium exports (licensing 1 Aug 2023; US ban 3 Dec 2024)",
        52,
        lambda net, ttr: export_control(net, ["gallium", "germanium"], ["CN"], ttr),
    ),
    _Event(
        "cn-ga-ge-licensing-30pct",
        "China licenses gallium and germanium: 30% gets through",
        52,
        lambda net, ttr: export_control(net, ["gallium", "germanium"], ["CN"], ttr, severity=0.7),
    ),
    _Event(
        "cn-rare-earth-magnets",
        "China's rare-earth processing and magnet controls (21 Dec 2023; 4 Apr 2025)",
        52,
        lambda net, ttr: export_control(net, ["rare_earth", "magnet"], ["CN"], ttr),
    ),
    _Event(
        "cn-antimony-ban",
        "China bans antimony exports (licensing 15 Sep 2024; US ban 3 Dec 2024)",
        52,
        lambda net, ttr: export_control(net, ["antimony"], ["CN"], ttr),
    ),
    _Event(
        "cn-graphite-licensing-30pct",
        "China licenses graphite (1 Dec 2023): 30% gets through",
        52,
        lambda net, ttr: export_control(net, ["graphite"], ["CN"], ttr, severity=0.7),
    ),
    _Event(
        "ru-sanctions",
        "Sanctions cut every Russian supplier",
        104,
        lambda net, ttr: by_attribute(net, "country", "RU", ttr),
    ),
    _Event("malacca-closed", "Strait of Malacca closed", 8, lambda net, ttr: by_chokepoint(net, MALACCA, ttr)),
    _Event(
        "hormuz-closed",
        "Strait of Hormuz closed",
        8,
        lambda net, ttr: by_chokepoint(net, HORMUZ, ttr),
    ),
    _Event(
        "taiwan-strait-closed",
        "Taiwan Strait closed: year-long blockade of Taiwan",
        52,
        lambda net, ttr: by_chokepoint(net, TAIWAN, ttr),
    ),
    _Event(
        "red-sea-closed",
        "Red Sea closed at Bab-el-Mandeb",
        8,
        lambda net, ttr: by_chokepoint(net, BAB, ttr),
    ),
    _Event(
        "forge-fire",
        "Fire at the single large US forge press",
        78,
        lambda net, ttr: by_attribute(net, "site", FORGE_SITE, ttr),
    ),
    _Event(
        "gan-fab-outage",
        "US GaN foundry outage (epitaxy and MMIC fab)",
        39,
        lambda net, ttr: by_attribute(net, "site", GAN_FAB_SITE, ttr),
    ),
)


def demo_scenarios(net: CompiledNetwork, *, skip_unmatched: bool = False) -> list[Scenario]:
    """The scenario library for the demo network: export controls, sanctions, strait closures, site outages.

    Built with the standard builders of :mod:`setu.stress.scenarios`; TTRs in weeks.

    Parameters
    ----------
    net
        The demo network, or a user's view of it.
    skip_unmatched
        Leave out the events whose targets are not in ``net`` (a view that hides them) instead of raising.
    """
    library = []
    for event in _LIBRARY:
        try:
            scenario = event.build(net, event.ttr)
        except ScenarioError:
            if skip_unmatched:
                continue
            raise
        library.append(dataclasses.replace(scenario, id=event.id, label=event.label))
    return library
