"""Reading accounts: parsing what an operator types, looking users, parties and organizations up, a user's status.

Users and organizations are marked records: a user's read of them goes through :mod:`setu.sharing.read`.
Times are UTC; every function that looks at the clock takes ``now`` for tests.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from setu.accounts.errors import AccountError
from setu.models.accounts import ROLES, User
from setu.models.parties import Organization, Party
from setu.sharing.markings import LEVEL_OF, LEVELS
from setu.sharing.policy import Principal
from setu.sharing.read import built_once, readable, unfiltered

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
"""ASCII only, so case-insensitive comparison reads the same in Python, SQLite and PostgreSQL."""
GROUP_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def now_utc(now: datetime | None) -> datetime:
    """``now`` as an aware UTC time (naive times are taken as UTC), or the clock's time when None."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC time (SQLite hands them back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_time(value: datetime) -> str:
    """A UTC time as users read it: ``2026-03-01 14:05 UTC``.

    Parameters
    ----------
    value
        The time (naive times are taken as UTC).

    Returns
    -------
    str
        The time to the minute, in UTC.
    """
    return f"{now_utc(value):%Y-%m-%d %H:%M} UTC"


def parse_clearance(value: int | str) -> int:
    """A clearance level from ``2``, ``"2"`` or ``"CONFIDENTIAL"`` (any case).

    Parameters
    ----------
    value
        A level number 0..3 or its name.

    Returns
    -------
    int
        The level.

    Raises
    ------
    AccountError
        If the value is neither.
    """
    text = str(value).strip()
    if text.lstrip("-").isdigit() and int(text) in LEVELS:
        return int(text)
    if text.upper() in LEVEL_OF:
        return LEVEL_OF[text.upper()]
    known = ", ".join(f"{name} ({level})" for level, name in LEVELS.items())
    raise AccountError(f"unknown clearance {value!r}; expected one of {known}")


def parse_roles(roles: Iterable[str]) -> list[str]:
    """Roles checked and normalised (``desk-officer`` reads as ``desk_officer``), sorted, without repeats.

    Parameters
    ----------
    roles
        Role names; at least one.

    Returns
    -------
    list of str
        The roles.

    Raises
    ------
    AccountError
        On an unknown role, or none.
    """
    chosen: set[str] = set()
    for role in roles:
        name = role.strip().lower().replace("-", "_").replace(" ", "_")
        if name not in ROLES:
            raise AccountError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        chosen.add(name)
    if not chosen:
        raise AccountError(f"a user needs at least one role: {', '.join(ROLES)}")
    return sorted(chosen)


def parse_groups(groups: Iterable[str]) -> list[str]:
    """Need-to-know group names checked (letters, digits, ``._-``; up to 64), sorted, without repeats.

    Group names compare exactly, as markings name them.

    Parameters
    ----------
    groups
        Group names.

    Returns
    -------
    list of str
        The groups.

    Raises
    ------
    AccountError
        On a malformed name.
    """
    chosen: set[str] = set()
    for group in groups:
        name = group.strip()
        if not GROUP_PATTERN.fullmatch(name):
            raise AccountError(f"bad group name {group!r}: letters, digits, '.', '_' or '-', up to 64")
        chosen.add(name)
    return sorted(chosen)


def find_user(session: Session, username: str, *, for_update: bool = False) -> User | None:
    """The user named ``username`` (any case), or None.

    Parameters
    ----------
    session
        The session to read in.
    username
        The username.
    for_update
        Lock the user's row until the transaction ends (PostgreSQL), for read-modify-write.

    Returns
    -------
    User or None
        The user if it exists.
    """
    if not USERNAME_PATTERN.fullmatch(username):
        return None
    # Signing in and the operator's commands name a user before there is a reader to filter for.
    query = unfiltered(User).where(func.lower(User.username) == username.lower())
    if for_update:
        query = query.with_for_update(of=User)
    return session.scalars(query).unique().one_or_none()


def parties_of(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """The party of each of ``user_ids``: what a page says about who stored a shared record, and nothing more.

    Parameters
    ----------
    session
        The session to read in.
    user_ids
        Ids of users; unknown ids are left out of the answer.

    Returns
    -------
    dict[int, str]
        Each known user's party code.
    """
    wanted = set(user_ids)
    if not wanted:
        return {}
    # Only the author's party of a record the reader already sees is read, not the user record itself.
    rows = session.execute(unfiltered(User.id, User.party_code).where(User.id.in_(wanted)))
    return {user_id: party for user_id, party in rows}


def get_user(session: Session, username: str, *, for_update: bool = False) -> User:
    """The user named ``username`` (any case).

    Parameters
    ----------
    session
        The session to read in.
    username
        The username.
    for_update
        Lock the user's row until the transaction ends.

    Returns
    -------
    User
        The user.

    Raises
    ------
    AccountError
        If there is no such user.
    """
    user = find_user(session, username, for_update=for_update)
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def list_users(session: Session, principal: Principal | None = None) -> list[User]:
    """Every user by username; with ``principal``, only the users whose marking admits that principal.

    Parameters
    ----------
    session
        The session to read in.
    principal
        The reading user, or None for the operator (the ``setu accounts`` commands).

    Returns
    -------
    list of User
        The users.
    """
    # The operator at the server's console manages every account; a user reads those released to them.
    query = unfiltered(User) if principal is None else readable(principal, User)
    return list(session.scalars(query.order_by(func.lower(User.username))).unique())


def get_party(session: Session, party: str) -> Party:
    """The party with code ``party`` (any case).

    Parameters
    ----------
    session
        The session to read in.
    party
        The party code, e.g. ``IN``.

    Returns
    -------
    Party
        The party.

    Raises
    ------
    AccountError
        If there is no such party (the message lists the known ones).
    """
    found = session.get(Party, party.strip().upper()) or session.get(Party, party.strip())
    if found is None:
        known = ", ".join(session.scalars(select(Party.code).order_by(Party.code))) or "none yet"
        raise AccountError(f"unknown party {party!r}; known parties: {known}")
    return found


def get_organization(session: Session, party: Party, organization: str | int) -> Organization:
    """The organization of ``party`` named ``organization`` (any case), or with that id.

    Parameters
    ----------
    session
        The session to read in.
    party
        The party the organization must belong to.
    organization
        Its name or id.

    Returns
    -------
    Organization
        The organization.

    Raises
    ------
    AccountError
        If there is none, or it belongs to another party.
    """
    text = str(organization).strip()
    # Creating a user is the operator's work, which places accounts in any organization of the party.
    found: Organization | None = None
    if text.isdigit():
        by_id: Organization | None = (
            session.scalars(unfiltered(Organization).where(Organization.id == int(text))).unique().one_or_none()
        )
        found = by_id
    else:
        of_party = session.scalars(unfiltered(Organization).where(Organization.party_code == party.code)).unique()
        found = next((o for o in of_party if o.name.casefold() == text.casefold()), None)
    if found is None:
        names = session.scalars(
            unfiltered(Organization.name).where(Organization.party_code == party.code).order_by(Organization.name)
        ).all()
        known = "; ".join(names) or "none yet"
        raise AccountError(f"unknown organization {text!r} of party {party.code}; known: {known}")
    if found.party_code != party.code:
        raise AccountError(f"organization {found.name!r} belongs to party {found.party_code}, not {party.code}")
    return found


def operator_name() -> str:
    """Who runs a local command, for the audit log: ``cli:<OS user>``.

    Returns
    -------
    str
        The actor name.
    """
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in some containers
        return "cli"


def is_locked(user: User, now: datetime | None = None) -> bool:
    """Whether the user is locked out at ``now``.

    Parameters
    ----------
    user
        The user.
    now
        The time (default: the clock).

    Returns
    -------
    bool
        True while a lockout lasts.
    """
    until = as_utc(user.locked_until)
    return until is not None and until > now_utc(now)


def user_status(user: User, now: datetime | None = None) -> str:
    """``disabled``, ``locked until <time>`` or ``active``.

    Parameters
    ----------
    user
        The user.
    now
        The time (default: the clock).

    Returns
    -------
    str
        The status as users read it.
    """
    if user.disabled:
        return "disabled"
    until = as_utc(user.locked_until)
    if until is not None and until > now_utc(now):
        return f"locked until {format_time(until)}"
    return "active"


def usernames(session: Session, principal: Principal, user_ids: Iterable[int]) -> dict[int, str]:
    """The usernames of ``user_ids`` that ``principal`` may read (a user is a marked record; others are left out).

    Parameters
    ----------
    session
        The session to read in.
    principal
        The reader.
    user_ids
        The users (e.g. who started each run on a page).

    Returns
    -------
    dict
        Username by user id, for the readable ones.
    """
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    rows = session.execute(_usernames_in(principal), {"user_ids": wanted})
    return {user_id: name for user_id, name in rows}


@built_once
def _usernames_in(principal: Principal) -> Select[Any]:
    return readable(principal, User.id, User.username).where(User.id.in_(bindparam("user_ids", expanding=True)))
