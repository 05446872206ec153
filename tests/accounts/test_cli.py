"""``setu accounts`` on SQLite and PostgreSQL: add, list, passwd, disable, enable, unlock, token, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from setu.accounts import cli as accounts_cli
from setu.accounts.login import MAX_FAILED_LOGINS, authenticate
from setu.accounts.lookups import get_user, list_users
from setu.accounts.tokens import hash_token, resolve_token
from setu.audit.log import integrate
from setu.cli import app
from setu.db import make_engine, transaction
from setu.models.accounts import AuthToken
from setu.models.audit import AuditEntry

from .world import PASSWORD

pytestmark = pytest.mark.usefixtures("orgs")

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def setu(engine: Engine) -> CliRunner:
    """A runner whose ``SETU_DATABASE_URL`` is the test database."""
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner(env={"SETU_DATABASE_URL": url, "COLUMNS": "200"})


def run(runner: CliRunner, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, ["accounts", *args], input=input)


def add(runner: CliRunner, username: str = "asha", *extra: str, password: str = PASSWORD) -> Result:
    args = extra or (
        "--party",
        "IN",
        "--org",
        "Ministry of Defence",
        "--clearance",
        "CONFIDENTIAL",
        "--role",
        "analyst",
    )
    return run(runner, "add", username, *args, "--password-stdin", input=password + "\n")


def login_ok(sessions: sessionmaker[Session], username: str, password: str) -> bool:
    return authenticate(sessions, username, password).ok


def test_add_with_password_on_stdin(setu: CliRunner, sessions: sessionmaker[Session], orgs: dict[str, int]) -> None:
    result = run(
        setu,
        "add",
        "asha",
        "--party",
        "IN",
        "--org",
        "ministry of defence",
        "--clearance",
        "CONFIDENTIAL",
        "--role",
        "analyst",
        "--role",
        "desk_officer",
        "--group",
        "ENGINE",
        "--group",
        "RADAR",
        "--name",
        "Asha Rao",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "added asha (IN, Ministry of Defence, CONFIDENTIAL, analyst, desk_officer)\n"
    with transaction(sessions) as session:
        user = get_user(session, "asha")
        assert (user.display_name, user.clearance, user.organization_id) == ("Asha Rao", 2, orgs["Ministry of Defence"])
        assert user.roles == {"analyst", "desk_officer"}
        assert user.groups == {"ENGINE", "RADAR"}
        integrate(session)  # sequence what is pending, as every reader of the log does
        [entry] = session.scalars(select(AuditEntry)).all()
        assert entry.action == "user.create"
        assert entry.actor.startswith("cli")
    assert login_ok(sessions, "asha", PASSWORD)


def test_add_prompts_twice_on_a_terminal(
    setu: CliRunner, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts_cli, "_stdin_is_tty", lambda: True)
    args = ("add", "bob", "--party", "US", "--org", "Acme Castings", "--clearance", "1", "--role", "industry")
    result = run(setu, *args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.stderr and "Repeat for confirmation" in result.stderr
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert login_ok(sessions, "bob", PASSWORD)


def test_add_without_terminal_or_stdin_flag(setu: CliRunner) -> None:
    args = ("add", "bob", "--party", "US", "--org", "Acme Castings", "--clearance", "1", "--role", "industry")
    result = run(setu, *args, input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert result.stderr == "error: no terminal to ask for the password: pass --password-stdin\n"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (
            ("--party", "JP", "--org", "Ministry of Defence", "--clearance", "2", "--role", "analyst"),
            PASSWORD,
            "unknown party 'JP'; known parties: IN, US",
        ),
        (
            ("--party", "IN", "--org", "Acme Castings", "--clearance", "2", "--role", "analyst"),
            PASSWORD,
            "unknown organization 'Acme Castings' of party IN; known: Bharat Forge; Ministry of Defence",
        ),
        (
            ("--party", "IN", "--org", "Bharat Forge", "--clearance", "TOPSECRET", "--role", "industry"),
            PASSWORD,
            "unknown clearance 'TOPSECRET'; expected one of UNCLASSIFIED (0), RESTRICTED (1), CONFIDENTIAL (2), "
            "SECRET (3)",
        ),
        (
            ("--party", "IN", "--org", "Bharat Forge", "--clearance", "0", "--role", "spy"),
            PASSWORD,
            "unknown role 'spy'; expected one of admin, analyst, desk_officer, industry, auditor",
        ),
        (
            ("--party", "IN", "--org", "Bharat Forge", "--clearance", "0", "--role", "industry"),
            "hunter2",
            "password too short: at least 12 characters, got 7",
        ),
    ],
)
def test_add_errors(
    setu: CliRunner, sessions: sessionmaker[Session], args: tuple[str, ...], password: str, message: str
) -> None:
    result = add(setu, "asha", *args, password=password)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output
    with transaction(sessions) as session:
        assert list_users(session) == []
        integrate(session)  # sequence what is pending, as every reader of the log does
        assert session.scalars(select(AuditEntry)).all() == []


def test_add_duplicate_username(setu: CliRunner) -> None:
    assert add(setu, "asha").exit_code == 0
    result = add(setu, "ASHA")
    assert result.exit_code == 2
    assert result.stderr == "error: user 'ASHA' already exists\n"


def test_list_shows_status(setu: CliRunner, sessions: sessionmaker[Session]) -> None:
    assert add(setu, "asha").exit_code == 0
    us = ("--party", "US", "--org", "Acme Castings", "--clearance", "SECRET", "--role", "industry", "--group", "ENGINE")
    assert add(setu, "bob", *us).exit_code == 0
    assert add(setu, "carol").exit_code == 0
    for _ in range(MAX_FAILED_LOGINS):
        login_ok(sessions, "bob", "wrong password")
    assert run(setu, "disable", "carol").exit_code == 0

    result = run(setu, "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "3 users"
    header = [c.strip() for c in lines[2].split("┃")[1:-1]]
    assert header == ["username", "party", "organization", "roles", "clearance", "groups", "status"]
    row = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in lines if "│" in line}
    assert list(row) == ["asha", "bob", "carol"]
    assert row["asha"] == ["IN", "Ministry of Defence", "analyst", "CONFIDENTIAL", "-", "active"]
    assert row["bob"][:5] == ["US", "Acme Castings", "industry", "SECRET", "ENGINE"]
    assert row["bob"][5].startswith("locked until ") and row["bob"][5].endswith(" UTC")
    assert row["carol"][5] == "disabled"


def test_passwd(setu: CliRunner, sessions: sessionmaker[Session]) -> None:
    assert add(setu, "asha").exit_code == 0
    result = run(setu, "passwd", "Asha", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "password changed for asha; their tokens are revoked\n"
    assert not login_ok(sessions, "asha", PASSWORD)
    assert login_ok(sessions, "asha", NEW_PASSWORD)

    weak = run(setu, "passwd", "asha", "--password-stdin", input="short\n")
    assert (weak.exit_code, weak.stderr) == (2, "error: password too short: at least 12 characters, got 5\n")
    guessable = run(setu, "passwd", "asha", "--password-stdin", input="password1234\n")
    assert guessable.exit_code == 2
    assert guessable.stderr.startswith("error: password too easy to guess (strength 1 of 4, at least 3 needed)")
    unknown = run(setu, "passwd", "nobody", "--password-stdin", input=NEW_PASSWORD + "\n")
    assert (unknown.exit_code, unknown.stderr) == (2, "error: no user 'nobody'\n")


def test_disable_enable(setu: CliRunner, sessions: sessionmaker[Session]) -> None:
    assert add(setu, "asha").exit_code == 0
    assert run(setu, "disable", "asha").stdout == "disabled asha\n"
    assert run(setu, "disable", "asha").stdout == "asha was already disabled\n"
    assert str(authenticate(sessions, "asha", PASSWORD).error) == "account disabled"
    assert run(setu, "enable", "asha").stdout == "enabled asha\n"
    assert run(setu, "enable", "asha").stdout == "asha was not disabled\n"
    assert login_ok(sessions, "asha", PASSWORD)


def test_unlock(setu: CliRunner, sessions: sessionmaker[Session]) -> None:
    assert add(setu, "asha").exit_code == 0
    for _ in range(MAX_FAILED_LOGINS):
        login_ok(sessions, "asha", "wrong password")
    assert not login_ok(sessions, "asha", PASSWORD)
    result = run(setu, "unlock", "asha")
    assert (result.exit_code, result.stdout) == (0, "unlocked asha\n")
    assert login_ok(sessions, "asha", PASSWORD)
    assert run(setu, "unlock", "asha").stdout == "asha was not locked\n"
    with transaction(sessions) as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.unlock")).all()
        assert entry.actor.startswith("cli")


def test_token(setu: CliRunner, sessions: sessionmaker[Session], engine: Engine) -> None:
    assert add(setu, "asha").exit_code == 0
    result = run(setu, "token", "asha", "--ttl-days", "7")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(token) == 43 and "\n" not in token
    assert result.stderr.startswith("API token for asha, expires ") and "it is not shown again" in result.stderr
    with transaction(sessions) as session:
        user = resolve_token(session, token, kind="api")
        assert user is not None and user.username == "asha"
        row = session.scalars(select(AuthToken)).one()
        assert row.token_hash == hash_token(token)
        assert (row.expires_at - row.created_at).days == 7
        integrate(session)  # sequence what is pending, as every reader of the log does
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "token.issue")).all()
        assert json.loads(entry.details)["kind"] == "api"
        assert token not in entry.details

    unknown = run(setu, "token", "nobody")
    assert (unknown.exit_code, unknown.stderr) == (2, "error: no user 'nobody'\n")
    assert run(setu, "disable", "asha").exit_code == 0
    disabled = run(setu, "token", "asha")
    assert (disabled.exit_code, disabled.stderr) == (2, "error: user 'asha' is disabled\n")


def test_a_new_database_gets_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'setu.db'}"
    result = CliRunner(env={"SETU_DATABASE_URL": url}).invoke(app, ["accounts", "list"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].strip() == "0 users"
    assert "users" in inspect(make_engine(url)).get_table_names()


@pytest.mark.parametrize(
    "command",
    [
        ("jobs", "list", "--user", "asha"),
        ("jobs", "cancel", "1", "--user", "asha"),
        ("registry", "sites", "--user", "asha"),
        ("sosa", "list", "--as", "asha"),
        ("framework", "actions", "--user", "asha"),
    ],
)
def test_no_command_acts_as_a_disabled_user(setu: CliRunner, command: tuple[str, ...]) -> None:
    """An operator disabling an account stops every command that acts as it, reads and writes alike."""
    assert add(setu).exit_code == 0
    assert run(setu, "disable", "asha").exit_code == 0
    result = setu.invoke(app, list(command))
    assert result.exit_code == 2, result.output
    assert "user 'asha' is disabled" in result.output
