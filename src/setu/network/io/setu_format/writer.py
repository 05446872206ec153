"""Writing a network as a workbook or a CSV folder, and the template workbook with its README."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from setu.errors import InputError
from setu.network.io.cells import spreadsheet_text
from setu.network.io.setu_format.tables import KIND_TEXT, README, TABLES, Cell, tables_text
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply


def _table_rows(network: Network) -> dict[str, list[list[Cell]]]:
    """Every table of ``network`` as rows of cells, in the column order of ``TABLES``."""
    for node in network.nodes:
        bad = [c for c in node.chokepoints if ";" in c or not c.strip()]
        if bad:
            raise ValueError(f"node {node.id!r}: chokepoint names cannot be empty or contain ';', got {bad!r}")
    tables: dict[str, list[list[Cell]]] = {
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
                node.latitude,
                node.longitude,
            ]
            for node in network.nodes
        ],
        "products": [[p.node, p.demand, p.weight] for p in network.products],
        "bom": [[b.node, b.material, b.quantity] for b in network.bom],
        "supplies": [[s.supplier, s.customer] for s in network.supplies],
        "site_capacities": [[s.site, s.capacity] for s in network.site_capacities],
    }
    if network.time_unit or network.weight_unit:
        tables["units"] = [[network.time_unit, network.weight_unit]]
    return tables


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_text(value)
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
        [f"Tables: {tables_text()}. This README sheet is ignored when the workbook is read."],
        ["Column order is free; empty cells in optional columns take the default; empty rows are skipped."],
        ["Suppliers of the same material to one customer are alternates: either can fill the customer's need."],
        ["Time unit: any (a week, a month), the same for capacities, demand and ttr."],
        [],
        ["table", "column", "required", "type", "default", "meaning"],
    ]
    for table, columns in TABLES.items():
        for column in columns:
            required = "yes" if column.required else "no"
            rows.append([table, column.name, required, KIND_TEXT[column.kind], column.default, column.meaning])
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
    coordinates = {"CHIP_A": (34.69, 135.5)}  # the others are placed at their country's centre on the world map
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
            latitude=coordinates.get(node_id, (None, None))[0],
            longitude=coordinates.get(node_id, (None, None))[1],
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
        time_unit="week",
        weight_unit="USD k",
    )


def _readme_markdown() -> str:
    lines = [
        "# Setu network tables",
        "",
        "One CSV file per table (UTF-8, comma-separated, header row first); edit the example rows.",
        f"Tables: {tables_text()}. Column order is free; empty optional cells take the default;",
        "empty lines are skipped. Suppliers of the same material to one customer are alternates.",
        "",
        "| table | column | required | type | default | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for table, columns in TABLES.items():
        for c in columns:
            required = "yes" if c.required else "no"
            lines.append(f"| {table} | {c.name} | {required} | {KIND_TEXT[c.kind]} | {c.default} | {c.meaning} |")
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
