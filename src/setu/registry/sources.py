"""Finding sources: visible registry capabilities able to make a wanted material, ranked for an analyst.

Only capabilities the reader may see, at sites and firms they may see, are considered, in SQL; each
source carries the combined marking of its three records.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError, Problem
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite
from setu.registry.access import marking_of, number_field
from setu.registry.codes import codes_for
from setu.settings import DEFAULT_CONCERN_COUNTRIES
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.policy import Principal
from setu.sharing.read import page, readable

MATCH_WEIGHT = {"material": 1.0, "capability": 0.6}
"""How well a capability matches a wanted material: it makes that very material, or only holds a code
able to make it (a new part for the site, so less certain)."""


@dataclass(frozen=True)
class Source:
    """A visible capability able to make a wanted material, with what ranks it.

    Attributes
    ----------
    capability, site, organization
        The records (all visible to the reader).
    match
        ``material``: the site makes that very material; ``capability``: it holds a code able to make it.
    headroom
        Capacity per week not yet committed (never below 0).
    delay
        Weeks until it could deliver to a new customer: qualification plus lead time.
    concern
        The site is in a country of concern.
    marking
        The combined marking of the three records: an answer naming the source carries it.
    """

    capability: Capability
    site: RegistrySite
    organization: Organization
    match: str
    headroom: float
    delay: float
    concern: bool
    marking: MarkingSpec

    @property
    def code_of_conduct(self) -> bool:
        """The firm joined its party's SoSA code of conduct (it gives partner orders priority)."""
        return bool(self.organization.code_of_conduct)

    def rank_key(self) -> tuple[bool, float, bool, float, float, int]:
        """Sort key: not of concern, exact match, code of conduct, most headroom, soonest, then by id."""
        return (
            self.concern,
            -MATCH_WEIGHT[self.match],
            not self.code_of_conduct,
            -self.headroom,
            self.delay,
            self.capability.id,
        )


def matching_sources(
    session: Session,
    principal: Principal,
    material: str,
    *,
    material_class: str = "",
    party: str | None = None,
    min_headroom: float = 0.0,
    concern: Collection[str] = DEFAULT_CONCERN_COUNTRIES,
) -> list[Source]:
    """Visible capabilities able to make ``material``, unranked and not audited (for callers that audit).

    See :func:`find_sources` for the parameters.
    """
    wanted = material.strip()
    if not wanted:
        raise InputError("name the material to find sources of", "material")
    codes = [c.code for c in codes_for(wanted, material_class)]
    # readable filters all three records: the capability, its site and the site's firm.
    query = readable(principal, Capability, RegistrySite, Organization).where(
        RegistrySite.id == Capability.site_id,
        Organization.id == RegistrySite.organization_id,
        or_(func.lower(Capability.material) == wanted.lower(), Capability.code.in_(codes)),
        Capability.capacity - Capability.committed >= min_headroom,
    )
    if party:
        query = query.where(Organization.party_code == party.strip().upper())
    return [
        source_for(principal, capability, site, org, wanted, concern)
        for capability, site, org in session.execute(query).all()
    ]


def source_for(
    principal: Principal,
    capability: Capability,
    site: RegistrySite,
    organization: Organization,
    material: str,
    concern: Collection[str] = DEFAULT_CONCERN_COUNTRIES,
) -> Source:
    """``capability`` (at ``site`` of ``organization``) as a source of ``material``.

    Parameters
    ----------
    principal
        The reader (the marking's origin party).
    capability, site, organization
        Visible records.
    material
        The wanted material: an exact match when the capability names it.
    concern
        Country codes of concern.

    Returns
    -------
    Source
        The source, its headroom, delay, concern flag and combined marking.
    """
    specs = {marking_of(capability), marking_of(site), marking_of(organization)}
    return Source(
        capability=capability,
        site=site,
        organization=organization,
        match="material" if capability.material.lower() == material.strip().lower() else "capability",
        headroom=max(0.0, capability.capacity - capability.committed),
        delay=capability.qualification_weeks + capability.lead_time_weeks,
        concern=site.country.upper() in {c.upper() for c in concern},
        marking=combine(specs, principal.party),
    )


def find_sources(
    session: Session,
    principal: Principal,
    material: str,
    *,
    material_class: str = "",
    party: str | None = None,
    min_headroom: float = 0.0,
    concern: Collection[str] = DEFAULT_CONCERN_COUNTRIES,
    limit: int = 50,
) -> list[Source]:
    """Registry sites able to make ``material``, best first.

    A capability matches when it names the material (any case) or holds a code able to make it
    (:func:`setu.registry.codes.codes_for`, by the material or ``material_class``). Only capabilities
    the reader may see, at sites and firms they may see, are considered, in SQL.

    Ranking: sites in a country of concern last (they are listed, flagged, so an analyst sees the
    exposure, but never ahead of a clean source); then exact material matches before code matches;
    then firms in the SoSA code of conduct; then the most uncommitted capacity; then the shortest
    qualification plus lead time.

    Parameters
    ----------
    session
        The caller's session.
    principal
        The reader.
    material
        The wanted material.
    material_class
        Its class, to match codes covering the class.
    party
        Only firms of this party (the partner, say).
    min_headroom
        Only capabilities with at least this much uncommitted capacity per week.
    concern
        Country codes of concern (the API passes its ``SETU_CONCERN_COUNTRIES`` setting).
    limit
        At most this many sources.

    Returns
    -------
    list of Source
        Ranked sources.

    Raises
    ------
    setu.errors.InputError
        If ``material`` is empty or ``min_headroom``/``limit`` are out of range.
    """
    _, limit = page(0, limit)
    problems: list[Problem] = []
    min_headroom = number_field(problems, "min_headroom", min_headroom)
    if problems:
        raise InputError(problems)
    sources = matching_sources(
        session,
        principal,
        material,
        material_class=material_class,
        party=party,
        min_headroom=min_headroom,
        concern=concern,
    )
    sources.sort(key=Source.rank_key)
    record(
        session,
        principal,
        "registry.sources.search",
        "capability",
        "",
        details={"material": material, "material_class": material_class, "party": party, "found": len(sources)},
    )
    return sources[:limit]
