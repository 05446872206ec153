"""Errors of accounts: bad account input, failed logins and missing roles."""

from __future__ import annotations

from datetime import datetime

from setu.errors import SetuError


class AccountError(SetuError):
    """An account operation got bad input: unknown user, party or organization, weak password, ..."""


class AuthenticationError(SetuError):
    """A login failed. ``reason`` is for the audit log and operators; the message is what the user sees.

    Reasons: ``unknown_user`` and ``bad_password`` (both shown as the same message, so a caller
    cannot tell which usernames exist), ``locked`` (with ``locked_until``) and ``disabled``.
    """

    def __init__(self, message: str, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.locked_until = locked_until


class AccessDenied(SetuError):
    """The user lacks a role the operation requires."""
