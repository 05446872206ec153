"""Users on SQLite and PostgreSQL: creating them, their organizations, principals, roles, who lists whom, audit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.errors import AccountError
from setu.accounts.login import principal_of
from setu.accounts.lookups import get_user, list_users
from setu.accounts.tokens import (
    issue_token,
    revoke_token,
)
from setu.accounts.users import disable_user, set_password
from setu.db import transaction
from setu.errors import AccessDenied
from setu.models.accounts import User
from setu.sharing.markings import MarkingSpec
from setu.sharing.roles import check_role

from .world import PASSWORD, T0, add_user, attempt, entries, reload

pytestmark = pytest.mark.usefixtures("orgs")


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


# --- principals, roles, visibility -----------------------------------------------------------------------


def test_principal_of_ministry_and_firm_users(sessions: sessionmaker[Session], orgs: dict[str, int]) -> None:
    add_user(sessions, "asha", clearance="SECRET", roles=("analyst", "admin"), groups=("ENGINE", "RADAR"))
    add_user(sessions, "bob", party="US", org="Acme Castings", clearance="1", roles=("industry",), groups=())
    with transaction(sessions) as session:
        ministry = principal_of(get_user(session, "asha"))
        firm = principal_of(get_user(session, "bob"))
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
        principal = principal_of(get_user(session, "asha"))
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
        assert [u.username for u in list_users(session)] == ["asha", "Bob", "carol"]
        us = principal_of(get_user(session, "bob"))
        india = principal_of(get_user(session, "asha"))
        assert [u.username for u in list_users(session, us)] == ["Bob", "carol"]
        assert [u.username for u in list_users(session, india)] == ["asha"]


def test_every_write_is_audited(sessions: sessionmaker[Session]) -> None:
    add_user(sessions)
    attempt(sessions, "asha", "wrong password")
    attempt(sessions, "asha", PASSWORD)
    with transaction(sessions) as session:
        user = get_user(session, "asha")
        token = issue_token(session, user, now=T0)
        revoke_token(session, token, now=T0)
        set_password(session, user, "another long passphrase")
        disable_user(session, user)
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
