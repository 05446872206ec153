"""``setu audit``: verify the log offline, issue and countersign checkpoints, export the log."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from setu.audit.export import load_export, load_trusted_keys, write_export
from setu.audit.log import AuditError, record
from setu.audit.verify import VerifyResult, verify_log, verify_snapshot
from setu.db import make_engine, session_factory, transaction

audit_app = typer.Typer(
    help="The tamper-evident audit trail: verify it, sign checkpoints, export it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

PartyOpt = Annotated[str, typer.Option("--party", help="Party code acting (IN, US).")]
MAX_SHOWN = 50


@contextmanager
def _errors() -> Iterator[None]:
    """Database and audit errors as one message, exit code 2 (1 is reserved for a tampered log)."""
    try:
        yield
    except (AuditError, SQLAlchemyError, OSError, ValueError, KeyError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _cli_actor() -> str:
    try:
        return f"cli {getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


def _print_result(result: VerifyResult, source: str) -> None:
    if result.ok:
        out.print(
            f"[bold green]intact[/] {source}: {result.summary().removeprefix('audit log intact: ')}", soft_wrap=True
        )
        return
    first = result.first
    assert first is not None
    bad = result.first_bad_seq
    # The first problem names its entry itself; a checkpoint problem first still points at the bad entry.
    suffix = f" (first bad entry: {bad})" if bad is not None and first.seq is None else ""
    out.print(f"[bold red]TAMPERED[/] {source}: {first.message}{suffix}", highlight=False, soft_wrap=True)
    table = Table(title=f"{len(result.problems)} problems", title_justify="left")
    table.add_column("entry", justify="right")
    table.add_column("checkpoint", justify="right")
    table.add_column("kind")
    table.add_column("problem")
    for problem in result.problems[:MAX_SHOWN]:
        table.add_row(
            "" if problem.seq is None else str(problem.seq),
            "" if problem.checkpoint_id is None else str(problem.checkpoint_id),
            problem.kind,
            problem.message,
        )
    out.print(table)
    if len(result.problems) > MAX_SHOWN:
        out.print(f"... and {len(result.problems) - MAX_SHOWN} more")


@audit_app.command()
def verify(
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an export (`setu audit export`) instead of the database.")
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", help="Trusted public keys (JSON, e.g. an earlier export): only these may sign."),
    ] = None,
) -> None:
    """Check the whole log: leaf hashes, sequence, checkpoint signatures, roots and consistency.

    Exits 0 when intact, 1 when tampered (naming the first bad entry), 2 on an error.
    """
    with _errors():
        trusted = load_trusted_keys(keys) if keys is not None else None
        if file is not None:
            result = verify_snapshot(load_export(file), trusted)
            source = str(file)
        else:
            engine = make_engine()
            try:
                with transaction(session_factory(engine)) as session:
                    result = verify_log(session, trusted)
            finally:
                engine.dispose()
            source = engine.url.render_as_string(hide_password=True)
    _print_result(result, source)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command()
def checkpoint(party: PartyOpt) -> None:
    """Sign the current tree head as PARTY (its key is created on first use, in $SETU_KEY_DIR if set)."""
    from setu.audit.checkpoints import issue_checkpoint

    with _errors():
        engine = make_engine()
        try:
            with transaction(session_factory(engine)) as session:
                issued = issue_checkpoint(session, party, actor_name=_cli_actor())
                text = (
                    f"checkpoint {issued.id} of {issued.party}: size {issued.tree_size}, "
                    f"root {bytes(issued.root_hash).hex()}, key {issued.key_id}"
                )
        finally:
            engine.dispose()
    out.print(f"[green]signed[/] {text}", highlight=False, soft_wrap=True)


@audit_app.command()
def countersign(
    party: PartyOpt,
    checkpoint_id: Annotated[
        int | None, typer.Argument(help="The checkpoint (default: the newest of another party).")
    ] = None,
) -> None:
    """Countersign another party's checkpoint as PARTY, after recomputing its root from the log."""
    from setu.audit.checkpoints import countersign as countersign_checkpoint
    from setu.audit.checkpoints import newest_to_countersign

    with _errors():
        engine = make_engine()
        try:
            with transaction(session_factory(engine)) as session:
                if checkpoint_id is None:
                    checkpoint_id = newest_to_countersign(session, party)
                signed = countersign_checkpoint(session, checkpoint_id, party, actor_name=_cli_actor())
                text = f"checkpoint {signed.checkpoint_id} as {signed.party} with key {signed.key_id}"
        finally:
            engine.dispose()
    out.print(f"[green]countersigned[/] {text}", highlight=False, soft_wrap=True)


@audit_app.command()
def export(path: Annotated[Path, typer.Argument(help="JSON file to write.")]) -> None:
    """Write the log, checkpoints and public keys to a JSON file that `setu audit verify --file` checks."""
    with _errors():
        engine = make_engine()
        try:
            with transaction(session_factory(engine)) as session:
                data = write_export(session, path)
                # Exports are audited like any other; this entry is the first one after the exported log.
                record(
                    session,
                    None,
                    "audit.export",
                    "audit_log",
                    actor_name=_cli_actor(),
                    details={"path": str(path), "tree_size": len(data.entries)},
                )
        finally:
            engine.dispose()
    out.print(f"wrote {len(data.entries)} entries and {len(data.checkpoints)} checkpoints to {path}")
