"""Reading the raw tables of a workbook or a CSV folder, and parsing their rows by column."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from setu.errors import InputError, Problem, TooLarge
from setu.network.io.cells import from_spreadsheet_text
from setu.network.io.setu_format.tables import (
    README,
    REQUIRED_TABLES,
    TABLES,
    RawTable,
    Row,
    blank,
    did_you_mean,
    shown,
    tables_text,
)

MAX_COLUMNS = 64
"""Columns of a sheet that are read: every table has far fewer, and cells past them are never looked at.

A workbook can place one cell in its last column (XFD, the 16,384th) on every row; reading whole rows
would then cost a tuple of 16,384 cells per row, a gigabyte from a file of a few kilobytes.
"""


def _too_many_rows(where: str, table: str, max_rows: int) -> TooLarge:
    return TooLarge(f"{where}: the {table} table has more than {max_rows:,} rows; at most {max_rows:,} are accepted")


def _csv_table(path: Path, table: str, problems: list[Problem], max_rows: int | None) -> RawTable | None:
    raw = RawTable(table, str(path), "line", workbook=False)
    line = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            start = 1
            for cells in reader:
                line = reader.line_num
                if any(cell.strip() for cell in cells):
                    if max_rows is not None and len(raw.rows) > max_rows:
                        raise _too_many_rows(str(path), table, max_rows)
                    raw.rows.append((start, [from_spreadsheet_text(cell) for cell in cells[:MAX_COLUMNS]]))
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


def csv_tables(folder: Path, problems: list[Problem], max_rows: int | None = None) -> dict[str, RawTable]:
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        name = path.stem.strip().lower()
        if name not in TABLES:
            problems.append(
                Problem(str(path), f"unknown table {path.stem!r}{did_you_mean(name, TABLES)}; {tables_text()}")
            )
        elif name in found:
            problems.append(Problem(str(path), f"the {name} table is also in {found[name].name}"))
        else:
            found[name] = path
    tables: dict[str, RawTable] = {}
    for name in TABLES:
        if name not in found:
            if name in REQUIRED_TABLES:
                problems.append(Problem(str(folder / f"{name}.csv"), f"missing file: the {name} table is required"))
            continue
        raw = _csv_table(found[name], name, problems, max_rows)
        if raw is not None:
            tables[name] = raw
    return tables


def workbook_tables(path: Path, problems: list[Problem], max_rows: int | None = None) -> dict[str, RawTable]:
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
    tables: dict[str, RawTable] = {}
    sheet_of: dict[str, str] = {}
    try:
        for sheet in book.sheetnames:
            name = sheet.strip().lower()
            at = f"{where}, sheet {sheet}"
            if name == README.lower():
                continue
            if name not in TABLES:
                problems.append(Problem(at, f"unknown sheet{did_you_mean(name, TABLES)}; {tables_text()}"))
                continue
            if name in tables:
                problems.append(Problem(at, f"the {name} table is also in sheet {sheet_of[name]!r}"))
                continue
            worksheet = book[sheet]
            if not hasattr(worksheet, "iter_rows"):
                problems.append(Problem(at, "a chart sheet, expected a table"))
                continue
            raw = RawTable(name, at, "row", workbook=True)
            worksheet.reset_dimensions()
            for number, cells in enumerate(worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
                if not all(blank(cell) for cell in cells):
                    if max_rows is not None and len(raw.rows) > max_rows:
                        raise _too_many_rows(at, name, max_rows)
                    raw.rows.append((number, cells))
            tables[name] = raw
            sheet_of[name] = sheet
    except TooLarge:
        raise
    except Exception as exc:
        raise InputError(f"cannot read the workbook ({str(exc) or type(exc).__name__})", where) from None
    finally:
        book.close()
    for name in REQUIRED_TABLES:
        if name not in tables:
            problems.append(Problem(where, f"missing sheet {name!r}: the {name} table is required"))
    return tables


def parse_rows(raw: RawTable, problems: list[Problem]) -> list[Row] | None:
    """Check the header row and split every later row into cells by column; ``None`` if the header is unusable."""
    columns = TABLES[raw.name]
    names = [c.name for c in columns]
    if not raw.rows:
        what = "sheet" if raw.workbook else "file"
        problems.append(Problem(raw.label, f"empty {what}; expected a header row with columns {', '.join(names)}"))
        return None
    header_number, header = raw.rows[0]
    filled = [(i, str(cell).strip()) for i, cell in enumerate(header) if not blank(cell)]
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
                    f"unknown column {text!r}{did_you_mean(name, names)}; the {raw.name} table has columns "
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
    rows: list[Row] = []
    for number, cells in raw.rows[1:]:
        for i, cell in enumerate(cells):
            if i not in index and not blank(cell):
                problems.append(Problem(raw.at(number, raw.column_ref(i)), f"{shown(cell)} in a column with no header"))
        named = {name: cells[i] for i, name in index.items() if i < len(cells)}
        rows.append(Row(raw, number, named, problems))
    return rows
