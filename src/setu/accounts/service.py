"""Accounts: create users, hash and check passwords (argon2id), lock out guessing, issue and resolve tokens.

Every function takes the caller's session and writes its audit entries there, so an account change and
its record commit or vanish together. Functions never commit; :func:`login` is the one exception: it
runs its own transaction so that a failed login is recorded even though the caller gets an error.
Times are UTC; every function that looks at the clock takes ``now`` for tests.
"""

from __future__ import annotations

import getpass
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.errors import AccountError, AuthenticationError
from setu.audit.log import record
from setu.db import transaction
from setu.models.accounts import ROLES, TOKEN_KINDS, AuthToken, User, UserGroup, UserRole
from setu.models.parties import Organization, Party
from setu.sharing.markings import LEVEL_OF, LEVELS, MarkingSpec, store
from setu.sharing.policy import Principal, visible

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
"""Longer inputs are refused before hashing (argon2 would take them, at a cost an attacker chooses)."""
MAX_FAILED_LOGINS = 5
"""Consecutive failures that lock an account."""
LOCKOUT_PERIOD = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
API_TOKEN_TTL = timedelta(days=30)
SESSION_COOKIE = "setu_session"
"""Name of the web's session cookie (its value is a ``session`` token)."""
INVALID_LOGIN = "invalid username or password"
"""The one message for an unknown username and a wrong password alike."""

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
"""ASCII only, so case-insensitive comparison reads the same in Python, SQLite and PostgreSQL."""
GROUP_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_hasher = PasswordHasher(type=Type.ID)
_dummy_hash: str | None = None


# --- passwords -------------------------------------------------------------------------------------------


def configure_hasher(
    *, time_cost: int | None = None, memory_cost: int | None = None, parallelism: int | None = None
) -> PasswordHasher:
    """Set the argon2id parameters for new hashes; ``None`` keeps argon2-cffi's default (RFC 9106 low-memory).

    Stored hashes made with other parameters still verify, and are rehashed at the next successful login.
    Tests use this with ``time_cost=1, memory_cost=8192`` to stay fast.

    Parameters
    ----------
    time_cost
        Iterations.
    memory_cost
        Memory in KiB.
    parallelism
        Lanes.

    Returns
    -------
    PasswordHasher
        The hasher now in use.
    """
    global _hasher, _dummy_hash
    default = PasswordHasher()
    _hasher = PasswordHasher(
        time_cost=time_cost or default.time_cost,
        memory_cost=memory_cost or default.memory_cost,
        parallelism=parallelism or default.parallelism,
        type=Type.ID,
    )
    _dummy_hash = None
    return _hasher


def password_hasher() -> PasswordHasher:
    """The argon2id hasher in use (see :func:`configure_hasher`).

    Returns
    -------
    PasswordHasher
        The current hasher.
    """
    return _hasher


def check_password_policy(password: str, username: str = "") -> None:
    """Refuse a password that is too short, too long or is the username.

    Parameters
    ----------
    password
        The candidate password.
    username
        The account's username, which the password must not equal.

    Raises
    ------
    AccountError
        Naming the rule the password breaks.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise AccountError("password is only whitespace")
    if username and password.strip().casefold() == username.casefold():
        raise AccountError("password must not be the username")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (PHC string ``$argon2id$v=19$m=...``).

    Parameters
    ----------
    password
        The password (policy is not checked here: see :func:`check_password_policy`).

    Returns
    -------
    str
        The encoded hash, salt and parameters included.
    """
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a malformed hash never matches.

    Parameters
    ----------
    password_hash
        A stored PHC string.
    password
        The password offered.

    Returns
    -------
    bool
        True on a match.
    """
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_verify(password: str) -> None:
    """Spend the time of a real verification, so a missing username answers as slowly as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(24))
    verify_password(_dummy_hash, password)


# --- parsing and lookups ---------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
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
    return f"{_now(value):%Y-%m-%d %H:%M} UTC"


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
    query = select(User).where(func.lower(User.username) == username.lower())
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
    rows = session.execute(select(User.id, User.party_code).where(User.id.in_(wanted)))
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
        The reading user, or None for the operator (the ``setu users`` command).

    Returns
    -------
    list of User
        The users.
    """
    query = select(User).order_by(func.lower(User.username))
    if principal is not None:
        query = query.where(visible(User.marking_id, principal))
    return list(session.scalars(query).unique())


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
    found: Organization | None = None
    if text.isdigit():
        found = session.get(Organization, int(text))
    else:
        of_party = session.scalars(select(Organization).where(Organization.party_code == party.code)).unique()
        found = next((o for o in of_party if o.name.casefold() == text.casefold()), None)
    if found is None:
        names = session.scalars(
            select(Organization.name).where(Organization.party_code == party.code).order_by(Organization.name)
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


# --- users -----------------------------------------------------------------------------------------------


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
    now = _now(now)
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
    check_password_policy(password, username)
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
    now = _now(now)
    check_password_policy(password, user.username)
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
    now = _now(now)
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
    """Lift a lockout and clear the failed-login count (``user.unlock``).

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
    if user.locked_until is None and user.failed_logins == 0:
        return False
    was = _aware(user.locked_until)
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
    until = _aware(user.locked_until)
    return until is not None and until > _now(now)


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
    until = _aware(user.locked_until)
    if until is not None and until > _now(now):
        return f"locked until {format_time(until)}"
    return "active"


# --- principals and roles --------------------------------------------------------------------------------


def principal_of(user: User) -> Principal:
    """What the read filter and role checks need from a user.

    Parameters
    ----------
    user
        The user (its organization is loaded with it).

    Returns
    -------
    Principal
        Party, organization, whether that organization is a government body (ministry or agency),
        clearance, groups and roles.
    """
    return Principal(
        user_id=user.id,
        party=user.party_code,
        org_id=user.organization_id,
        org_is_government=user.organization.is_government,
        clearance=user.clearance,
        groups=user.groups,
        roles=user.roles,
    )


# --- login -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """The outcome of :func:`authenticate`: the user, or the error to show."""

    user: User | None
    error: AuthenticationError | None = None

    @property
    def ok(self) -> bool:
        """Whether the login succeeded."""
        return self.error is None and self.user is not None

    def require(self) -> User:
        """The authenticated user.

        Returns
        -------
        User
            The user.

        Raises
        ------
        AuthenticationError
            If the login failed.
        """
        if self.error is not None or self.user is None:
            raise self.error or AuthenticationError(INVALID_LOGIN, "unknown_user")
        return self.user


def _deny(
    session: Session, user: User | None, username: str, reason: str, message: str, locked_until: datetime | None = None
) -> LoginAttempt:
    details: dict[str, object] = {"reason": reason}
    if user is not None:
        details["failed_logins"] = user.failed_logins
    if locked_until is not None:
        details["locked_until"] = locked_until.isoformat()
    record(
        session,
        None,
        "login",
        "user",
        user.id if user else "",
        decision="deny",
        actor_name=user.username if user else username[:64],
        details=details,
    )
    return LoginAttempt(None, AuthenticationError(message, reason, locked_until))


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None) -> LoginAttempt:
    """Check a username and password, with lockout; audit the attempt (``login``, permit or deny).

    An unknown username and a wrong password give the same message, and both run one argon2
    verification so the time taken does not tell them apart. After :data:`MAX_FAILED_LOGINS`
    consecutive failures the account locks for :data:`LOCKOUT_PERIOD` (``user.lock``); a locked
    account fails even with the right password, saying until when. Success clears the count
    and rehashes the password if the hasher's parameters changed.

    The failure count and the audit entries are written in ``session`` whatever the outcome,
    so this returns the outcome instead of raising: commit, then call
    :meth:`LoginAttempt.require` (or use :func:`login`).

    Parameters
    ----------
    session
        The caller's transaction.
    username
        The username offered (any case).
    password
        The password offered; never logged.
    now
        The time (tests).

    Returns
    -------
    LoginAttempt
        The user on success, else the error.
    """
    now = _now(now)
    user = find_user(session, username, for_update=True)
    if user is None:
        _dummy_verify(password)
        return _deny(session, None, username, "unknown_user", INVALID_LOGIN)
    until = _aware(user.locked_until)
    if until is not None and until > now:
        return _deny(session, user, username, "locked", f"account locked until {format_time(until)}", until)
    if until is not None:  # the lockout is over: a fresh count
        user.locked_until = None
        user.failed_logins = 0
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins < MAX_FAILED_LOGINS:
            return _deny(session, user, username, "bad_password", INVALID_LOGIN)
        user.locked_until = until = now + LOCKOUT_PERIOD
        attempt = _deny(
            session,
            user,
            username,
            "bad_password",
            f"{INVALID_LOGIN}; account locked until {format_time(until)}",
            until,
        )
        record(
            session,
            None,
            "user.lock",
            "user",
            user.id,
            details={"failed_logins": user.failed_logins, "locked_until": until.isoformat()},
        )
        return attempt
    if user.disabled:
        return _deny(session, user, username, "disabled", "account disabled")
    rehashed = _hasher.check_needs_rehash(user.password_hash)
    if rehashed:
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    record(
        session, principal_of(user), "login", "user", user.id, actor_name=user.username, details={"rehashed": rehashed}
    )
    return LoginAttempt(user)


def login(
    sessions: sessionmaker[Session],
    username: str,
    password: str,
    *,
    kind: str = "session",
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> tuple[User, str]:
    """Authenticate and issue a token, in a transaction of its own that commits failures too.

    Parameters
    ----------
    sessions
        The session factory.
    username, password
        The credentials offered.
    kind
        ``session`` (the web's cookie) or ``api`` (a bearer token).
    ttl
        Token lifetime (default :data:`SESSION_TTL` or :data:`API_TOKEN_TTL`).
    now
        The time (tests).

    Returns
    -------
    tuple of (User, str)
        The user and the new token (shown once, stored only as its hash).

    Raises
    ------
    AuthenticationError
        If the login failed (the failure is committed to the audit log first).
    """
    token = ""
    with transaction(sessions) as session:
        attempt = authenticate(session, username, password, now=now)
        if attempt.user is not None:
            token = issue_token(session, attempt.user, kind, ttl, actor=principal_of(attempt.user), now=now)
    return attempt.require(), token


# --- tokens ----------------------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token string: what is stored and looked up.

    Parameters
    ----------
    token
        The token as the client holds it.

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    user: User,
    kind: str = "api",
    ttl: timedelta | None = None,
    *,
    actor: Principal | None = None,
    actor_name: str = "",
    now: datetime | None = None,
) -> str:
    """A new random token (32 bytes, URL-safe base64) for ``user``; only its hash is stored (``token.issue``).

    Parameters
    ----------
    session
        The caller's transaction.
    user
        The token's user (not disabled).
    kind
        ``session`` or ``api``.
    ttl
        Lifetime (default :data:`SESSION_TTL` or :data:`API_TOKEN_TTL`).
    actor, actor_name
        Who issues it, for the audit log.
    now
        The time (tests).

    Returns
    -------
    str
        The token; it cannot be shown again.

    Raises
    ------
    AccountError
        On an unknown kind, a lifetime that is not positive, or a disabled user.
    """
    if kind not in TOKEN_KINDS:
        raise AccountError(f"unknown token kind {kind!r}; expected one of {', '.join(TOKEN_KINDS)}")
    ttl = ttl if ttl is not None else (SESSION_TTL if kind == "session" else API_TOKEN_TTL)
    if ttl <= timedelta(0):
        raise AccountError(f"token lifetime must be positive, got {ttl}")
    if user.disabled:
        raise AccountError(f"user {user.username!r} is disabled")
    now = _now(now)
    token = secrets.token_urlsafe(32)
    row = AuthToken(user=user, kind=kind, token_hash=hash_token(token), created_at=now, expires_at=now + ttl)
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "token.issue",
        "auth_token",
        row.id,
        actor_name=actor_name,
        details={"user_id": user.id, "kind": kind, "expires_at": row.expires_at.isoformat()},
    )
    return token


def resolve_token(session: Session, token: str, *, kind: str | None = None, now: datetime | None = None) -> User | None:
    """The user a token stands for, or None if it is unknown, of another kind, expired or revoked,
    or its user is disabled or locked. Notes the token's last use.

    Parameters
    ----------
    session
        The caller's transaction.
    token
        The token as the client sent it.
    kind
        Accept only this kind (``session`` for the web, ``api`` for the API); None accepts both.
    now
        The time (tests).

    Returns
    -------
    User or None
        The user when the token is good.
    """
    if not token or len(token) > 256:
        return None
    now = _now(now)
    row = session.scalars(select(AuthToken).where(AuthToken.token_hash == hash_token(token))).unique().one_or_none()
    if row is None or (kind is not None and row.kind != kind) or row.revoked_at is not None:
        return None
    expires = _aware(row.expires_at)
    if expires is None or expires <= now:
        return None
    user = row.user
    if user.disabled or is_locked(user, now):
        return None
    row.last_used_at = now
    return user


def _revoke(
    session: Session, rows: list[AuthToken], actor: Principal | None, actor_name: str, now: datetime, reason: str
) -> int:
    live = [row for row in rows if row.revoked_at is None]
    for row in live:
        row.revoked_at = now
        record(
            session,
            actor,
            "token.revoke",
            "auth_token",
            row.id,
            actor_name=actor_name,
            details={"user_id": row.user_id, "kind": row.kind, "reason": reason},
        )
    return len(live)


def revoke_token(
    session: Session,
    token: str,
    *,
    actor: Principal | None = None,
    actor_name: str = "",
    now: datetime | None = None,
    reason: str = "logout",
) -> bool:
    """Revoke one token by its value, e.g. at logout (``token.revoke``).

    Parameters
    ----------
    session
        The caller's transaction.
    token
        The token as the client holds it.
    actor, actor_name
        Who revokes it, for the audit log.
    now
        The time (tests).
    reason
        Why, for the audit log.

    Returns
    -------
    bool
        False if no live token has that value.
    """
    row = session.scalars(select(AuthToken).where(AuthToken.token_hash == hash_token(token))).unique().one_or_none()
    return row is not None and _revoke(session, [row], actor, actor_name, _now(now), reason) == 1


def revoke_token_id(
    session: Session,
    token_id: int,
    *,
    actor: Principal | None = None,
    actor_name: str = "",
    now: datetime | None = None,
    reason: str = "revoked",
) -> bool:
    """Revoke one token by its id, e.g. by an administrator (``token.revoke``).

    Parameters
    ----------
    session
        The caller's transaction.
    token_id
        The token's id.
    actor, actor_name
        Who revokes it, for the audit log.
    now
        The time (tests).
    reason
        Why, for the audit log.

    Returns
    -------
    bool
        False if there is no live token with that id.
    """
    row = session.get(AuthToken, token_id)
    return row is not None and _revoke(session, [row], actor, actor_name, _now(now), reason) == 1


def revoke_user_tokens(
    session: Session,
    user: User,
    *,
    kind: str | None = None,
    actor: Principal | None = None,
    actor_name: str = "",
    now: datetime | None = None,
    reason: str = "revoked",
) -> int:
    """Revoke every live token of ``user`` (of one ``kind``, or all), one ``token.revoke`` entry each.

    Parameters
    ----------
    session
        The caller's transaction.
    user
        The user.
    kind
        ``session``, ``api`` or None for both.
    actor, actor_name
        Who revokes them, for the audit log.
    now
        The time (tests).
    reason
        Why, for the audit log.

    Returns
    -------
    int
        How many tokens were revoked.
    """
    query = select(AuthToken).where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
    if kind is not None:
        query = query.where(AuthToken.kind == kind)
    rows = list(session.scalars(query.order_by(AuthToken.id)).unique())
    return _revoke(session, rows, actor, actor_name, _now(now), reason)
