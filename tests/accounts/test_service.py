"""Accounts service on SQLite and PostgreSQL: passwords, lockout, tokens, principals, roles and audit."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts import service
from setu.accounts.errors import AccountError, AuthenticationError
from setu.db import transaction
from setu.errors import AccessDenied
from setu.models.accounts import AuthToken, User
from setu.models.audit import AuditEntry
from setu.models.base import Base
from setu.sharing.markings import MarkingSpec
from setu.sharing.roles import check_role

from .conftest import PASSWORD, T0

pytestmark = pytest.mark.usefixtures("orgs")


def add_user(
    sessions: sessionmaker[Session],
    username: str = "asha",
    *,
    party: str = "IN",
    org: str = "Ministry of Defence",
    clearance: int | str = 2,
    roles: tuple[str, ...] = ("analyst",),
    groups: tuple[str, ...] = ("ENGINE",),
    password: str = PASSWORD,
) -> User:
    with transaction(sessions) as session:
        return service.create_user(
            session,
            username,
            password,
            party=party,
            organization=org,
            clearance=clearance,
            roles=roles,
            groups=groups,
            now=T0,
        )


def attempt(sessions: sessionmaker[Session], username: str, password: str, minutes: float = 0) -> service.LoginAttempt:
    with transaction(sessions) as session:
        return service.authenticate(session, username, password, now=T0 + timedelta(minutes=minutes))


def entries(sessions: sessionmaker[Session], action: str | None = None) -> list[AuditEntry]:
    with transaction(sessions) as session:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def reload(sessions: sessionmaker[Session], username: str) -> User:
    with transaction(sessions) as session:
        return service.get_user(session, username)


# --- passwords -------------------------------------------------------------------------------------------


def test_argon2id_hash_verifies_only_the_password() -> None:
    hashed = service.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert service.verify_password(hashed, PASSWORD)
    assert not service.verify_password(hashed, PASSWORD + "!")
    assert not service.verify_password("not a hash", PASSWORD)
    assert service.hash_password(PASSWORD) != hashed  # salted


def test_configure_hasher_defaults_back() -> None:
    service.configure_hasher()
    default = service.password_hasher()
    assert (default.time_cost, default.memory_cost) == (3, 65536)
    assert service.hash_password(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "password too short: at least 12 characters, got 10"),
        (" " * 14, "password is only whitespace"),
        ("x" * 1025, "password too long: at most 1024 characters"),
        ("Asha-Rao-2026", "password must not be the username"),
    ],
)
def test_password_policy(password: str, message: str) -> None:
    with pytest.raises(AccountError) as info:
        service.check_password_policy(password, "asha-rao-2026")
    assert str(info.value) == message


# --- creating users --------------------------------------------------------------------------------------


def test_create_user_stores_everything_and_audits(sessions: sessionmaker[Session], orgs: dict[str, int]) -> None:
    user = add_user(
        sessions, "Asha", clearance="confidential", roles=("analyst", "desk-officer"), groups=("RADAR", "ENGINE")
    )
    loaded = reload(sessions, "ASHA")
    assert loaded.id == user.id
    assert loaded.username == "Asha"
    assert loaded.display_name == "Asha"
    assert (loaded.party_code, loaded.organization_id, loaded.clearance) == ("IN", orgs["Ministry of Defence"], 2)
    assert loaded.roles == {"analyst", "desk_officer"}
    assert loaded.groups == {"ENGINE", "RADAR"}
    assert loaded.password_hash.startswith("$argon2id$")
    assert (loaded.failed_logins, loaded.locked_until, loaded.disabled) == (0, None, False)
    assert MarkingSpec.of(loaded.marking) == MarkingSpec(0, "IN", frozenset({"IN"}))

    [entry] = entries(sessions)
    assert (entry.action, entry.decision, entry.object_type, entry.object_id) == (
        "user.create",
        "permit",
        "user",
        str(user.id),
    )
    assert json.loads(entry.details) == {
        "username": "Asha",
        "party": "IN",
        "organization_id": orgs["Ministry of Defence"],
        "clearance": 2,
        "roles": ["analyst", "desk_officer"],
        "groups": ["ENGINE", "RADAR"],
    }
    assert PASSWORD not in entry.details


def test_organization_by_id_and_any_case(sessions: sessionmaker[Session], orgs: dict[str, int]) -> None:
    assert add_user(sessions, "a1", org="bharat forge").organization_id == orgs["Bharat Forge"]
    assert add_user(sessions, "a2", party="us", org=str(orgs["Acme Castings"])).party_code == "US"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"party": "JP"}, "unknown party 'JP'; known parties: IN, US"),
        (
            {"org": "Ministry of Magic"},
            "unknown organization 'Ministry of Magic' of party IN; known: Bharat Forge; Ministry of Defence",
        ),
        (
            {"party": "US"},
            "unknown organization 'Ministry of Defence' of party US; known: Acme Castings; Department of War",
        ),
        (
            {"clearance": "TOP SECRET"},
            "unknown clearance 'TOP SECRET'; expected one of UNCLASSIFIED (0), RESTRICTED (1), "
            "CONFIDENTIAL (2), SECRET (3)",
        ),
        (
            {"clearance": 4},
            "unknown clearance 4; expected one of UNCLASSIFIED (0), RESTRICTED (1), CONFIDENTIAL (2), SECRET (3)",
        ),
        (
            {"roles": ("analyst", "spy")},
            "unknown role 'spy'; expected one of admin, analyst, desk_officer, industry, auditor",
        ),
        ({"roles": ()}, "a user needs at least one role: admin, analyst, desk_officer, industry, auditor"),
        ({"groups": ("NO SPACES",)}, "bad group name 'NO SPACES': letters, digits, '.', '_' or '-', up to 64"),
        ({"password": "too short"}, "password too short: at least 12 characters, got 9"),
        (
            {"username": "a b"},
            "bad username 'a b': 2 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        ),
    ],
)
def test_create_user_errors(sessions: sessionmaker[Session], changes: dict[str, Any], message: str) -> None:
    with pytest.raises(AccountError) as info:
        add_user(sessions, **changes)
    assert str(info.value) == message
    assert entries(sessions) == []


def test_organization_of_another_party(sessions: sessionmaker[Session], orgs: dict[str, int]) -> None:
    with pytest.raises(AccountError, match=r"^organization 'Acme Castings' belongs to party US, not IN$"):
        add_user(sessions, org=str(orgs["Acme Castings"]))


def test_usernames_are_unique_regardless_of_case(sessions: sessionmaker[Session]) -> None:
    add_user(sessions, "asha")
    with pytest.raises(AccountError, match=r"^user 'ASHA' already exists$"):
        add_user(sessions, "ASHA")
    # The database enforces it too, not only the service.
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        first = reload(sessions, "asha")
        session.add(
            User(
                username="AsHa",
                party_code="IN",
                organization_id=first.organization_id,
                clearance=0,
                password_hash="x",
                marking_id=first.marking_id,
            )
        )
        session.flush()


# --- login and lockout -----------------------------------------------------------------------------------


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
        ("deny", "", "nobody", None),
        ("deny", "", "no body?", None),
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
    assert (
        service.user_status(reload(sessions, "asha"), T0 + timedelta(minutes=5)) == "locked until 2026-03-02 09:19 UTC"
    )

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
    assert service.user_status(user, T0 + timedelta(minutes=19)) == "active"

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
        assert service.unlock_user(session, service.get_user(session, "asha"), actor_name="cli:root")
    assert attempt(sessions, "asha", PASSWORD, minutes=1).ok
    with transaction(sessions) as session:
        assert not service.unlock_user(session, service.get_user(session, "asha"))  # nothing to do, nothing written
    [entry] = entries(sessions, "user.unlock")
    assert entry.actor == "cli:root"
    assert json.loads(entry.details) == {"locked_until": "2026-03-02T09:15:00+00:00"}


def test_disabled_user_cannot_log_in(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        assert service.disable_user(session, service.get_user(session, "asha"))
        assert not service.disable_user(session, service.get_user(session, "asha"))
    assert str(attempt(sessions, "asha", PASSWORD).error) == "account disabled"
    assert str(attempt(sessions, "asha", "wrong password").error) == "invalid username or password"
    assert service.user_status(reload(sessions, "asha")) == "disabled"
    with transaction(sessions) as session:
        assert service.enable_user(session, service.get_user(session, "asha"))
        assert not service.enable_user(session, service.get_user(session, "asha"))
    assert attempt(sessions, "asha", PASSWORD).ok
    assert len(entries(sessions, "user.disable")) == len(entries(sessions, "user.enable")) == 1


def test_rehash_on_login_when_parameters_change(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    old = reload(sessions, "asha").password_hash
    assert "t=1" in old
    service.configure_hasher(time_cost=2, memory_cost=8192, parallelism=1)
    assert attempt(sessions, "asha", PASSWORD).ok
    new = reload(sessions, "asha").password_hash
    assert new.startswith("$argon2id$v=19$m=8192,t=2,p=1$")
    assert json.loads(entries(sessions, "login")[-1].details) == {"rehashed": True}
    assert attempt(sessions, "asha", PASSWORD).ok
    assert reload(sessions, "asha").password_hash == new


def test_set_password(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        user = service.get_user(session, "asha")
        token = service.issue_token(session, user, "api", now=T0)
        with pytest.raises(AccountError, match="password too short"):
            service.set_password(session, user, "short")
        service.set_password(session, user, "a new long passphrase", now=T0 + timedelta(hours=1))
    assert not attempt(sessions, "asha", PASSWORD).ok
    assert attempt(sessions, "asha", "a new long passphrase").ok
    changed = reload(sessions, "asha").password_changed_at
    assert (changed if changed.tzinfo else changed.replace(tzinfo=UTC)) == T0 + timedelta(hours=1)
    with transaction(sessions) as session:
        assert service.resolve_token(session, token, now=T0) is None  # revoked with the old password
    [entry] = entries(sessions, "user.password")
    assert json.loads(entry.details) == {"tokens_revoked": 1}


def test_login_commits_a_failure_then_raises(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with pytest.raises(AuthenticationError, match=r"^invalid username or password$"):
        service.login(sessions, "asha", "wrong password", now=T0)
    assert reload(sessions, "asha").failed_logins == 1
    assert [e.decision for e in entries(sessions, "login")] == ["deny"]

    user, token = service.login(sessions, "asha", PASSWORD, now=T0)
    with transaction(sessions) as session:
        resolved = service.resolve_token(session, token, kind="session", now=T0 + timedelta(hours=11))
        assert resolved is not None and resolved.id == user.id
        assert service.resolve_token(session, token, now=T0 + service.SESSION_TTL) is None


# --- tokens ----------------------------------------------------------------------------------------------


def test_token_issue_resolve_expire_revoke(sessions: sessionmaker[Session]) -> None:
    user = add_user(sessions)
    with transaction(sessions) as session:
        token = service.issue_token(session, service.get_user(session, "asha"), "api", timedelta(days=2), now=T0)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    with transaction(sessions) as session:
        found = service.resolve_token(session, token, now=T0 + timedelta(days=1))
        assert found is not None and found.id == user.id
        assert service.resolve_token(session, token, kind="api", now=T0) is not None
        assert service.resolve_token(session, token, kind="session", now=T0) is None
        assert service.resolve_token(session, token, now=T0 + timedelta(days=2)) is None  # expired
        assert service.resolve_token(session, token + "x", now=T0) is None
        assert service.resolve_token(session, "", now=T0) is None
    with transaction(sessions) as session:
        row = session.scalars(select(AuthToken)).one()
        assert row.last_used_at is not None
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with transaction(sessions) as session:
        assert service.revoke_token(session, token, now=T0)
        assert not service.revoke_token(session, token, now=T0)
        assert not service.revoke_token(session, "no such token", now=T0)
    with transaction(sessions) as session:
        assert service.resolve_token(session, token, now=T0) is None
    [issued] = entries(sessions, "token.issue")
    assert (issued.object_type, issued.object_id) == ("auth_token", str(row.id))
    assert json.loads(issued.details) == {"user_id": user.id, "kind": "api", "expires_at": "2026-03-04T09:00:00+00:00"}
    [revoked] = entries(sessions, "token.revoke")
    assert json.loads(revoked.details) == {"user_id": user.id, "kind": "api", "reason": "logout"}


def test_tokens_of_disabled_or_locked_users_do_not_resolve(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        user = service.get_user(session, "asha")
        first = service.issue_token(session, user, "session", now=T0)
        second = service.issue_token(session, user, "api", now=T0)
    for i in range(5):
        attempt(sessions, "asha", "wrong password", minutes=i)
    with transaction(sessions) as session:
        assert service.resolve_token(session, first, now=T0 + timedelta(minutes=5)) is None
        assert service.resolve_token(session, first, now=T0 + timedelta(minutes=20)) is not None
    with transaction(sessions) as session:
        service.disable_user(session, service.get_user(session, "asha"))
    with transaction(sessions) as session:
        assert service.resolve_token(session, second, now=T0) is None
        with pytest.raises(AccountError, match=r"^user 'asha' is disabled$"):
            service.issue_token(session, service.get_user(session, "asha"))
    assert len(entries(sessions, "token.revoke")) == 2  # disabling revoked both


def test_revoke_by_id_and_all_of_a_kind(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        user = service.get_user(session, "asha")
        tokens = [service.issue_token(session, user, kind, now=T0) for kind in ("session", "session", "api")]
    with transaction(sessions) as session:
        assert service.revoke_user_tokens(session, service.get_user(session, "asha"), kind="session", now=T0) == 2
        assert [service.resolve_token(session, t, now=T0) is not None for t in tokens] == [False, False, True]
        api_id = session.scalars(select(AuthToken.id).where(AuthToken.kind == "api")).one()
        assert service.revoke_token_id(session, api_id, now=T0)
        assert not service.revoke_token_id(session, api_id, now=T0)
        assert service.resolve_token(session, tokens[2], now=T0) is None


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
        service.issue_token(session, service.get_user(session, "asha"), kind, ttl)
    assert str(info.value) == message


def test_token_stored_only_as_hash(sessions: sessionmaker[Session], engine: Engine) -> None:
    add_user(sessions)
    with transaction(sessions) as session:
        token = service.issue_token(session, service.get_user(session, "asha"), "api", now=T0)
    _user, session_token = service.login(sessions, "asha", PASSWORD, now=T0)
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


# --- principals, roles, visibility -----------------------------------------------------------------------


def test_principal_of_ministry_and_firm_users(sessions: sessionmaker[Session], orgs: dict[str, int]) -> None:
    add_user(sessions, "asha", clearance="SECRET", roles=("analyst", "admin"), groups=("ENGINE", "RADAR"))
    add_user(sessions, "bob", party="US", org="Acme Castings", clearance="1", roles=("industry",), groups=())
    with transaction(sessions) as session:
        ministry = service.principal_of(service.get_user(session, "asha"))
        firm = service.principal_of(service.get_user(session, "bob"))
    assert (ministry.party, ministry.org_id, ministry.org_is_government, ministry.clearance) == (
        "IN",
        orgs["Ministry of Defence"],
        True,
        3,
    )
    assert ministry.groups == {"ENGINE", "RADAR"}
    assert ministry.roles == {"admin", "analyst"}
    assert (firm.party, firm.org_id, firm.org_is_government, firm.clearance) == ("US", orgs["Acme Castings"], False, 1)
    assert (firm.groups, firm.roles) == (frozenset(), frozenset({"industry"}))


def test_require_role(sessions: sessionmaker[Session]) -> None:
    add_user(sessions, roles=("analyst", "desk_officer"))
    with transaction(sessions) as session:
        principal = service.principal_of(service.get_user(session, "asha"))
    check_role(principal, "analyst")
    check_role(principal, "admin", "desk_officer")
    with pytest.raises(AccessDenied) as info:
        check_role(principal, "admin", "auditor")
    assert str(info.value) == f"requires role admin or auditor; user {principal.user_id} holds analyst, desk_officer"


def test_list_users_filtered_by_their_markings(sessions: sessionmaker[Session]) -> None:
    add_user(sessions, "asha")
    add_user(sessions, "Bob", party="US", org="Department of War")
    add_user(sessions, "carol", party="US", org="Acme Castings", roles=("industry",))
    with transaction(sessions) as session:
        assert [u.username for u in service.list_users(session)] == ["asha", "Bob", "carol"]
        us = service.principal_of(service.get_user(session, "bob"))
        india = service.principal_of(service.get_user(session, "asha"))
        assert [u.username for u in service.list_users(session, us)] == ["Bob", "carol"]
        assert [u.username for u in service.list_users(session, india)] == ["asha"]


def test_every_write_is_audited(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    attempt(sessions, "asha", "wrong password")
    attempt(sessions, "asha", PASSWORD)
    with transaction(sessions) as session:
        user = service.get_user(session, "asha")
        token = service.issue_token(session, user, now=T0)
        service.revoke_token(session, token, now=T0)
        service.set_password(session, user, "another long passphrase")
        service.disable_user(session, user)
    actions = [(e.action, e.decision) for e in entries(sessions)]
    assert actions == [
        ("user.create", "permit"),
        ("login", "deny"),
        ("login", "permit"),
        ("token.issue", "permit"),
        ("token.revoke", "permit"),
        ("user.password", "permit"),
        ("user.disable", "permit"),
    ]
    assert [e.seq for e in entries(sessions)] == list(range(7))
