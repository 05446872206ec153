"""User accounts: argon2id passwords, lockout, session and API tokens, roles, sign-in, and ``setu accounts``.

The service modules are ``passwords``, ``lookups`` (parsing, users, parties and organizations found),
``users`` (creating and changing users), ``login`` (principals, login, lockout) and ``tokens``; their
main functions are also importable from the package.
"""

from setu.accounts.errors import AccountError, AuthenticationError
from setu.accounts.login import LOCKOUT_PERIOD, MAX_FAILED_LOGINS, LoginAttempt, authenticate, login, principal_of
from setu.accounts.lookups import find_user, get_user, list_users, user_status
from setu.accounts.passwords import MIN_PASSWORD_LENGTH, configure_hasher
from setu.accounts.tokens import (
    API_TOKEN_TTL,
    SESSION_COOKIE,
    SESSION_TTL,
    issue_token,
    resolve_token,
    revoke_token,
    revoke_token_id,
    revoke_user_tokens,
)
from setu.accounts.users import create_user, disable_user, enable_user, set_password, unlock_user

__all__ = [
    "API_TOKEN_TTL",
    "LOCKOUT_PERIOD",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "SESSION_COOKIE",
    "SESSION_TTL",
    "AccountError",
    "AuthenticationError",
    "LoginAttempt",
    "authenticate",
    "configure_hasher",
    "create_user",
    "disable_user",
    "enable_user",
    "find_user",
    "get_user",
    "issue_token",
    "list_users",
    "login",
    "principal_of",
    "resolve_token",
    "revoke_token",
    "revoke_token_id",
    "revoke_user_tokens",
    "set_password",
    "unlock_user",
    "user_status",
]
