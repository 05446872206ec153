"""Building a network from parsed rows: keys, references and cycles, with each problem placed at its row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from setu.errors import InputError, Problem
from setu.network.io.setu_format.reader import csv_tables, parse_rows, workbook_tables
from setu.network.io.setu_format.tables import KEYED, REQUIRED_TABLES, WORKBOOK_SUFFIXES, RawTable, Row
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply
from setu.network.units import unit_problems
from setu.network.validate import network_problems


@dataclass(slots=True)
class _Parsed:
    network: Network
    rows: dict[tuple[str, str], Row]
    tables: dict[str, RawTable]


def _first(seen: dict[tuple[str, ...], Row], key: tuple[str, ...], row: Row) -> Row | None:
    """Remember ``row`` under ``key``, or return the row that already has it."""
    if key in seen:
        return seen[key]
    seen[key] = row
    return None


def _build(
    name: str, source: str, tables: dict[str, RawTable], rows: dict[str, list[Row]], problems: list[Problem]
) -> _Parsed:
    keyed: dict[tuple[str, str], Row] = {}
    seen: dict[tuple[str, ...], Row] = {}
    network = Network(name=name, nodes=[], products=[], bom=[], supplies=[], source=source)

    for row in rows.get("nodes", []):
        node = Node(
            id=row.text("id", "a node id"),
            name=row.text("name"),
            material=row.text("material", "a material name"),
            capacity=row.number("capacity"),
            inventory=row.number("inventory"),
            ttr=row.optional_number("ttr"),
            site=row.text("site"),
            organization=row.text("organization"),
            party=row.text("party"),
            country=row.text("country"),
            material_class=row.text("material_class"),
            program=row.text("program"),
            chokepoints=row.names("chokepoints"),
            latitude=row.degrees("latitude", 90.0),
            longitude=row.degrees("longitude", 180.0),
        )
        if not node.id:
            continue
        if first := _first(seen, ("nodes", node.id), row):
            row.fail("id", f"duplicate node id {node.id!r} (first at {_place(first)})")
            continue
        keyed["nodes", node.id] = row
        network.nodes.append(node)
    if "nodes" in rows and not rows["nodes"]:
        problems.append(Problem(tables["nodes"].label, "no node rows under the header"))

    for row in rows.get("products", []):
        product = Product(node=row.text("node", "a node id"), demand=row.number("demand"), weight=row.number("weight"))
        if not product.node:
            continue
        if first := _first(seen, ("products", product.node), row):
            row.fail("node", f"node {product.node!r} listed twice as a product (first at {_place(first)})")
            continue
        keyed["products", product.node] = row
        network.products.append(product)

    for row in rows.get("bom", []):
        line = BomLine(
            node=row.text("node", "a node id"),
            material=row.text("material", "a material name"),
            quantity=row.number("quantity", positive=True),
        )
        if not line.node or not line.material:
            continue
        if first := _first(seen, ("bom", line.node, line.material), row):
            row.fail("material", f"material listed twice for node {line.node!r} (first at {_place(first)})")
            continue
        keyed["bom", f"{line.node}/{line.material}"] = row
        network.bom.append(line)

    for row in rows.get("supplies", []):
        supply = Supply(supplier=row.text("supplier", "a node id"), customer=row.text("customer", "a node id"))
        if not supply.supplier or not supply.customer:
            continue
        if first := _first(seen, ("supplies", supply.supplier, supply.customer), row):
            row.fail(None, f"duplicate supply edge {supply.supplier} -> {supply.customer} (first at {_place(first)})")
            continue
        keyed["supplies", f"{supply.supplier}->{supply.customer}"] = row
        network.supplies.append(supply)

    for row in rows.get("site_capacities", []):
        site = SiteCapacity(site=row.text("site", "a site name"), capacity=row.number("capacity"))
        if not site.site:
            continue
        if first := _first(seen, ("site_capacities", site.site), row):
            row.fail("site", f"site {site.site!r} listed twice (first at {_place(first)})")
            continue
        keyed["site_capacities", site.site] = row
        network.site_capacities.append(site)

    for number, row in enumerate(rows.get("units", [])):
        if number:
            row.fail(None, "the units table holds one row: the network's time unit and weight unit")
            continue
        network.time_unit, network.weight_unit = row.text("time_unit"), row.text("weight_unit")
        for problem in unit_problems(network.time_unit, network.weight_unit):
            row.fail(problem.where, problem.message)
    return _Parsed(network, keyed, tables)


def _place(row: Row) -> str:
    return f"{row.raw.row_word} {row.lineno}"


def _column_hint(message: str, row: Row) -> str | None:
    """The column a validation message is about, where one is."""
    if message == "unknown node":
        return "node"
    for column in ("supplier", "customer"):
        if message == f"unknown node {row.texts.get(column)!r}":
            return column
    if message.startswith("customer has no bill-of-materials line"):
        return "customer"
    if message in ("material has no supplier", "material is empty"):
        return "material"
    if message == "no node is at this site":
        return "site"
    word = message.split(" ", 1)[0]
    return word if word in ("capacity", "inventory", "ttr", "demand", "weight", "quantity") else None


def _strong_components(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Label each node with its strongly connected component (iterative Tarjan)."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for supplier, customer in edges:
        successors[supplier].append(customer)
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    component: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in nodes:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        work = [(root, 0)]
        while work:
            node, i = work[-1]
            if i < len(successors[node]):
                work[-1] = (node, i + 1)
                nxt = successors[node][i]
                if nxt not in order:
                    order[nxt] = low[nxt] = len(order)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], order[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                label = len(set(component.values()))
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = label
                    if member == node:
                        break
    return component


def _cycle_rows(parsed: _Parsed) -> list[Row]:
    """The supplies rows whose edge lies on a cycle of the bill of materials."""
    network = parsed.network
    edges = [(s.supplier, s.customer) for s in network.supplies]
    component = _strong_components([node.id for node in network.nodes], edges)
    return [
        parsed.rows["supplies", f"{supplier}->{customer}"]
        for supplier, customer in edges
        if component[supplier] == component[customer]
    ]


def _locate(problem: Problem, parsed: _Parsed) -> Problem | None:
    """Map a validation problem keyed like ``bom[A/steel]`` to the file row it came from (None: already reported)."""
    source = parsed.network.source
    match = KEYED.match(problem.where)
    if match:
        row = parsed.rows.get((match[1], match[2]))
        if row is None:
            return Problem(f"{source}: {problem.where}", problem.message)
        if not row.ok:
            return None
        return Problem(row.where(_column_hint(problem.message, row)), problem.message)
    raw = parsed.tables.get(problem.where)
    if raw is None:
        return Problem(f"{source}: {problem.where}" if problem.where else source, problem.message)
    if problem.where == "supplies" and "cycle" in problem.message:
        numbers = [str(row.lineno) for row in _cycle_rows(parsed)]
        if numbers:
            shown = ", ".join(numbers[:20]) + (" ..." if len(numbers) > 20 else "")
            return Problem(f"{raw.label}, {raw.row_word}s {shown}", problem.message)
    return Problem(raw.label, problem.message)


def _read(tables: dict[str, RawTable], problems: list[Problem], name: str, source: str) -> Network:
    """Parse and validate raw tables; raise one InputError listing every problem."""
    rows: dict[str, list[Row]] = {}
    for table, raw in tables.items():
        parsed_rows = parse_rows(raw, problems)
        if parsed_rows is not None:
            rows[table] = parsed_rows
    complete = len(rows) == len(tables) and all(t in tables for t in REQUIRED_TABLES)
    parsed = _build(name, source, tables, rows, problems)
    if not complete:
        raise InputError(problems)
    for problem in network_problems(parsed.network):
        located = _locate(problem, parsed)
        if located is not None:
            problems.append(located)
    if problems:
        raise InputError(problems)
    return parsed.network


def read_workbook(path: str | Path, *, max_rows: int | None = None) -> Network:
    """Read a Setu network from an .xlsx workbook with one sheet per table.

    A sheet named ``README`` is ignored; any other sheet must be a table (``nodes``, ``products``,
    ``bom``, ``supplies`` and optionally ``site_capacities``). Formulas are read by their saved values.

    Parameters
    ----------
    path
        The workbook (.xlsx or .xlsm).
    max_rows
        The most rows a table may have (None: no limit); past it, :class:`setu.errors.TooLarge`.

    Returns
    -------
    Network
        The validated network, named after the file.

    Raises
    ------
    setu.errors.InputError
        Listing every problem, each at its file, sheet, row and column.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", str(path))
    problems: list[Problem] = []
    tables = workbook_tables(path, problems, max_rows)
    return _read(tables, problems, path.stem, str(path))


def read_csv_folder(path: str | Path, *, max_rows: int | None = None) -> Network:
    """Read a Setu network from a folder holding one ``<table>.csv`` file per table (UTF-8, comma-separated).

    Parameters
    ----------
    path
        The folder.
    max_rows
        The most rows a table may have (None: no limit); past it, :class:`setu.errors.TooLarge`.

    Returns
    -------
    Network
        The validated network, named after the folder.

    Raises
    ------
    setu.errors.InputError
        Listing every problem, each at its file, line and column.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError("no such folder" if not path.exists() else "not a folder", str(path))
    problems: list[Problem] = []
    tables = csv_tables(path, problems, max_rows)
    return _read(tables, problems, path.name or path.resolve().name, str(path))


def read_setu(path: str | Path, *, max_rows: int | None = None) -> Network:
    """Read a Setu network: an .xlsx/.xlsm workbook, or a folder of CSV files.

    Parameters
    ----------
    path
        A workbook file or a folder.
    max_rows
        The most rows a table may have (None: no limit); past it, :class:`setu.errors.TooLarge`.

    Returns
    -------
    Network
        The validated network.

    Raises
    ------
    setu.errors.InputError
        If the path is neither, or the tables are malformed or inconsistent.
    """
    path = Path(path)
    if path.is_dir():
        return read_csv_folder(path, max_rows=max_rows)
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return read_workbook(path, max_rows=max_rows)
    if not path.exists():
        raise InputError("no such file or folder", str(path))
    if suffix == ".csv":
        raise InputError("a Setu network in CSV is a folder of files (nodes.csv, ...); pass the folder", str(path))
    if suffix == ".xls":
        raise InputError("the old .xls format is not read; save the workbook as .xlsx", str(path))
    raise InputError("expected a .xlsx workbook or a folder of CSV files", str(path))
