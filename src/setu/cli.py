"""The ``setu`` command: stress, explain, validate, template, generate, demo, serve, users and audit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from setu.accounts.cli import accounts_app
from setu.audit.cli import audit_app
from setu.core_cli import JobsOpt, _user_errors, core_app
from setu.federation.cli import federation_app, partner_app
from setu.framework.cli import framework_app
from setu.jobs.cli import jobs_app
from setu.registry.cli import registry_app
from setu.sosa.cli import sosa_app

app = typer.Typer(
    name="setu",
    help="Map multi-tier defense supply chains and stress-test them: lost profit (PI), time to survive (TTS), REI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


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


app.add_typer(core_app)
app.add_typer(accounts_app, name="accounts")
app.add_typer(audit_app, name="audit")
app.add_typer(sosa_app, name="sosa")
app.add_typer(registry_app, name="registry")
app.add_typer(jobs_app, name="jobs")
app.add_typer(framework_app, name="framework")
app.add_typer(partner_app, name="partner")
app.add_typer(federation_app, name="federation")
