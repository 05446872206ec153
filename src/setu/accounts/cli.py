"""``setu accounts``: add, list, change passwords, disable, enable, unlock and issue API tokens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from setu.accounts.errors import AccountError
from setu.accounts.lookups import (
    find_user,
    format_time,
    get_organization,
    get_party,
    get_user,
    list_users,
    operator_name,
    parse_clearance,
    parse_groups,
    parse_roles,
    user_status,
)
from setu.accounts.tokens import issue_token
from setu.accounts.users import create_user, disable_user, enable_user, set_password, unlock_user
from setu.db import make_engine, prepare, session_factory, transaction
from setu.errors import SetuError
from setu.sharing.markings import LEVELS

accounts_app = typer.Typer(
    help="Manage user accounts: add, list, passwd, disable, enable, unlock, token.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]
UsernameArg = Annotated[str, typer.Argument(help="The username (any case).")]


def _out() -> Console:
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


@contextmanager
def _session() -> Iterator[Session]:
    """One transaction on the database of ``SETU_DATABASE_URL``; errors become ``error: ...`` and exit code 2."""
    engine: Engine | None = None
    try:
        engine = make_engine()
        _ensure_schema(engine)
        with transaction(session_factory(engine)) as session:
            yield session
    except SetuError as exc:
        _err().print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True) if engine is not None else "the database"
        _err().print(
            f"[bold red]error:[/] cannot use {escape(f'{where}: {exc.orig or exc}')}", markup=True, soft_wrap=True
        )
        raise typer.Exit(2) from None
    finally:
        if engine is not None:
            engine.dispose()


def _ensure_schema(engine: Engine) -> None:
    """Bring the database to the current schema (a new one gets every migration)."""
    prepare(engine)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise AccountError("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    if not _stdin_is_tty():
        raise AccountError("no terminal to ask for the password: pass --password-stdin")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return password


@accounts_app.command("add")
def add(
    username: UsernameArg,
    party: Annotated[str, typer.Option("--party", help="The user's party code, e.g. IN or US.")],
    org: Annotated[str, typer.Option("--org", help="The user's organization of that party, by name or id.")],
    clearance: Annotated[
        str, typer.Option("--clearance", help=f"Level 0..3 or its name: {', '.join(LEVELS.values())}.")
    ],
    role: Annotated[
        list[str], typer.Option("--role", help="A role (repeatable): admin, analyst, desk_officer, industry, auditor.")
    ],
    group: Annotated[list[str] | None, typer.Option("--group", help="A need-to-know group (repeatable).")] = None,
    name: Annotated[str, typer.Option("--name", help="Display name (default: the username).")] = "",
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Add a user; asks for the password twice (hidden) unless --password-stdin."""
    with _session() as session:
        # Everything but the password is checked first, so nobody types a password for a doomed command.
        if find_user(session, username) is not None:
            raise AccountError(f"user {username!r} already exists")
        get_organization(session, get_party(session, party), org)
        parse_clearance(clearance)
        parse_roles(role)
        parse_groups(group or [])
        password = _read_password(password_stdin)
        user = create_user(
            session,
            username,
            password,
            party=party,
            organization=org,
            clearance=clearance,
            roles=role,
            groups=group or [],
            display_name=name,
            actor_name=operator_name(),
        )
        _out().print(
            f"added {user.username} ({user.party_code}, {user.organization.name}, "
            f"{LEVELS[user.clearance]}, {', '.join(sorted(user.roles))})"
        )


@accounts_app.command("list")
def list_() -> None:
    """List users: party, organization, roles, clearance, groups and status."""
    now = datetime.now(UTC)
    with _session() as session:
        users = list_users(session)
        table = Table(title=f"{len(users)} user{'s' if len(users) != 1 else ''}", title_justify="left")
        for column in ("username", "party", "organization", "roles", "clearance", "groups", "status"):
            table.add_column(column, overflow="fold")
        for user in users:
            status = user_status(user, now)
            shown = status if status == "active" else f"[red]{status}[/]"
            table.add_row(
                user.username,
                user.party_code,
                user.organization.name,
                ", ".join(sorted(user.roles)),
                LEVELS[user.clearance],
                ", ".join(sorted(user.groups)) or "-",
                shown,
            )
        _out().print(table)


@accounts_app.command("passwd")
def passwd(username: UsernameArg, password_stdin: PasswordStdinOpt = False) -> None:
    """Set a user's password (revokes the user's sessions and API tokens)."""
    with _session() as session:
        user = get_user(session, username, for_update=True)
        password = _read_password(password_stdin)
        set_password(session, user, password, actor_name=operator_name())
        _out().print(f"password changed for {user.username}; their tokens are revoked")


@accounts_app.command("disable")
def disable(username: UsernameArg) -> None:
    """Disable a user: no login, and their tokens are revoked."""
    with _session() as session:
        user = get_user(session, username, for_update=True)
        changed = disable_user(session, user, actor_name=operator_name())
        _out().print(f"disabled {user.username}" if changed else f"{user.username} was already disabled")


@accounts_app.command("enable")
def enable(username: UsernameArg) -> None:
    """Enable a disabled user again."""
    with _session() as session:
        user = get_user(session, username, for_update=True)
        changed = enable_user(session, user, actor_name=operator_name())
        _out().print(f"enabled {user.username}" if changed else f"{user.username} was not disabled")


@accounts_app.command("unlock")
def unlock(username: UsernameArg) -> None:
    """Lift a lockout after failed logins and clear the count."""
    with _session() as session:
        user = get_user(session, username, for_update=True)
        changed = unlock_user(session, user, actor_name=operator_name())
        _out().print(f"unlocked {user.username}" if changed else f"{user.username} was not locked")


@accounts_app.command("token")
def token(
    username: UsernameArg,
    ttl_days: Annotated[int, typer.Option("--ttl-days", min=1, max=3650, help="Days until the token expires.")] = 30,
) -> None:
    """Issue an API token and print it once (only its hash is kept)."""
    now = datetime.now(UTC)
    with _session() as session:
        user = get_user(session, username)
        value = issue_token(session, user, "api", timedelta(days=ttl_days), actor_name=operator_name(), now=now)
    # The token alone on stdout, so it can be piped; the note on stderr.
    typer.echo(value)
    expires = format_time(now + timedelta(days=ttl_days))
    _err().print(f"API token for {user.username}, expires {expires}; it is not shown again")
