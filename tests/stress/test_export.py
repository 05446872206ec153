"""Every CSV Setu writes goes through a spreadsheet-safe writer, so no export can carry a live formula."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from setu.stress.export import results_csv

SRC = Path(__file__).resolve().parents[2] / "src" / "setu"
CSV_WRITERS = {
    "stress/export.py": "results_csv: stress results",
    "network/io/setu_format/writer.py": "_write_folder: network tables, each cell through _csv_cell",
    "sharing/files.py": "marked_csv: the banner rows around a results_csv body, through spreadsheet_text",
}
"""The modules allowed to write CSV, and what each writes (both quote formula-like text cells)."""


def csv_writes(tree: ast.AST) -> list[int]:
    """Lines of ``tree`` that write CSV: ``.to_csv(...)``, ``csv.writer(...)``, ``csv.DictWriter(...)``."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner, attr = node.func.value, node.func.attr
        if attr == "to_csv" or (attr in ("writer", "DictWriter") and isinstance(owner, ast.Name) and owner.id == "csv"):
            lines.append(node.lineno)
    return lines


def test_csv_is_written_only_by_the_spreadsheet_safe_writers() -> None:
    found = {}
    for path in SRC.rglob("*.py"):
        where = path.relative_to(SRC).as_posix()
        lines = csv_writes(ast.parse(path.read_text(encoding="utf-8")))
        if lines and where not in CSV_WRITERS:
            found[where] = lines
    assert found == {}, f"CSV written outside {sorted(CSV_WRITERS)}: use setu.stress.export.results_csv"


def test_the_checker_sees_a_raw_csv_write() -> None:
    tree = ast.parse("import csv\nframe.to_csv(buf)\ncsv.writer(handle)\nwriter.writerow(x)\n")
    assert csv_writes(tree) == [2, 3]


def test_results_csv_quotes_formulas_in_text_columns() -> None:
    frame = pd.DataFrame(
        {
            "scenario_id": ["=1+1"],
            "disrupted": ["@SUM(A1)"],
            "ttr": [1.0],
            "lost_profit": [-2.0],
            "tts": [1.0],
            "rei": [0.5],
        }
    )
    text = results_csv(frame).decode()
    assert text.splitlines()[1] == "'=1+1,'@SUM(A1),1,-2,1,0.5"
