"""Tokens: session (the web's cookie) and API (bearer) tokens, issued, resolved and revoked; only hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from setu.accounts.errors import AccountError
from setu.accounts.lookups import as_utc, now_utc
from setu.audit.log import record
from setu.models.accounts import TOKEN_KINDS, AuthToken, User
from setu.sharing.policy import Principal

SESSION_TTL = timedelta(hours=12)
API_TOKEN_TTL = timedelta(days=30)
SESSION_COOKIE = "setu_session"
"""Name of the web's session cookie (its value is a ``session`` token)."""
CSRF_HEADER = "X-CSRF-Token"
"""The header a cookie-signed API write must carry, holding :func:`csrf_token_of` the cookie's token."""


def csrf_token_of(token: str) -> str:
    """The CSRF token of a session: derived from the session token, which a cross-site page cannot read.

    The cookie is already ``SameSite=Strict``; this is the second, independent guard on every write
    a cookie signs (web forms carry it as a field, API calls as the :data:`CSRF_HEADER` header).

    Parameters
    ----------
    token
        The session token (the cookie's value).

    Returns
    -------
    str
        64 hex digits.
    """
    return hmac.new(token.encode(), b"setu-csrf", hashlib.sha256).hexdigest()


def csrf_matches(token: str, submitted: str) -> bool:
    """Whether ``submitted`` is the CSRF token of the session ``token`` (compared in constant time).

    Parameters
    ----------
    token
        The session token.
    submitted
        What the request carried.

    Returns
    -------
    bool
        True on a match.
    """
    return hmac.compare_digest(csrf_token_of(token).encode(), submitted.encode(errors="replace"))


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
    pair: str = "",
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
    pair
        Another token of the same login (an API login's bearer token for its cookie): revoking
        either at logout revokes both.

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
    now = now_utc(now)
    token = secrets.token_urlsafe(32)
    row = AuthToken(user=user, kind=kind, token_hash=hash_token(token), created_at=now, expires_at=now + ttl)
    if pair:
        row.pair_id = session.scalars(select(AuthToken.id).where(AuthToken.token_hash == hash_token(pair))).one()
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
    or its user is disabled. Notes the token's last use.

    A lockout does not end tokens already issued: it only refuses new logins, so whoever fails logins
    on a user's name cannot sign that user out.

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
    now = now_utc(now)
    row = session.scalars(select(AuthToken).where(AuthToken.token_hash == hash_token(token))).unique().one_or_none()
    if row is None or (kind is not None and row.kind != kind) or row.revoked_at is not None:
        return None
    expires = as_utc(row.expires_at)
    if expires is None or expires <= now:
        return None
    user = row.user
    if user.disabled:
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
    """Revoke one token by its value and the other token of its login, e.g. at logout (``token.revoke``).

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
        False if no live token has that value (its pair is left as it is then).
    """
    row = session.scalars(select(AuthToken).where(AuthToken.token_hash == hash_token(token))).unique().one_or_none()
    if row is None or row.revoked_at is not None:
        return False
    paired = or_(AuthToken.id == row.pair_id, AuthToken.pair_id == row.id)
    pairs = list(session.scalars(select(AuthToken).where(paired, AuthToken.user_id == row.user_id)).unique())
    _revoke(session, [row, *pairs], actor, actor_name, now_utc(now), reason)
    return True


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
    return row is not None and _revoke(session, [row], actor, actor_name, now_utc(now), reason) == 1


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
    return _revoke(session, rows, actor, actor_name, now_utc(now), reason)
