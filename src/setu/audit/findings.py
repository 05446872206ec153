"""What a verification of the audit log found: its problems, and the figures of the log it checked."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. ``seq`` is the entry it names (``None`` for problems of a checkpoint or a key)."""

    kind: str
    message: str
    seq: int | None = None
    checkpoint_id: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(slots=True)
class VerifyResult:
    """The outcome of :func:`verify_snapshot`: intact when there is no problem."""

    entries: int
    checkpoints: int
    root_hash: bytes
    problems: list[Problem] = field(default_factory=list)
    countersigned: int = 0
    pinned_keys: bool = False
    held_checkpoints: int = 0
    uncovered: int = 0
    """Entries after the largest checkpoint: no signature covers them yet (the schedule bounds them)."""
    unwitnessed: int = 0
    """Entries after the largest checkpoint another party countersigned: what no partner's witness has seen.

    Whoever holds an instance holds its signing key too, and could show its own auditors a rewritten log
    signed afresh; the partner's witness refuses to countersign such a fork. So entries past the newest
    countersigned checkpoint rest on this instance's word alone (``setu audit verify --max-unwitnessed``)."""

    @property
    def pinned(self) -> bool:
        """Whether the result rests on pins (keys and checkpoints) the database holder cannot change."""
        return self.pinned_keys and self.held_checkpoints > 0

    @property
    def ok(self) -> bool:
        """Whether the log is intact."""
        return not self.problems

    @property
    def first(self) -> Problem | None:
        """The first problem: the earliest bad entry when any entry is bad."""
        return self.problems[0] if self.problems else None

    @property
    def first_bad_seq(self) -> int | None:
        """The ``seq`` of the first bad entry, or ``None`` when no problem names an entry."""
        return next((p.seq for p in self.problems if p.seq is not None), None)

    def summary(self) -> str:
        """One line: intact, or the first problem."""
        if self.ok:
            return (
                f"audit log intact: {_count(self.entries, 'entry', 'entries')}, "
                f"{_count(self.checkpoints, 'checkpoint', 'checkpoints')} "
                f"({self.countersigned} countersigned; {_count(self.unwitnessed, 'entry', 'entries')} after the "
                f"newest of those), root {self.root_hash.hex()}, "
                f"{_count(self.uncovered, 'entry', 'entries')} after the newest checkpoint; {self.trust()}"
            )
        first = self.first
        assert first is not None
        more = len(self.problems) - 1
        return f"audit log TAMPERED: {first.message}" + (f" (and {more} more problems)" if more else "")

    def trust(self) -> str:
        """What the result rests on, in words."""
        if self.pinned:
            held = _count(self.held_checkpoints, "held checkpoint", "held checkpoints")
            return f"checked against pinned keys and {held}"
        missing = [
            what for what, given in (("keys", self.pinned_keys), ("checkpoints", self.held_checkpoints)) if not given
        ]
        return (
            f"no pinned {' or '.join(missing)}: verified only against data the database holder controls, "
            "who could have rewritten log, checkpoints and keys alike"
        )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
