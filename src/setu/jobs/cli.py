"""`setu jobs`: a user's queued imports and what-ifs from the command line: list, show, cancel.

Each command acts as a named user (``--user``) on the database of ``SETU_DATABASE_URL`` (or
``--database-url``), with the same owner filter and audit log as the API: a user sees and counts only
their own jobs, and a job whose result's marking they can no longer read is answered as missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from setu.accounts.login import acting_principal
from setu.db import make_engine, prepare, session_factory, transaction
from setu.errors import SetuError
from setu.jobs.service import cancel_job, get_job, list_jobs, may_read, result_of
from setu.sharing.policy import Principal

jobs_app = typer.Typer(
    help="Your queued network imports and registry what-ifs: list, show, cancel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

UserOpt = Annotated[str | None, typer.Option("--user", help="Act as this user (only their jobs are theirs).")]
DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (default: SETU_DATABASE_URL, else sqlite:///setu.db)."),
]
JobArg = Annotated[int, typer.Argument(help="The job's id.", min=1)]


def _out() -> Console:
    return Console(highlight=False)


def _fail(message: str) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    return typer.Exit(2)


@contextmanager
def _as_user(username: str | None, database_url: str | None) -> Iterator[tuple[Session, Principal]]:
    """One transaction on the database, acting as ``username``; errors print and exit 2."""
    if not username:
        raise _fail("name the user to act as: --user USERNAME")
    engine: Engine | None = None
    try:
        engine = make_engine(database_url)
        prepare(engine)
        with transaction(session_factory(engine)) as session:
            yield session, acting_principal(session, username)
    except SetuError as exc:
        raise _fail(str(exc)) from None
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True) if engine is not None else "the database"
        raise _fail(f"cannot use {where}: {exc.orig or exc}") from None
    finally:
        if engine is not None:
            engine.dispose()


@jobs_app.command("list")
def list_command(
    user: UserOpt = None,
    status: Annotated[str | None, typer.Option("--status", help="Only jobs in this status.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    database_url: DatabaseOpt = None,
) -> None:
    """List the user's jobs, newest first."""
    with _as_user(user, database_url) as (session, principal):
        rows, total = list_jobs(session, principal, status=status, limit=limit)
        table = Table(title=f"{total} job(s)", title_justify="left")
        for column in ("id", "kind", "status", "queued", "attempts", "error"):
            table.add_column(column)
        for job in rows:
            queued = job.created_at.strftime("%Y-%m-%d %H:%M:%S")
            table.add_row(str(job.id), job.kind, job.status, queued, str(job.attempts), escape(job.error[:80]))
        _out().print(table)


@jobs_app.command("show")
def show_command(job_id: JobArg, user: UserOpt = None, database_url: DatabaseOpt = None) -> None:
    """Print one of the user's jobs: its state, and its result or error as JSON."""
    with _as_user(user, database_url) as (session, principal):
        job = get_job(session, principal, job_id)
        out = _out()
        out.print(f"job {job.id}: {job.kind}, {job.status} (attempts {job.attempts})")
        if job.error:
            out.print(f"error: {escape(job.error)}")
        if job.result_id is not None:
            out.print(f"made: network {job.result_id}")
        result = result_of(job)
        if result is not None:
            out.print(escape(json.dumps(result, indent=2, sort_keys=True)))


@jobs_app.command("cancel")
def cancel_command(job_id: JobArg, user: UserOpt = None, database_url: DatabaseOpt = None) -> None:
    """Cancel a queued or running job (its creator, or an admin of their party)."""
    with _as_user(user, database_url) as (session, principal):
        job = cancel_job(session, principal, job_id)
        state = "cancelled" if job.status == "cancelled" else "stopping at its worker's next heartbeat"
        shown = "" if may_read(session, principal, job_id) else " (another user's job)"
        _out().print(f"job {job.id}: {state}{shown}")
