"""Who may read what: a user compiled into one SQL condition on markings, used by every read path.

Deny by default; every part of a marking must admit the user (AND across parts):

- clearance >= classification;
- the user's party is in the releases;
- national-only: the user's party is the origin party;
- every need-to-know group of the marking is one of the user's groups;
- for every owning organization: the user belongs to it, or to a government body of its party.

:func:`allows` states the same rule in Python for one marking (for single objects already
loaded and for tests); the SQL form is what lists, counts, searches and exports use, so a
record a user may not see never leaves the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from setu.models.base import Marking, MarkingGroup, MarkingOwner, MarkingRelease
from setu.models.federation import Partner
from setu.sharing.markings import MarkingSpec


@dataclass(frozen=True, slots=True)
class Principal:
    """The reading user, reduced to what the policy looks at."""

    user_id: int
    party: str
    org_id: int
    org_is_government: bool
    clearance: int
    groups: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)


def allows(principal: Principal, marking: MarkingSpec) -> bool:
    """Whether ``principal`` may read a record marked ``marking``."""
    return (
        principal.clearance >= marking.classification
        and principal.party in marking.releases
        and (not marking.national_only or principal.party == marking.origin_party)
        and marking.groups <= principal.groups
        and all(
            principal.org_id == org or (principal.org_is_government and principal.party == party)
            for org, party in marking.owners
        )
    )


def readable_markings(principal: Principal) -> ColumnElement[bool]:
    """The SQL condition on :class:`Marking` rows that ``principal`` may read."""
    released = exists().where(MarkingRelease.marking_id == Marking.id, MarkingRelease.party == principal.party)
    foreign_group: ColumnElement[bool] = (
        MarkingGroup.group.not_in(sorted(principal.groups)) if principal.groups else true()
    )
    lacks_group = exists().where(MarkingGroup.marking_id == Marking.id, foreign_group)
    own_party_government = (MarkingOwner.party == principal.party) if principal.org_is_government else false()
    foreign_owner = exists().where(
        MarkingOwner.marking_id == Marking.id,
        not_(or_(MarkingOwner.org_id == principal.org_id, own_party_government)),
    )
    return and_(
        Marking.classification <= principal.clearance,
        released,
        or_(Marking.national_only == false(), Marking.origin_party == principal.party),
        not_(lacks_group),
        not_(foreign_owner),
    )


def readable_marking_ids(principal: Principal) -> Select[Any]:
    """The ids of markings ``principal`` may read, as a subquery for ``marking_id IN (...)``.

    Built once per reader's view and reused: a request adds it to every query it makes, and building the
    expression cost more than running it. The key holds every attribute :func:`allows` reads, so two
    principals share a statement only when the policy cannot tell them apart; it holds no data, so
    nothing stored goes stale (the database evaluates the condition on every query).
    """
    return _readable_marking_ids(
        principal.party, principal.org_id, principal.org_is_government, principal.clearance, principal.groups
    )


@lru_cache(maxsize=1024)
def _readable_marking_ids(
    party: str, org_id: int, org_is_government: bool, clearance: int, groups: frozenset[str]
) -> Select[Any]:
    reader = Principal(0, party, org_id, org_is_government, clearance, groups=groups)
    return select(Marking.id).where(readable_markings(reader))


def visible(marking_id: InstrumentedAttribute[int] | Any, principal: Principal) -> ColumnElement[bool]:
    """The filter to add to any query on a marked model: ``.where(visible(Model.marking_id, user))``."""
    return marking_id.in_(readable_marking_ids(principal))


PARTNER_READER_ID = 0
"""The user id of :func:`partner_reader` (no user has it)."""


def partner_reader(partner: Partner) -> Principal:
    """The reader whose view is exactly what the partner instance ``partner`` may receive (federation).

    A government body of the partner party (so the partner's own firms' proprietary records qualify and
    no one else's do), of no organization here, cleared to the link's accreditation, in the agreed groups.
    """
    return Principal(
        user_id=PARTNER_READER_ID,
        party=partner.party,
        org_id=0,
        org_is_government=True,
        clearance=partner.max_classification,
        groups=frozenset(partner.groups),
    )
