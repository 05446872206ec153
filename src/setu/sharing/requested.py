"""The marking a writer asks for in a form or request body, checked against the parties and organizations stored."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from setu.errors import InputError, Problem
from setu.models.parties import Organization, Party
from setu.sharing.markings import GROUP_PATTERN, LEVEL_OF, MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.read import readable


def _split(values: list[str] | None) -> list[str]:
    """Form values, each possibly several joined by commas, trimmed and without empties."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def release_parties(session: Session) -> list[Party]:
    """Every party a record can be released to, by code (parties are public).

    Parameters
    ----------
    session
        Any session.

    Returns
    -------
    list of Party
        The parties.
    """
    return list(session.scalars(select(Party).order_by(Party.code)))


def requested_marking(
    session: Session,
    principal: Principal,
    *,
    classification: str,
    releases: list[str] | None,
    national_only: bool,
    groups: list[str] | None,
    owners: list[int] | None,
) -> MarkingSpec:
    """The marking a writer asks for, checked; the writer's party is its origin.

    Whether the writer may assign it (could read it themselves) is the writing service's check.

    Parameters
    ----------
    session
        The request's session.
    principal
        The writer.
    classification
        A level name or number.
    releases
        Party codes (default: the writer's party only).
    national_only
        Only the writer's party may read it.
    groups
        Need-to-know groups.
    owners
        Ids of organizations the records are proprietary to (of the writer's party or a released one).

    Returns
    -------
    MarkingSpec
        The marking.

    Raises
    ------
    setu.errors.InputError
        Naming each unknown party, malformed group and unknown organization.
    """
    problems: list[Problem] = []
    level = int(classification) if classification.isdigit() else LEVEL_OF[classification]
    known = {party.code for party in release_parties(session)}
    parties: list[str] = []
    for code in _split(releases) or [principal.party]:
        if code.upper() in known:
            parties.append(code.upper())
        else:
            known_text = ", ".join(sorted(known)) or "none yet"
            problems.append(Problem("releases", f"unknown party {code!r}; known parties: {known_text}"))
    group_names: set[str] = set()
    for group in _split(groups):
        if GROUP_PATTERN.fullmatch(group):
            group_names.add(group)
        else:
            problems.append(Problem("groups", f"bad group name {group!r}: letters, digits, '.', '_' or '-', up to 64"))
    owner_pairs: set[tuple[int, str]] = set()
    owner_parties = sorted({principal.party, *parties})
    for org_id in owners or []:
        org = session.scalars(
            readable(principal, Organization).where(
                Organization.id == org_id, Organization.party_code.in_(owner_parties)
            )
        ).one_or_none()
        if org is None:
            problems.append(Problem("owners", f"unknown organization id {org_id}"))
        else:
            owner_pairs.add((org.id, org.party_code))
    if problems:
        raise InputError(problems)
    return MarkingSpec(
        classification=level,
        origin_party=principal.party,
        releases=frozenset(parties),
        national_only=national_only,
        owners=frozenset(owner_pairs),
        groups=frozenset(group_names),
    )
