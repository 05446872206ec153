"""Marking values: levels, a plain description of a marking, combining them, and storing them once."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from setu.models.base import Marking, MarkingGroup, MarkingOwner, MarkingRelease
from setu.models.parties import Organization

LEVELS: dict[int, str] = {0: "UNCLASSIFIED", 1: "RESTRICTED", 2: "CONFIDENTIAL", 3: "SECRET"}
LEVEL_OF: dict[str, int] = {name: level for level, name in LEVELS.items()}
GROUP_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A need-to-know group's name: letters, digits, ``._-``, up to 64."""


@dataclass(frozen=True, slots=True)
class MarkingSpec:
    """A marking as a value: what :class:`setu.models.base.Marking` stores, comparable and hashable.

    ``owners`` pairs each owning organization's id with its party.
    """

    classification: int
    origin_party: str
    releases: frozenset[str]
    national_only: bool = False
    owners: frozenset[tuple[int, str]] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.classification not in LEVELS:
            raise ValueError(f"classification must be one of {sorted(LEVELS)}, got {self.classification!r}")
        if not self.origin_party:
            raise ValueError("a marking needs its origin party")

    @property
    def effective_releases(self) -> frozenset[str]:
        """The parties whose users may read the record: the origin alone when national-only."""
        return frozenset({self.origin_party}) & self.releases if self.national_only else self.releases

    def banner(self, org_names: dict[int, str] | None = None) -> str:
        """The marking as users read it, e.g. ``CONFIDENTIAL // REL TO IN, US // NTK ENGINE``."""
        parts = [LEVELS[self.classification]]
        if self.national_only:
            parts.append(f"{self.origin_party} ONLY")
        elif self.releases:
            parts.append("REL TO " + ", ".join(sorted(self.releases)))
        else:
            parts.append("NOT RELEASABLE")
        if self.owners:
            names = org_names or {}
            parts.append("PROPRIETARY " + ", ".join(sorted(names.get(org, f"org {org}") for org, _ in self.owners)))
        if self.groups:
            parts.append("NTK " + ", ".join(sorted(self.groups)))
        return " // ".join(parts)

    @classmethod
    def of(cls, marking: Marking) -> MarkingSpec:
        """The value of a stored marking."""
        return cls(
            classification=marking.classification,
            origin_party=marking.origin_party,
            releases=frozenset(r.party for r in marking.releases),
            national_only=marking.national_only,
            owners=frozenset((o.org_id, o.party) for o in marking.owners),
            groups=frozenset(g.group for g in marking.groups),
        )


def most_restrictive(specs: Iterable[MarkingSpec], origin_party: str) -> MarkingSpec:
    """A marking that admits a user only if every one of ``specs`` does.

    Used for derived records (a run's results): classification is the highest, releases the
    intersection of the effective releases, owners and groups the union.
    """
    specs = list(specs)
    if not specs:
        raise ValueError("no marking to combine")
    releases = frozenset.intersection(*(s.effective_releases for s in specs))
    national_only = any(s.national_only for s in specs)
    return MarkingSpec(
        classification=max(s.classification for s in specs),
        origin_party=origin_party,
        releases=releases,
        national_only=national_only and releases <= {origin_party},
        owners=frozenset().union(*(s.owners for s in specs)),
        groups=frozenset().union(*(s.groups for s in specs)),
    )


def _admits(spec: MarkingSpec) -> tuple[int, frozenset[str], frozenset[tuple[int, str]], frozenset[str]]:
    """What decides whom ``spec`` admits: two markings with equal keys admit the same users."""
    return spec.classification, spec.effective_releases, spec.owners, spec.groups


def combine(specs: Iterable[MarkingSpec], origin_party: str) -> MarkingSpec:
    """The marking admitting exactly those admitted by every one of ``specs``.

    When one of ``specs`` already admits exactly those (it is the most restrictive of all), it is
    returned as it is, so combining ``IN ONLY`` with ``REL TO IN, US`` stays ``IN ONLY`` and records
    share a handful of stored markings rather than one per combination.
    """
    unique = set(specs)
    combined = most_restrictive(unique, origin_party=origin_party)
    same = sorted((s for s in unique if _admits(s) == _admits(combined)), key=lambda s: s.banner())
    return same[0] if same else combined


_KNOWN: WeakKeyDictionary[Engine, dict[int, MarkingSpec]] = WeakKeyDictionary()
"""Per database (engine), the markings this process has read, by id. Markings are immutable once
written (:class:`setu.models.base.MarkingImmutable`) and never deleted, so an id always means the
same marking and an entry never goes stale."""
_KNOWN_LOCK = threading.Lock()
_UNCOMMITTED = "setu.markings.uncommitted"
"""``session.info`` key: ids of markings this session wrote, which are not known for sure until it commits."""


def _known(session: Session) -> dict[int, MarkingSpec]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _KNOWN_LOCK:
        return _KNOWN.setdefault(engine, {})


def forget_markings(engine: Engine) -> None:
    """Drop what this process knows of ``engine``'s markings (its schema was dropped: ids mean nothing now)."""
    with _KNOWN_LOCK:
        _KNOWN.pop(engine, None)


def marking_specs(session: Session, marking_ids: Iterable[int]) -> set[MarkingSpec]:
    """The values of the stored markings ``marking_ids`` (see :func:`specs_by_id`)."""
    return set(specs_by_id(session, marking_ids).values())


def specs_by_id(session: Session, marking_ids: Iterable[int]) -> dict[int, MarkingSpec]:
    """The values of the stored markings ``marking_ids``, by id.

    Read once per process and database, then answered from memory: a marking never changes once
    written. What is not known yet is read in two plain statements (the markings, then their releases,
    groups and owners as one union) rather than as objects, which cost more than the reads.

    Parameters
    ----------
    session
        A session on the database.
    marking_ids
        Stored markings' ids; an id that does not exist is left out of the answer.

    Returns
    -------
    dict
        Each found id's :class:`MarkingSpec`.
    """
    known = _known(session)
    wanted = set(marking_ids)
    missing = sorted(wanted - known.keys())
    if not missing:
        return {marking_id: known[marking_id] for marking_id in wanted}
    loaded = _load_specs(session, missing)
    uncommitted = session.info.get(_UNCOMMITTED, set())
    with _KNOWN_LOCK:
        known.update((marking_id, spec) for marking_id, spec in loaded.items() if marking_id not in uncommitted)
    return {
        marking_id: known.get(marking_id) or loaded[marking_id]
        for marking_id in wanted
        if marking_id in known or marking_id in loaded
    }


def _load_specs(session: Session, ids: list[int]) -> dict[int, MarkingSpec]:
    """Read the markings ``ids`` from the database."""
    heads = session.execute(
        select(Marking.id, Marking.classification, Marking.origin_party, Marking.national_only).where(
            Marking.id.in_(ids)
        )
    ).all()
    parts = union_all(
        select(MarkingRelease.marking_id, literal("release"), MarkingRelease.party, literal(0)).where(
            MarkingRelease.marking_id.in_(ids)
        ),
        select(MarkingGroup.marking_id, literal("group"), MarkingGroup.group, literal(0)).where(
            MarkingGroup.marking_id.in_(ids)
        ),
        select(MarkingOwner.marking_id, literal("owner"), MarkingOwner.party, MarkingOwner.org_id).where(
            MarkingOwner.marking_id.in_(ids)
        ),
    )
    found: dict[int, dict[str, set[Any]]] = {
        row[0]: {"release": set(), "group": set(), "owner": set()} for row in heads
    }
    for marking_id, part, name, org_id in session.execute(parts).all():
        found[marking_id][part].add((int(org_id), name) if part == "owner" else name)
    return {
        marking_id: MarkingSpec(
            classification=classification,
            origin_party=origin,
            releases=frozenset(found[marking_id]["release"]),
            national_only=bool(national_only),
            owners=frozenset(found[marking_id]["owner"]),
            groups=frozenset(found[marking_id]["group"]),
        )
        for marking_id, classification, origin, national_only in heads
    }


def store(session: Session, spec: MarkingSpec) -> Marking:
    """The stored marking equal to ``spec``, written if it does not exist yet.

    Markings are shared between records, so a network of thousands of nodes holds a handful.
    """
    candidates = session.scalars(
        select(Marking).where(
            Marking.classification == spec.classification,
            Marking.origin_party == spec.origin_party,
            Marking.national_only == spec.national_only,
        )
    ).all()
    for marking in candidates:
        if MarkingSpec.of(marking) == spec:
            return marking
    marking = Marking(
        classification=spec.classification,
        origin_party=spec.origin_party,
        national_only=spec.national_only,
        releases=[MarkingRelease(party=p) for p in sorted(spec.releases)],
        groups=[MarkingGroup(group=g) for g in sorted(spec.groups)],
        owners=[MarkingOwner(org_id=org, party=party) for org, party in sorted(spec.owners)],
    )
    session.add(marking)
    session.flush()
    # Until this transaction commits the id may yet be rolled back (and reused, on SQLite): not one to keep.
    session.info.setdefault(_UNCOMMITTED, set()).add(marking.id)
    return marking


def owner_names(session: Session, specs: Iterable[MarkingSpec]) -> dict[int, str]:
    """Names of the organizations that ``specs`` make records proprietary to, for banners.

    A reader who may read a record may know who owns it, so the names are read whatever the
    organizations' own markings.
    """
    ids = sorted({org for spec in specs for org, _ in spec.owners})
    if not ids:
        return {}
    rows = session.execute(_OWNER_NAMES, {"ids": ids})
    return {org_id: name for org_id, name in rows}


_OWNER_NAMES = select(Organization.id, Organization.name).where(Organization.id.in_(bindparam("ids", expanding=True)))
"""Built once: it is on every answer with a proprietary marking."""
