"""Write stress results to CSV, Parquet or JSON, chosen by the file's extension."""

from __future__ import annotations

import json
import math
from pathlib import Path

from setu.errors import InputError
from setu.stress.engine import RESULT_COLUMNS, StressResult

SUFFIXES = (".csv", ".parquet", ".json")


def write_results(result: StressResult, path: str | Path) -> Path:
    """Write ``result`` to ``path`` (.csv, .parquet or .json) and return the path.

    CSV and JSON hold exactly the columns ``scenario_id, disrupted, ttr, lost_profit, tts, rei``,
    with an unbounded TTS written as ``inf``; Parquet adds ``kind`` and ``label``. The file
    is written to a temporary name first, so a failed write never leaves half a file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"unknown output type {suffix or '(none)'!r}; expected one of {', '.join(SUFFIXES)}", str(path)
        )
    if not path.parent.exists():
        raise InputError("the output folder does not exist", str(path.parent))
    frame = result.to_frame()
    partial = path.with_name(path.name + ".partial")
    if suffix == ".csv":
        frame.loc[:, list(RESULT_COLUMNS)].to_csv(partial, index=False, float_format="%.12g")
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
