"""Workbooks built to exhaust the reader: cells in the last column, tables with too many rows."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import openpyxl
import pytest

from setu.errors import TooLarge
from setu.network.io.setu_format import read_csv_folder, read_workbook, template_network, write_setu


def _last_column_workbook(path: Path, rows: int) -> Path:
    """The template network's workbook, with a cell in column XFD (the 16,384th) on ``rows`` extra rows."""
    write_setu(template_network(), path)
    book = openpyxl.load_workbook(path)
    sheet = book["nodes"]
    for row in range(sheet.max_row + 1, sheet.max_row + 1 + rows):
        sheet.cell(row=row, column=16384, value="x")
    book.save(path)
    return path


def test_cells_in_the_last_column_cost_no_more_than_the_cells_themselves(tmp_path: Path) -> None:
    """A few kilobytes with one far-right cell per row must not make the reader hold 16,384 cells per row."""
    path = _last_column_workbook(tmp_path / "wide.xlsx", rows=2000)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        network = read_workbook(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(network.nodes) == len(template_network().nodes)  # the far-right cells are outside every table
    assert peak < 50 * 1024 * 1024, f"reading held {peak / 2**20:.0f} MiB at its peak"


def test_a_table_over_the_row_limit_is_refused_as_too_large(tmp_path: Path) -> None:
    network = template_network()
    workbook = write_setu(network, tmp_path / "net.xlsx")
    folder = write_setu(network, tmp_path / "tables")
    limit = len(network.nodes) - 1
    for read, path in ((read_workbook, workbook), (read_csv_folder, folder)):
        with pytest.raises(TooLarge, match=f"the nodes table has more than {limit} rows"):
            read(path, max_rows=limit)
        assert len(read(path, max_rows=len(network.nodes)).nodes) == len(network.nodes)
