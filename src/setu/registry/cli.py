"""`setu registry`: the code list, sites, partner-source search and the mitigation what-if from the command line.

``sites``, ``sources`` and the stored-scenario ``what-if`` act as a named user (``--user``) on the
database of ``SETU_DATABASE_URL`` (or ``--database-url``): the same marking filter and audit log as
the API. ``what-if`` on a network file needs no database, like ``setu explain``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
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
from setu.db import make_engine, prepare, session_factory, transaction
from setu.errors import SetuError
from setu.network.compile import compile_network
from setu.network.io.loader import FORMATS, read_network
from setu.registry.access import marking_of
from setu.registry.codes import CODES
from setu.registry.mitigation import what_if as stored_what_if
from setu.registry.sites import firms_of, list_sites
from setu.registry.sources import Source, find_sources
from setu.settings import DEFAULT_CONCERN_COUNTRIES, parse_countries
from setu.sharing.policy import Principal
from setu.stress.mitigation import AlternateEffect, evaluate_alternate, lost_materials
from setu.stress.scenarios import Scenario, scenario_ttr

registry_app = typer.Typer(
    help="The industrial-base registry: sites, capabilities, capacity; find partner sources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

UserOpt = Annotated[str | None, typer.Option("--user", help="Act as this user (their markings and roles apply).")]
DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (default: SETU_DATABASE_URL, else sqlite:///setu.db)."),
]
ConcernOpt = Annotated[
    str,
    typer.Option(
        "--concern", help="Countries of concern, e.g. CN,RU (default: SETU_CONCERN_COUNTRIES or CN,RU,KP,IR)."
    ),
]


def _out() -> Console:
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _fail(message: str) -> typer.Exit:
    _err().print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    return typer.Exit(2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except SetuError as exc:
        raise _fail(str(exc)) from None


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


def _concern(text: str) -> frozenset[str]:
    return parse_countries(text or os.environ.get("SETU_CONCERN_COUNTRIES", "")) or DEFAULT_CONCERN_COUNTRIES


def _fmt_t(value: float) -> str:
    return "unbounded" if math.isinf(value) else f"{value:,.3f}"


@registry_app.command("codes")
def codes() -> None:
    """Print the capability code list (docs/registry.md)."""
    table = Table(title="Capability codes", title_justify="left")
    for column in ("code", "name", "material classes", "materials"):
        table.add_column(column)
    for c in CODES:
        table.add_row(c.code, c.name, ", ".join(c.material_classes), ", ".join(c.materials))
    _out().print(table)


@registry_app.command("sites")
def sites(
    user: UserOpt = None,
    party: Annotated[str | None, typer.Option("--party", help="Only firms of this party.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only sites in this country.")] = None,
    text: Annotated[str, typer.Option("--q", help="Text in the site's name or region.")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    database_url: DatabaseOpt = None,
) -> None:
    """List the registry sites the user may see."""
    with _as_user(user, database_url) as (session, principal):
        rows, total = list_sites(session, principal, party=party, country=country, text=text, limit=limit)
        firms = firms_of(session, principal, rows)
        table = Table(title=f"{total} site(s)", title_justify="left")
        for column in ("id", "firm", "site", "country", "region", "marking"):
            table.add_column(column)
        for site in rows:
            org = firms.get(site.organization_id)
            table.add_row(
                str(site.id),
                org.name if org is not None else "",
                site.name,
                site.country,
                site.region,
                escape(marking_of(site).banner()),
            )
        _out().print(table)


def _sources_table(found: list[Source]) -> Table:
    table = Table(title=f"{len(found)} source(s)", title_justify="left")
    for column in ("rank", "firm", "site", "country", "code", "material", "match", "headroom", "delay (w)", "marking"):
        table.add_column(column)
    for rank, s in enumerate(found, 1):
        country = f"[bold red]{s.site.country} (concern)[/]" if s.concern else s.site.country
        firm = s.organization.name + (" (CoC)" if s.code_of_conduct else "")
        table.add_row(
            str(rank),
            escape(firm),
            escape(s.site.name),
            country,
            s.capability.code,
            escape(s.capability.material),
            s.match,
            f"{s.headroom:,.1f}",
            f"{s.delay:g}",
            escape(s.marking.banner()),
        )
    return table


@registry_app.command("sources")
def sources(
    material: Annotated[str, typer.Argument(help="The material wanted, as networks name it.")],
    user: UserOpt = None,
    material_class: Annotated[str, typer.Option("--class", help="Its material class, to match by code.")] = "",
    party: Annotated[str | None, typer.Option("--party", help="Only firms of this party.")] = None,
    min_headroom: Annotated[float, typer.Option("--min-headroom", min=0.0)] = 0.0,
    concern: ConcernOpt = "",
    database_url: DatabaseOpt = None,
) -> None:
    """Registry sites able to make MATERIAL, ranked (CoC = in the SoSA code of conduct)."""
    with _as_user(user, database_url) as (session, principal):
        found = find_sources(
            session,
            principal,
            material,
            material_class=material_class,
            party=party,
            min_headroom=min_headroom,
            concern=_concern(concern),
        )
        _out().print(_sources_table(found))


def _print_effect(effect: AlternateEffect) -> None:
    out = _out()
    out.print(
        f"alternate of {effect.material}: {effect.capacity:g} per time unit, delivering from {effect.qualification:g}",
        markup=False,
    )
    out.print(f"  PI over TTR {effect.ttr:g}: {effect.pi_without:,.2f} -> {effect.pi_with:,.2f} "
              f"(saves {effect.pi_saved:,.2f})", markup=False)  # fmt: skip
    out.print(f"  TTS: {_fmt_t(effect.tts_without)} -> {_fmt_t(effect.tts_with)} (gains {_fmt_t(effect.tts_gained)})",
              markup=False)  # fmt: skip
    out.print("  with it the network survives the whole TTR" if effect.closes_gap else
              "  with it the network still runs short before recovery", markup=False)  # fmt: skip


@registry_app.command("what-if")
def what_if(
    network: Annotated[
        Path | None, typer.Argument(help="A network file (no database needed); omit to use a stored scenario.")
    ] = None,
    format: Annotated[str, typer.Option("--format", help=f"Input format: {'|'.join(FORMATS)}.")] = "auto",
    node: Annotated[list[str] | None, typer.Option("--node", help="File mode: disrupt this node (repeatable).")] = None,
    ttr: Annotated[float | None, typer.Option("--ttr", help="File mode: the TTR (default: the nodes' own).")] = None,
    material: Annotated[
        str | None, typer.Option("--material", help="The lost material the alternate makes (default: the first lost).")
    ] = None,
    capacity: Annotated[float, typer.Option("--capacity", min=0.0, help="File mode: per time unit.")] = 0.0,
    qualification: Annotated[
        float, typer.Option("--qualification", min=0.0, help="File mode: when it can deliver.")
    ] = 0.0,
    scenario: Annotated[int | None, typer.Option("--scenario", help="Database mode: the stored scenario's id.")] = None,
    capability: Annotated[int | None, typer.Option("--capability", help="Database mode: the capability's id.")] = None,
    user: UserOpt = None,
    concern: ConcernOpt = "",
    database_url: DatabaseOpt = None,
) -> None:
    """PI and TTS of a scenario without and with an alternate source qualified after its qualification time."""
    if network is not None:
        with _errors():
            if format not in FORMATS:
                raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
            net = compile_network(read_network(network, format))  # type: ignore[arg-type]
            if not node:
                raise SetuError("file mode: name the disrupted node(s) with --node")
            unknown = [n for n in node if not net.has_node(n)]
            if unknown:
                raise SetuError(f"--node: the network has no node {unknown[0]!r}")
            label = "+".join(node)
            indices = [net.index_of(n) for n in node]
            chosen = Scenario(id=label, nodes=tuple(node), ttr=scenario_ttr(net, indices, ttr, label), label=label)
            if material is None:
                lost = lost_materials(net, chosen)
                if not lost:
                    raise SetuError(
                        "the scenario loses no material an alternate could replace; name one with --material"
                    )
                material = lost[0].material
            try:
                effect = evaluate_alternate(net, chosen, material, capacity, qualification)
            except ValueError as exc:
                raise SetuError(str(exc)) from None
        _print_effect(effect)
        return
    if scenario is None or capability is None:
        raise _fail("name a network file, or --scenario and --capability (with --user) for a stored scenario")
    with _as_user(user, database_url) as (session, principal):
        answer = stored_what_if(session, principal, scenario, capability, material=material, concern=_concern(concern))
        source = answer.source
        _out().print(
            f"{source.organization.name}, {source.site.name} ({source.site.country}): {source.capability.code}",
            markup=False,
        )
        _print_effect(answer.effect)
        _out().print(f"marking: {answer.marking.banner()}", markup=False)
