"""Setu's own network format: one .xlsx workbook with a sheet per table, or a folder with a CSV file per table."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from setu.errors import InputError, Problem
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply
from setu.network.validate import network_problems

Kind = Literal["text", "number", "positive", "optional_number", "names"]
Cell = str | float | None

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
README = "README"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table.

    Attributes
    ----------
    name
        The header, as written in the header row.
    kind
        ``text``, ``number`` (>= 0), ``positive`` (> 0), ``optional_number`` (>= 0 or empty)
        or ``names`` (texts joined by ``;``).
    required
        Whether the column must be in the header row (and its cells filled in).
    meaning
        What the column holds, for the README sheet and the documentation.
    default
        The value an empty cell or an absent column stands for, as shown to users.
    """

    name: str
    kind: Kind
    required: bool
    meaning: str
    default: str = ""


TABLES: dict[str, tuple[Column, ...]] = {
    "nodes": (
        Column("id", "text", True, "Unique node id: one site making one material."),
        Column("name", "text", False, "Display name."),
        Column("material", "text", True, "The material the node makes; its customers order it by this name."),
        Column("capacity", "number", True, "Production capacity, units of its material per time unit."),
        Column("inventory", "number", False, "On-hand inventory, units of its own output.", "0"),
        Column("ttr", "optional_number", False, "Own time-to-recover estimate, in time units.", "unknown"),
        Column("site", "text", False, "Plant or site; nodes at one site can share a site capacity."),
        Column("organization", "text", False, "Company or agency running the node."),
        Column("party", "text", False, "Partner nation or party the node belongs to."),
        Column("country", "text", False, "Country the node is in."),
        Column("material_class", "text", False, "Material class (semiconductor, energetics, ...) for scenarios."),
        Column("program", "text", False, "Program the node serves."),
        Column("chokepoints", "names", False, "Chokepoints on the node's outbound route, joined by ';'."),
    ),
    "products": (
        Column("node", "text", True, "A node whose output is delivered to an end user."),
        Column("demand", "number", True, "Demand, units per time unit."),
        Column("weight", "number", True, "Weight of one lost unit: margin or mission criticality."),
    ),
    "bom": (
        Column("node", "text", True, "The node that consumes the material."),
        Column("material", "text", True, "A material the node needs."),
        Column("quantity", "positive", True, "Units of material per unit of the node's output."),
    ),
    "supplies": (
        Column("supplier", "text", True, "A node shipping its material to the customer."),
        Column("customer", "text", True, "A node that has the supplier's material in its bom."),
    ),
    "site_capacities": (
        Column("site", "text", True, "A site named in the nodes table."),
        Column("capacity", "number", True, "Capacity shared by every node at the site, units per time unit."),
    ),
}
REQUIRED_TABLES = ("nodes", "products", "bom", "supplies")
OPTIONAL_TABLES = ("site_capacities",)

_KIND_TEXT: dict[Kind, str] = {
    "text": "text",
    "number": "number >= 0",
    "positive": "number > 0",
    "optional_number": "number >= 0",
    "names": "names joined by ;",
}
_KEYED = re.compile(r"^(\w+)\[(.*)\]$", re.DOTALL)


def _tables_text() -> str:
    return f"required: {', '.join(REQUIRED_TABLES)}; optional: {', '.join(OPTIONAL_TABLES)}"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: object) -> str:
    """Show a cell's content as a user typed it, for messages."""
    if _blank(value):
        return "an empty cell"
    if isinstance(value, str):
        return value.strip() if _to_number(value) is not None else repr(value.strip())
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return f"a date/time ({value})"
    return f"{type(value).__name__} {value!r}"


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(slots=True)
class _RawTable:
    """A table's non-blank rows as read, with the user-visible number of each row."""

    name: str
    label: str
    row_word: str
    workbook: bool
    rows: list[tuple[int, Sequence[object]]] = field(default_factory=list)

    def at(self, number: int, column: str | None = None) -> str:
        where = f"{self.label}, {self.row_word} {number}"
        return f"{where}, column {column}" if column else where

    def column_ref(self, index: int) -> str:
        return get_column_letter(index + 1) if self.workbook else str(index + 1)


class _Row:
    """One data row; parses its cells on demand and records each problem at the cell's place."""

    __slots__ = ("cells", "lineno", "ok", "problems", "raw", "texts")

    def __init__(self, raw: _RawTable, number: int, cells: dict[str, object], problems: list[Problem]) -> None:
        self.raw = raw
        self.lineno = number
        self.cells = cells
        self.problems = problems
        self.ok = True
        self.texts: dict[str, str] = {}

    def where(self, column: str | None = None) -> str:
        return self.raw.at(self.lineno, column)

    def fail(self, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.where(column), message))
        self.ok = False

    def text(self, column: str, what: str = "") -> str:
        """The cell as text (``""`` if empty); ``what`` names the expected content of a required cell."""
        value = self.cells.get(column)
        result = ""
        if _blank(value):
            if what:
                self.fail(column, f"expected {what}, got an empty cell")
        elif isinstance(value, str):
            result = value.strip()
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(column, f"expected text, got {_shown(value)}")
        elif isinstance(value, float) and not (value.is_integer() and abs(value) < 2**53):
            result = repr(value)
        else:
            result = str(int(value))
        self.texts[column] = result
        return result

    def names(self, column: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.text(column).split(";") if part.strip())

    def number(self, column: str, *, positive: bool = False, default: float = 0.0) -> float:
        """The cell as a finite number >= 0 (> 0 if ``positive``); ``default`` if empty and not required."""
        value = self.optional_number(column, positive=positive, required=_required(self.raw.name, column))
        return default if value is None else value

    def optional_number(self, column: str, *, positive: bool = False, required: bool = False) -> float | None:
        value = self.cells.get(column)
        if _blank(value) and not required:
            return None
        bound = "> 0" if positive else ">= 0"
        number = _to_number(value)
        if number is None:
            self.fail(column, f"expected a number {bound}, got {_shown(value)}")
        elif not math.isfinite(number):
            self.fail(column, f"expected a finite number {bound}, got {_shown(value)}")
        elif number < 0 or (positive and number == 0):
            self.fail(column, f"expected a number {bound}, got {_shown(value)}")
        else:
            return number
        return 1.0 if positive else 0.0


def _required(table: str, column: str) -> bool:
    return any(c.name == column and c.required for c in TABLES[table])


def _to_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):
        return None
    return None


# ---------------------------------------------------------------------------------------------- reading raw tables


def _csv_table(path: Path, table: str, problems: list[Problem]) -> _RawTable | None:
    raw = _RawTable(table, str(path), "line", workbook=False)
    line = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            start = 1
            for cells in reader:
                line = reader.line_num
                if any(cell.strip() for cell in cells):
                    raw.rows.append((start, cells))
                start = line + 1
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as CSV UTF-8"))
        return None
    except csv.Error as exc:
        problems.append(Problem(f"{path}, line {line + 1}", f"not valid CSV: {exc}"))
        return None
    except OSError as exc:
        problems.append(Problem(str(path), f"cannot read file: {exc.strerror or exc}"))
        return None
    return raw


def _csv_tables(folder: Path, problems: list[Problem]) -> dict[str, _RawTable]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        name = path.stem.strip().lower()
        if name not in TABLES:
            problems.append(
                Problem(str(path), f"unknown table {path.stem!r}{_did_you_mean(name, TABLES)}; {_tables_text()}")
            )
        elif name in found:
            problems.append(Problem(str(path), f"the {name} table is also in {found[name].name}"))
        else:
            found[name] = path
    tables: dict[str, _RawTable] = {}
    for name in TABLES:
        if name not in found:
            if name in REQUIRED_TABLES:
                problems.append(Problem(str(folder / f"{name}.csv"), f"missing file: the {name} table is required"))
            continue
        raw = _csv_table(found[name], name, problems)
        if raw is not None:
            tables[name] = raw
    return tables


def _workbook_tables(path: Path, problems: list[Problem]) -> dict[str, _RawTable]:
    where = str(path)
    if path.is_dir():
        raise InputError("is a folder, not a .xlsx workbook", where)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", where) from None
    if size == 0:
        raise InputError("empty file, not a .xlsx workbook", where)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(
            f"not a valid .xlsx workbook ({str(exc) or type(exc).__name__}); save it as .xlsx from a spreadsheet",
            where,
        ) from None
    tables: dict[str, _RawTable] = {}
    sheet_of: dict[str, str] = {}
    try:
        for sheet in book.sheetnames:
            name = sheet.strip().lower()
            at = f"{where}, sheet {sheet}"
            if name == README.lower():
                continue
            if name not in TABLES:
                problems.append(Problem(at, f"unknown sheet{_did_you_mean(name, TABLES)}; {_tables_text()}"))
                continue
            if name in tables:
                problems.append(Problem(at, f"the {name} table is also in sheet {sheet_of[name]!r}"))
                continue
            worksheet = book[sheet]
            if not hasattr(worksheet, "iter_rows"):
                problems.append(Problem(at, "a chart sheet, expected a table"))
                continue
            raw = _RawTable(name, at, "row", workbook=True)
            worksheet.reset_dimensions()
            for number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
                if not all(_blank(cell) for cell in cells):
                    raw.rows.append((number, cells))
            tables[name] = raw
            sheet_of[name] = sheet
    except Exception as exc:
        raise InputError(f"cannot read the workbook ({str(exc) or type(exc).__name__})", where) from None
    finally:
        book.close()
    for name in REQUIRED_TABLES:
        if name not in tables:
            problems.append(Problem(where, f"missing sheet {name!r}: the {name} table is required"))
    return tables


def _parse_rows(raw: _RawTable, problems: list[Problem]) -> list[_Row] | None:
    """Check the header row and split every later row into cells by column; ``None`` if the header is unusable."""
    columns = TABLES[raw.name]
    names = [c.name for c in columns]
    if not raw.rows:
        what = "sheet" if raw.workbook else "file"
        problems.append(Problem(raw.label, f"empty {what}; expected a header row with columns {', '.join(names)}"))
        return None
    header_number, header = raw.rows[0]
    filled = [(i, str(cell).strip()) for i, cell in enumerate(header) if not _blank(cell)]
    if not raw.workbook and len(filled) == 1 and (";" in filled[0][1] or "\t" in filled[0][1]):
        problems.append(
            Problem(
                raw.at(header_number),
                f"the header is the single cell {filled[0][1]!r}: the file is not comma-separated; "
                "save it as CSV UTF-8 (comma delimited)",
            )
        )
        return None
    index: dict[int, str] = {}
    seen: dict[str, int] = {}
    ok = True
    for i, text in filled:
        name = text.lower()
        if name not in names:
            problems.append(
                Problem(
                    raw.at(header_number, raw.column_ref(i)),
                    f"unknown column {text!r}{_did_you_mean(name, names)}; the {raw.name} table has columns "
                    f"{', '.join(names)}",
                )
            )
            ok = False
        elif name in seen:
            problems.append(
                Problem(
                    raw.at(header_number, raw.column_ref(i)),
                    f"column {name!r} appears twice (also column {raw.column_ref(seen[name])})",
                )
            )
            ok = False
        else:
            index[i] = name
            seen[name] = i
    missing = [c.name for c in columns if c.required and c.name not in seen]
    if missing:
        s = "s" if len(missing) > 1 else ""
        problems.append(Problem(raw.at(header_number), f"missing required column{s} {', '.join(map(repr, missing))}"))
        ok = False
    if not ok:
        return None
    rows: list[_Row] = []
    for number, cells in raw.rows[1:]:
        for i, cell in enumerate(cells):
            if i not in index and not _blank(cell):
                problems.append(
                    Problem(raw.at(number, raw.column_ref(i)), f"{_shown(cell)} in a column with no header")
                )
        named = {name: cells[i] for i, name in index.items() if i < len(cells)}
        rows.append(_Row(raw, number, named, problems))
    return rows


# ------------------------------------------------------------------------------------------- building the network


@dataclass(slots=True)
class _Parsed:
    network: Network
    rows: dict[tuple[str, str], _Row]
    tables: dict[str, _RawTable]


def _first(seen: dict[tuple[str, ...], _Row], key: tuple[str, ...], row: _Row) -> _Row | None:
    """Remember ``row`` under ``key``, or return the row that already has it."""
    if key in seen:
        return seen[key]
    seen[key] = row
    return None


def _build(
    name: str, source: str, tables: dict[str, _RawTable], rows: dict[str, list[_Row]], problems: list[Problem]
) -> _Parsed:
    keyed: dict[tuple[str, str], _Row] = {}
    seen: dict[tuple[str, ...], _Row] = {}
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
    return _Parsed(network, keyed, tables)


def _place(row: _Row) -> str:
    return f"{row.raw.row_word} {row.lineno}"


def _column_hint(message: str, row: _Row) -> str | None:
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


def _cycle_rows(parsed: _Parsed) -> list[_Row]:
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
    match = _KEYED.match(problem.where)
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


def _read(tables: dict[str, _RawTable], problems: list[Problem], name: str, source: str) -> Network:
    """Parse and validate raw tables; raise one InputError listing every problem."""
    rows: dict[str, list[_Row]] = {}
    for table, raw in tables.items():
        parsed_rows = _parse_rows(raw, problems)
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


def read_workbook(path: str | Path) -> Network:
    """Read a Setu network from an .xlsx workbook with one sheet per table.

    A sheet named ``README`` is ignored; any other sheet must be a table (``nodes``, ``products``,
    ``bom``, ``supplies`` and optionally ``site_capacities``). Formulas are read by their saved values.

    Parameters
    ----------
    path
        The workbook (.xlsx or .xlsm).

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
    tables = _workbook_tables(path, problems)
    return _read(tables, problems, path.stem, str(path))


def read_csv_folder(path: str | Path) -> Network:
    """Read a Setu network from a folder holding one ``<table>.csv`` file per table (UTF-8, comma-separated).

    Parameters
    ----------
    path
        The folder.

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
    tables = _csv_tables(path, problems)
    return _read(tables, problems, path.name or path.resolve().name, str(path))


def read_setu(path: str | Path) -> Network:
    """Read a Setu network: an .xlsx/.xlsm workbook, or a folder of CSV files.

    Parameters
    ----------
    path
        A workbook file or a folder.

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
        return read_csv_folder(path)
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return read_workbook(path)
    if not path.exists():
        raise InputError("no such file or folder", str(path))
    if suffix == ".csv":
        raise InputError("a Setu network in CSV is a folder of files (nodes.csv, ...); pass the folder", str(path))
    if suffix == ".xls":
        raise InputError("the old .xls format is not read; save the workbook as .xlsx", str(path))
    raise InputError("expected a .xlsx workbook or a folder of CSV files", str(path))


# ------------------------------------------------------------------------------------------------------- writing


def _table_rows(network: Network) -> dict[str, list[list[Cell]]]:
    """Every table of ``network`` as rows of cells, in the column order of ``TABLES``."""
    for node in network.nodes:
        bad = [c for c in node.chokepoints if ";" in c or not c.strip()]
        if bad:
            raise ValueError(f"node {node.id!r}: chokepoint names cannot be empty or contain ';', got {bad!r}")
    return {
        "nodes": [
            [
                node.id,
                node.name,
                node.material,
                node.capacity,
                node.inventory,
                node.ttr,
                node.site,
                node.organization,
                node.party,
                node.country,
                node.material_class,
                node.program,
                ";".join(node.chokepoints),
            ]
            for node in network.nodes
        ],
        "products": [[p.node, p.demand, p.weight] for p in network.products],
        "bom": [[b.node, b.material, b.quantity] for b in network.bom],
        "supplies": [[s.supplier, s.customer] for s in network.supplies],
        "site_capacities": [[s.site, s.capacity] for s in network.site_capacities],
    }


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    number = float(value)
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def _xlsx_number(value: float) -> int | float | str:
    """A number as openpyxl stores it exactly (it keeps 16 digits; others go as text, which the reader accepts)."""
    number = float(value)
    if not math.isfinite(number):
        return repr(number)
    if number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number if float(f"{number:.16g}") == number else repr(number)


def _readme_rows() -> list[list[str]]:
    rows = [
        ["Setu network workbook: one sheet per table; the first row of each sheet holds the column names."],
        [f"Tables: {_tables_text()}. This README sheet is ignored when the workbook is read."],
        ["Column order is free; empty cells in optional columns take the default; empty rows are skipped."],
        ["Suppliers of the same material to one customer are alternates: either can fill the customer's need."],
        ["Time unit: any (a week, a month), the same for capacities, demand and ttr."],
        [],
        ["table", "column", "required", "type", "default", "meaning"],
    ]
    for table, columns in TABLES.items():
        for column in columns:
            required = "yes" if column.required else "no"
            rows.append([table, column.name, required, _KIND_TEXT[column.kind], column.default, column.meaning])
    return rows


def _write_workbook(tables: dict[str, list[list[Cell]]], path: Path, *, readme: bool) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    if readme:
        sheet = book.create_sheet(README)
        for line in _readme_rows():
            sheet.append(line)
        for cell in sheet[7]:
            cell.font = bold
        for letter, width in zip("ABCDEF", (16, 16, 10, 18, 10, 70), strict=True):
            sheet.column_dimensions[letter].width = width
    for table, rows in tables.items():
        sheet = book.create_sheet(table)
        columns = TABLES[table]
        for j, column in enumerate(columns, start=1):
            cell = sheet.cell(row=1, column=j, value=column.name)
            cell.font = bold
            sheet.column_dimensions[get_column_letter(j)].width = max(10, len(column.name) + 2)
        sheet.freeze_panes = "A2"
        for i, values in enumerate(rows, start=2):
            for j, value in enumerate(values, start=1):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    cell = sheet.cell(row=i, column=j, value=value)
                    cell.data_type = "s"  # a text starting with '=' stays text, not a formula
                else:
                    sheet.cell(row=i, column=j, value=_xlsx_number(value))
    book.save(path)


def _write_folder(tables: dict[str, list[list[Cell]]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        with (folder / f"{table}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow([column.name for column in TABLES[table]])
            writer.writerows([_csv_cell(value) for value in values] for values in rows)


def _write(network: Network, path: Path, *, readme: bool) -> Path:
    suffix = path.suffix.lower()
    if suffix in (".xlsm", ".xls", ".csv"):
        raise InputError(f"cannot write {suffix}: give a .xlsx file or a folder", str(path))
    tables = _table_rows(network)
    try:
        if suffix == ".xlsx":
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_workbook(tables, path, readme=readme)
        else:
            if path.exists() and not path.is_dir():
                raise InputError("exists and is not a folder", str(path))
            _write_folder(tables, path)
            if readme:
                (path / "README.md").write_text(_readme_markdown(), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", str(path)) from None
    return path


def write_setu(network: Network, path: str | Path) -> Path:
    """Write ``network`` as an .xlsx workbook (if ``path`` ends in .xlsx) or as a folder of CSV files.

    The tables are written in full (every column, header rows even for empty tables) and read back
    by :func:`read_setu` to an equal network, apart from its name, which comes from the file name.
    Existing table files are overwritten. The network is not validated.

    Parameters
    ----------
    network
        The network to write.
    path
        A ``.xlsx`` file, or a folder (created if missing).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    setu.errors.InputError
        If the path cannot be written.
    ValueError
        If a chokepoint name is empty or contains ``;`` (it would not read back).
    """
    return _write(network, Path(path), readme=False)


def template_network() -> Network:
    """The example network of the template: two products sharing alternate chip suppliers, two tiers.

    Returns
    -------
    Network
        Six nodes: products RADAR and MISSILE; CHIP_A and CHIP_B (alternates for both),
        STEEL and PROPELLANT (sharing the capacity of site ``Works 1``).
    """

    program = {"RADAR": "Air defense", "MISSILE": "Air defense"}
    chokepoints = {"CHIP_A": ("Malacca", "Suez")}
    rows: list[tuple[str, str, str, float, float, float | None, str, str, str, str, str]] = [
        ("RADAR", "Radar assembly", "radar", 10, 2, 8, "Plant North", "Prime A", "India", "IN", "electronics"),
        ("MISSILE", "Missile integration", "missile", 20, 5, 12, "Plant South", "Prime B", "United States", "US",
         "munitions"),
        ("CHIP_A", "Chip fab A", "chip", 100, 30, 26, "Fab East", "Foundry A", "Japan", "JP", "semiconductor"),
        ("CHIP_B", "Chip fab B", "chip", 60, 10, 20, "Fab West", "Foundry B", "United States", "US", "semiconductor"),
        ("STEEL", "Armour steel mill", "steel", 80, 40, 10, "Works 1", "Mill C", "India", "IN", "metals"),
        ("PROPELLANT", "Propellant plant", "propellant", 50, 20, 16, "Works 1", "Energetics D", "India", "IN",
         "energetics"),
    ]  # fmt: skip
    nodes = [
        Node(
            id=node_id,
            name=name,
            material=material,
            capacity=capacity,
            inventory=inventory,
            ttr=ttr,
            site=site,
            organization=organization,
            party=party,
            country=country,
            material_class=mclass,
            program=program.get(node_id, ""),
            chokepoints=chokepoints.get(node_id, ()),
        )
        for node_id, name, material, capacity, inventory, ttr, site, organization, party, country, mclass in rows
    ]
    return Network(
        name="template",
        nodes=nodes,
        products=[Product("RADAR", demand=8, weight=5), Product("MISSILE", demand=15, weight=3)],
        bom=[
            BomLine("RADAR", "chip", 4),
            BomLine("RADAR", "steel", 2),
            BomLine("MISSILE", "chip", 2),
            BomLine("MISSILE", "propellant", 3),
        ],
        supplies=[
            Supply("CHIP_A", "RADAR"),
            Supply("CHIP_B", "RADAR"),
            Supply("CHIP_A", "MISSILE"),
            Supply("CHIP_B", "MISSILE"),
            Supply("STEEL", "RADAR"),
            Supply("PROPELLANT", "MISSILE"),
        ],
        site_capacities=[SiteCapacity("Works 1", 100)],
        source="template",
    )


def _readme_markdown() -> str:
    lines = [
        "# Setu network tables",
        "",
        "One CSV file per table (UTF-8, comma-separated, header row first); edit the example rows.",
        f"Tables: {_tables_text()}. Column order is free; empty optional cells take the default;",
        "empty lines are skipped. Suppliers of the same material to one customer are alternates.",
        "",
        "| table | column | required | type | default | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for table, columns in TABLES.items():
        for c in columns:
            required = "yes" if c.required else "no"
            lines.append(f"| {table} | {c.name} | {required} | {_KIND_TEXT[c.kind]} | {c.default} | {c.meaning} |")
    return "\n".join(lines) + "\n"


def write_template(path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a template to fill in: every table's header and a six-node example network.

    A ``.xlsx`` path gets a workbook with a ``README`` sheet explaining each column; any other
    path a folder of CSV files with a ``README.md``. The template reads and validates as it is.

    Parameters
    ----------
    path
        A ``.xlsx`` file, or a folder.
    overwrite
        Replace an existing workbook or table files; by default they are left alone.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    setu.errors.InputError
        If ``path`` already holds a workbook or tables (and ``overwrite`` is false), or cannot be written.
    """
    path = Path(path)
    if not overwrite:
        if path.is_file():
            raise InputError("already exists; choose another name or delete it first", str(path))
        if path.is_dir():
            existing = [p.name for p in path.iterdir() if p.suffix.lower() == ".csv" and p.stem.lower() in TABLES]
            if existing:
                raise InputError(f"already holds {', '.join(sorted(existing))}; choose another folder", str(path))
    return _write(template_network(), path, readme=True)
