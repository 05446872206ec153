"""Who may read and write registry records: markings, writers' permissions, the visibility filter and input checks.

Who may write: an ``industry`` user for their own firm's sites, an ``admin`` for the firms of their own
party; a refused write is audited as denied and committed at once. Who may read: a site is visible when
it and its firm are, a capability when it, its site and its firm are; every read starts from
:func:`setu.sharing.read.readable`, so a record the reader may not see is answered exactly as a missing one.

Markings: a site created without one is restrictive by default: unclassified, national-only to the
writer's party and proprietary to its firm (readable only by the firm and its own government), never
released to the other party unless someone asks for it. A capability takes its site's marking unless
given one, and is never less restrictive than its site. Lowering a marking is its authority's alone
(:func:`setu.sharing.changes.check_marking_change`).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import AccessDenied, InputError, MarkingError, Problem
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite
from setu.registry.codes import BY_CODE, FAMILIES
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal, allows
from setu.sharing.read import fetch_visible, readable
from setu.sharing.roles import check_role

WRITE_ROLES = ("industry", "admin")
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


def default_marking(principal: Principal, owner: Organization) -> MarkingSpec:
    """The marking of a record created without one: national-only to the writer's party, proprietary to ``owner``.

    Restrictive by default: releasing the record further is a decision someone makes by asking for a
    marking, never what happens when they forget to.

    Parameters
    ----------
    principal
        The writer: their party is the marking's origin and its only release.
    owner
        The firm the record belongs to.

    Returns
    -------
    MarkingSpec
        The marking.
    """
    return MarkingSpec(
        classification=0,
        origin_party=principal.party,
        releases=frozenset({principal.party}),
        national_only=True,
        owners=frozenset({(owner.id, owner.party_code)}),
    )


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


def check_writer(session: Session, principal: Principal, org: Organization, action: str, key: object) -> None:
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


def check_marking(session: Session, principal: Principal, spec: MarkingSpec, action: str, key: object) -> None:
    """Refuse (audited) a marking the writer could not read themselves."""
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


def visible_org(session: Session, principal: Principal, org_id: int, action: str) -> Organization:
    """The organization ``org_id`` if the reader may see it (no audit entry when they may).

    Raises
    ------
    NotFound
        If there is none or the reader may not see it (audited as denied under ``action``).
    """
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


# --- what a reader may see ------------------------------------------------------------------------------


def visible_firm_ids(principal: Principal) -> Select[Any]:
    """``SELECT`` the ids of the organizations ``principal`` may see."""
    return readable(principal, Organization.id)


def of_visible_firm(principal: Principal) -> ColumnElement[bool]:
    """A site's firm is visible (the site's own marking is filtered by ``readable``)."""
    return RegistrySite.organization_id.in_(visible_firm_ids(principal))


def visible_site_ids(principal: Principal) -> Select[Any]:
    """``SELECT`` the ids of the sites ``principal`` may see: the site and its firm both readable."""
    return readable(principal, RegistrySite.id).where(of_visible_firm(principal))


def at_visible_site(principal: Principal) -> ColumnElement[bool]:
    """A capability's site and its firm are visible (its own marking is filtered by ``readable``)."""
    return Capability.site_id.in_(visible_site_ids(principal))


def visible_capability_site_ids(principal: Principal) -> Select[Any]:
    """``SELECT`` the site ids of the capabilities ``principal`` may see (at sites and firms they may see)."""
    return readable(principal, Capability.site_id).where(at_visible_site(principal))


def code_condition(code: str) -> ColumnElement[bool]:
    """A capability of this code, or of any code of this family."""
    wanted = code.strip().upper()
    family = [c for c in BY_CODE if c.split("-", 1)[0] == wanted]
    return Capability.code.in_(family) if family else Capability.code == wanted


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


def number_field(
    problems: list[Problem], field: str, value: Any, lo: float | None = 0.0, hi: float | None = None
) -> float:
    """``value`` as a finite float within ``[lo, hi]``; a problem naming ``field`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(Problem(field, f"expected a finite number, got {value!r}"))
        return 0.0
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f">= {lo:g}" if hi is None else f"between {lo:g} and {hi:g}"
        problems.append(Problem(field, f"must be {bounds}, got {value!r}"))
    return float(value)


def site_values(changes: dict[str, Any]) -> dict[str, Any]:
    """Site fields checked and normalised (country upper case, chokepoints sorted and unique).

    Raises
    ------
    setu.errors.InputError
        Naming each bad or unknown field.
    """
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
            out[field] = None if value is None else number_field(problems, field, value, -limit, limit)
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


def capability_values(changes: dict[str, Any], current: Capability | None = None) -> dict[str, Any]:
    """Capability fields checked (a known code, numbers >= 0, committed <= capacity, also against ``current``).

    Raises
    ------
    setu.errors.InputError
        Naming each bad or unknown field.
    """
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
            out[field] = number_field(problems, field, value)
        else:
            problems.append(Problem(field, f"not a capability field; expected one of {', '.join(CAPABILITY_FIELDS)}"))
    capacity = out.get("capacity", current.capacity if current is not None else 0.0)
    committed = out.get("committed", current.committed if current is not None else 0.0)
    if not problems and committed > capacity:
        problems.append(Problem("committed", f"must not exceed capacity ({capacity:g}), got {committed:g}"))
    if problems:
        raise InputError(problems)
    return out
