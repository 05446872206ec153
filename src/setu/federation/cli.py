"""`setu partner` (who this instance federates with) and `setu federation` (the feed, bundles, link state).

Operator commands of a federated instance (``SETU_INSTANCE_PARTY`` names its party), on the database
of ``SETU_DATABASE_URL`` (or ``--database-url``); every change is audited with the operator's name.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from setu.db import make_engine, prepare, session_factory, transaction
from setu.errors import SetuError
from setu.federation.certs import certificate_fingerprint, write_certificate
from setu.federation.identity import configured_party, fingerprint, this_instance
from setu.federation.partners import add_partner, list_partners, remove_partner
from setu.federation.receive import ApplyReport
from setu.federation.service import export, import_bundle, link_states
from setu.sharing.markings import LEVEL_OF, LEVELS

partner_app = typer.Typer(
    help="The partner instances this one federates with: pinned keys and certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
federation_app = typer.Typer(
    help="Exchange released records with partner instances: signed bundles, link state.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (default: SETU_DATABASE_URL, else sqlite:///setu.db)."),
]
out = Console(highlight=False)


def _fail(message: str) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    return typer.Exit(2)


def _operator() -> str:
    try:
        return f"cli {getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


@contextmanager
def _database(database_url: str | None) -> Iterator[sessionmaker[Session]]:
    """Sessions on the database (brought to the current schema); Setu's errors print and exit 2."""
    engine = None
    try:
        engine = make_engine(database_url)
        prepare(engine)
        yield session_factory(engine)
    except SetuError as exc:
        raise _fail(str(exc)) from None
    except OperationalError as exc:
        raise _fail(f"cannot use the database: {exc.orig or exc}") from None
    finally:
        if engine is not None:
            engine.dispose()


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    """One transaction on the database; Setu's errors print and exit 2, with nothing stored."""
    with _database(database_url) as sessions, transaction(sessions) as session:
        yield session


@partner_app.command("card")
def card(database_url: DatabaseOpt = None) -> None:
    """Print this instance's party, public key and its fingerprint: what the partner pins (`setu partner add`)."""
    with _session(database_url) as session:
        instance = this_instance(session)
        out.print(f"party        {instance.party}")
        out.print(f"public key   {instance.public_key_hex}")
        out.print(f"fingerprint  {fingerprint(instance.key.public_key)}")
    out.print("Read the fingerprint to the partner's operator by a channel other than the one the key travelled on.")


@partner_app.command("cert")
def cert(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write instance.crt and instance.key to.")],
    host: Annotated[list[str], typer.Option("--host", help="A host name or address the instance answers on.")],
) -> None:
    """Make this instance's TLS key and self-signed certificate for mutual TLS (the partner pins the certificate)."""
    try:
        party = configured_party()
        cert_path, key_path = write_certificate(out_dir, party, host)
    except SetuError as exc:
        raise _fail(str(exc)) from None
    out.print(f"wrote {cert_path} and {key_path} (0600)")
    out.print(f"certificate fingerprint  {certificate_fingerprint(cert_path.read_text())}")


@partner_app.command("add")
def add(
    party: Annotated[str, typer.Argument(help="The partner's party code, e.g. US.")],
    public_key: Annotated[str, typer.Option("--public-key", help="The partner instance's public key (64 hex digits).")],
    url: Annotated[str, typer.Option("--url", help="Its federation endpoint, https://... (none: air-gapped).")] = "",
    cert_file: Annotated[Path | None, typer.Option("--cert", help="Its TLS certificate (PEM) to pin.")] = None,
    max_classification: Annotated[
        str,
        typer.Option(
            "--max-classification", help=f"Highest level the link is accredited for: {', '.join(LEVELS.values())}."
        ),
    ] = "RESTRICTED",
    group: Annotated[
        list[str] | None, typer.Option("--group", help="A need-to-know group shared over the link.")
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Pin a partner instance: its party, key, certificate, and what the link may carry."""
    level = LEVEL_OF.get(max_classification.strip().upper())
    if level is None:
        raise _fail(f"--max-classification must be one of {', '.join(LEVELS.values())}, got {max_classification!r}")
    certificate = ""
    if cert_file is not None:
        try:
            certificate = cert_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read {cert_file}: {exc}") from None
    with _session(database_url) as session:
        partner = add_partner(
            session,
            local_party=configured_party(),
            party=party.strip().upper(),
            public_key=public_key,
            url=url,
            certificate=certificate,
            max_classification=level,
            groups=group,
            actor_name=_operator(),
        )
        out.print(f"[green]added[/] partner {partner.party}", markup=True)
        out.print(f"key fingerprint          {fingerprint(bytes.fromhex(partner.public_key))}")
        if certificate:
            out.print(f"certificate fingerprint  {certificate_fingerprint(certificate)}")
        out.print("Compare both with the partner's operator out of band before the first exchange.")


@partner_app.command("list")
def list_(database_url: DatabaseOpt = None) -> None:
    """The partners and what each link may carry."""
    with _session(database_url) as session:
        table = Table("party", "url", "key fingerprint", "up to", "groups", "added")
        for partner in list_partners(session):
            table.add_row(
                partner.party,
                partner.url or "(air-gapped)",
                fingerprint(bytes.fromhex(partner.public_key))[:35] + " ...",
                LEVELS[partner.max_classification],
                ", ".join(partner.groups) or "-",
                f"{partner.added_at:%Y-%m-%d} by {partner.added_by}",
            )
        out.print(table)


@partner_app.command("remove")
def remove(
    party: Annotated[str, typer.Argument(help="The partner's party code.")], database_url: DatabaseOpt = None
) -> None:
    """Forget a partner; what was exchanged stays, with its provenance."""
    with _session(database_url) as session:
        remove_partner(session, party.strip().upper(), local_party=configured_party(), actor_name=_operator())
    out.print(f"removed partner {party.upper()}")


@federation_app.command("export")
def export_cmd(
    partner: Annotated[str, typer.Option("--partner", help="The partner the bundle is for.")],
    out_file: Annotated[Path, typer.Option("--out", help="The bundle file to write.")],
    since: Annotated[int, typer.Option("--since", help="Last sequence number the partner applied (0: all).")] = 0,
    database_url: DatabaseOpt = None,
) -> None:
    """Publish the latest releasable changes and write the feed after --since as a signed bundle file."""
    with _session(database_url) as session:
        bundle, report = export(session, this_instance(session), partner.strip().upper(), since, actor_name=_operator())
        out_file.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    header = bundle["objects"][0]
    out.print(
        f"published {report.sent} new, {report.changed} changed, {report.retracted} retracted; "
        f"wrote seq {header['first_seq']}-{header['last_seq']} ({header['count']} objects) to {out_file}"
    )


@federation_app.command("import")
def import_cmd(
    bundle_file: Annotated[Path, typer.Argument(help="A bundle file from a partner.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Check a partner's bundle in full and apply it; refused bundles store nothing."""
    try:
        data = bundle_file.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {bundle_file}: {exc}") from None
    with _database(database_url) as sessions:
        report = import_bundle(sessions, data, str(bundle_file), actor_name=_operator())
    out.print(describe(report))


def describe(report: ApplyReport) -> str:
    """What applying a batch did, as one sentence."""
    parts = [f"{report.created} records new", f"{report.updated} updated", f"{report.retracted} retracted"]
    if report.retracted:
        parts[-1] += f" (receipts queued for {report.partner})"
    if report.receipts:
        parts.append(f"{report.receipts} receipts of our retractions")
    if report.cosignatures:
        parts.append(f"{report.partner} cosigned our audit log")
    return f"applied {report.applied} entries from {report.partner}: " + ", ".join(parts)


@federation_app.command("status")
def status(database_url: DatabaseOpt = None) -> None:
    """Per partner: the feed sent and applied, records held each way, retractions awaiting a receipt, the witness."""
    with _session(database_url) as session:
        states = link_states(session)
        if not states:
            out.print("no partner yet: pin one with `setu partner add`")
        for state in states:
            applied = f"{state.last_applied_at:%Y-%m-%d %H:%M} UTC" if state.last_applied_at else "never"
            witnessed = (
                f"cosigned at {state.witnessed_size} entries" if state.witnessed_size else "nothing cosigned yet"
            )
            out.print(f"[bold]{state.partner}[/]", markup=True)
            out.print(f"  sent       feed up to entry {state.last_sent_seq}; {state.released} records released now")
            out.print(
                f"  retracted  {state.retractions}, of which {state.unacknowledged} await {state.partner}'s receipt"
            )
            out.print(f"  received   feed applied up to entry {state.last_applied_seq} ({applied})")
            out.print(f"  held       {state.received} records of {state.partner}'s, {state.tombstones} retracted by it")
            out.print(f"  witness    {state.partner}'s audit log {witnessed}; {state.forks} forks refused")
            if state.forks:
                out.print(
                    "[bold red]A partner showed a forked audit log:[/] its checkpoint was refused and kept "
                    "(audit entries federation.witness.fork); tell the partner's auditors before the next exchange.",
                    markup=True,
                )


# -- online: TAXII 2.1 over mutual TLS ---------------------------------------------------------------------

CertOpt = Annotated[
    Path,
    typer.Option(
        "--cert", envvar="SETU_FEDERATION_CERT", help="This instance's TLS certificate (`setu partner cert`)."
    ),
]
KeyOpt = Annotated[Path, typer.Option("--key", envvar="SETU_FEDERATION_KEY", help="This instance's TLS key.")]


@contextmanager
def _pinned_file(certificate: str) -> Iterator[Path]:
    """The pinned certificate in a private temporary file (``0600``), removed afterwards: uvicorn's ``ssl_ca_certs``."""
    import os
    import tempfile

    descriptor, name = tempfile.mkstemp(prefix="setu-pinned-", suffix=".pem")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(certificate)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


@federation_app.command("serve")
def serve_cmd(
    partner: Annotated[str, typer.Option("--partner", help="The one partner this listener serves.")],
    cert_file: CertOpt,
    key_file: KeyOpt,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (one per partner).")] = 8443,
    database_url: DatabaseOpt = None,
) -> None:
    """Serve the feed to one partner over TAXII 2.1 with mutual TLS: only its pinned certificate gets in."""
    import ssl

    import uvicorn

    from setu.federation.taxii import pinned_certificate
    from setu.federation.taxii_http import TaxiiApp

    party = partner.strip().upper()
    try:
        local = configured_party()
        # Checked here, before listening, so a wrong file is a clear message rather than a uvicorn traceback.
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert_file, key_file)
    except SetuError as exc:
        raise _fail(str(exc)) from None
    except (OSError, ssl.SSLError) as exc:
        raise _fail(f"cannot use the certificate {cert_file} and key {key_file}: {exc}") from None
    with _session(database_url) as session:
        pinned = pinned_certificate(session, party)
    engine = make_engine(database_url)
    try:
        with _pinned_file(pinned) as ca_file:
            out.print(
                f"serving {local}'s feed to {party} over TAXII 2.1 at https://{host}:{port}/taxii2/, to the holder "
                f"of the certificate pinned for {party} only ({certificate_fingerprint(pinned)})"
            )
            uvicorn.run(
                TaxiiApp(session_factory(engine), local, party, pinned),
                host=host,
                port=port,
                ssl_certfile=cert_file,
                ssl_keyfile=key_file,
                ssl_ca_certs=ca_file,
                ssl_cert_reqs=ssl.CERT_REQUIRED,
                lifespan="off",
                ws="none",
                proxy_headers=False,
                server_header=False,
            )
    finally:
        engine.dispose()


@federation_app.command("pull")
def pull_cmd(
    partner: Annotated[str, typer.Option("--partner", help="The partner whose feed to pull (from its --url).")],
    cert_file: CertOpt,
    key_file: KeyOpt,
    page_size: Annotated[int, typer.Option("--page-size", help="Objects asked per page (1 to 1000).")] = 1000,
    database_url: DatabaseOpt = None,
) -> None:
    """Pull a partner's feed over TAXII 2.1 with mutual TLS and apply it, one checked transaction per page."""
    from setu.federation.pull import PageReport, pull

    def show(page: PageReport) -> None:
        report = page.report
        out.print(f"page {page.page}: seq {page.first_seq}-{page.last_seq}; {describe(report)}")

    party = partner.strip().upper()
    with _database(database_url) as sessions:
        result = pull(
            sessions, party, cert=cert_file, key=key_file, page_size=page_size, actor_name=_operator(), on_page=show
        )
    pages = f"{len(result.pages)} page{'' if len(result.pages) == 1 else 's'}"
    out.print(
        f"pulled {pages} from {party}: {result.applied} entries applied, seq {result.start_seq} -> {result.last_seq}"
    )
