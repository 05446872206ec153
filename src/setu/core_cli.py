"""The core's commands: validate, template, generate, stress and explain.

The numerical core (``setu.network``, ``setu.stress``) imports no CLI library, so its commands live here;
``setu.cli`` mounts them at the top level of ``setu``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from setu.errors import SetuError
from setu.network.compile import CompiledNetwork, compile_network
from setu.network.industrial_base import MIN_NODES, industrial_base
from setu.network.io.loader import FORMATS, read_network
from setu.network.io.saver import WRITE_FORMATS, check_free, write_network
from setu.stress import scenarios as build
from setu.stress.engine import StressResult, run_scenarios
from setu.stress.executors import EXECUTORS, Executor, make_executor
from setu.stress.parts import ResultParts
from setu.stress.scenarios import Scenario

core_app = typer.Typer()
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


def _progress_run(
    net: CompiledNetwork,
    chosen: list[Scenario],
    executor: Executor,
    compute_tts: bool,
    parts: ResultParts | None = None,
) -> StressResult:
    if len(chosen) < 50 or not err.is_terminal:
        return run_scenarios(net, chosen, executor=executor, compute_tts=compute_tts, parts=parts)
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
            executor=executor,
            compute_tts=compute_tts,
            parts=parts,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _stream_parts(out_file: Path, net: CompiledNetwork, chosen: list[Scenario], compute_tts: bool) -> ResultParts:
    """The parts folder beside ``--out`` that the sweep streams to; a killed sweep's folder is resumed."""
    from setu.stress.export import check_output

    check_output(out_file)
    folder = out_file.with_name(out_file.name + ".parts")
    resuming = folder.exists()
    parts = ResultParts.open(folder, net, chosen, compute_tts)
    if resuming:
        solved = parts.solved()
        # PI and TTS are stored apart: a scenario with one of them stored counts as half done.
        done = f"the work of {solved:,} of {len(chosen):,} scenarios was already done"
        err.print(f"resuming the sweep in {folder}: {done}")
    return parts


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


@core_app.command()
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
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help=f"Where batches run: {'|'.join(EXECUTORS)} (default: serial for --jobs 1, else process).",
        ),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster to join (auto, ray://host:10001); else a local one.")
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write results to .csv, .parquet or .json; batches stream to OUT.parts and a killed sweep resumes.",
        ),
    ] = None,
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
        runner = make_executor(executor, jobs, address)
        if address is not None and runner.name != "ray":
            raise typer.BadParameter("only the Ray executor joins a cluster", param_hint="--address")
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
        parts = _stream_parts(out_file, net, chosen, not no_tts) if out_file is not None else None
        result = _progress_run(net, chosen, runner, not no_tts, parts)
        if out_file is not None and parts is not None:
            from setu.stress.export import write_results

            write_results(result, out_file)
            parts.remove()
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


@core_app.command()
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


@core_app.command()
def validate(network: NetworkArg, format: FormatOpt = "auto") -> None:
    """Check a network file and summarise it; errors name the file, row and column."""
    with _user_errors():
        net = _load(network, format)
        out.print(
            f"[green]ok[/] {network}: {net.n_nodes} nodes, {net.n_edges} supply edges, "
            f"{len(net.bom_node)} BOM lines, {net.n_products} products, "
            f"{len(net.shared_sites)} shared sites"
        )


@core_app.command()
def template(
    path: Annotated[Path, typer.Argument(help="Where to write: a .xlsx file, or a folder for CSV tables.")],
) -> None:
    """Write a template network (workbook or CSV folder) with an example to copy."""
    from setu.network.io.setu_format import write_template

    with _user_errors():
        written = write_template(path)
        out.print(f"wrote template to {written}")


@core_app.command()
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
