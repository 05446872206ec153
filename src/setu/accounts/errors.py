"""Errors of accounts: bad account input and failed logins, each with its HTTP status."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from setu.errors import SetuError

REALM = 'Bearer realm="setu"'
"""The ``WWW-Authenticate`` challenge of a 401 answer."""


class AccountError(SetuError):
    """An account operation got bad input: unknown user, party or organization, weak password, ... (422)."""

    status = 422


class AuthenticationError(SetuError):
    """A login failed (401; 423 while the name is locked; 429 while the client's address is throttled).

    ``reason`` is for the audit log and operators; the message is what the user sees. Reasons:
    ``unknown_user`` and ``bad_password`` (both shown as the same message, so a caller cannot tell
    which usernames exist), ``locked`` (with ``locked_until``; unknown names lock exactly as accounts
    do), ``throttled`` (too many failures from one address, with ``locked_until``) and ``disabled``.
    Locked and throttled answers carry ``Retry-After``.
    """

    status = 401

    def __init__(self, message: str, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.locked_until = locked_until

    @property
    def locked(self) -> bool:
        """Whether the login failed because the name is locked (or the attempt locked it)."""
        return self.reason == "locked" or (self.locked_until is not None and self.reason != "throttled")

    @property
    def http_status(self) -> int:
        if self.reason == "throttled":
            return 429
        return 423 if self.locked else 401

    @property
    def http_headers(self) -> dict[str, str]:
        if self.locked_until is None:
            return {"WWW-Authenticate": REALM}
        seconds = math.ceil((self.locked_until - datetime.now(UTC)).total_seconds())
        return {"Retry-After": str(max(1, seconds))}
