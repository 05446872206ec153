"""Tokens: session (the web's cookie) and API (bearer) tokens, issued, resolved and revoked; only hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, literal, or_, select, union_all, update
from sqlalchemy.orm import Session

from setu.accounts.errors import AccountError
from setu.accounts.lookups import as_utc, now_utc
from setu.audit.log import record
from setu.models.accounts import TOKEN_KINDS, AuthToken, User, UserGroup, UserRole
from setu.models.parties import GOVERNMENT_KINDS, Organization
from setu.sharing.policy import Principal
from setu.sharing.read import unfiltered

SESSION_TTL = timedelta(hours=12)
API_TOKEN_TTL = timedelta(days=30)
SESSION_COOKIE = "setu_session"
"""Name of the web's session cookie (its value is a ``session`` token)."""
LAST_USE_INTERVAL = timedelta(minutes=1)
"""A token's ``last_used_at`` is written at most this often: a client's concurrent requests do not all write it."""
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


@dataclass(frozen=True, slots=True)
class Holder:
    """A live token's user, as one request needs them: read with the token, fresh on every request.

    Attributes
    ----------
    token_id, kind
        The token's row and kind.
    last_used_at
        When its use was last noted (None: never).
    username, display_name, organization
        What pages show of the signed-in user (organization by name).
    marking_id
        The marking of the user's own record.
    principal
        Party, organization, clearance, groups and roles as the database holds them now.
    """

    token_id: int
    kind: str
    last_used_at: datetime | None
    username: str
    display_name: str
    organization: str
    marking_id: int
    principal: Principal


@lru_cache(maxsize=1)
def _holder_statement() -> Select[Any]:
    """The statement :func:`token_holder` runs, built once (its one parameter is ``token_hash``).

    The token, its user, the user's organization, and each role and group of the user outer-joined as
    one row each (``kind``, ``name``), so that one round trip says everything a request needs.
    """
    member = union_all(
        select(UserRole.user_id.label("user_id"), literal("role").label("kind"), UserRole.role.label("name")),
        select(UserGroup.user_id, literal("group"), UserGroup.group),
    ).subquery()
    # Who is asking (the token's own account and organization), not a read of records for a user.
    return (
        unfiltered(
            AuthToken.id,
            AuthToken.kind,
            AuthToken.expires_at,
            AuthToken.revoked_at,
            AuthToken.last_used_at,
            User.id,
            User.username,
            User.display_name,
            User.party_code,
            User.organization_id,
            User.clearance,
            User.disabled,
            User.marking_id,
            Organization.name,
            Organization.kind,
            member.c.kind,
            member.c.name,
        )
        .where(AuthToken.token_hash == bindparam("token_hash"), User.id == AuthToken.user_id)
        .where(Organization.id == User.organization_id)
        .outerjoin(member, member.c.user_id == User.id)
    )


def token_holder(
    session: Session, token: str, *, kind: str | None = None, now: datetime | None = None
) -> Holder | None:
    """The holder of a live token, or None if it is unknown, of another kind, expired or revoked, or its user disabled.

    One statement reads the token, its user, the user's organization, roles and groups, so that every
    request sees access as it stands: a revocation, a disabled account, a lower clearance or a lost
    group or role counts on the next request, in every server process. Nothing is written.

    Parameters
    ----------
    session
        Any session.
    token
        The token as the client sent it.
    kind
        Accept only this kind (``session`` for the web, ``api`` for the API); None accepts both.
    now
        The time (tests).

    Returns
    -------
    Holder or None
        The holder when the token is good.
    """
    if not token or len(token) > 256:
        return None
    rows = session.execute(_holder_statement(), {"token_hash": hash_token(token)}).all()
    if not rows:
        return None
    row = rows[0]
    token_id, token_kind, expires_at, revoked_at, last_used_at = row[:5]
    if (kind is not None and token_kind != kind) or revoked_at is not None:
        return None
    expires = as_utc(expires_at)
    if expires is None or expires <= now_utc(now) or row.disabled:
        return None
    memberships = {(r[-2], r[-1]) for r in rows if r[-2] is not None}
    principal = Principal(
        user_id=row[5],
        party=row.party_code,
        org_id=row.organization_id,
        org_is_government=row[14] in GOVERNMENT_KINDS,
        clearance=row.clearance,
        groups=frozenset(name for what, name in memberships if what == "group"),
        roles=frozenset(name for what, name in memberships if what == "role"),
    )
    return Holder(
        token_id, token_kind, as_utc(last_used_at), row.username, row.display_name, row[13], row.marking_id, principal
    )


def use_is_stale(holder: Holder, now: datetime | None = None) -> bool:
    """Whether the holder's token use is due to be noted (:data:`LAST_USE_INTERVAL` since the last note)."""
    return holder.last_used_at is None or holder.last_used_at < now_utc(now) - LAST_USE_INTERVAL


def note_use(session: Session, token_id: int, now: datetime | None = None) -> bool:
    """Write a token's last use, unless another request noted it within :data:`LAST_USE_INTERVAL`.

    One conditional ``UPDATE``: of several requests of one token that all found the note stale, the
    first changes the row and the others change nothing.

    Parameters
    ----------
    session
        The transaction to write in (the caller commits).
    token_id
        The token's row.
    now
        The time (tests).

    Returns
    -------
    bool
        Whether this call wrote it.
    """
    now = now_utc(now)
    stale = or_(AuthToken.last_used_at.is_(None), AuthToken.last_used_at < now - LAST_USE_INTERVAL)
    done = session.execute(
        update(AuthToken).where(AuthToken.id == token_id, stale).values(last_used_at=now),
        execution_options={"synchronize_session": False},
    )
    return bool(getattr(done, "rowcount", 0))


def account_of(session: Session, user_id: int) -> User:
    """The account of a signed-in user (its organization, roles and groups loaded with it).

    Parameters
    ----------
    session
        Any session.
    user_id
        The user's id (from a :class:`Holder`).

    Returns
    -------
    User
        The user.
    """
    # The signed-in user's own account: who is asking, not a read of records for a user.
    user: User = session.scalars(unfiltered(User).where(User.id == user_id)).unique().one()
    return user


def resolve_token(session: Session, token: str, *, kind: str | None = None, now: datetime | None = None) -> User | None:
    """The user a token stands for, or None if it is unknown, of another kind, expired or revoked,
    or its user is disabled. Notes the token's last use in ``session``, at most once a minute.

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
    holder = token_holder(session, token, kind=kind, now=now)
    if holder is None:
        return None
    if use_is_stale(holder, now):
        note_use(session, holder.token_id, now)
    return account_of(session, holder.principal.user_id)


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
