"""Errors of accounts: bad account input and failed logins, each with its HTTP status."""

from __future__ import annotations

from datetime import datetime

from setu.errors import SetuError

REALM = 'Bearer realm="setu"'
"""The ``WWW-Authenticate`` challenge of a 401 answer."""


class AccountError(SetuError):
    """An account operation got bad input: unknown user, party or organization, weak password, ... (422)."""

    status = 422


class AuthenticationError(SetuError):
    """A login failed (401, or 423 while the account is locked).

    ``reason`` is for the audit log and operators; the message is what the user sees. Reasons:
    ``unknown_user`` and ``bad_password`` (both shown as the same message, so a caller cannot tell
    which usernames exist), ``locked`` (with ``locked_until``) and ``disabled``.
    """

    status = 401

    def __init__(self, message: str, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.locked_until = locked_until

    @property
    def locked(self) -> bool:
        """Whether the login failed because the account is locked."""
        return self.reason == "locked" or self.locked_until is not None

    @property
    def http_status(self) -> int:
        return 423 if self.locked else 401

    @property
    def http_headers(self) -> dict[str, str]:
        return {} if self.locked else {"WWW-Authenticate": REALM}
