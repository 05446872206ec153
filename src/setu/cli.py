"""The ``setu`` command: stress, explain, validate, template, generate, demo, serve, users and audit."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from setu.accounts.cli import accounts_app
from setu.audit.cli import audit_app
from setu.errors import SetuError
from setu.federation.cli import federation_app, partner_app
from setu.framework.cli import framework_app
from setu.jobs.cli import jobs_app
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.industrial_base import MIN_NODES, industrial_base
from setu.network.io.loader import FORMATS, read_network
from setu.network.io.saver import WRITE_FORMATS, check_free, write_network
from setu.registry.cli import registry_app
from setu.sosa.cli import sosa_app
from setu.stress import scenarios as build
from setu.stress.engine import StressResult, run_scenarios
from setu.stress.scenarios import Scenario

app = typer.Typer(
    name="setu",
    help="Map multi-tier defense supply chains and stress-test them: lost profit (PI), time to survive (TTS), REI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

NetworkArg = Annotated[Path, typer.Argument(help="Network: Setu .xlsx or CSV folder, accelerator .json, Willems .csv.")]
FormatOpt = Annotated[str, typer.Option("--format", help=f"Input format: {'|'.join(FORMATS)}.")]
TtrOpt = Annotated[float | None, typer.Option("--ttr", help="TTR for scenarios without one (else each node's own).")]
JobsOpt = Annotated[
    int, typer.Option("--jobs", "-j", help="Worker processes, each with a warm model; 0 = one per CPU.")
]


@contextmanager
def _user_errors() -> Iterator[None]:
    """Show input errors as a message naming the place, not a traceback; exit code 2."""
    try:
        yield
    except SetuError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(2) from None


def _load(path: Path, format: str) -> CompiledNetwork:
    if format not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
    return compile_network(read_network(path, format))  # type: ignore[arg-type]


def _export_rule(text: str) -> tuple[list[str], list[str]]:
    materials, sep, countries = text.partition(":")
    if not sep or not materials.strip() or not countries.strip():
        raise typer.BadParameter(f"expected MATERIALS:COUNTRIES such as gallium,germanium:CN, got {text!r}")
    return [m.strip() for m in materials.split(",") if m.strip()], [
        c.strip() for c in countries.split(",") if c.strip()
    ]


def _built_scenarios(
    net: CompiledNetwork,
    *,
    ttr: float | None,
    nodes: list[str],
    sites: list[str],
    organizations: list[str],
    parties: list[str],
    countries: list[str],
    materials: list[str],
    chokepoints: list[str],
    export_controls: list[str],
) -> list[Scenario]:
    chosen: list[Scenario] = []
    for node in nodes:
        if not net.has_node(node):
            raise SetuError(f"--node: the network has no node {node!r}")
        index = net.index_of(node)
        chosen.append(
            Scenario(id=node, nodes=(node,), ttr=build.scenario_ttr(net, [index], ttr, node), kind="node", label=node)
        )
    chosen += [build.by_attribute(net, "site", v, ttr) for v in sites]
    chosen += [build.by_attribute(net, "organization", v, ttr) for v in organizations]
    chosen += [build.by_attribute(net, "party", v, ttr) for v in parties]
    chosen += [build.by_attribute(net, "country", v, ttr) for v in countries]
    chosen += [build.by_material(net, v, ttr) for v in materials]
    chosen += [build.by_chokepoint(net, v, ttr) for v in chokepoints]
    for rule in export_controls:
        mats, origins = _export_rule(rule)
        chosen.append(build.export_control(net, mats, origins, ttr))
    return chosen


def _progress_run(net: CompiledNetwork, chosen: list[Scenario], jobs: int, compute_tts: bool) -> StressResult:
    if len(chosen) < 50 or not err.is_terminal:
        return run_scenarios(net, chosen, jobs=jobs, compute_tts=compute_tts)
    with Progress(
        TextColumn("[bold]stress[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("scenarios"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("stress", total=len(chosen))
        return run_scenarios(
            net,
            chosen,
            jobs=jobs,
            compute_tts=compute_tts,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _fmt_tts(value: float) -> str:
    return "inf" if math.isinf(value) else "-" if math.isnan(value) else f"{value:,.2f}"


def _risk_table(result: StressResult, top: int) -> Table:
    table = Table(title=f"Riskiest scenarios of {result.network} ({len(result.scenarios)} run)", title_justify="left")
    for name in ("scenario", "disrupted", "TTR", "TTS", "lost profit (PI)", "REI"):
        table.add_column(name, justify="left" if name in ("scenario", "disrupted") else "right")
    rei = result.rei
    for i in result.ranking(top):
        scenario = result.scenarios[int(i)]
        ttr, tts = scenario.ttr, float(result.tts[i])
        shown = scenario.nodes[0] if len(scenario.nodes) == 1 else f"{len(scenario.nodes)} nodes"
        table.add_row(
            scenario.id,
            shown,
            f"{ttr:g}",
            f"[bold red]{_fmt_tts(tts)}[/]" if tts < ttr else _fmt_tts(tts),
            f"{result.lost_profit[i]:,.2f}",
            f"{rei[i]:.3f}",
        )
    return table


@app.command()
def stress(
    network: NetworkArg,
    format: FormatOpt = "auto",
    ttr_csv: Annotated[
        Path | None, typer.Option("--ttr-csv", help="CSV node,ttr: one single-node scenario per row.")
    ] = None,
    scenarios: Annotated[
        Path | None, typer.Option("--scenarios", help="CSV scenario_id,disrupted,ttr (disrupted: ids joined by ;).")
    ] = None,
    ttr: TtrOpt = None,
    jobs: JobsOpt = 1,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write results to .csv, .parquet or .json.")] = None,
    node: Annotated[list[str] | None, typer.Option("--node", help="Disrupt this node (repeatable).")] = None,
    site: Annotated[list[str] | None, typer.Option("--site", help="Disrupt every node at this site.")] = None,
    organization: Annotated[list[str] | None, typer.Option("--organization", help="Disrupt a firm's nodes.")] = None,
    party: Annotated[list[str] | None, typer.Option("--party", help="Disrupt every node of a party.")] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="Disrupt every node in a country.")] = None,
    material: Annotated[
        list[str] | None, typer.Option("--material", help="Disrupt every source of a material.")
    ] = None,
    chokepoint: Annotated[
        list[str] | None, typer.Option("--chokepoint", help="Disrupt nodes whose route crosses it.")
    ] = None,
    export_control: Annotated[
        list[str] | None,
        typer.Option("--export-control", help="MATERIALS:COUNTRIES, e.g. gallium,germanium:CN."),
    ] = None,
    no_tts: Annotated[bool, typer.Option("--no-tts", help="Skip the TTS program (PI only).")] = False,
    top: Annotated[int, typer.Option("--top", help="Rows in the table printed without --out.")] = 20,
) -> None:
    """Run a stress test: the single-node sweep by default, or the scenarios you name."""
    with _user_errors():
        net = _load(network, format)
        chosen: list[Scenario] = []
        if ttr_csv is not None:
            chosen += build.from_ttr_table(net, build.read_ttr_csv(ttr_csv), str(ttr_csv))
        if scenarios is not None:
            chosen += build.read_scenarios_csv(scenarios, net)
        chosen += _built_scenarios(
            net,
            ttr=ttr,
            nodes=node or [],
            sites=site or [],
            organizations=organization or [],
            parties=party or [],
            countries=country or [],
            materials=material or [],
            chokepoints=chokepoint or [],
            export_controls=export_control or [],
        )
        if not chosen:
            chosen = build.node_sweep(net, ttr=ttr)
        ids = [s.id for s in chosen]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise SetuError(f"scenario ids repeat across inputs: {', '.join(dup)}")
        result = _progress_run(net, chosen, jobs, not no_tts)
        if out_file is not None:
            from setu.stress.export import write_results

            write_results(result, out_file)
            err.print(
                f"wrote {len(chosen)} scenarios to {out_file} "
                f"({result.wall_seconds:.2f} s, {int(result.at_risk.sum())} with TTS < TTR)"
            )
            return
        out.print(_risk_table(result, top))
        out.print(
            f"{len(chosen)} scenarios in {result.wall_seconds:.2f} s; "
            f"{int(result.at_risk.sum())} with TTS < TTR (marked red); "
            f"REI = PI / max PI ({result.lost_profit.max():,.2f})."
        )


@app.command()
def explain(
    network: NetworkArg,
    format: FormatOpt = "auto",
    ttr: TtrOpt = None,
    node: Annotated[
        list[str] | None, typer.Option("--node", help="Disrupt this node (repeatable, one scenario).")
    ] = None,
    site: Annotated[str | None, typer.Option("--site")] = None,
    organization: Annotated[str | None, typer.Option("--organization")] = None,
    country: Annotated[str | None, typer.Option("--country")] = None,
    material: Annotated[str | None, typer.Option("--material")] = None,
    chokepoint: Annotated[str | None, typer.Option("--chokepoint")] = None,
    export_control: Annotated[str | None, typer.Option("--export-control", help="MATERIALS:COUNTRIES")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
) -> None:
    """Explain one scenario: products that lose, the material that binds, re-routed shipments."""
    from setu.stress.explain import explain as explain_scenario

    with _user_errors():
        net = _load(network, format)
        chosen: list[Scenario] = []
        if node:
            indices = []
            for n in node:
                if not net.has_node(n):
                    raise SetuError(f"--node: the network has no node {n!r}")
                indices.append(net.index_of(n))
            label = "+".join(node)
            chosen.append(
                Scenario(id=label, nodes=tuple(node), ttr=build.scenario_ttr(net, indices, ttr, label), label=label)
            )
        chosen += _built_scenarios(
            net,
            ttr=ttr,
            nodes=[],
            sites=[site] if site else [],
            organizations=[organization] if organization else [],
            parties=[],
            countries=[country] if country else [],
            materials=[material] if material else [],
            chokepoints=[chokepoint] if chokepoint else [],
            export_controls=[export_control] if export_control else [],
        )
        if len(chosen) != 1:
            raise SetuError("name exactly one scenario: --node (repeatable), --site, --country, --material, ...")
        explanation = explain_scenario(net, chosen[0])
        if as_json:
            import json

            out.print_json(json.dumps(explanation.to_dict()))
        else:
            out.print(explanation.to_text(), highlight=False, markup=False)


@app.command()
def validate(network: NetworkArg, format: FormatOpt = "auto") -> None:
    """Check a network file and summarise it; errors name the file, row and column."""
    with _user_errors():
        net = _load(network, format)
        out.print(
            f"[green]ok[/] {network}: {net.n_nodes} nodes, {net.n_edges} supply edges, "
            f"{len(net.bom_node)} BOM lines, {net.n_products} products, "
            f"{len(net.shared_sites)} shared sites"
        )


@app.command()
def template(
    path: Annotated[Path, typer.Argument(help="Where to write: a .xlsx file, or a folder for CSV tables.")],
) -> None:
    """Write a template network (workbook or CSV folder) with an example to copy."""
    from setu.network.io.setu_format import write_template

    with _user_errors():
        written = write_template(path)
        out.print(f"wrote template to {written}")


@app.command()
def generate(
    nodes: Annotated[int, typer.Option("--nodes", help=f"Number of nodes, exactly (>= {MIN_NODES}).", min=MIN_NODES)],
    out_path: Annotated[Path, typer.Option("--out", help="A .xlsx workbook, a folder for CSV tables, or a .json.")],
    seed: Annotated[int, typer.Option("--seed", help="The same options and seed give the same network.", min=0)] = 0,
    programs: Annotated[int | None, typer.Option(help="Weapons programs (default: grows with --nodes).", min=1)] = None,
    tiers: Annotated[int, typer.Option("--tiers", help="Supplier tiers below the end products.", min=3, max=5)] = 4,
    format: Annotated[str, typer.Option("--format", help=f"Output format: {'|'.join(WRITE_FORMATS)}.")] = "auto",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing file or tables.")] = False,
) -> None:
    """Write a synthetic defense industrial base (programs, 3-5 supplier tiers, alternates, shared sites)."""
    if format not in WRITE_FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(WRITE_FORMATS)}", param_hint="--format")
    with _user_errors():
        check_free(out_path, format, overwrite=overwrite)  # before minutes of work, not after
        start = time.perf_counter()
        try:
            network = industrial_base(nodes, seed, programs=programs, tiers=tiers)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--programs") from None
        written = write_network(network, out_path, format, overwrite=True)
        counts = {
            "nodes": len(network.nodes), "supply edges": len(network.supplies), "BOM lines": len(network.bom),
            "products": len(network.products), "programs": len({n.program for n in network.nodes if n.program}),
            "sites": len({n.site for n in network.nodes}),
            "shared site capacities": len(network.site_capacities) if written == "setu" else 0,
        }  # fmt: skip
        table = Table(network.name, Column(f"{out_path} ({written})", justify="right"))
        for label, count in counts.items():
            table.add_row(label, f"{count:,}")
        table.add_row("seconds", f"{time.perf_counter() - start:.2f}")
        out.print(table)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report and the demo network.")] = Path(
        "setu-out"
    ),
    jobs: JobsOpt = 1,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Seed the database and start the server afterwards.")
    ] = True,
    host: Annotated[str, typer.Option("--host", help="Address the server listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port the server listens on.", min=1, max=65535)] = 8000,
) -> None:
    """Run the illustrative India-US demo: sweep, scenario library, HTML report; then seed the database and serve."""
    from setu.demo.cli import run_demo, seed_database

    with _user_errors():
        report = run_demo(out_dir, jobs=jobs, console=out, err=err)
        out.print(f"\nReport: [bold]{report.resolve()}[/]")
        if not serve_after:
            return
        url = seed_database(out, err)
        _serve(host, port, url, workers=1, run_workers=1)


def _serve(host: str, port: int, database_url: str | None, workers: int = 0, run_workers: int = 1) -> None:
    import os

    import uvicorn

    from setu.db import make_engine, prepare
    from setu.serving import WorkerProcesses, default_web_workers

    engine = make_engine(database_url)
    prepare(engine)
    where = engine.url.render_as_string(hide_password=True)
    # The web processes and the run workers read the database from the environment, not the command line.
    os.environ["SETU_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    os.environ["SETU_RUN_WORKERS"] = "0"  # web processes only enqueue; the worker processes execute runs and jobs
    engine.dispose()
    workers = workers or default_web_workers()
    err.print(
        f"Setu on http://{host}:{port}/ (web) and http://{host}:{port}/api/v1 (API), database {where}; "
        f"{workers} web process(es), {run_workers} run worker(s); Ctrl-C stops it",
        highlight=False,
        markup=False,
    )
    children = WorkerProcesses(run_workers, os.environ)
    children.start()
    try:
        uvicorn.run(
            "setu.api:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            timeout_keep_alive=5,
            timeout_graceful_shutdown=10,
        )
    finally:
        children.stop()


WorkersOpt = Annotated[int, typer.Option("--workers", help="Web processes (0: one per CPU, at most 8).", min=0, max=64)]
RunWorkersOpt = Annotated[
    int,
    typer.Option("--run-workers", help="Run worker processes started with the server (0: none).", min=0, max=64),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Database URL (default: SETU_DATABASE_URL, else sqlite:///setu.db)."),
    ] = None,
    workers: WorkersOpt = 0,
    run_workers: RunWorkersOpt = 1,
) -> None:
    """Serve the web pages and the HTTP API under /api/v1 (OpenAPI at /openapi.json), migrating the database first.

    Web processes only queue stress runs, imports and what-ifs; the workers started with it execute them (more can run
    on other machines with `setu worker`). SIGTERM or Ctrl-C stops everything cleanly.
    """
    with _user_errors():
        _serve(host, port, database_url, workers, run_workers)


@app.command()
def worker(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Database URL (default: SETU_DATABASE_URL, else sqlite:///setu.db)."),
    ] = None,
    nice: Annotated[
        int,
        typer.Option(
            "--nice",
            envvar="SETU_WORKER_NICE",
            min=0,
            max=19,
            help="Scheduling niceness added to this process (0-19): runs yield the CPU to web requests.",
        ),
    ] = 10,
) -> None:
    """Execute queued stress runs and jobs, one at a time, until SIGTERM or Ctrl-C (which give it back to its queue).

    The worker runs at a lower scheduling priority (``--nice``, default 10): on a machine it shares
    with web processes, a sweep takes the CPU they leave idle rather than slowing every request.
    """
    import logging
    import os
    import signal
    import threading

    from setu.db import make_engine, session_factory
    from setu.jobs.execute import JOB_SOURCE
    from setu.runs.worker import RUN_SOURCE, Worker, WorkerTimings
    from setu.settings import ApiSettings

    # Standalone, a worker says what it does; started by `setu serve`, only what goes wrong (SETU_LOG_LEVEL).
    level = os.environ.get("SETU_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if nice:
        os.nice(nice)
    with _user_errors():
        engine = make_engine(database_url)
        timings = WorkerTimings.of(ApiSettings.from_env())
        runner = Worker(session_factory(engine), timings, sources=(RUN_SOURCE, JOB_SOURCE))
        # The run executes in a thread of its own: the signal only sets a flag, and stopping (a database
        # write) happens here, never inside a handler that interrupted the run's own transaction.
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        executing = threading.Thread(target=runner.serve, name="setu-run-worker")
        executing.start()
        while executing.is_alive() and not stop.wait(0.2):
            pass
        runner.stop()
        executing.join()
        engine.dispose()


def main() -> None:  # pragma: no cover - console entry
    app(sys.argv[1:])


app.add_typer(accounts_app, name="accounts")
app.add_typer(audit_app, name="audit")
app.add_typer(sosa_app, name="sosa")
app.add_typer(registry_app, name="registry")
app.add_typer(jobs_app, name="jobs")
app.add_typer(framework_app, name="framework")
app.add_typer(partner_app, name="partner")
app.add_typer(federation_app, name="federation")
