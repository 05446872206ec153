"""Registry capabilities: what each site can make, at what capacity and lead time, read through the marking filter.

Every write is audited and happens in the caller's transaction (the caller commits); see
:mod:`setu.registry.access` for who may write and read. A capability is never less restrictive than its site.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError
from setu.models.base import utcnow
from setu.models.registry import Capability
from setu.registry.access import (
    at_visible_site,
    capability_values,
    check_marking,
    check_writer,
    code_condition,
    marking_of,
)
from setu.registry.sites import site_and_firm
from setu.sharing.markings import MarkingSpec, combine, store
from setu.sharing.policy import Principal
from setu.sharing.read import count_readable, count_unfiltered, fetch_visible, page, readable


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
    setu.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    setu.errors.InputError
        Naming each bad field (unknown code, negative numbers, committed above capacity, a repeated
        code and material at this site).
    """
    action = "registry.capability.create"
    site, org = site_and_firm(session, principal, site_id, action=action)
    check_writer(session, principal, org, action, site_id)
    values = capability_values(
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
    check_marking(session, principal, spec, action, site_id)
    capability = Capability(site_id=site.id, marking_id=store(session, spec).id, **values)
    session.add(capability)
    session.flush()
    details = {"site_id": site.id, **{k: v for k, v in values.items() if k != "notes"}}
    record(session, principal, action, "capability", capability.id, details=details)
    return capability


def _check_unique(session: Session, site_id: int, code: str, material: str, own_id: int | None) -> None:
    """Refuse a second capability of the same code and material (any case) at one site."""
    conditions = [
        Capability.site_id == site_id,
        Capability.code == code,
        func.lower(Capability.material) == material.lower(),
    ]
    if own_id is not None:
        conditions.append(Capability.id != own_id)
    # A uniqueness check before a write: a capability the writer may not see still holds its code and material.
    if count_unfiltered(session, Capability, *conditions):
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
        [Capability.id == capability_id, at_visible_site(principal)],
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
    setu.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    setu.errors.InputError
        Naming each bad field.
    """
    action = "registry.capability.update"
    capability = get_capability(session, principal, capability_id, action=action)
    # get_capability only answers a capability whose site and firm the reader sees.
    site, org = site_and_firm(session, principal, capability.site_id, action=action)
    check_writer(session, principal, org, action, capability_id)
    values = capability_values(dict(changes), capability)
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
    setu.errors.AccessDenied
        If the writer may not keep this firm's sites (audited as denied).
    """
    action = "registry.capability.delete"
    capability = get_capability(session, principal, capability_id, action=action)
    # get_capability only answers a capability whose site and firm the reader sees.
    site, org = site_and_firm(session, principal, capability.site_id, action=action)
    check_writer(session, principal, org, action, capability_id)
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
    conditions = [at_visible_site(principal)]
    if site_id is not None:
        conditions.append(Capability.site_id == site_id)
    if code:
        conditions.append(code_condition(code))
    if material:
        conditions.append(func.lower(Capability.material) == material.strip().lower())
    total = count_readable(session, principal, Capability, *conditions)
    rows = session.scalars(
        readable(principal, Capability)
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
            readable(principal, Capability.site_id, func.count())
            .where(at_visible_site(principal), Capability.site_id.in_(list(counts)))
            .group_by(Capability.site_id)
        ).all()
        counts.update({site_id: int(n) for site_id, n in rows})
    return counts
