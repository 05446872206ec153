"""Registry sites and capabilities: kept current by their firms, read through the marking filter, searched for sources.

Who may write: an ``industry`` user for their own firm's sites, an ``admin`` for the firms of their own
party. Every write is audited and happens in the caller's transaction (the caller commits); a refused
write is audited as denied and committed at once. Every read filters sites, capabilities and their
firms in SQL with :func:`setu.sharing.policy.visible`: a record the reader may not see is answered
exactly as a missing one.

Markings: a site is by default unclassified and releasable to every party of the arrangement;
``proprietary`` makes it readable only by its firm and the government bodies of the firm's party.
A capability takes its site's marking unless given one, and is never less restrictive than its site.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import AccessDenied, InputError, MarkingError, NotFound, Problem
from setu.models.base import utcnow
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite
from setu.registry.codes import BY_CODE, FAMILIES, codes_for
from setu.settings import DEFAULT_CONCERN_COUNTRIES
from setu.sharing.markings import MarkingSpec, combine, store
from setu.sharing.policy import Principal, allows, visible
from setu.sharing.read import contains, fetch_visible, page
from setu.sharing.requested import release_parties
from setu.sharing.roles import check_role

__all__ = [
    "MATCH_WEIGHT",
    "WRITE_ROLES",
    "NotFound",
    "Source",
    "add_capability",
    "capability_counts",
    "create_site",
    "default_marking",
    "delete_capability",
    "delete_site",
    "find_sources",
    "get_capability",
    "get_site",
    "list_capabilities",
    "list_firms",
    "list_sites",
    "marking_of",
    "matching_sources",
    "may_write",
    "source_for",
    "update_capability",
    "update_site",
]

WRITE_ROLES = ("industry", "admin")
MATCH_WEIGHT = {"material": 1.0, "capability": 0.6}
"""How well a capability matches a wanted material: it makes that very material, or only holds a code
able to make it (a new part for the site, so less certain)."""
SITE_FIELDS = ("name", "country", "region", "latitude", "longitude", "chokepoints")
CAPABILITY_FIELDS = (
    "code",
    "material",
    "capacity",
    "committed",
    "unit",
    "lead_time_weeks",
    "qualification_weeks",
    "notes",
)
_LIMITS = {"name": 200, "country": 8, "region": 200, "material": 200, "unit": 32, "notes": 4000}


# --- markings and permissions -------------------------------------------------------------------------


def default_marking(session: Session, principal: Principal, *, owner: Organization | None = None) -> MarkingSpec:
    """Unclassified, releasable to every party; proprietary to ``owner`` when given.

    Parameters
    ----------
    session
        Any session (parties are read from it).
    principal
        The writer: their party is the marking's origin.
    owner
        The firm the record is proprietary to, if any.

    Returns
    -------
    MarkingSpec
        The marking.
    """
    parties = frozenset(p.code for p in release_parties(session)) | {principal.party}
    owners = frozenset({(owner.id, owner.party_code)}) if owner is not None else frozenset()
    return MarkingSpec(classification=0, origin_party=principal.party, releases=parties, owners=owners)


def marking_of(record_: RegistrySite | Capability | Organization) -> MarkingSpec:
    """The marking value of a stored registry record.

    Parameters
    ----------
    record_
        A site, capability or organization.

    Returns
    -------
    MarkingSpec
        Its marking.
    """
    return MarkingSpec.of(record_.marking)


def _deny_write(session: Session, principal: Principal, action: str, key: object, reason: str) -> AccessDenied:
    record(session, principal, action, "registry", str(key), decision="deny", details={"reason": reason})
    session.commit()
    return AccessDenied(reason)


def may_write(principal: Principal, org: Organization) -> bool:
    """Whether ``principal`` may keep ``org``'s registry entries current (pages show write forms only then).

    Parameters
    ----------
    principal
        The would-be writer.
    org
        The firm.

    Returns
    -------
    bool
        An ``industry`` user of that firm, or an ``admin`` of its party.
    """
    own_firm = "industry" in principal.roles and principal.org_id == org.id
    own_party = "admin" in principal.roles and principal.party == org.party_code
    return own_firm or own_party


def _check_writer(session: Session, principal: Principal, org: Organization, action: str, key: object) -> None:
    """Refuse (audited) unless ``principal`` may keep ``org``'s registry entries current."""
    try:
        check_role(principal, *WRITE_ROLES)
    except AccessDenied as exc:
        raise _deny_write(session, principal, action, key, str(exc)) from None
    if not may_write(principal, org):
        reason = (
            f"you may not change the registry entries of {org.name!r}: industry users keep their own firm's "
            "sites, admins those of their own party's firms"
        )
        raise _deny_write(session, principal, action, key, reason)


def _check_marking(session: Session, principal: Principal, spec: MarkingSpec, action: str, key: object) -> None:
    if not allows(principal, spec):
        record(
            session,
            principal,
            action,
            "registry",
            str(key),
            decision="deny",
            details={"reason": "marking not readable by the writer", "marking": spec.banner()},
        )
        session.commit()
        raise MarkingError(f"you may not mark records {spec.banner()}: you could not read them yourself")


def _visible_org(session: Session, principal: Principal, org_id: int, action: str) -> Organization:
    return fetch_visible(
        session,
        principal,
        Organization,
        [Organization.id == org_id],
        action=action,
        kind="organization",
        key=org_id,
        audit_permit=False,
    )


# --- input checks ---------------------------------------------------------------------------------------


def _text(problems: list[Problem], field: str, value: Any, *, required: bool = False) -> str:
    if not isinstance(value, str):
        problems.append(Problem(field, f"expected text, got {type(value).__name__}"))
        return ""
    text: str = value.strip()
    if required and not text:
        problems.append(Problem(field, "must not be empty"))
    if "\x00" in text:
        problems.append(Problem(field, "must not contain NUL characters"))
    limit = _LIMITS.get(field)
    if limit is not None and len(text) > limit:
        problems.append(Problem(field, f"at most {limit} characters, got {len(text)}"))
    return text


def _number(problems: list[Problem], field: str, value: Any, lo: float | None = 0.0, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(Problem(field, f"expected a finite number, got {value!r}"))
        return 0.0
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f">= {lo:g}" if hi is None else f"between {lo:g} and {hi:g}"
        problems.append(Problem(field, f"must be {bounds}, got {value!r}"))
    return float(value)


def _site_values(changes: dict[str, Any]) -> dict[str, Any]:
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "name":
            out[field] = _text(problems, field, value, required=True)
        elif field == "country":
            country = _text(problems, field, value).upper()
            if country and not (country.isascii() and country.isalpha() and len(country) in (2, 3)):
                problems.append(Problem(field, f"expected an ISO 3166 country code such as IN or US, got {value!r}"))
            out[field] = country
        elif field == "region":
            out[field] = _text(problems, field, value)
        elif field in ("latitude", "longitude"):
            limit = 90.0 if field == "latitude" else 180.0
            out[field] = None if value is None else _number(problems, field, value, -limit, limit)
        elif field == "chokepoints":
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                problems.append(Problem(field, "expected a list of chokepoint names"))
            else:
                out[field] = sorted({v.strip() for v in value if v.strip()})
        else:
            problems.append(Problem(field, f"not a site field; expected one of {', '.join(SITE_FIELDS)}"))
    if problems:
        raise InputError(problems)
    return out


def _capability_values(changes: dict[str, Any], current: Capability | None = None) -> dict[str, Any]:
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "code":
            code = _text(problems, field, value, required=True).upper()
            if code and code not in BY_CODE:
                problems.append(
                    Problem(field, f"unknown capability code {value!r}; see docs/registry.md (families "
                            f"{', '.join(FAMILIES)})")
                )  # fmt: skip
            out[field] = code
        elif field == "material":
            out[field] = _text(problems, field, value, required=True)
        elif field in ("unit", "notes"):
            out[field] = _text(problems, field, value)
        elif field in ("capacity", "committed", "lead_time_weeks", "qualification_weeks"):
            out[field] = _number(problems, field, value)
        else:
            problems.append(Problem(field, f"not a capability field; expected one of {', '.join(CAPABILITY_FIELDS)}"))
    capacity = out.get("capacity", current.capacity if current is not None else 0.0)
    committed = out.get("committed", current.committed if current is not None else 0.0)
    if not problems and committed > capacity:
        problems.append(Problem("committed", f"must not exceed capacity ({capacity:g}), got {committed:g}"))
    if problems:
        raise InputError(problems)
    return out


# --- sites ----------------------------------------------------------------------------------------------


def _site_conditions(principal: Principal) -> list[ColumnElement[bool]]:
    """A site is visible when it and its organization are."""
    return [
        visible(RegistrySite.marking_id, principal),
        RegistrySite.organization_id.in_(select(Organization.id).where(visible(Organization.marking_id, principal))),
    ]


def create_site(
    session: Session,
    principal: Principal,
    organization_id: int,
    *,
    name: str,
    country: str = "",
    region: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    chokepoints: Sequence[str] = (),
    marking: MarkingSpec | None = None,
    proprietary: bool = False,
) -> RegistrySite:
    """Add a site of firm ``organization_id`` to the registry.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The writer: an industry user of that firm, or an admin of its party.
    organization_id
        The firm.
    name, country, region, latitude, longitude, chokepoints
        The site; ``name`` is unique per firm, ``country`` an ISO 3166 code.
    marking
        Its marking (default: unclassified, releasable to every party).
    proprietary
        Make it proprietary to the firm as well (added to ``marking``'s owners).

    Returns
    -------
    RegistrySite
        The stored site (flushed).

    Raises
    ------
    NotFound
        If there is no such organization or the writer may not see it.
    setu.accounts.errors.AccessDenied
        If the writer may not keep that firm's sites (audited as denied).
    setu.networks.service.MarkingError
        If the writer could not read the marking they assign.
    setu.errors.InputError
        Naming each bad field, a non-firm organization, or a site name the firm already uses.
    """
    action = "registry.site.create"
    org = _visible_org(session, principal, organization_id, action)
    _check_writer(session, principal, org, action, organization_id)
    values = _site_values(
        {
            "name": name,
            "country": country,
            "region": region,
            "latitude": latitude,
            "longitude": longitude,
            "chokepoints": list(chokepoints),
        }
    )
    if org.kind != "firm":
        message = f"organization {org.name!r} is a {org.kind}; the registry holds firms' sites"
        raise InputError(message, "organization_id")
    taken = session.scalar(
        select(func.count()).where(
            RegistrySite.organization_id == org.id, func.lower(RegistrySite.name) == values["name"].lower()
        )
    )
    if taken:
        raise InputError(f"{org.name!r} already has a site named {values['name']!r}", "name")
    spec = _with_owner(marking or default_marking(session, principal), org, proprietary)
    _check_marking(session, principal, spec, action, organization_id)
    site = RegistrySite(
        organization_id=org.id, updated_by=principal.user_id, marking_id=store(session, spec).id, **values
    )
    session.add(site)
    session.flush()
    record(session, principal, action, "registry_site", site.id, details={"organization_id": org.id, **values})
    return site


def _with_owner(spec: MarkingSpec, org: Organization, proprietary: bool) -> MarkingSpec:
    if not proprietary:
        return spec
    return MarkingSpec(
        classification=spec.classification,
        origin_party=spec.origin_party,
        releases=spec.releases,
        national_only=spec.national_only,
        owners=spec.owners | {(org.id, org.party_code)},
        groups=spec.groups,
    )


def get_site(
    session: Session, principal: Principal, site_id: int, *, action: str = "registry.site.read"
) -> RegistrySite:
    """The site ``site_id``.

    Raises
    ------
    NotFound
        If there is no such site, or the reader may not see it or its firm (audited as denied).
    """
    return fetch_visible(
        session,
        principal,
        RegistrySite,
        [RegistrySite.id == site_id, *_site_conditions(principal)[1:]],
        action=action,
        kind="site",
        key=site_id,
        audit_permit=action == "registry.site.read",
    )


def update_site(
    session: Session,
    principal: Principal,
    site_id: int,
    changes: dict[str, Any],
    *,
    marking: MarkingSpec | None = None,
    proprietary: bool | None = None,
) -> RegistrySite:
    """Change fields of a site (any of name, country, region, latitude, longitude, chokepoints).

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The writer (see :func:`create_site`).
    site_id
        The site.
    changes
        Field -> new value.
    marking
        A new marking, if any.
    proprietary
        ``True``/``False`` adds or removes the firm as owner; ``None`` leaves it.

    Returns
    -------
    RegistrySite
        The changed site (flushed).

    Raises
    ------
    NotFound
        If the site does not exist or the writer may not see it.
    setu.accounts.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    setu.errors.InputError
        Naming each bad field.
    """
    action = "registry.site.update"
    site = get_site(session, principal, site_id, action=action)
    org = _visible_org(session, principal, site.organization_id, action)
    _check_writer(session, principal, org, action, site_id)
    values = _site_values(dict(changes))
    if "name" in values and values["name"].lower() != site.name.lower():
        taken = session.scalar(
            select(func.count()).where(
                RegistrySite.organization_id == org.id, func.lower(RegistrySite.name) == values["name"].lower()
            )
        )
        if taken:
            raise InputError(f"{org.name!r} already has a site named {values['name']!r}", "name")
    details: dict[str, Any] = dict(values)
    if marking is not None or proprietary is not None:
        spec = marking or marking_of(site)
        if proprietary is False:
            spec = MarkingSpec(
                spec.classification, spec.origin_party, spec.releases, spec.national_only, frozenset(), spec.groups
            )
        spec = _with_owner(spec, org, bool(proprietary))
        _check_marking(session, principal, spec, action, site_id)
        site.marking_id = store(session, spec).id
        details["marking"] = spec.banner()
    for field, value in values.items():
        setattr(site, field, value)
    site.updated_by = principal.user_id
    site.updated_at = utcnow()
    session.flush()
    record(session, principal, action, "registry_site", site.id, details=details)
    return site


def delete_site(session: Session, principal: Principal, site_id: int) -> None:
    """Remove a site and its capabilities.

    Raises
    ------
    NotFound
        If the site does not exist or the writer may not see it.
    setu.accounts.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    """
    action = "registry.site.delete"
    site = get_site(session, principal, site_id, action=action)
    org = _visible_org(session, principal, site.organization_id, action)
    _check_writer(session, principal, org, action, site_id)
    removed = session.execute(delete(Capability).where(Capability.site_id == site.id))
    session.delete(site)
    session.flush()
    record(
        session,
        principal,
        action,
        "registry_site",
        site_id,
        details={"name": site.name, "capabilities": getattr(removed, "rowcount", None)},
    )


def list_sites(
    session: Session,
    principal: Principal,
    *,
    organization_id: int | None = None,
    party: str | None = None,
    country: str | None = None,
    text: str = "",
    code: str | None = None,
    code_of_conduct: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[RegistrySite], int]:
    """Visible sites, by firm and name, filtered and paged in SQL.

    Parameters
    ----------
    organization_id, party, country
        Only sites of this firm, of this party's firms, in this country.
    text
        Case-insensitive text in the site's name or region.
    code
        Only sites with a visible capability of this code, or of any code of this family (``MET``).
    code_of_conduct
        Only sites of firms in their party's SoSA code of conduct.
    offset, limit
        The page.

    Returns
    -------
    tuple[list[RegistrySite], int]
        The page and how many visible sites match in all.
    """
    offset, limit = page(offset, limit)
    conditions = _site_conditions(principal)
    if organization_id is not None:
        conditions.append(RegistrySite.organization_id == organization_id)
    if party:
        conditions.append(
            RegistrySite.organization_id.in_(select(Organization.id).where(Organization.party_code == party.upper()))
        )
    if country:
        conditions.append(RegistrySite.country == country.upper())
    if text:
        conditions.append(or_(contains(RegistrySite.name, text), contains(RegistrySite.region, text)))
    if code:
        holding = select(Capability.site_id).where(*_capability_conditions(principal), _code_condition(code))
        conditions.append(RegistrySite.id.in_(holding))
    if code_of_conduct:
        conditions.append(
            RegistrySite.organization_id.in_(select(Organization.id).where(Organization.code_of_conduct.is_(True)))
        )
    total = session.scalar(select(func.count()).select_from(RegistrySite).where(*conditions)) or 0
    rows = session.scalars(
        select(RegistrySite)
        .where(*conditions)
        .order_by(RegistrySite.organization_id, RegistrySite.name, RegistrySite.id)
        .offset(offset)
        .limit(limit)
    ).all()
    record(
        session,
        principal,
        "registry.site.list",
        "registry_site",
        "",
        details={
            "organization_id": organization_id,
            "party": party,
            "country": country,
            "text": text,
            "code": code,
            "code_of_conduct": code_of_conduct,
            "total": total,
        },
    )
    return list(rows), total


def list_firms(session: Session, principal: Principal, *, party: str | None = None) -> list[Organization]:
    """The visible organizations of kind ``firm`` (those the registry holds sites of), by party and name.

    Parameters
    ----------
    session
        The caller's session.
    principal
        The reader.
    party
        Only this party's firms.

    Returns
    -------
    list of Organization
        The firms.
    """
    conditions = [Organization.kind == "firm", visible(Organization.marking_id, principal)]
    if party:
        conditions.append(Organization.party_code == party.strip().upper())
    return list(
        session.scalars(select(Organization).where(*conditions).order_by(Organization.party_code, Organization.name))
    )


# --- capabilities ---------------------------------------------------------------------------------------


def _capability_conditions(principal: Principal) -> list[ColumnElement[bool]]:
    """A capability is visible when it, its site and its site's firm are."""
    sites = select(RegistrySite.id).where(*_site_conditions(principal))
    return [visible(Capability.marking_id, principal), Capability.site_id.in_(sites)]


def add_capability(
    session: Session,
    principal: Principal,
    site_id: int,
    *,
    code: str,
    material: str,
    capacity: float,
    committed: float = 0.0,
    unit: str = "",
    lead_time_weeks: float = 0.0,
    qualification_weeks: float = 0.0,
    notes: str = "",
    marking: MarkingSpec | None = None,
) -> Capability:
    """Record what a site can make.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The writer (see :func:`create_site`).
    site_id
        The site.
    code
        A capability code of :mod:`setu.registry.codes`.
    material
        The material (as networks name it, e.g. ``rotor_disc``).
    capacity, committed
        Units per week the site can make, and those already committed (<= capacity).
    unit
        The unit of ``capacity``.
    lead_time_weeks
        Weeks from order to delivery.
    qualification_weeks
        Weeks a new customer needs to qualify the site.
    notes
        Free text.
    marking
        Its marking (default: the site's); combined with the site's, so never less restrictive.

    Returns
    -------
    Capability
        The stored capability (flushed).

    Raises
    ------
    NotFound
        If the site does not exist or the writer may not see it.
    setu.accounts.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    setu.errors.InputError
        Naming each bad field (unknown code, negative numbers, committed above capacity, a repeated
        code and material at this site).
    """
    action = "registry.capability.create"
    site = get_site(session, principal, site_id, action=action)
    org = _visible_org(session, principal, site.organization_id, action)
    _check_writer(session, principal, org, action, site_id)
    values = _capability_values(
        {
            "code": code,
            "material": material,
            "capacity": capacity,
            "committed": committed,
            "unit": unit,
            "lead_time_weeks": lead_time_weeks,
            "qualification_weeks": qualification_weeks,
            "notes": notes,
        }
    )
    _check_unique(session, site.id, values["code"], values["material"], None)
    site_spec = marking_of(site)
    spec = site_spec if marking is None else combine({site_spec, marking}, principal.party)
    _check_marking(session, principal, spec, action, site_id)
    capability = Capability(site_id=site.id, marking_id=store(session, spec).id, **values)
    session.add(capability)
    session.flush()
    details = {"site_id": site.id, **{k: v for k, v in values.items() if k != "notes"}}
    record(session, principal, action, "capability", capability.id, details=details)
    return capability


def _check_unique(session: Session, site_id: int, code: str, material: str, own_id: int | None) -> None:
    query = select(func.count()).where(
        Capability.site_id == site_id, Capability.code == code, func.lower(Capability.material) == material.lower()
    )
    if own_id is not None:
        query = query.where(Capability.id != own_id)
    if session.scalar(query):
        raise InputError(f"the site already lists {code} for {material!r}", "material")


def get_capability(
    session: Session, principal: Principal, capability_id: int, *, action: str = "registry.capability.read"
) -> Capability:
    """The capability ``capability_id``.

    Raises
    ------
    NotFound
        If there is none, or the reader may not see it, its site or its firm (audited as denied).
    """
    return fetch_visible(
        session,
        principal,
        Capability,
        [Capability.id == capability_id, *_capability_conditions(principal)[1:]],
        action=action,
        kind="capability",
        key=capability_id,
        audit_permit=action == "registry.capability.read",
    )


def update_capability(
    session: Session, principal: Principal, capability_id: int, changes: dict[str, Any]
) -> Capability:
    """Change fields of a capability (capacity and commitments as they move, lead and qualification times ...).

    Raises
    ------
    NotFound
        If it does not exist or the writer may not see it.
    setu.accounts.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    setu.errors.InputError
        Naming each bad field.
    """
    action = "registry.capability.update"
    capability = get_capability(session, principal, capability_id, action=action)
    site = session.get(RegistrySite, capability.site_id)
    assert site is not None
    org = _visible_org(session, principal, site.organization_id, action)
    _check_writer(session, principal, org, action, capability_id)
    values = _capability_values(dict(changes), capability)
    code = values.get("code", capability.code)
    material = values.get("material", capability.material)
    _check_unique(session, site.id, code, material, capability.id)
    for field, value in values.items():
        setattr(capability, field, value)
    site.updated_by = principal.user_id
    site.updated_at = utcnow()
    session.flush()
    record(session, principal, action, "capability", capability_id, details=values)
    return capability


def delete_capability(session: Session, principal: Principal, capability_id: int) -> None:
    """Remove a capability.

    Raises
    ------
    NotFound
        If it does not exist or the writer may not see it.
    setu.accounts.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    """
    action = "registry.capability.delete"
    capability = get_capability(session, principal, capability_id, action=action)
    site = session.get(RegistrySite, capability.site_id)
    assert site is not None
    org = _visible_org(session, principal, site.organization_id, action)
    _check_writer(session, principal, org, action, capability_id)
    details = {"site_id": site.id, "code": capability.code, "material": capability.material}
    session.delete(capability)
    session.flush()
    record(session, principal, action, "capability", capability_id, details=details)


def list_capabilities(
    session: Session,
    principal: Principal,
    *,
    site_id: int | None = None,
    code: str | None = None,
    material: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[Capability], int]:
    """Visible capabilities, by site, code and material, filtered and paged in SQL.

    Parameters
    ----------
    site_id
        Only this site's.
    code
        Only this code, or every code of a family (``MET``).
    material
        Only this material (case-insensitive).
    offset, limit
        The page.

    Returns
    -------
    tuple[list[Capability], int]
        The page and how many visible capabilities match in all.
    """
    offset, limit = page(offset, limit)
    conditions = _capability_conditions(principal)
    if site_id is not None:
        conditions.append(Capability.site_id == site_id)
    if code:
        conditions.append(_code_condition(code))
    if material:
        conditions.append(func.lower(Capability.material) == material.strip().lower())
    total = session.scalar(select(func.count()).select_from(Capability).where(*conditions)) or 0
    rows = session.scalars(
        select(Capability)
        .where(*conditions)
        .order_by(Capability.site_id, Capability.code, Capability.material, Capability.id)
        .offset(offset)
        .limit(limit)
    ).all()
    record(
        session,
        principal,
        "registry.capability.list",
        "capability",
        "",
        details={"site_id": site_id, "code": code, "material": material, "total": total},
    )
    return list(rows), total


def _code_condition(code: str) -> ColumnElement[bool]:
    """A capability of this code, or of any code of this family."""
    wanted = code.strip().upper()
    family = [c for c in BY_CODE if c.split("-", 1)[0] == wanted]
    return Capability.code.in_(family) if family else Capability.code == wanted


def capability_counts(session: Session, principal: Principal, site_ids: Collection[int]) -> dict[int, int]:
    """How many capabilities the reader may see at each of ``site_ids``, counted in SQL.

    Parameters
    ----------
    session
        The caller's session.
    principal
        The reader.
    site_ids
        Sites (ids of sites the reader may not see count 0).

    Returns
    -------
    dict[int, int]
        Site id -> visible capabilities (every id of ``site_ids`` is a key).
    """
    counts = dict.fromkeys(site_ids, 0)
    if counts:
        rows = session.execute(
            select(Capability.site_id, func.count())
            .where(*_capability_conditions(principal), Capability.site_id.in_(list(counts)))
            .group_by(Capability.site_id)
        ).all()
        counts.update({site_id: int(n) for site_id, n in rows})
    return counts


# --- sources --------------------------------------------------------------------------------------------


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
    conditions = [
        *_capability_conditions(principal),
        or_(func.lower(Capability.material) == wanted.lower(), Capability.code.in_(codes)),
        Capability.capacity - Capability.committed >= min_headroom,
    ]
    query = (
        select(Capability, RegistrySite, Organization)
        .join(RegistrySite, RegistrySite.id == Capability.site_id)
        .join(Organization, Organization.id == RegistrySite.organization_id)
        .where(*conditions)
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
    min_headroom = _number(problems, "min_headroom", min_headroom)
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
