"""Creating and changing users: new accounts, passwords, disabling, enabling and unlocking.

Every function takes the caller's session and writes its audit entries there, so an account change and
its record commit or vanish together; none commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from setu.accounts import throttle
from setu.accounts.errors import AccountError
from setu.accounts.lookups import (
    USERNAME_PATTERN,
    as_utc,
    find_user,
    get_organization,
    get_party,
    now_utc,
    parse_clearance,
    parse_groups,
    parse_roles,
)
from setu.accounts.passwords import check_password_policy, hash_password
from setu.accounts.tokens import revoke_user_tokens
from setu.audit.log import record
from setu.models.accounts import User, UserGroup, UserRole
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.policy import Principal


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    party: str,
    organization: str | int,
    clearance: int | str,
    roles: Iterable[str],
    groups: Iterable[str] = (),
    display_name: str = "",
    marking: MarkingSpec | None = None,
    actor: Principal | None = None,
    actor_name: str = "",
    now: datetime | None = None,
) -> User:
    """Create a user and audit it (``user.create``).

    Parameters
    ----------
    session
        The caller's transaction.
    username
        2..64 ASCII letters, digits, ``.``, ``_``, ``-``; unique regardless of case.
    password
        Checked by :func:`check_password_policy`, stored as an argon2id hash.
    party
        The user's party code (e.g. ``IN``).
    organization
        An organization of that party, by name (any case) or id.
    clearance
        Level 0..3 or its name (see :func:`parse_clearance`).
    roles
        One or more of :data:`setu.models.accounts.ROLES`.
    groups
        Need-to-know groups.
    display_name
        The name shown in the UI (default: the username).
    marking
        The user record's marking; default unclassified, released to the user's party only.
    actor, actor_name
        Who creates the user, for the audit log.
    now
        The time (tests).

    Returns
    -------
    User
        The new user, flushed (it has its id).

    Raises
    ------
    AccountError
        On a malformed or taken username, unknown party or organization, bad clearance, role or
        group, or a weak password.
    """
    now = now_utc(now)
    username = username.strip()
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            f"bad username {username!r}: 2 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if find_user(session, username) is not None:
        raise AccountError(f"user {username!r} already exists")
    the_party = get_party(session, party)
    org = get_organization(session, the_party, organization)
    level = parse_clearance(clearance)
    role_names = parse_roles(roles)
    group_names = parse_groups(groups)
    check_password_policy(password, username, (display_name, org.name))
    spec = marking or MarkingSpec(0, the_party.code, frozenset({the_party.code}))
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        party_code=the_party.code,
        organization_id=org.id,
        organization=org,
        clearance=level,
        password_hash=hash_password(password),
        failed_logins=0,
        disabled=False,
        created_at=now,
        password_changed_at=now,
        marking=store(session, spec),
        role_rows=[UserRole(role=r) for r in role_names],
        group_rows=[UserGroup(group=g) for g in group_names],
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # another transaction took the username since the check above
        raise AccountError(f"user {username!r} already exists") from exc
    record(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        actor_name=actor_name,
        details={
            "username": username,
            "party": the_party.code,
            "organization_id": org.id,
            "clearance": level,
            "roles": role_names,
            "groups": group_names,
        },
    )
    return user


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    actor: Principal | None = None,
    actor_name: str = "",
    now: datetime | None = None,
) -> None:
    """Set a new password (``user.password``); clears failed logins and revokes the user's tokens.

    Revoking every session and API token means a password changed after a compromise also
    shuts out whoever held the old one.

    Parameters
    ----------
    session
        The caller's transaction.
    user
        The user.
    password
        The new password, checked by :func:`check_password_policy`.
    actor, actor_name
        Who changes it, for the audit log.
    now
        The time (tests).

    Raises
    ------
    AccountError
        If the password breaks the policy.
    """
    now = now_utc(now)
    check_password_policy(password, user.username, (user.display_name, user.organization.name))
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.failed_logins = 0
    revoked = revoke_user_tokens(session, user, actor=actor, actor_name=actor_name, now=now, reason="password")
    record(session, actor, "user.password", "user", user.id, actor_name=actor_name, details={"tokens_revoked": revoked})


def disable_user(
    session: Session, user: User, *, actor: Principal | None = None, actor_name: str = "", now: datetime | None = None
) -> bool:
    """Disable a user (``user.disable``): no login, no token resolves; revokes the user's tokens.

    Parameters
    ----------
    session
        The caller's transaction.
    user
        The user.
    actor, actor_name
        Who disables it, for the audit log.
    now
        The time (tests).

    Returns
    -------
    bool
        False if the user was already disabled (nothing written).
    """
    if user.disabled:
        return False
    now = now_utc(now)
    user.disabled = True
    revoked = revoke_user_tokens(session, user, actor=actor, actor_name=actor_name, now=now, reason="disabled")
    record(session, actor, "user.disable", "user", user.id, actor_name=actor_name, details={"tokens_revoked": revoked})
    return True


def enable_user(session: Session, user: User, *, actor: Principal | None = None, actor_name: str = "") -> bool:
    """Enable a disabled user again (``user.enable``).

    Parameters
    ----------
    session
        The caller's transaction.
    user
        The user.
    actor, actor_name
        Who enables it, for the audit log.

    Returns
    -------
    bool
        False if the user was not disabled (nothing written).
    """
    if not user.disabled:
        return False
    user.disabled = False
    record(session, actor, "user.enable", "user", user.id, actor_name=actor_name)
    return True


def unlock_user(session: Session, user: User, *, actor: Principal | None = None, actor_name: str = "") -> bool:
    """Lift a lockout and clear the failed-login count of the user's name (``user.unlock``).

    Parameters
    ----------
    session
        The caller's transaction.
    user
        The user.
    actor, actor_name
        Who unlocks it, for the audit log.

    Returns
    -------
    bool
        False if there was nothing to clear (nothing written).
    """
    cleared = throttle.reset(session, throttle.account_key(user.username))
    if user.locked_until is None and user.failed_logins == 0 and not cleared:
        return False
    was = as_utc(user.locked_until)
    user.locked_until = None
    user.failed_logins = 0
    record(
        session,
        actor,
        "user.unlock",
        "user",
        user.id,
        actor_name=actor_name,
        details={"locked_until": was.isoformat() if was else None},
    )
    return True
