"""Signing in: the principal of a user, checking a password under throttles, and issuing the login's token.

A login is three steps, so that no database lock is held while argon2 works and no count is raced:
charge the attempt to its source and its account name (:mod:`setu.accounts.throttle`, one atomic
statement each, committed), check the password (bounded by the hash gate), then record the outcome and,
on success, issue the token. A lockout only refuses new logins: tokens already issued keep working,
so failing logins on someone's name cannot sign them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts import throttle
from setu.accounts.errors import AccountError, AuthenticationError
from setu.accounts.lookups import find_user, format_time, get_user, now_utc, user_status
from setu.accounts.passwords import dummy_verify, hash_password, password_hasher, verify_password
from setu.accounts.throttle import Limit
from setu.accounts.tokens import issue_token
from setu.audit.log import record
from setu.db import transaction
from setu.errors import Unavailable
from setu.models.accounts import LoginThrottle, User
from setu.settings import ApiSettings
from setu.sharing.policy import Principal
from setu.sharing.read import unfiltered

MAX_FAILED_LOGINS = 5
"""Failed logins on one name (existing or not) within :data:`LOCKOUT_PERIOD` that lock it."""
LOCKOUT_PERIOD = timedelta(minutes=15)
MAX_SOURCE_FAILURES = 30
"""Failed logins from one client address within :data:`LOCKOUT_PERIOD` before it is throttled (429)."""
INVALID_LOGIN = "invalid username or password"
"""The one message for an unknown username and a wrong password alike."""


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failures a name and a source may have within a period (see :mod:`setu.accounts.throttle`)."""

    account: Limit = field(default_factory=lambda: Limit(MAX_FAILED_LOGINS, LOCKOUT_PERIOD))
    source: Limit = field(default_factory=lambda: Limit(MAX_SOURCE_FAILURES, LOCKOUT_PERIOD))

    @classmethod
    def of(cls, settings: ApiSettings) -> LoginLimits:
        """The limits a server's settings give (``SETU_LOGIN_*``).

        Parameters
        ----------
        settings
            The server's settings.

        Returns
        -------
        LoginLimits
            The limits.
        """
        period = timedelta(minutes=settings.login_lockout_minutes)
        return cls(Limit(settings.login_max_failures, period), Limit(settings.login_source_max_failures, period))


def acting_principal(session: Session, username: str) -> Principal:
    """The principal of ``username`` for a command that acts as them; a disabled or locked account is refused.

    Every command-line tool that takes ``--user`` or ``--as`` goes through here, so disabling an account
    stops its reads and writes everywhere, as it stops its sign-ins and tokens.

    Raises
    ------
    setu.accounts.errors.AccountError
        If there is no such user, or the account is disabled or locked.
    """
    user = get_user(session, username)
    status = user_status(user)
    if status != "active":
        raise AccountError(f"user {user.username!r} is {status}; enable or unlock it first")
    return principal_of(user)


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


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """The outcome of :func:`authenticate`: the user, or the error to show."""

    user: User | None
    error: AuthenticationError | None = None
    token: str = ""
    """The token issued on success, when one was asked for."""

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


UNKNOWN_USER = "unknown user"
"""How the log names a failed login whose username matched no account."""


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
        # A username that matched no account may be a password typed in the wrong box: never stored.
        actor_name=user.username if user else UNKNOWN_USER,
        details=details,
    )
    return LoginAttempt(None, AuthenticationError(message, reason, locked_until))


@dataclass(slots=True)
class _Charged:
    """What the first step learnt: the attempt's numbers on its keys, and the user's stored hash."""

    account: int
    source: int
    user_id: int | None
    password_hash: str


def _charge(
    session: Session, username: str, source: str, limits: LoginLimits, now: datetime
) -> _Charged | LoginAttempt:
    """Charge the attempt to its source, then its name; a refusal is audited and returned as the outcome."""
    source_count = 0
    if source:
        taken = throttle.charge(session, throttle.source_key(source), limits.source, now)
        if taken is None:
            until = throttle.retry_after(session, throttle.source_key(source), limits.source, now)
            message = f"too many failed logins from your address; try again after {format_time(until)}"
            return _deny(session, None, username, "throttled", message, until)
        source_count = taken
    account = throttle.charge(session, throttle.account_key(username), limits.account, now)
    user = find_user(session, username)
    if account is None:
        # The same answer, and no password check, whether the name exists or not.
        until = throttle.retry_after(session, throttle.account_key(username), limits.account, now)
        return _deny(session, user, username, "locked", f"account locked until {format_time(until)}", until)
    if user is None:
        return _Charged(account, source_count, None, "")
    return _Charged(account, source_count, user.id, user.password_hash)


def _failed(
    session: Session, charged: _Charged, username: str, source: str, limits: LoginLimits, now: datetime
) -> LoginAttempt:
    """Record a wrong password or unknown name: the lockouts it completes and the audit entries."""
    locked_until: datetime | None = None
    if charged.account >= limits.account.attempts:
        locked_until = throttle.lock(session, throttle.account_key(username), limits.account, now)
    if source and charged.source >= limits.source.attempts:
        throttle.lock(session, throttle.source_key(source), limits.source, now)
    message = (
        INVALID_LOGIN if locked_until is None else f"{INVALID_LOGIN}; account locked until {format_time(locked_until)}"
    )
    if charged.user_id is None:
        return _deny(session, None, username, "unknown_user", message, locked_until)
    # The user's columns mirror the throttle for operators (``setu accounts list``); the throttle decides.
    user = session.scalars(unfiltered(User).where(User.id == charged.user_id)).unique().one_or_none()
    if user is None:
        return _deny(session, None, username, "unknown_user", message, locked_until)
    # The UPDATE copies the count as it stands then, so copies written in any order end up right.
    user.failed_logins = (
        select(LoginThrottle.failures).where(LoginThrottle.key == throttle.account_key(username)).scalar_subquery()
    )
    if locked_until is not None:
        user.locked_until = locked_until
    session.flush()
    attempt = _deny(session, user, username, "bad_password", message, locked_until)
    if locked_until is not None:
        details = {"failed_logins": charged.account, "locked_until": locked_until.isoformat()}
        record(session, None, "user.lock", "user", user.id, details=details)
    return attempt


def _succeeded(
    session: Session,
    charged: _Charged,
    username: str,
    password: str,
    source: str,
    kind: str | None,
    ttl: timedelta | None,
    now: datetime,
) -> LoginAttempt:
    """Record a right password: give the charges back, then sign in (or refuse a disabled account)."""
    throttle.refund(session, throttle.account_key(username), clear=True)
    if source:
        throttle.refund(session, throttle.source_key(source))
    user = session.scalars(unfiltered(User).where(User.id == charged.user_id)).unique().one_or_none()
    if user is None or user.password_hash != charged.password_hash:  # removed or changed meanwhile
        return _deny(session, None, username, "unknown_user", INVALID_LOGIN)
    if user.disabled:
        return _deny(session, user, username, "disabled", "account disabled")
    rehashed = password_hasher().check_needs_rehash(user.password_hash)
    if rehashed:
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    principal = principal_of(user)
    record(session, principal, "login", "user", user.id, actor_name=user.username, details={"rehashed": rehashed})
    token = issue_token(session, user, kind, ttl, actor=principal, now=now) if kind is not None else ""
    return LoginAttempt(user, token=token)


def authenticate(
    sessions: sessionmaker[Session],
    username: str,
    password: str,
    *,
    source: str = "",
    kind: str | None = None,
    ttl: timedelta | None = None,
    limits: LoginLimits | None = None,
    now: datetime | None = None,
) -> LoginAttempt:
    """Check a username and password under the throttles; audit the attempt (``login``, permit or deny).

    An unknown username and a wrong password give the same message, and both run one argon2
    verification so the time taken does not tell them apart. The attempt is charged first to its
    ``source`` (at most ``limits.source`` failures per period, then 429) and to the name offered (at
    most ``limits.account``; the last failure locks the name for the period, ``user.lock`` for an
    existing user). A locked name is refused without a password check, with the same message whether
    it exists or not. Success gives the charges back and rehashes the password if the hasher's
    parameters changed. Tokens already issued are never touched here.

    Each step commits on its own, so this returns the outcome instead of raising: call
    :meth:`LoginAttempt.require` (or use :func:`login`).

    Parameters
    ----------
    sessions
        The session factory.
    username
        The username offered (any case).
    password
        The password offered; never logged.
    source
        The client's address ('' for local callers: no per-source throttle).
    kind
        Issue a token of this kind on success (``session`` or ``api``), in the outcome's transaction.
    ttl
        The token's lifetime (default by kind).
    limits
        The throttles (default :class:`LoginLimits`).
    now
        The time (tests).

    Returns
    -------
    LoginAttempt
        The user (and token) on success, else the error.

    Raises
    ------
    Unavailable
        (503) when too many passwords are being checked at once; the attempt is not counted.
    """
    now = now_utc(now)
    limits = limits or LoginLimits()
    with transaction(sessions) as session:
        charged = _charge(session, username, source, limits, now)
    if isinstance(charged, LoginAttempt):
        return charged
    try:
        if charged.user_id is None:
            dummy_verify(password)
            good = False
        else:
            good = verify_password(charged.password_hash, password)
    except Unavailable:
        with transaction(sessions) as session:  # not checked, so not a failure
            throttle.refund(session, throttle.account_key(username))
            if source:
                throttle.refund(session, throttle.source_key(source))
        raise
    with transaction(sessions) as session:
        if good:
            return _succeeded(session, charged, username, password, source, kind, ttl, now)
        return _failed(session, charged, username, source, limits, now)


def login(
    sessions: sessionmaker[Session],
    username: str,
    password: str,
    *,
    kind: str = "session",
    ttl: timedelta | None = None,
    source: str = "",
    limits: LoginLimits | None = None,
    now: datetime | None = None,
) -> tuple[User, str]:
    """Authenticate and issue a token; failures are committed (counted and audited) before raising.

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
    source
        The client's address (see :func:`authenticate`).
    limits
        The throttles.
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
    Unavailable
        When too many passwords are being checked at once.
    """
    attempt = authenticate(sessions, username, password, source=source, kind=kind, ttl=ttl, limits=limits, now=now)
    return attempt.require(), attempt.token
