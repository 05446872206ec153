"""Errors Setu reports to a user: each names the place (file, row or key) and carries its HTTP status.

The status travels with the error (as polar's errors do), so the HTTP layer answers any of them
without knowing which domain raised it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where it is and what was expected there."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class SetuError(Exception):
    """Base class of every error Setu reports to a user; ``status`` is the HTTP answer."""

    status: ClassVar[int] = 400

    @property
    def http_status(self) -> int:
        """The HTTP status of this error (a subclass may decide per instance)."""
        return self.status

    @property
    def http_headers(self) -> dict[str, str]:
        """Headers the HTTP answer carries (a challenge, a retry hint)."""
        return {}


class NotFound(SetuError):
    """No such record, or one the user may not see: the two are answered alike (404).

    Parameters
    ----------
    kind
        What was asked for: ``network``, ``node``, ``scenario``, ``run``.
    key
        The id as the caller gave it.
    """

    status = 404

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no such {kind}: {key!r}")


class AccessDenied(SetuError):
    """The user lacks a role the operation requires, or may not act on this record (403)."""

    status = 403


class MarkingError(AccessDenied):
    """A user tried to write a record under a marking they could not read themselves, or to lower one (403)."""


class Conflict(SetuError):
    """The action conflicts with the record's current state or with someone's concurrent change (409)."""

    status = 409


class TooLarge(SetuError):
    """An input is over a documented limit (size, rows, nodes) (413)."""

    status = 413


class TooManyRequests(SetuError):
    """A caller went over a rate or concurrency limit; ``retry_after`` seconds says when to try again (429)."""

    status = 429

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)

    @property
    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(TooManyRequests):
    """The server is at capacity for this kind of work (runs queued, sign-ins being checked); retry after
    ``retry_after`` seconds (503)."""

    status = 503


class InputError(SetuError):
    """An input file or table is malformed; ``problems`` lists every place found wrong (422).

    Readers collect problems and raise once, so nothing is half-loaded and a user
    sees all of them at the same time instead of fixing one per run.
    """

    status = 422

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
    """A scenario names something the network does not have, or has a bad TTR or severity (422)."""

    status = 422


class ViewError(SetuError):
    """The part of a network a user may see cannot be stress-tested (it has no product) (422)."""

    status = 422
