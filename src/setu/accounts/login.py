"""Signing in: the principal of a user, checking a password with lockout, and issuing the login's token.

:func:`login` runs its own transaction, so that a failed login is recorded even though the caller gets
an error; :func:`authenticate` writes in the caller's and returns the outcome instead of raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.errors import AuthenticationError
from setu.accounts.lookups import as_utc, find_user, format_time, now_utc
from setu.accounts.passwords import dummy_verify, hash_password, password_hasher, verify_password
from setu.accounts.tokens import issue_token
from setu.audit.log import record
from setu.db import transaction
from setu.models.accounts import User
from setu.sharing.policy import Principal

MAX_FAILED_LOGINS = 5
"""Consecutive failures that lock an account."""
LOCKOUT_PERIOD = timedelta(minutes=15)
INVALID_LOGIN = "invalid username or password"
"""The one message for an unknown username and a wrong password alike."""


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
    now = now_utc(now)
    user = find_user(session, username, for_update=True)
    if user is None:
        dummy_verify(password)
        return _deny(session, None, username, "unknown_user", INVALID_LOGIN)
    until = as_utc(user.locked_until)
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
    rehashed = password_hasher().check_needs_rehash(user.password_hash)
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
