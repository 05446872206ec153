"""Marked files: whatever a table holds, the file states its marking where its format's reader looks."""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from setu.sharing.files import marked_csv, marked_json, marked_parquet, marked_xlsx, parquet_marking, read_marked_csv
from setu.sharing.markings import LEVELS

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
BANNERS = st.builds(
    lambda level, parties, group: " // ".join(
        p for p in (LEVELS[level], f"REL TO {', '.join(sorted(parties))}" if parties else "", group) if p
    ),
    st.integers(0, 3),
    st.sets(st.sampled_from(["IN", "US", "FR"]), max_size=3),
    st.sampled_from(["", "NTK ENGINE", 'ORCON "X, Y"']),
)


def fields_of(banner: str) -> dict[str, Any]:
    level = banner.split(" // ")[0]
    return {"classification": level, "banner": banner, "releases": [], "national_only": False, "groups": []}


@settings(max_examples=40, deadline=None)
@given(
    banner=BANNERS,
    names=st.lists(TEXT, min_size=1, max_size=5),
    values=st.lists(st.floats(allow_nan=False), min_size=1, max_size=5),
)
def test_every_format_carries_the_banner_and_the_table_intact(
    banner: str, names: list[str], values: list[float]
) -> None:
    n = min(len(names), len(values))
    frame = pd.DataFrame({"name": names[:n], "value": values[:n]})
    top, bottom, table = read_marked_csv(marked_csv(frame.to_csv(index=False).encode(), banner))
    assert top == bottom == banner and len(table) == n
    document = json.loads(marked_json(fields_of(banner), "rows", frame.to_dict("records")))
    assert document["marking"]["banner"] == banner and len(document["rows"]) == n
    parquet = marked_parquet(frame, fields_of(banner))
    assert parquet_marking(parquet)["banner"] == banner
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(parquet)), frame)
    book = openpyxl.load_workbook(io.BytesIO(marked_xlsx(frame, fields_of(banner), "t")))
    sheet = book.active
    assert sheet is not None
    assert sheet.cell(1, 1).value == sheet.cell(n + 3, 1).value == banner
    assert sheet.oddHeader.center.text == sheet.oddFooter.center.text == banner
    assert book.properties.category == banner
    cells = [cell for row in sheet.iter_rows(min_row=3, max_row=n + 2) for cell in row]
    assert all(cell.data_type != "f" for cell in cells)  # "=1+1" in a name stays text
    assert [c.value for c in cells[::2]] == [name or None for name in names[:n]]


def test_a_name_that_looks_like_a_formula_is_text_in_excel() -> None:
    frame = pd.DataFrame(
        {"name": ['=HYPERLINK("http://x")', "+1+1", "@SUM(A1)"], "value": [1.0, float("inf"), float("nan")]}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(marked_xlsx(frame, fields_of("SECRET"), "t"))).active
    assert sheet is not None
    assert [sheet.cell(r, 1).data_type for r in (3, 4, 5)] == ["s", "s", "s"]
    assert [sheet.cell(r, 2).value for r in (3, 4, 5)] == [1, "inf", None]
    bell = pd.DataFrame({"name": ["a\x07b"], "value": [1.0]})
    sheet = openpyxl.load_workbook(io.BytesIO(marked_xlsx(bell, fields_of("SECRET"), "t"))).active
    assert sheet is not None and sheet.cell(3, 1).value == "a\ufffdb"
