"""Tokens on SQLite and PostgreSQL: issued, resolved, expired and revoked; stored only as hashes."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.errors import AccountError
from setu.accounts.login import login
from setu.accounts.lookups import get_user
from setu.accounts.tokens import (
    issue_token,
    resolve_token,
    revoke_token,
    revoke_token_id,
    revoke_user_tokens,
)
from setu.accounts.users import disable_user
from setu.db import transaction
from setu.models.accounts import AuthToken
from setu.models.base import Base

from .world import PASSWORD, T0, add_user, attempt, entries

pytestmark = pytest.mark.usefixtures("orgs")


def test_token_issue_resolve_expire_revoke(sessions: sessionmaker[Session]) -> None:
    user = add_user(sessions)
    with transaction(sessions) as session:
        token = issue_token(session, get_user(session, "asha"), "api", timedelta(days=2), now=T0)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    with transaction(sessions) as session:
        found = resolve_token(session, token, now=T0 + timedelta(days=1))
        assert found is not None and found.id == user.id
        assert resolve_token(session, token, kind="api", now=T0) is not None
        assert resolve_token(session, token, kind="session", now=T0) is None
        assert resolve_token(session, token, now=T0 + timedelta(days=2)) is None  # expired
        assert resolve_token(session, token + "x", now=T0) is None
        assert resolve_token(session, "", now=T0) is None
    with transaction(sessions) as session:
        row = session.scalars(select(AuthToken)).one()
        assert row.last_used_at is not None
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with transaction(sessions) as session:
        assert revoke_token(session, token, now=T0)
        assert not revoke_token(session, token, now=T0)
        assert not revoke_token(session, "no such token", now=T0)
    with transaction(sessions) as session:
        assert resolve_token(session, token, now=T0) is None
    [issued] = entries(sessions, "token.issue")
    assert (issued.object_type, issued.object_id) == ("auth_token", str(row.id))
    assert json.loads(issued.details) == {"user_id": user.id, "kind": "api", "expires_at": "2026-03-04T09:00:00+00:00"}
    [revoked] = entries(sessions, "token.revoke")
    assert json.loads(revoked.details) == {"user_id": user.id, "kind": "api", "reason": "logout"}


def test_tokens_of_disabled_users_do_not_resolve_but_of_locked_ones_do(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        user = get_user(session, "asha")
        first = issue_token(session, user, "session", now=T0)
        second = issue_token(session, user, "api", now=T0)
    for i in range(5):
        attempt(sessions, "asha", "wrong password", minutes=i)
    with transaction(sessions) as session:  # a lockout refuses new logins only: whoever failed them signs no one out
        assert resolve_token(session, first, now=T0 + timedelta(minutes=5)) is not None
        assert resolve_token(session, second, now=T0 + timedelta(minutes=5)) is not None
    with transaction(sessions) as session:
        disable_user(session, get_user(session, "asha"))
    with transaction(sessions) as session:
        assert resolve_token(session, second, now=T0) is None
        with pytest.raises(AccountError, match=r"^user 'asha' is disabled$"):
            issue_token(session, get_user(session, "asha"))
    assert len(entries(sessions, "token.revoke")) == 2  # disabling revoked both


def test_revoke_by_id_and_all_of_a_kind(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        user = get_user(session, "asha")
        tokens = [issue_token(session, user, kind, now=T0) for kind in ("session", "session", "api")]
    with transaction(sessions) as session:
        assert revoke_user_tokens(session, get_user(session, "asha"), kind="session", now=T0) == 2
        assert [resolve_token(session, t, now=T0) is not None for t in tokens] == [False, False, True]
        api_id = session.scalars(select(AuthToken.id).where(AuthToken.kind == "api")).one()
        assert revoke_token_id(session, api_id, now=T0)
        assert not revoke_token_id(session, api_id, now=T0)
        assert resolve_token(session, tokens[2], now=T0) is None


@pytest.mark.parametrize(
    ("kind", "ttl", "message"),
    [
        ("cookie", None, "unknown token kind 'cookie'; expected one of session, api"),
        ("api", timedelta(0), "token lifetime must be positive, got 0:00:00"),
    ],
)
def test_issue_token_errors(sessions: sessionmaker[Session], kind: str, ttl: timedelta | None, message: str) -> None:
    add_user(sessions)
    with pytest.raises(AccountError) as info, transaction(sessions) as session:
        issue_token(session, get_user(session, "asha"), kind, ttl)
    assert str(info.value) == message


def test_token_stored_only_as_hash(sessions: sessionmaker[Session], engine: Engine) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        token = issue_token(session, get_user(session, "asha"), "api", now=T0)
    _user, session_token = login(sessions, "asha", PASSWORD, now=T0)
    dump = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in connection.execute(table.select())]
    everything = "\n".join(dump)
    for raw in (token, session_token):
        assert raw not in everything
        assert hashlib.sha256(raw.encode()).hexdigest() in everything
    assert PASSWORD not in everything
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AuthToken)) == 2
        assert connection.execute(text("SELECT count(*) FROM auth_tokens WHERE length(token_hash) = 64")).scalar() == 2
