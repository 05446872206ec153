"""Registry sites: a firm's facilities, added, read, changed and removed, listed through the marking filter.

Every write is audited and happens in the caller's transaction (the caller commits); see
:mod:`setu.registry.access` for who may write and read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import Conflict, InputError
from setu.models.base import utcnow
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite
from setu.registry.access import (
    check_marking,
    check_writer,
    code_condition,
    default_marking,
    marking_of,
    of_visible_firm,
    site_values,
    visible_capability_site_ids,
    visible_firm_ids,
    visible_org,
)
from setu.sharing.changes import check_marking_change
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.policy import Principal
from setu.sharing.read import contains, count_readable, count_unfiltered, fetch_visible, page, readable


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
        Its marking (default: unclassified, national-only to the writer's party, proprietary to the firm).
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
    setu.errors.AccessDenied
        If the writer may not keep that firm's sites (audited as denied).
    setu.errors.MarkingError
        If the writer could not read the marking they assign, or it is wider than the default and the
        writer is not its authority (an admin of a government body of the writer's party).
    setu.errors.InputError
        Naming each bad field, a non-firm organization, or a site name the firm already uses.
    """
    action = "registry.site.create"
    org = visible_org(session, principal, organization_id, action)
    check_writer(session, principal, org, action, organization_id)
    values = site_values(
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
    _check_name_free(session, org, values["name"])
    default = default_marking(principal, org)
    spec = _with_owner(marking or default, org, proprietary)
    check_marking(session, principal, spec, action, organization_id)
    # Anything wider than the restrictive default is a release: its authority's alone, also at creation
    # (else deleting a site and adding it again would lower its marking).
    released = check_marking_change(
        session, principal, default, spec, action=action, kind="registry_site", key=organization_id, audit_release=False
    )
    site = RegistrySite(
        organization_id=org.id, updated_by=principal.user_id, marking_id=store(session, spec).id, **values
    )
    session.add(site)
    session.flush()
    record(session, principal, action, "registry_site", site.id, details={"organization_id": org.id, **values})
    if released:
        details = {"old": default.banner(), "new": spec.banner()}
        record(session, principal, "registry.site.release", "registry_site", site.id, details=details)
    return site


def _check_name_free(session: Session, org: Organization, name: str) -> None:
    """Refuse a site name the firm already uses (any case)."""
    # A uniqueness check before a write: a site the writer may not see still holds its name.
    if count_unfiltered(
        session, RegistrySite, RegistrySite.organization_id == org.id, func.lower(RegistrySite.name) == name.lower()
    ):
        raise InputError(f"{org.name!r} already has a site named {name!r}", "name")


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
        [RegistrySite.id == site_id, of_visible_firm(principal)],
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
        ``True``/``False`` adds or removes the firm as owner; ``None`` keeps the old owners.

    Returns
    -------
    RegistrySite
        The changed site (flushed).

    Raises
    ------
    NotFound
        If the site does not exist or the writer may not see it.
    setu.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    setu.errors.MarkingError
        If the writer could not read the new marking, or it lowers the old one and the writer is not
        its authority (audited as denied; a lowering by the authority is audited as a release).
    setu.errors.InputError
        Naming each bad field.
    """
    action = "registry.site.update"
    site = get_site(session, principal, site_id, action=action)
    org = visible_org(session, principal, site.organization_id, action)
    check_writer(session, principal, org, action, site_id)
    values = site_values(dict(changes))
    if "name" in values and values["name"].lower() != site.name.lower():
        _check_name_free(session, org, values["name"])
    details: dict[str, Any] = dict(values)
    if marking is not None or proprietary is not None:
        old = marking_of(site)
        spec = _changed_marking(old, marking, org, proprietary)
        check_marking(session, principal, spec, action, site_id)
        if check_marking_change(session, principal, old, spec, action=action, kind="registry_site", key=site_id):
            details["released"] = True
        site.marking_id = store(session, spec).id
        details["marking"] = spec.banner()
    for field, value in values.items():
        setattr(site, field, value)
    site.updated_by = principal.user_id
    site.updated_at = utcnow()
    session.flush()
    record(session, principal, action, "registry_site", site.id, details=details)
    return site


def _changed_marking(
    old: MarkingSpec, marking: MarkingSpec | None, org: Organization, proprietary: bool | None
) -> MarkingSpec:
    """The marking a site update asks for: ``marking`` (default the old one), with the firm as owner or not.

    ``proprietary=None`` keeps the old owners, so a new marking that does not mention them cannot drop
    them unnoticed; ``False`` removes every owner and ``True`` adds the firm.
    """
    spec = marking or old
    if proprietary is None:
        return dataclasses.replace(spec, owners=spec.owners | old.owners)
    if proprietary is False:
        return dataclasses.replace(spec, owners=frozenset())
    return _with_owner(spec, org, True)


def delete_site(session: Session, principal: Principal, site_id: int) -> None:
    """Remove a site and its capabilities, all of which the writer must be able to read.

    Raises
    ------
    NotFound
        If the site does not exist or the writer may not see it.
    setu.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    setu.errors.Conflict
        If the site holds a capability the writer cannot see (409, audited as denied, no count given).
    """
    action = "registry.site.delete"
    site = get_site(session, principal, site_id, action=action)
    org = visible_org(session, principal, site.organization_id, action)
    check_writer(session, principal, org, action, site_id)
    # No write touches what the writer cannot read: a site holding capabilities hidden from the writer
    # stays, and neither the answer nor the audit entry says how many there are.
    capabilities = session.scalars(readable(principal, Capability).where(Capability.site_id == site.id)).all()
    if count_unfiltered(session, Capability, Capability.site_id == site.id) > len(capabilities):
        reason = "the site has dependent records you cannot see"
        record(session, principal, action, "registry_site", site_id, decision="deny", details={"reason": reason})
        session.commit()
        raise Conflict(
            f"site {site_id} cannot be removed: {reason}; only someone who may read all of them may remove it"
        )
    for capability in capabilities:
        session.delete(capability)
    session.flush()
    session.delete(site)
    session.flush()
    record(
        session,
        principal,
        action,
        "registry_site",
        site_id,
        details={"name": site.name, "capabilities": len(capabilities)},
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
    conditions = [of_visible_firm(principal)]
    if organization_id is not None:
        conditions.append(RegistrySite.organization_id == organization_id)
    if party:
        conditions.append(
            RegistrySite.organization_id.in_(
                visible_firm_ids(principal).where(Organization.party_code == party.upper())
            )
        )
    if country:
        conditions.append(RegistrySite.country == country.upper())
    if text:
        conditions.append(or_(contains(RegistrySite.name, text), contains(RegistrySite.region, text)))
    if code:
        conditions.append(RegistrySite.id.in_(visible_capability_site_ids(principal).where(code_condition(code))))
    if code_of_conduct:
        conditions.append(
            RegistrySite.organization_id.in_(visible_firm_ids(principal).where(Organization.code_of_conduct.is_(True)))
        )
    total = count_readable(session, principal, RegistrySite, *conditions)
    rows = session.scalars(
        readable(principal, RegistrySite)
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
    query = readable(principal, Organization).where(Organization.kind == "firm")
    if party:
        query = query.where(Organization.party_code == party.strip().upper())
    return list(session.scalars(query.order_by(Organization.party_code, Organization.name)))


def firms_of(session: Session, principal: Principal, sites: Collection[RegistrySite]) -> dict[int, Organization]:
    """The firms of ``sites`` the reader may see, by id, read in one query.

    Parameters
    ----------
    session
        The caller's session.
    principal
        The reader.
    sites
        Sites the reader was answered (their firms are visible, or the sites would not have been).

    Returns
    -------
    dict[int, Organization]
        Organization id -> firm.
    """
    ids = {site.organization_id for site in sites}
    if not ids:
        return {}
    return {org.id: org for org in session.scalars(readable(principal, Organization).where(Organization.id.in_(ids)))}


def firm_of(session: Session, principal: Principal, site: RegistrySite) -> Organization:
    """The firm of a site the reader was answered (a site is answered only when its firm is visible).

    Raises
    ------
    NotFound
        If the reader may not see the firm after all (audited as denied).
    """
    return visible_org(session, principal, site.organization_id, "registry.site.read")


def site_and_firm(
    session: Session, principal: Principal, site_id: int, *, action: str
) -> tuple[RegistrySite, Organization]:
    """The site ``site_id`` and its firm, both visible to the reader (no audit entry when they are).

    Raises
    ------
    NotFound
        If the site or its firm does not exist or the reader may not see it (audited as denied under ``action``).
    """
    site = get_site(session, principal, site_id, action=action)
    return site, visible_org(session, principal, site.organization_id, action)
