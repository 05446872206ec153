"""``setu framework``: list action items (or the overdue ones), export their due dates, show the posture, seed.

The commands run on the server by an operator with access to the database. To read, they act as
a named Setu user (``--user``): the user's markings decide what is shown, exactly as in the web
and the API, and an export is audited under the operator's name "as" that user. ``seed`` writes
the framework's public structure as an operator tool, like ``setu demo``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from setu.accounts.login import acting_principal
from setu.accounts.lookups import operator_name
from setu.db import make_engine, prepare, session_factory, transaction
from setu.demo.framework import seed_framework
from setu.errors import SetuError
from setu.framework.actions import all_actions
from setu.framework.common import action_labels, days_overdue, is_overdue, owner_text, today_utc
from setu.framework.ics import export_actions
from setu.framework.posture import posture as framework_posture
from setu.framework.projects import newest_network_id
from setu.models.framework import ACTION_STATUSES
from setu.sharing.markings import MarkingSpec, owner_names
from setu.sharing.policy import Principal

framework_app = typer.Typer(
    help="Framework coordination: action items, overdue lists, calendar export, posture, demo seed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

UserOpt = Annotated[str, typer.Option("--user", "-u", help="Act as this Setu user: their markings decide what shows.")]
DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (default: SETU_DATABASE_URL, else sqlite:///setu.db)."),
]
TodayOpt = Annotated[
    str | None, typer.Option("--today", help="The date overdue is counted on, YYYY-MM-DD (default: today, UTC).")
]
StatusOpt = Annotated[
    list[str] | None, typer.Option("--status", help=f"Only this status ({', '.join(ACTION_STATUSES)}); repeatable.")
]


def _out() -> Console:
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    """One transaction on the database; Setu and database errors become ``error: ...`` and exit code 2."""
    engine: Engine | None = None
    try:
        engine = make_engine(database_url)
        prepare(engine)
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


def _acting(session: Session, username: str) -> Principal:
    return acting_principal(session, username)


def _day(text: str | None) -> date:
    if text is None:
        return today_utc()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {text!r}", param_hint="--today") from None


@framework_app.command("actions")
def actions(
    user: UserOpt,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only items open or in progress and past due.")] = False,
    status: StatusOpt = None,
    today: TodayOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """List the action items USER may see, earliest due first (overdue: oldest first, with days late)."""
    day = _day(today)
    with _session(database_url) as session:
        principal = _acting(session, user)
        rows = all_actions(session, principal, statuses=status or (), overdue_on=day if overdue else None)
        names = action_labels(session, principal, rows)
        specs = {row.marking_id: MarkingSpec.of(row.marking) for row in rows}
        owners = owner_names(session, specs.values())
        table = Table(title=f"{len(rows)} action items{' overdue' if overdue else ''} on {day.isoformat()}")
        for column in ("id", "due", "status", "late", "title", "owner", "body", "marking"):
            # On a narrow terminal a date or status folds onto a second line rather than losing its end.
            table.add_column(column, justify="right" if column in ("id", "late") else "left", overflow="fold")
        for row in rows:
            late = days_overdue(row.due_on, day) if is_overdue(row.status, row.due_on, day) else 0
            table.add_row(
                str(row.id),
                row.due_on.isoformat(),
                row.status,
                f"{late} d" if late else "",
                escape(row.title),
                escape(owner_text(row, names)),
                escape(names.bodies.get(row.body_id, "")) if row.body_id is not None else "",
                escape(specs[row.marking_id].banner(owners)),
            )
        _out().print(table)


@framework_app.command("ics")
def ics(
    out: Annotated[Path, typer.Argument(help="Where to write the .ics file.")],
    user: UserOpt,
    status: StatusOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Write the due dates of the action items USER may see as an iCalendar file (audited)."""
    with _session(database_url) as session:
        principal = _acting(session, user)
        export = export_actions(
            session, principal, statuses=status or (), actor_name=f"{operator_name()} as {user.lower()}"
        )
        out.write_bytes(export.content)
    _out().print(f"wrote {export.items} action items to {escape(str(out))} [{escape(export.banner)}]")


@framework_app.command("posture")
def posture(user: UserOpt, today: TodayOpt = None, database_url: DatabaseOpt = None) -> None:
    """Per pillar: USER's visible action items by status, those overdue, and the projects."""
    day = _day(today)
    with _session(database_url) as session:
        principal = _acting(session, user)
        rows = framework_posture(session, principal, day)
        owners = owner_names(session, [r.marking for r in rows if r.marking is not None])
        table = Table(title=f"Framework posture on {day.isoformat()}")
        for column in ("pillar", "open", "in progress", "overdue", "done", "projects", "marking"):
            table.add_column(column, justify="left" if column in ("pillar", "marking") else "right")
        for row in rows:
            table.add_row(
                escape(row.pillar.name if row.pillar else "(no pillar)"),
                str(row.counts.get("open", 0)),
                str(row.counts.get("in_progress", 0)),
                str(row.overdue),
                str(row.counts.get("done", 0)),
                str(row.projects),
                escape(row.marking.banner(owners)) if row.marking else "",
            )
        _out().print(table)


@framework_app.command("seed")
def seed(today: TodayOpt = None, database_url: DatabaseOpt = None) -> None:
    """Write the framework's pillars, bodies, projects and an illustrative meeting with action items, once.

    Projects are linked to the demo network when ``setu demo`` has stored it.
    """
    from setu.demo.seed import DEMO_NETWORK

    day = _day(today)
    with _session(database_url) as session:
        network_id = newest_network_id(session, DEMO_NETWORK)
        counts = seed_framework(
            session, today=day, network_id=network_id, operator=f"{operator_name()} (framework seed)"
        )
    if counts.pillars == 0:
        _out().print("the framework is seeded already; nothing written")
        return
    _out().print(
        f"seeded {counts.pillars} pillars, {counts.bodies} bodies, {counts.projects} projects, "
        f"{counts.meetings} meeting, {counts.decisions} decisions and {counts.actions} action items"
    )
