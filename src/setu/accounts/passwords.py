"""Passwords: the policy they must meet, and argon2id hashing and checking.

The hasher's parameters can be changed at run time (:func:`configure_hasher`); other modules reach the
hasher in use through :func:`password_hasher`, never by holding it, so a change is seen everywhere.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from setu.accounts.errors import AccountError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
"""Longer inputs are refused before hashing (argon2 would take them, at a cost an attacker chooses)."""

_hasher = PasswordHasher(type=Type.ID)
_dummy_hash: str | None = None


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


def dummy_verify(password: str) -> None:
    """Spend the time of a real verification, so a missing username answers as slowly as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(24))
    verify_password(_dummy_hash, password)
