"""Login on SQLite and PostgreSQL: any-case usernames, equal failures, lockout, unlock, disabling, rehashing."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.errors import AccountError, AuthenticationError
from setu.accounts.login import login
from setu.accounts.lookups import get_user, user_status
from setu.accounts.passwords import (
    configure_hasher,
)
from setu.accounts.tokens import (
    SESSION_TTL,
    issue_token,
    resolve_token,
)
from setu.accounts.users import disable_user, enable_user, set_password, unlock_user
from setu.db import transaction

from .world import PASSWORD, T0, add_user, attempt, entries, reload

pytestmark = pytest.mark.usefixtures("orgs")


def test_login_succeeds_any_case_and_audits(sessions: sessionmaker[Session]) -> None:
    user = add_user(sessions)
    result = attempt(sessions, "ASHA", PASSWORD)
    assert result.ok
    assert result.require().id == user.id
    [entry] = entries(sessions, "login")
    assert (entry.decision, entry.actor_id, entry.actor, entry.party) == ("permit", user.id, "asha", "IN")
    assert json.loads(entry.details) == {"rehashed": False}


def test_unknown_user_and_wrong_password_look_the_same(sessions: sessionmaker[Session]) -> None:
    user = add_user(sessions)
    wrong = attempt(sessions, "asha", "not the password")
    unknown = attempt(sessions, "nobody", PASSWORD)
    malformed = attempt(sessions, "no body?", PASSWORD)
    for result in (wrong, unknown, malformed):
        assert not result.ok
        assert result.user is None
        assert str(result.error) == "invalid username or password"
        with pytest.raises(AuthenticationError, match=r"^invalid username or password$"):
            result.require()
    assert wrong.error is not None and wrong.error.reason == "bad_password"
    assert unknown.error is not None and unknown.error.reason == "unknown_user"

    denied = entries(sessions, "login")
    assert [(e.decision, e.object_id, e.actor, e.actor_id) for e in denied] == [
        ("deny", str(user.id), "asha", None),
        ("deny", "", "unknown user", None),  # a name that matched no account may be a password: never kept
        ("deny", "", "unknown user", None),
    ]
    assert [json.loads(e.details) for e in denied] == [
        {"reason": "bad_password", "failed_logins": 1},
        {"reason": "unknown_user"},
        {"reason": "unknown_user"},
    ]
    assert not any("not the password" in e.details or PASSWORD in e.details for e in entries(sessions))


def test_lockout_after_five_failures_then_the_window_passes(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    for i in range(4):
        result = attempt(sessions, "asha", f"wrong password {i}", minutes=i)
        assert str(result.error) == "invalid username or password"
    assert reload(sessions, "asha").failed_logins == 4
    fifth = attempt(sessions, "asha", "wrong password 4", minutes=4)
    assert str(fifth.error) == "invalid username or password; account locked until 2026-03-02 09:19 UTC"
    assert user_status(reload(sessions, "asha"), T0 + timedelta(minutes=5)) == "locked until 2026-03-02 09:19 UTC"

    # The right password fails while locked, saying so and until when.
    locked = attempt(sessions, "asha", PASSWORD, minutes=10)
    assert locked.error is not None
    assert str(locked.error) == "account locked until 2026-03-02 09:19 UTC"
    assert locked.error.reason == "locked"
    assert locked.error.locked_until == T0 + timedelta(minutes=19)

    # After the window the right password works, and the count starts again.
    assert attempt(sessions, "asha", PASSWORD, minutes=19).ok
    user = reload(sessions, "asha")
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert user_status(user, T0 + timedelta(minutes=19)) == "active"

    [lock] = entries(sessions, "user.lock")
    assert json.loads(lock.details) == {"failed_logins": 5, "locked_until": "2026-03-02T09:19:00+00:00"}
    logins = entries(sessions, "login")
    assert [(e.decision, json.loads(e.details).get("reason")) for e in logins] == [("deny", "bad_password")] * 5 + [
        ("deny", "locked"),
        ("permit", None),
    ]


def test_expired_lockout_gives_a_fresh_count(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    for i in range(5):
        attempt(sessions, "asha", "wrong password", minutes=i)
    assert str(attempt(sessions, "asha", "wrong password", minutes=20).error) == "invalid username or password"
    assert reload(sessions, "asha").failed_logins == 1


def test_success_resets_the_count(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    for _ in range(4):
        attempt(sessions, "asha", "wrong password")
    assert attempt(sessions, "asha", PASSWORD).ok
    for _ in range(4):
        attempt(sessions, "asha", "wrong password")
    user = reload(sessions, "asha")
    assert (user.failed_logins, user.locked_until) == (4, None)


def test_unlock(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    for _ in range(5):
        attempt(sessions, "asha", "wrong password")
    with transaction(sessions) as session:
        assert unlock_user(session, get_user(session, "asha"), actor_name="cli:root")
    assert attempt(sessions, "asha", PASSWORD, minutes=1).ok
    with transaction(sessions) as session:
        assert not unlock_user(session, get_user(session, "asha"))  # nothing to do, nothing written
    [entry] = entries(sessions, "user.unlock")
    assert entry.actor == "cli:root"
    assert json.loads(entry.details) == {"locked_until": "2026-03-02T09:15:00+00:00"}


def test_disabled_user_cannot_log_in(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        assert disable_user(session, get_user(session, "asha"))
        assert not disable_user(session, get_user(session, "asha"))
    assert str(attempt(sessions, "asha", PASSWORD).error) == "account disabled"
    assert str(attempt(sessions, "asha", "wrong password").error) == "invalid username or password"
    assert user_status(reload(sessions, "asha")) == "disabled"
    with transaction(sessions) as session:
        assert enable_user(session, get_user(session, "asha"))
        assert not enable_user(session, get_user(session, "asha"))
    assert attempt(sessions, "asha", PASSWORD).ok
    assert len(entries(sessions, "user.disable")) == len(entries(sessions, "user.enable")) == 1


def test_rehash_on_login_when_parameters_change(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    old = reload(sessions, "asha").password_hash
    assert "t=1" in old
    configure_hasher(time_cost=2, memory_cost=8192, parallelism=1)
    assert attempt(sessions, "asha", PASSWORD).ok
    new = reload(sessions, "asha").password_hash
    assert new.startswith("$argon2id$v=19$m=8192,t=2,p=1$")
    assert json.loads(entries(sessions, "login")[-1].details) == {"rehashed": True}
    assert attempt(sessions, "asha", PASSWORD).ok
    assert reload(sessions, "asha").password_hash == new


def test_set_password(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        user = get_user(session, "asha")
        token = issue_token(session, user, "api", now=T0)
        with pytest.raises(AccountError, match="password too short"):
            set_password(session, user, "short")
        set_password(session, user, "a new long passphrase", now=T0 + timedelta(hours=1))
    assert not attempt(sessions, "asha", PASSWORD).ok
    assert attempt(sessions, "asha", "a new long passphrase").ok
    changed = reload(sessions, "asha").password_changed_at
    assert (changed if changed.tzinfo else changed.replace(tzinfo=UTC)) == T0 + timedelta(hours=1)
    with transaction(sessions) as session:
        assert resolve_token(session, token, now=T0) is None  # revoked with the old password
    [entry] = entries(sessions, "user.password")
    assert json.loads(entry.details) == {"tokens_revoked": 1}


def test_login_commits_a_failure_then_raises(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with pytest.raises(AuthenticationError, match=r"^invalid username or password$"):
        login(sessions, "asha", "wrong password", now=T0)
    assert reload(sessions, "asha").failed_logins == 1
    assert [e.decision for e in entries(sessions, "login")] == ["deny"]

    user, token = login(sessions, "asha", PASSWORD, now=T0)
    with transaction(sessions) as session:
        resolved = resolve_token(session, token, kind="session", now=T0 + timedelta(hours=11))
        assert resolved is not None and resolved.id == user.id
        assert resolve_token(session, token, now=T0 + SESSION_TTL) is None
