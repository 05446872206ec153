"""`setu sosa`: list, show and find overdue priority-delivery requests; keep a party's working calendar.

Every command acts as a named user (``--as``, or ``SETU_USER``), so it sees exactly what that user
sees through the marking filter and is audited under their name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from setu.accounts.errors import AccountError
from setu.accounts.login import acting_principal
from setu.db import make_engine, prepare, session_factory, transaction
from setu.errors import SetuError
from setu.models.sosa import PriorityRequest
from setu.sharing.policy import Principal
from setu.sosa import service
from setu.sosa.calendar import CalendarError

sosa_app = typer.Typer(
    help="SoSA priority-delivery requests: list, show, overdue; party calendars: calendar-add, calendar-list.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

AsOpt = Annotated[
    str, typer.Option("--as", envvar="SETU_USER", help="Act as this user (sees what they see; audited as them).")
]
TodayOpt = Annotated[
    str, typer.Option("--today", help="Judge deadlines on this day, YYYY-MM-DD (default: today, UTC).")
]


def _err() -> Console:
    return Console(stderr=True, highlight=False)


@contextmanager
def _as_user(username: str) -> Iterator[tuple[Session, Principal]]:
    """One transaction as ``username``; errors become ``error: ...`` and exit code 2."""
    engine: Engine | None = None
    try:
        if not username:
            raise AccountError("name the user to act as: --as USERNAME (or SETU_USER)")
        engine = make_engine()
        prepare(engine)
        with transaction(session_factory(engine)) as session:
            yield session, acting_principal(session, username)
    except (SetuError, CalendarError) as exc:
        _err().print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True) if engine is not None else "the database"
        _err().print(f"[bold red]error:[/] cannot use {escape(f'{where}: {exc.orig or exc}')}", soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        if engine is not None:
            engine.dispose()


def _day(value: str, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}", param_hint=option) from None


def _table(rows: list[PriorityRequest], title: str, today: date | None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("id", "reference", "rating", "state", "from", "to", "title", "response due", "overdue"):
        # On a narrow terminal a reference or state folds onto a second line rather than losing its end.
        table.add_column(column, overflow="fold")
    for row in rows:
        due = row.delay_confirm_due if row.state == "DELAYED" else row.response_due
        table.add_row(
            str(row.id),
            escape(row.reference),
            f"{row.rating}-{escape(row.program_symbol)}" if row.program_symbol else row.rating,
            row.state,
            row.requesting_party,
            row.supplier_party,
            escape(row.title),
            due.isoformat() if due else "",
            "OVERDUE" if service.is_overdue(row, today) else "",
        )
    return table


@sosa_app.command("list")
def list_(
    as_user: AsOpt = "",
    state: Annotated[str | None, typer.Option("--state", help="Only this state, e.g. RATED_ORDER_ISSUED.")] = None,
    rating: Annotated[str | None, typer.Option("--rating", help="Only DO or DX.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only requests past a deadline.")] = False,
    text: Annotated[str, typer.Option("--q", help="Text in reference, title, program or item.")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
) -> None:
    """List the requests you may see, DX ahead of DO."""
    with _as_user(as_user) as (session, principal):
        rows, total = service.list_requests(
            session,
            principal,
            state=state.upper() if state else None,
            rating=rating.upper() if rating else None,
            overdue=overdue,
            text=text,
            limit=limit,
        )
        Console(highlight=False).print(_table(rows, f"{total} request{'s' if total != 1 else ''}", None))


@sosa_app.command("show")
def show(request_id: Annotated[int, typer.Argument(help="The request's id.")], as_user: AsOpt = "") -> None:
    """One request with its deadlines and its history."""
    with _as_user(as_user) as (session, principal):
        request = service.get_request(session, principal, request_id)
        out = Console(highlight=False)
        out.print(f"[bold]{escape(request.reference)}[/] {escape(request.title)}")
        fields = {
            "state": request.state,
            "rating": f"{request.rating}-{request.program_symbol}" if request.program_symbol else request.rating,
            "parties": f"{request.requesting_party} asks {request.supplier_party}",
            "delivery date": request.delivery_date,
            "received on": request.received_on,
            "response due": request.response_due,
            "delay confirmation due": request.delay_confirm_due,
            "overdue": "yes" if service.is_overdue(request) else "no",
            "reason": request.reason,
            "version": request.version,
        }
        for name, value in fields.items():
            if value not in (None, ""):
                out.print(f"{name}: {escape(str(value))}")
        table = Table(title="history", title_justify="left")
        for column in ("at", "from", "to", "party", "user", "note"):
            table.add_column(column)
        for event in service.request_history(session, principal, request_id):
            table.add_row(
                event.at.strftime("%Y-%m-%d %H:%M"),
                event.from_state,
                event.to_state,
                event.actor_party,
                str(event.actor_id),
                escape(event.note),
            )
        out.print(table)


@sosa_app.command("overdue")
def overdue(as_user: AsOpt = "", today: TodayOpt = "") -> None:
    """Requests past a deadline: rated orders not answered in time, delays not confirmed in time."""
    day = _day(today, "--today")
    with _as_user(as_user) as (session, principal):
        rows = service.overdue_requests(session, principal, today=day)
        Console(highlight=False).print(_table(rows, f"{len(rows)} overdue", day))


@sosa_app.command("calendar-add")
def calendar_add(
    party: Annotated[str, typer.Argument(help="The party code, e.g. US.")],
    day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD.")],
    as_user: AsOpt = "",
    name: Annotated[str, typer.Option("--name", help="What the day is.")] = "",
    working: Annotated[bool, typer.Option("--working", help="Make it a working day (default: a closure).")] = False,
) -> None:
    """Add a closure (or, with --working, a working day) to your party's calendar (an admin of the party)."""
    chosen = _day(day, "DAY")
    assert chosen is not None
    with _as_user(as_user) as (session, principal):
        entry = service.add_calendar_entry(session, principal, party, chosen, name=name, working=working)
        kind = "working day" if entry.working else "non-working day"
        Console(highlight=False).print(f"added {entry.day.isoformat()} to {entry.party_code} as a {kind}")


@sosa_app.command("calendar-list")
def calendar_list(
    party: Annotated[str, typer.Argument(help="The party code, e.g. IN.")],
    as_user: AsOpt = "",
    year: Annotated[int, typer.Option("--year", min=1970, max=2200, help="Only this year.")] = 0,
) -> None:
    """A party's calendar entries (the days its admins closed or opened)."""
    with _as_user(as_user) as (session, principal):
        entries = service.list_calendar_entries(session, principal, party, year=year or None)
        table = Table(title=f"{len(entries)} calendar entries of {party.upper()}", title_justify="left")
        for column in ("id", "day", "kind", "name"):
            table.add_column(column)
        for entry in entries:
            table.add_row(str(entry.id), entry.day.isoformat(), "working" if entry.working else "closed", entry.name)
        Console(highlight=False).print(table)
