"""Marked files: every file handed out carries the marking of its content inside it, not beside it.

An HTTP header is lost the moment a file is saved, mailed or printed. So each export states the
most restrictive marking of what it holds in the file itself, where the reader of that format looks
first, and a reader can check it by reading the file back:

- CSV: the banner as the first and the last row (one quoted cell each);
- JSON: an object ``{"marking": {...}, <items>: [...]}``;
- Parquet: the schema's ``setu.marking`` metadata (the marking as JSON);
- Excel: the banner in the first and last row of the sheet, in the printed page's header and footer,
  and in the workbook's category and subject.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from setu.network.io.cells import spreadsheet_text
from setu.sharing.markings import LEVELS, MarkingSpec, owner_names

PARQUET_KEY = b"setu.marking"
"""The Parquet schema metadata key that holds the marking."""
BANNER_FILLS = {0: "2E7D32", 1: "1565C0", 2: "C62828", 3: "E65100"}
"""Banner colours by classification level (the pages' own)."""


def marking_fields(session: Session, spec: MarkingSpec) -> dict[str, Any]:
    """A marking as answers and files carry it: the fields of :class:`setu.schemas.MarkingOut`, owners by name.

    Parameters
    ----------
    session
        A session, to name the organizations a proprietary marking names.
    spec
        The marking.

    Returns
    -------
    dict
        ``classification``, ``banner``, ``releases``, ``national_only`` and ``groups``.
    """
    return {
        "classification": LEVELS[spec.classification],
        "banner": spec.banner(owner_names(session, [spec])),
        "releases": sorted(spec.releases),
        "national_only": spec.national_only,
        "groups": sorted(spec.groups),
    }


def _banner_row(banner: str) -> str:
    out = io.StringIO()
    # A banner starts with a classification level; made safe anyway, like every text cell Setu writes.
    csv.writer(out, lineterminator="\n").writerow([spreadsheet_text(banner)])
    return out.getvalue()


def marked_csv(body: bytes, banner: str) -> bytes:
    """CSV ``body`` (header and rows) between two rows holding the banner.

    Examples
    --------
    >>> marked_csv(b"a,b\\n1,2\\n", "RESTRICTED // REL TO IN, US").decode()
    '"RESTRICTED // REL TO IN, US"\\na,b\\n1,2\\n"RESTRICTED // REL TO IN, US"\\n'
    """
    row = _banner_row(banner).encode("utf-8")
    return row + body + row


def read_marked_csv(data: bytes) -> tuple[str, str, pd.DataFrame]:
    """The top banner, the bottom banner and the table of a file :func:`marked_csv` made (to check one)."""
    lines = data.decode("utf-8").splitlines(keepends=True)
    top = next(csv.reader([lines[0]]))[0]
    bottom = next(csv.reader([lines[-1]]))[0]
    return top, bottom, pd.read_csv(io.StringIO("".join(lines[1:-1])))


def marked_json(fields: dict[str, Any], key: str, items: Sequence[Any]) -> bytes:
    """``{"marking": fields, key: items}`` as indented UTF-8 JSON."""
    return (json.dumps({"marking": fields, key: list(items)}, indent=1, ensure_ascii=False) + "\n").encode()


def marked_parquet(frame: pd.DataFrame, fields: dict[str, Any]) -> bytes:
    """``frame`` as Parquet with the marking in its schema metadata (:data:`PARQUET_KEY`)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), PARQUET_KEY: json.dumps(fields).encode()}
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(metadata), buffer)
    return buffer.getvalue()


def parquet_marking(data: bytes) -> dict[str, Any]:
    """The marking a Parquet file :func:`marked_parquet` made carries (empty if none)."""
    metadata = pq.read_schema(io.BytesIO(data)).metadata or {}
    raw = metadata.get(PARQUET_KEY)
    return {} if raw is None else dict(json.loads(raw))


def marked_xlsx(frame: pd.DataFrame, fields: dict[str, Any], title: str) -> bytes:
    """``frame`` as an Excel workbook of one sheet, the banner above and below the table and on every printed page.

    Text cells are stored as text, never as formulas, whatever they start with.

    Parameters
    ----------
    frame
        The table.
    fields
        The marking (:func:`marking_fields`).
    title
        The sheet's title (at most 31 characters are kept).

    Returns
    -------
    bytes
        The ``.xlsx`` file.
    """
    banner = str(fields["banner"])
    level = next((k for k, name in LEVELS.items() if name == fields["classification"]), 1)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]
    width = max(1, len(frame.columns))
    fill = PatternFill("solid", fgColor=BANNER_FILLS.get(level, "1565C0"))
    font = Font(bold=True, color="FFFFFF")

    def banner_row(row: int) -> None:
        cell = sheet.cell(row=row, column=1, value=banner)
        cell.data_type = "s"
        cell.fill, cell.font = fill, font
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)

    banner_row(1)
    for column, name in enumerate(frame.columns, start=1):
        cell = sheet.cell(row=2, column=column, value=str(name))
        cell.data_type, cell.font = "s", Font(bold=True)
    for row, values in enumerate(frame.itertuples(index=False, name=None), start=3):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=_cell(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # "=HYPERLINK(...)" from a node name stays text
    banner_row(len(frame) + 3)
    for column in range(1, width + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 18
    sheet.print_title_rows = "1:2"
    for header in (sheet.oddHeader, sheet.evenHeader, sheet.firstHeader):
        header.center.text = banner
    for footer in (sheet.oddFooter, sheet.evenFooter, sheet.firstFooter):
        footer.center.text = banner
    workbook.properties.category = banner
    workbook.properties.subject = banner
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """A value as a cell holds it: floats that are not finite as text (Excel has no inf or NaN), text without
    the control characters a workbook cannot hold."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "" if value != value else ("inf" if value > 0 else "-inf")
    if hasattr(value, "item"):
        return value.item()
    return value
