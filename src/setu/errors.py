"""Errors Setu raises on bad input, each naming the place (file, row or key) and what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where it is and what was expected there."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class SetuError(Exception):
    """Base class of every error Setu reports to a user."""


class Conflict(SetuError):
    """The action conflicts with the record's current state or with someone's concurrent change (HTTP 409)."""


class InputError(SetuError):
    """An input file or table is malformed; ``problems`` lists every place found wrong.

    Readers collect problems and raise once, so nothing is half-loaded and a user
    sees all of them at the same time instead of fixing one per run.
    """

    def __init__(self, problems: list[Problem] | Problem | str, where: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(where, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in input:\n{shown}{more}")


class ScenarioError(SetuError):
    """A scenario names something the network does not have, or has a bad TTR or severity."""
