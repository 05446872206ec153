"""Write stress results to CSV, Parquet or JSON, chosen by the file's extension."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from setu.errors import InputError
from setu.network.io.cells import spreadsheet_text
from setu.stress.engine import RESULT_COLUMNS, StressResult

if TYPE_CHECKING:
    import pandas as pd

SUFFIXES = (".csv", ".parquet", ".json")


TEXT_COLUMNS = ("scenario_id", "disrupted", "kind", "label")
"""Result columns holding text from the network (node and scenario names) rather than numbers."""


def results_csv(frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> bytes:
    """The result columns of ``frame`` as UTF-8 CSV, every text cell safe to open in a spreadsheet.

    Parameters
    ----------
    frame
        Results as :meth:`setu.stress.engine.StressResult.to_frame` makes them (other columns are ignored).
    extra
        Numeric columns of ``frame`` to write after the result columns.

    Returns
    -------
    bytes
        ``scenario_id, disrupted, ttr, lost_profit, tts, rei``, numbers to 12 significant digits.
    """
    table = frame.loc[:, [*RESULT_COLUMNS, *extra]].copy()
    for column in TEXT_COLUMNS:
        if column in table:
            table[column] = table[column].astype(str).map(spreadsheet_text)
    return str(table.to_csv(index=False, float_format="%.12g")).encode("utf-8")


def check_output(path: str | Path) -> Path:
    """``path`` if results can be written there (a known type, in a folder that exists), else :class:`InputError`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"unknown output type {suffix or '(none)'!r}; expected one of {', '.join(SUFFIXES)}", str(path)
        )
    if not path.parent.exists():
        raise InputError("the output folder does not exist", str(path.parent))
    return path


def write_results(result: StressResult, path: str | Path) -> Path:
    """Write ``result`` to ``path`` (.csv, .parquet or .json) and return the path.

    CSV and JSON hold exactly the columns ``scenario_id, disrupted, ttr, lost_profit, tts, rei``,
    with an unbounded TTS written as ``inf``; Parquet adds ``kind`` and ``label``. The file
    is written to a temporary name first, so a failed write never leaves half a file.
    """
    path = check_output(path)
    suffix = path.suffix.lower()
    frame = result.to_frame()
    partial = path.with_name(path.name + ".partial")
    if suffix == ".csv":
        partial.write_bytes(results_csv(frame))
    elif suffix == ".parquet":
        frame.to_parquet(partial, index=False)
    else:
        records = [
            {
                "scenario_id": s.id,
                "disrupted": ";".join(s.nodes),
                "ttr": s.ttr,
                "lost_profit": float(pi),
                "tts": "inf" if math.isinf(tts) else float(tts),
                "rei": float(rei),
            }
            for s, pi, tts, rei in zip(result.scenarios, result.lost_profit, result.tts, result.rei, strict=True)
        ]
        partial.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
    return path
