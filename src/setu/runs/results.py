"""The results of a run: listed, filtered and sorted in SQL, and exported as CSV, JSON or Parquet."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pandas as pd
from sqlalchemy import BigInteger, Select, bindparam, cast, false, func, or_, true
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError
from setu.models.stress import ResultRecord, RunRecord
from setu.sharing.files import marked_csv, marked_json, marked_parquet, marked_xlsx, marking_fields
from setu.sharing.markings import MarkingSpec, combine, marking_specs
from setu.sharing.policy import Principal
from setu.sharing.read import (
    MAX_LIMIT,
    built_once,
    contained,
    contains_bound,
    fetch_visible_id,
    page,
    readable,
    readable_page,
    unfiltered,
)
from setu.stress.export import results_csv

__all__ = [
    "EXPORT_FORMATS",
    "RESULT_SORTS",
    "export_results",
    "list_results",
    "require_run",
    "results_stamp",
    "single_node_results",
    "visible_results",
]

EXPORT_FORMATS = ("csv", "json", "parquet", "xlsx")
RESULT_SORTS = ("position", "scenario_id", "kind", "label", "disrupted", "ttr", "lost_profit", "tts", "rei")
"""Columns :func:`list_results` sorts on; prefix ``-`` for descending."""


def _result_order(sort: str) -> list[Any]:
    field = sort.removeprefix("-")
    if field not in RESULT_SORTS:
        raise InputError(f"cannot sort results by {field!r}; expected one of {', '.join(RESULT_SORTS)}")
    descending = sort.startswith("-")
    if field == "tts":
        # Finite values, then unbounded ones (largest), then those not computed, whichever the direction.
        infinite = ResultRecord.tts_infinite.desc() if descending else ResultRecord.tts_infinite.asc()
        value = ResultRecord.tts.desc().nulls_last() if descending else ResultRecord.tts.asc().nulls_last()
        keys = [ResultRecord.tts.is_(None) & ResultRecord.tts_infinite.is_(false()), infinite, value]
    else:
        column = getattr(ResultRecord, field)
        keys = [column.desc() if descending else column.asc()]
    return [*keys, ResultRecord.position.asc()]


@built_once
def _results_page(
    principal: Principal, sort: str, by_rei: bool, at_risk_only: bool, by_text: bool
) -> tuple[Select[Any], Select[Any]]:
    """How many visible results of a run match, and a page of them, the values given as bind parameters."""
    conditions = [ResultRecord.run_id == bindparam("run_id")]
    if by_rei:
        conditions.append(ResultRecord.rei >= bindparam("min_rei"))
    if at_risk_only:
        conditions.append(ResultRecord.at_risk.is_(true()))
    if by_text:
        conditions.append(
            or_(
                contains_bound(ResultRecord.scenario_id, "pattern"),
                contains_bound(ResultRecord.label, "pattern"),
                contains_bound(ResultRecord.disrupted, "pattern"),
            )
        )
    return readable_page(principal, ResultRecord, conditions, _result_order(sort))


def require_run(session: Session, principal: Principal, run_id: int, action: str) -> RunRecord:
    """The run ``run_id`` that an ``action`` on its results reads (a denial is audited as that action).

    Raises
    ------
    setu.errors.NotFound
        If there is no such run or the user may not see it.
    """
    return fetch_visible_id(session, principal, RunRecord, run_id, action=action, kind="run", audit_permit=False)


def results_stamp(session: Session, run: RunRecord) -> tuple[Hashable, ...]:
    """A fingerprint of ``run`` and every result of it (for :mod:`setu.sharing.cache`; never shown to anyone).

    The run's id, start, name, status, marking and end, then the count, largest id and two marking-weighted
    sums of its results: a result added, removed or re-marked changes it, and so does a rename or a new run
    that took a deleted one's id (SQLite reuses the newest id). Which results a reader sees follows from
    that and the reader's view, which every cache key holds too.
    """
    sums = session.execute(_RESULT_SUMS, {"run_id": run.id}).one()
    return (run.id, run.created_at, run.name, run.status, run.marking_id, run.finished_at, tuple(sums))


# Not a read for a user: a fingerprint keyed with the reader's view (see results_stamp). Built once.
_RESULT_SUMS = unfiltered(
    func.count(),
    func.max(ResultRecord.id),
    func.sum(ResultRecord.marking_id),
    func.sum(cast(ResultRecord.id, BigInteger) * ResultRecord.marking_id),
).where(ResultRecord.run_id == bindparam("run_id"))


def list_results(
    session: Session,
    principal: Principal,
    run_id: int,
    *,
    sort: str = "-rei",
    min_rei: float | None = None,
    at_risk_only: bool = False,
    text: str = "",
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[ResultRecord], int]:
    """Results of a visible run, filtered, sorted and paged in SQL.

    Parameters
    ----------
    sort
        One of :data:`RESULT_SORTS`, ``-`` first for descending (ties go by position). TTS sorts
        unbounded values above every finite one and values not computed last.
    min_rei
        Only results with REI at least this.
    at_risk_only
        Only results whose TTS is shorter than their TTR.
    text
        Case-insensitive text looked for in the scenario id, label and disrupted nodes.
    offset, limit
        The page.

    Returns
    -------
    tuple[list[ResultRecord], int]
        The page and how many visible results match in all.

    Raises
    ------
    setu.errors.NotFound
        If there is no such run or the user may not see it.
    """
    offset, limit = page(offset, limit)
    _result_order(sort)  # a bad sort is refused before anything is read
    require_run(session, principal, run_id, "results.list")
    count, listed = _results_page(principal, sort, min_rei is not None, at_risk_only, bool(text))
    values = {"run_id": run_id, "min_rei": min_rei, "pattern": contained(text), "offset": offset, "limit": limit}
    total = int(session.scalar(count, values) or 0)
    rows = session.scalars(listed, values).all()
    record(
        session,
        principal,
        "results.list",
        "run",
        run_id,
        details={"sort": sort, "min_rei": min_rei, "at_risk_only": at_risk_only, "text": text, "total": total},
    )
    return list(rows), total


def single_node_results(
    session: Session, principal: Principal, run_id: int, nodes: list[str], chunk: int = MAX_LIMIT
) -> list[ResultRecord]:
    """The visible results of a visible run that disrupt exactly one of ``nodes``, in position order.

    For a map showing part of a network: only the results of the nodes shown are read, in bounded
    queries of ``chunk`` node ids each.

    Raises
    ------
    setu.errors.NotFound
        If there is no such run or the user may not see it.
    """
    require_run(session, principal, run_id, "results.list")
    rows: list[ResultRecord] = []
    for start in range(0, len(nodes), chunk):
        rows.extend(
            session.scalars(
                readable(principal, ResultRecord)
                .where(ResultRecord.run_id == run_id, ResultRecord.disrupted.in_(nodes[start : start + chunk]))
                .order_by(ResultRecord.position)
            )
        )
    rows.sort(key=lambda row: row.position)
    record(session, principal, "results.list", "run", run_id, details={"nodes": len(nodes), "total": len(rows)})
    return rows


def _json_tts(value: float) -> float | str | None:
    """A TTS as JSON holds it: ``"inf"`` when unbounded, null when not computed."""
    if value != value:
        return None
    return "inf" if value == float("inf") else value


def visible_results(
    session: Session, principal: Principal, run_id: int, format: str
) -> tuple[RunRecord, list[ResultRecord], MarkingSpec]:
    """A run, every result of it ``principal`` may see (in scenario order) and their combined marking, for a file.

    Audited as an export in ``format``: every file made of a run's results (CSV to a PDF report) reads them here.

    Raises
    ------
    setu.errors.NotFound
        If there is no such run or the user may not see it (audited as a denied export).
    """
    run = require_run(session, principal, run_id, "results.export")
    rows = list(
        session.scalars(
            readable(principal, ResultRecord).where(ResultRecord.run_id == run_id).order_by(ResultRecord.position)
        )
    )
    record(session, principal, "results.export", "run", run_id, details={"format": format, "rows": len(rows)})
    spec = combine(marking_specs(session, {run.marking_id, *(r.marking_id for r in rows)}), principal.party)
    return run, rows, spec


def export_results(session: Session, principal: Principal, run_id: int, format: str) -> tuple[bytes, MarkingSpec]:
    """Every visible result of a run as a file, ``csv``, ``json``, ``parquet`` or ``xlsx``, marked inside.

    The columns are ``scenario_id, disrupted, ttr, lost_profit, tts, rei, baseline_loss, tts_relative`` (CSV through
    :func:`setu.stress.export.results_csv`, so a text cell starting as a formula is quoted; an
    unbounded TTS is ``inf``, one not computed is empty in CSV, ``null`` in JSON); Parquet and Excel add
    ``kind``, ``label`` and ``at_risk``. ``lost_profit`` includes ``baseline_loss``, what the view loses with
    nothing disrupted; REI ranks the difference; ``tts_relative`` is TTS measured from the baseline, which
    ``at_risk`` compares with the TTR. Each file carries the most restrictive marking of the run and
    of every result in it, where its format's reader looks (:mod:`setu.sharing.files`): CSV in its first
    and last rows, JSON as ``{"marking": ..., "results": [...]}``, Parquet in its schema metadata,
    Excel above and below the table and on every printed page.

    Returns
    -------
    tuple[bytes, MarkingSpec]
        The file and its marking.

    Raises
    ------
    setu.errors.NotFound
        If there is no such run or the user may not see it (audited as a denied export).
    setu.errors.InputError
        If ``format`` is not one of :data:`EXPORT_FORMATS`.
    """
    if format not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    _, rows, spec = visible_results(session, principal, run_id, format)
    fields = marking_fields(session, spec)
    if format == "json":
        records = [
            {
                "scenario_id": r.scenario_id,
                "disrupted": r.disrupted,
                "ttr": r.ttr,
                "lost_profit": r.lost_profit,
                "tts": "inf" if r.tts_infinite else r.tts,
                "rei": r.rei,
                "baseline_loss": r.baseline_loss,
                "tts_relative": _json_tts(r.tts_relative_value),
            }
            for r in rows
        ]
        return marked_json(fields, "results", records), spec
    frame = pd.DataFrame(
        {
            "scenario_id": [r.scenario_id for r in rows],
            "disrupted": [r.disrupted for r in rows],
            "ttr": [r.ttr for r in rows],
            "lost_profit": [r.lost_profit for r in rows],
            "tts": [r.tts_value for r in rows],
            "rei": [r.rei for r in rows],
            "kind": [r.kind for r in rows],
            "label": [r.label for r in rows],
            "at_risk": [r.at_risk for r in rows],
            "baseline_loss": [r.baseline_loss for r in rows],
            "tts_relative": [r.tts_relative_value for r in rows],
        }
    )
    if format == "csv":
        # The one CSV writer of results: text cells (node and scenario names) are defused for spreadsheets.
        return marked_csv(results_csv(frame, extra=("baseline_loss", "tts_relative")), fields["banner"]), spec
    if format == "xlsx":
        return marked_xlsx(frame, fields, f"Run {run_id} results"), spec
    return marked_parquet(frame, fields), spec
