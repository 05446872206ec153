"""Login throttles: failed logins counted per account and per source in the database, never raced.

An attempt is *charged* before its password is checked: one ``UPDATE ... SET failures = failures + 1
WHERE failures < limit RETURNING`` takes a slot only while one is free, so however many logins arrive
at once, at most ``limit`` passwords are ever checked per key and window. The database makes the
statement atomic (SQLite admits one writer; PostgreSQL re-checks the ``WHERE`` on the locked row), so
no count is lost. A failure keeps its charge (the last one locks the key for the whole period, from
then on); a success gives it back. Each charge runs in a short transaction of its own, committed
before the slow password check, so no lock is held while argon2 works.

Keys are ``account:<username as offered, case-folded>`` (whether the account exists or not, so a
locked unknown name answers as a locked account does) and ``source:<client address>``.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from setu.models.accounts import LoginThrottle

KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``attempts`` failed logins per key within ``period``; the last one locks the key for ``period``."""

    attempts: int
    period: timedelta


def account_key(username: str) -> str:
    """The throttle key of a username as offered (existing or not).

    Parameters
    ----------
    username
        The username typed.

    Returns
    -------
    str
        ``account:`` and the case-folded, stripped name, cut to fit the column.
    """
    return ("account:" + username.strip().casefold())[:KEY_LENGTH]


def source_key(source: str) -> str:
    """The throttle key of a client address: an IPv4 address, or the /64 network of an IPv6 one.

    One IPv6 host usually holds a whole /64, so counting single addresses would let it rotate
    through billions of them.

    Parameters
    ----------
    source
        The client's address as the server saw it.

    Returns
    -------
    str
        ``source:`` and the address or network.
    """
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return ("source:" + source)[:KEY_LENGTH]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"source:{address.ipv4_mapped}"
        return f"source:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"source:{address}"


def _seconds(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def _ensure_row(session: Session, key: str) -> None:
    """Create the key's row if missing; a concurrent creation is not an error (``ON CONFLICT DO NOTHING``)."""
    values = {"key": key, "failures": 0, "window_end": 0}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(postgresql.insert(LoginThrottle).values(values).on_conflict_do_nothing())
    elif session.get_bind().dialect.name == "sqlite":
        session.execute(sqlite.insert(LoginThrottle).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        session.execute(insert(LoginThrottle).values(values))


def charge(session: Session, key: str, limit: Limit, now: datetime) -> int | None:
    """Take one attempt from ``key``'s allowance, atomically; None when none is left.

    Must be the first statement of a short transaction (on SQLite a transaction that writes first waits
    for the write lock instead of failing).

    Parameters
    ----------
    session
        A fresh transaction, committed by the caller before the password is checked.
    key
        The throttle key.
    limit
        The key's allowance.
    now
        The time.

    Returns
    -------
    int or None
        The attempt's number in the window (1 for the first), or None if the key is locked.
    """
    _ensure_row(session, key)
    at = _seconds(now)
    expired = LoginThrottle.window_end <= at
    taken = session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, expired | (LoginThrottle.failures < limit.attempts))
        .values(
            failures=case((expired, 1), else_=LoginThrottle.failures + 1),
            window_end=case((expired, at + int(limit.period.total_seconds())), else_=LoginThrottle.window_end),
        )
        .returning(LoginThrottle.failures)
    ).scalar_one_or_none()
    return taken


def retry_after(session: Session, key: str, limit: Limit, now: datetime) -> datetime:
    """When a locked key frees up (the period from now if its last failure is still being checked).

    Parameters
    ----------
    session
        Any transaction.
    key
        A locked key.
    limit
        Its allowance.
    now
        The time.

    Returns
    -------
    datetime
        The end of the lockout.
    """
    row = session.get(LoginThrottle, key)
    ends = row.window_end if row is not None else 0
    if ends <= _seconds(now):
        return now + limit.period
    return now + timedelta(seconds=ends - _seconds(now))


def lock(session: Session, key: str, limit: Limit, now: datetime) -> datetime:
    """Lock ``key`` for the period from now (its last allowed attempt failed); drop long-expired rows.

    Parameters
    ----------
    session
        The outcome's transaction.
    key
        The key.
    limit
        Its allowance.
    now
        The time.

    Returns
    -------
    datetime
        When the lockout ends.
    """
    at = _seconds(now)
    ends = at + int(limit.period.total_seconds())
    session.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(window_end=ends))
    # Keys of names nobody has tried for a day go, so guessed names do not pile up.
    session.execute(delete(LoginThrottle).where(LoginThrottle.window_end < at - 86_400))
    return now + timedelta(seconds=ends - at)


def refund(session: Session, key: str, *, clear: bool = False) -> None:
    """Give back an attempt that succeeded, or (``clear``) forget the key's failures.

    Parameters
    ----------
    session
        The outcome's transaction.
    key
        The key.
    clear
        Reset the count (a successful login clears its account's failures).
    """
    values = {"failures": 0} if clear else {"failures": LoginThrottle.failures - 1}
    session.execute(update(LoginThrottle).where(LoginThrottle.key == key, LoginThrottle.failures > 0).values(values))


def reset(session: Session, key: str) -> bool:
    """Forget a key's failures and lockout (an administrator's unlock).

    Parameters
    ----------
    session
        The caller's transaction.
    key
        The key.

    Returns
    -------
    bool
        Whether there was anything to forget.
    """
    gone = session.execute(delete(LoginThrottle).where(LoginThrottle.key == key).returning(LoginThrottle.failures))
    return any(failures > 0 for failures in gone.scalars())


def is_throttled(session: Session, key: str, limit: Limit, now: datetime) -> datetime | None:
    """When ``key``'s lockout ends, or None if it is not locked (no attempt is charged).

    Parameters
    ----------
    session
        Any transaction.
    key
        The key.
    limit
        Its allowance.
    now
        The time.

    Returns
    -------
    datetime or None
        The end of the lockout.
    """
    row = session.get(LoginThrottle, key)
    if row is None or row.window_end <= _seconds(now) or row.failures < limit.attempts:
        return None
    return now + timedelta(seconds=row.window_end - _seconds(now))
