"""`setu demo`: the illustrative India-US network, its sweep and scenario library, and the HTML report."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from setu.demo.network import build_demo_network
from setu.demo.scenarios import demo_scenarios
from setu.network.compile import compile_network
from setu.report.html import ReportPart, write_report
from setu.stress.engine import run_scenarios
from setu.stress.explain import explain
from setu.stress.export import write_results
from setu.stress.scenarios import node_sweep

BANNER = (
    "ILLUSTRATIVE DATA: a made-up India-US defense-industrial base built from public figures; no real program data."
)


def run_demo(out_dir: Path, *, jobs: int = 1, console: Console, err: Console) -> Path:
    """Build the demo network, run the sweep and the scenario library, write the report; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    network = build_demo_network()
    net = compile_network(network)
    err.print(f"demo network: {net.n_nodes} nodes, {net.n_edges} supply edges, {net.n_products} products")

    from setu.network.io.setu_format import write_setu

    workbook = write_setu(network, out_dir / "demo-network.xlsx")
    sweep = run_scenarios(net, node_sweep(net), jobs=jobs)
    library = demo_scenarios(net)
    library_result = run_scenarios(net, library, jobs=1)
    explanations = {s.id: explain(net, s) for s in library}
    write_results(sweep, out_dir / "sweep.csv")
    write_results(library_result, out_dir / "scenarios.csv")

    table = Table(title="Scenario library (illustrative; TTR and TTS in weeks)", title_justify="left")
    table.add_column("scenario", no_wrap=True)
    for name in ("nodes", "TTR", "TTS", "loss (PI)", "REI"):
        table.add_column(name, justify="right")
    for s, pi, tts, rei in zip(
        library, library_result.lost_profit, library_result.tts, library_result.rei, strict=True
    ):
        tts_text = "inf" if tts == float("inf") else f"{tts:,.1f}"
        table.add_row(
            s.id,
            str(len(s.nodes)),
            f"{s.ttr:g}",
            f"[bold red]{tts_text}[/]" if tts < s.ttr else tts_text,
            f"{pi:,.0f}",
            f"{rei:.2f}",
        )
    console.print(table)
    console.print(
        f"Single-node sweep: {len(sweep.scenarios)} scenarios in {sweep.wall_seconds:.2f} s, "
        f"{int(sweep.at_risk.sum())} nodes with TTS < TTR."
    )
    report = write_report(
        net,
        [
            ReportPart(
                "Scenario library",
                library_result,
                explanations,
                "Export controls, sanctions, strait closures and site outages, each with its time to recover.",
            ),
            ReportPart(
                "Single-node sweep",
                sweep,
                {},
                "Every supplying node disrupted alone for its own TTR estimate.",
            ),
        ],
        out_dir / "report.html",
        title="Setu demo: India-US defense supply-chain stress test",
        banner=BANNER,
    )
    console.print(f"Network workbook: {workbook}\nResults: {out_dir / 'sweep.csv'}, {out_dir / 'scenarios.csv'}")
    return report


def seed_database(console: Console, err: Console, url: str | None = None) -> str:
    """Seed the demo database (``SETU_DATABASE_URL`` or ``setu.db``) and print the accounts once.

    Returns the database URL used.
    """
    from setu.db import database_url, make_engine, prepare, session_factory
    from setu.demo.seed import is_seeded, seed_whole_demo

    url = url or database_url()
    engine = make_engine(url)
    prepare(engine)
    factory = session_factory(engine)
    with factory() as session:
        seeded = is_seeded(session)
    if not seeded:
        err.print("seeding the demo: its users, each analyst's runs, the registry, requests and checkpoints ...")
    users = seed_whole_demo(factory)
    engine.dispose()
    if not users:
        err.print(
            f"database {url} already holds the demo: its accounts were printed when it was seeded "
            "(reset a password with `setu accounts passwd NAME`)"
        )
        return url
    table = Table(title="Demo accounts (passwords are shown only now)", title_justify="left")
    for name in ("username", "password", "party", "role", "organization"):
        table.add_column(name, no_wrap=name in ("username", "password"))
    for user in users:
        table.add_row(user.username, user.password, user.party, user.role.replace("_", " "), user.organization)
    console.print(table)
    return url
