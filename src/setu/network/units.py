"""The units a network declares: the time unit of its rates and TTRs, and the unit of its loss weights.

Every figure a page shows is in these: a TTR or TTS in the time unit, a loss (PI) in weight units. A network
that declares neither is shown in "time units" and "weighted units", which is what its numbers are.

Examples
--------
>>> weeks = Units("week", "criticality-weighted $M")
>>> weeks.times, weeks.per_time, weeks.loss
('weeks', 'a week', 'criticality-weighted $M')
>>> Units().times, Units().loss
('time units', 'weighted units')
>>> unit_problems("fortnight", "")[0].message
'expected one of hour, day, week, month, year, or empty, got fortnight'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from setu.errors import Problem

TIME_UNITS = ("hour", "day", "week", "month", "year")
"""The time units a network may declare (they pluralise with an ``s``)."""
WEIGHT_UNIT_LENGTH = 60


@dataclass(frozen=True, slots=True)
class Units:
    """A network's declared units (empty: not declared)."""

    time: str = ""
    weight: str = ""

    @property
    def times(self) -> str:
        """The time unit in the plural, for durations: ``weeks`` (``time units`` when undeclared)."""
        return f"{self.time}s" if self.time else "time units"

    @property
    def per_time(self) -> str:
        """Per one time unit, for rates: ``a week``."""
        return f"a {self.time}" if self.time else "a time unit"

    @property
    def loss(self) -> str:
        """The unit of a loss (PI): the weight unit (``weighted units`` when undeclared)."""
        return self.weight or "weighted units"


class Declares(Protocol):
    """Whatever declares units: a :class:`setu.network.model.Network` or a stored network."""

    time_unit: str
    weight_unit: str


def units_of(network: Declares | None) -> Units:
    """The units ``network`` declares (none declared when it is None: a page with no network)."""
    return Units() if network is None else Units(network.time_unit or "", network.weight_unit or "")


def unit_problems(time: str, weight: str) -> list[Problem]:
    """What is wrong with declared units: a time unit not in :data:`TIME_UNITS`, a weight unit too long."""
    problems = []
    if time and time not in TIME_UNITS:
        problems.append(Problem("time_unit", f"expected one of {', '.join(TIME_UNITS)}, or empty, got {time}"))
    if len(weight) > WEIGHT_UNIT_LENGTH or any(ord(c) < 32 for c in weight):
        problems.append(Problem("weight_unit", f"expected up to {WEIGHT_UNIT_LENGTH} printable characters"))
    return problems
