"""``setu audit``: verify the log against pinned keys and checkpoints, issue, countersign and export checkpoints."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from setu.audit.export import checkpoints_document, load_checkpoints, load_export, load_trusted_keys, write_export
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
        typer.Option(
            "--keys", help="Pinned public keys (`setu audit keys export` of each party): only these may sign."
        ),
    ] = None,
    held: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Checkpoints the auditor exported earlier (`setu audit checkpoint export`): the log must still "
            "hold them and reproduce their roots.",
        ),
    ] = None,
    max_unwitnessed: Annotated[
        int | None,
        typer.Option(
            "--max-unwitnessed",
            min=0,
            help="Fail (exit 1) when more entries than this follow the newest checkpoint another party "
            "countersigned with a pinned key (needs --keys): a fork shown only to this instance's auditors "
            "cannot carry the partner's countersignature.",
        ),
    ] = None,
) -> None:
    """Check the whole log: leaf hashes, sequence, checkpoint signatures, roots, consistency and entries.

    Without --keys and --checkpoint it checks the database against itself only, which whoever holds the
    database can rewrite consistently; the output says so. Exits 0 when intact, 1 when tampered (naming
    the first bad entry) or, with --max-unwitnessed, when too much of it is witnessed by no partner, 2 on
    an error.
    """
    with _errors():
        if max_unwitnessed is not None and keys is None:
            raise ValueError("--max-unwitnessed needs --keys: a countersignature counts only with a pinned key")
        trusted = load_trusted_keys(keys) if keys is not None else None
        copies = load_checkpoints(held.read_bytes()) if held is not None else None
        if held is not None and not copies:
            raise ValueError(f"{held} holds no checkpoint")
        if file is not None:
            result = verify_snapshot(load_export(file), trusted, copies)
            source = str(file)
        else:
            engine = make_engine()
            try:
                with transaction(session_factory(engine)) as session:
                    result = verify_log(session, trusted, copies)
            finally:
                engine.dispose()
            source = engine.url.render_as_string(hide_password=True)
    _print_result(result, source)
    if result.ok and not result.pinned:
        err.print(f"[yellow]warning:[/] {result.trust()}", highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)
    if max_unwitnessed is not None and result.unwitnessed > max_unwitnessed:
        err.print(
            f"[bold red]audit log NOT WITNESSED:[/] {result.unwitnessed} entries follow the newest checkpoint "
            f"another party countersigned (at most {max_unwitnessed} allowed): this copy of the log may not be "
            "the one the partner's witness saw",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


checkpoint_app = typer.Typer(help="Issue checkpoints, or export them for the auditors to keep.", add_completion=False)
audit_app.add_typer(checkpoint_app, name="checkpoint")
keys_app = typer.Typer(
    help="This instance's signing keys: create one, export the public keys to pin.", no_args_is_help=True
)
audit_app.add_typer(keys_app, name="keys")


@checkpoint_app.callback(invoke_without_command=True)
def checkpoint(
    ctx: typer.Context,
    party: Annotated[str | None, typer.Option("--party", help="Party code acting (IN, US).")] = None,
    auto: Annotated[
        bool, typer.Option("--auto", help="Issue only where the schedule calls for one (SETU_CHECKPOINT_*); for cron.")
    ] = False,
) -> None:
    """Sign the current tree head as PARTY with this instance's key of it (created on first use)."""
    if ctx.invoked_subcommand is not None:
        return
    if auto:
        _auto_checkpoints()
        return
    if party is None:
        err.print("[bold red]error:[/] --party is required (or --auto)", highlight=False)
        raise typer.Exit(2)
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


def _auto_checkpoints() -> None:
    from setu.audit.schedule import CheckpointSchedule, auto_checkpoints

    with _errors():
        engine = make_engine()
        try:
            issued = auto_checkpoints(session_factory(engine), CheckpointSchedule.from_env())
        finally:
            engine.dispose()
    for item in issued:
        out.print(f"[green]signed[/] checkpoint {item.id} of {item.party}: size {item.tree_size}", highlight=False)
    if not issued:
        out.print("no checkpoint due")


@checkpoint_app.command("export")
def checkpoint_export(path: Annotated[Path, typer.Argument(help="JSON file to write.")]) -> None:
    """Write every signed checkpoint to a file for an auditor to keep and pass to `verify --checkpoint`."""
    with _errors():
        engine = make_engine()
        try:
            with transaction(session_factory(engine)) as session:
                document = checkpoints_document(session)
                path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
                record(
                    session,
                    None,
                    "audit.checkpoint.export",
                    "audit_log",
                    actor_name=_cli_actor(),
                    details={"checkpoints": len(document["checkpoints"])},
                )
        finally:
            engine.dispose()
    out.print(f"wrote {len(document['checkpoints'])} checkpoints to {path}")


@keys_app.command("export")
def keys_export(
    path: Annotated[Path, typer.Argument(help="JSON file to write (give it to the auditors to pin).")],
    party: Annotated[
        list[str] | None, typer.Option("--party", help="Only this party's keys (repeatable; default: all held).")
    ] = None,
) -> None:
    """Write the public keys this instance's key store holds (read from the store, never from the database)."""
    from setu.audit.keys import key_store, signing_parties

    with _errors():
        store = key_store()
        parties = party or sorted(signing_parties() or _parties_in_store())
        held = [key.to_json() for name in parties for key in store.keys(name.upper())]
        if not held:
            raise ValueError(f"{store.where} holds no key of {', '.join(parties) or 'any party'}")
        path.write_text(json.dumps({"keys": held}, indent=1) + "\n", encoding="utf-8")
    out.print(f"wrote {len(held)} public keys ({', '.join(parties)}) from {store.where} to {path}", highlight=False)


def _parties_in_store() -> list[str]:
    from setu.audit.keys import FileKeyStore, key_store

    store = key_store()
    if isinstance(store, FileKeyStore) and store.root.is_dir():
        return sorted(p.name for p in store.root.iterdir() if p.is_dir())
    return ["IN", "US"]


@keys_app.command("new")
def keys_new(party: PartyOpt) -> None:
    """Create a new signing key for PARTY in this instance's key store (rotation); it signs from now on."""
    from setu.audit.checkpoints import generate_key

    with _errors():
        engine = make_engine()
        try:
            with transaction(session_factory(engine)) as session:
                key = generate_key(session, party, actor_name=_cli_actor())
                text = f"key {key.key_id} of {key.party}: public {bytes(key.public_key).hex()}"
        finally:
            engine.dispose()
    out.print(f"[green]created[/] {text}; export it with `setu audit keys export` for the auditors", highlight=False)


@audit_app.command()
def countersign(
    party: PartyOpt,
    checkpoint_id: Annotated[
        int | None, typer.Argument(help="The checkpoint (default: the newest of another party).")
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", help="Pinned public keys: the issuer's signature must verify with one of them."),
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
                trusted = None if keys is None else {k.key_id: (k.party, k.public_key) for k in load_trusted_keys(keys)}
                signed = countersign_checkpoint(
                    session, checkpoint_id, party, actor_name=_cli_actor(), trusted_keys=trusted
                )
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
                # Exports are audited like any other; this entry is the first one after the exported log
                # (write_export sequenced what was pending and holds the log lock: nothing comes between).
                record(
                    session,
                    None,
                    "audit.export",
                    "audit_log",
                    actor_name=_cli_actor(),
                    sequenced=True,
                    details={"path": str(path), "tree_size": len(data.entries)},
                )
        finally:
            engine.dispose()
    out.print(f"wrote {len(data.entries)} entries and {len(data.checkpoints)} checkpoints to {path}")


@audit_app.command()
def sequence() -> None:
    """Sequence every pending entry into the log now (what the server's sequencer thread does; for cron)."""
    from setu.audit.sequencer import integrate_pending

    with _errors():
        engine = make_engine()
        try:
            moved = integrate_pending(session_factory(engine))
        finally:
            engine.dispose()
    out.print(f"sequenced {moved} pending entries", highlight=False)
