"""Passwords: the policy they must meet, and argon2id hashing and checking, a bounded number at a time.

The hasher's parameters can be changed at run time (:func:`configure_hasher`); other modules reach the
hasher in use through :func:`password_hasher`, never by holding it, so a change is seen everywhere.

Every hash and verification passes the gate (:func:`configure_hash_gate`): at most ``slots`` run at
once (each argon2 run takes its memory cost, 64 MiB by default, and its lanes' cores), at most
``queue`` more wait for one, each for at most ``wait`` seconds; the rest are refused (503). The HTTP
app admits sign-ins through its own gate of the same size first (:class:`setu.deps.LoginGate`), where
waiting costs no thread; this one bounds every other caller, and the process as a whole.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from setu.accounts.errors import AccountError
from setu.errors import Unavailable

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
"""Longer inputs are refused before hashing (argon2 would take them, at a cost an attacker chooses)."""
MIN_STRENGTH = 3
"""The zxcvbn score (0-4) a new password needs: 3 is "safely unguessable" (about 10^8 guesses or more)."""
STRENGTH_CHECKED = 72
"""zxcvbn looks at this many leading characters (its limit: its matching grows fast with length)."""

_hasher = PasswordHasher(type=Type.ID)
_dummy_hash: str | None = None


def sign_ins_busy(wait: float) -> Unavailable:
    """The one answer (503) when sign-ins wait longer than ``wait`` seconds or too many wait already."""
    return Unavailable("too many sign-ins at once; try again shortly", retry_after=max(1, math.ceil(wait)))


class HashGate:
    """At most ``slots`` argon2 runs at once, at most ``queue`` callers waiting up to ``wait`` seconds.

    Parameters
    ----------
    slots
        Concurrent hashes or verifications.
    queue
        Callers that may wait for a slot; more are refused at once.
    wait
        Seconds a waiting caller waits before it is refused.
    """

    def __init__(self, slots: int = 2, queue: int = 64, wait: float = 5.0) -> None:
        self.slots = slots
        self.queue = queue
        self.wait = wait
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot now."""
        return self._waiting

    def _busy(self) -> Unavailable:
        return sign_ins_busy(self.wait)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot for the block.

        Raises
        ------
        Unavailable
            (503, with ``Retry-After``) when the queue is full or no slot frees up in time.
        """
        if not self._free.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.queue:
                    raise self._busy()
                self._waiting += 1
            try:
                acquired = self._free.acquire(timeout=self.wait)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not acquired:
                raise self._busy()
        try:
            yield
        finally:
            self._free.release()


_gate = HashGate()


def configure_hash_gate(slots: int, queue: int, wait: float) -> HashGate:
    """Bound the argon2 work in flight (the server does this from its settings at start).

    Parameters
    ----------
    slots
        Concurrent hashes or verifications (``SETU_MAX_CONCURRENT_HASHES``).
    queue
        Callers that may wait for a slot (``SETU_HASH_QUEUE``).
    wait
        Seconds one waits at most (``SETU_HASH_WAIT_SECONDS``).

    Returns
    -------
    HashGate
        The gate now in use.
    """
    global _gate
    _gate = HashGate(slots, queue, wait)
    return _gate


def hash_gate() -> HashGate:
    """The gate in use (see :func:`configure_hash_gate`).

    Returns
    -------
    HashGate
        The gate.
    """
    return _gate


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


def check_password_policy(password: str, username: str = "", other_inputs: tuple[str, ...] = ()) -> None:
    """Refuse a password that is too short, too long, the username, or easy to guess.

    Easy to guess: a zxcvbn score below :data:`MIN_STRENGTH`; zxcvbn knows common and breached
    passwords, names and words, keyboard patterns, repeats, sequences and dates, and is told the
    username and ``other_inputs`` (display name, organization) so that a password built from them scores low.

    Parameters
    ----------
    password
        The candidate password.
    username
        The account's username, which the password must not equal.
    other_inputs
        Words of the account (display name, organization) a guesser would try.

    Raises
    ------
    AccountError
        Naming the field and the rule the password breaks, with zxcvbn's advice for a weak one.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise AccountError("password is only whitespace")
    if username and password.strip().casefold() == username.casefold():
        raise AccountError("password must not be the username")
    # Each word of the account's names too, and each name run together: "Bharat Forge" -> bharat, forge, bharatforge.
    names = [name.casefold() for name in (username, *other_inputs) if name]
    words = [word for name in names for word in re.split(r"[^0-9a-z]+", name) if word]
    inputs = [*names, *words, *(re.sub(r"[^0-9a-z]+", "", name) for name in names)]
    strength = zxcvbn(password[:STRENGTH_CHECKED], user_inputs=inputs)
    if strength["score"] < MIN_STRENGTH:
        feedback = strength["feedback"]
        advice = " ".join([feedback.get("warning") or "", *feedback.get("suggestions", [])]).strip()
        raise AccountError(
            f"password too easy to guess (strength {strength['score']} of 4, at least {MIN_STRENGTH} needed)"
            + (f": {advice}" if advice else "")
        )


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
    with _gate.held():
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
        with _gate.held():
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time of a real verification, so a missing username answers as slowly as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(24))
    verify_password(_dummy_hash, password)
