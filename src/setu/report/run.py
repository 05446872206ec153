"""A run's report as a PDF: its figures and riskiest scenarios, with the marking banner on every printed page.

The report holds what :func:`setu.runs.results.visible_results` gives the reader, so its marking is the
most restrictive of the run and of every result in it, as for every other file of a run; the banner is
printed at the top and the bottom of every page and is the document's title.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape

from sqlalchemy.orm import Session

from setu.models.stress import ResultRecord, RunRecord
from setu.network.units import Units, units_of
from setu.networks.reads import get_network
from setu.report.charts import ChartPoint, fmt, rei_bars, tts_ttr_scatter
from setu.report.pdf import html_to_pdf
from setu.runs.results import visible_results
from setu.sharing.files import marking_fields
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal

TABLE_ROWS = 60
"""Scenarios listed in the report's table (the riskiest by REI); the CSV or Excel export has every one."""
CHART_POINTS = 2_000
"""Scenarios drawn in the chart (the riskiest by REI), so a 10^5-scenario sweep prints in seconds."""

_CSS = """
@page { size: A4; margin: 10mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "DejaVu Sans", "Noto Sans", sans-serif; color: #1b2430; margin: 0; }
table.frame { width: 100%; border-collapse: collapse; font-size: inherit; }
table.frame > thead > tr > td, table.frame > tfoot > tr > td { padding: 0; border: 0; }
table.frame > tbody > tr > td { padding: 3mm 0; border: 0; }
.mark { text-align: center; font-weight: 700; font-size: 9.5pt; padding: 1.5mm 0;
        background: #fff3cd; color: #3d2e00; border: 1px solid #c9a227; }
h1 { font-size: 17pt; margin: 0 0 2mm; } h2 { font-size: 12.5pt; margin: 6mm 0 2mm; break-after: avoid; }
p { margin: 0 0 2mm; } .muted { color: #4a5563; }
.kpis { display: flex; gap: 4mm; margin: 3mm 0; }
.kpi { border: 1px solid #c5ccd6; border-radius: 2mm; padding: 2mm 3mm; min-width: 36mm; }
.kpi b { display: block; font-size: 14pt; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
thead { display: table-header-group; } tr { break-inside: avoid; }
th, td { border-bottom: 1px solid #d5dbe3; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #eef2f7; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.risk td { color: #8c1d18; font-weight: 700; }
svg { max-width: 100%; height: auto; } svg text { font: 9px sans-serif; fill: #334; }
.note { border-left: 1.5mm solid #c9a227; background: #fffaf0; padding: 2mm 3mm; }
"""


def _tts(row: ResultRecord) -> str:
    value = row.tts_value
    return "unbounded" if math.isinf(value) else ("not computed" if math.isnan(value) else fmt(value))


def render_run_report(
    run: RunRecord,
    rows: list[ResultRecord],
    banner: str,
    network: str,
    *,
    units: Units | None = None,
    now: datetime | None = None,
) -> str:
    """The report of ``run`` over ``rows`` as one HTML document (inline CSS and SVG), ``banner`` on every page."""
    units = units or Units()
    riskiest = sorted(rows, key=lambda r: (-r.rei, r.position))
    at_risk = sum(r.at_risk for r in rows)
    charted = [r for r in riskiest[:CHART_POINTS] if r.tts is not None or r.tts_infinite]
    points = [ChartPoint(r.label or r.scenario_id, r.ttr, r.tts_relative_value) for r in charted]
    bars = [(r.label or r.scenario_id, r.rei) for r in riskiest[:15] if r.rei > 0]
    worst = riskiest[0].excess_loss if riskiest else 0.0
    baseline = run.baseline or {}
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    mark = escape(banner)
    body = [
        f"<h1>Run {run.id}{': ' + escape(run.name) if run.name else ''}</h1>",
        f'<p class="muted">{escape(network)}. {"Reference sweep. " if run.reference else ""}'
        f"Status {escape(run.status)}; printed {stamp} by Setu, with the results you may see.</p>",
        '<div class="kpis">',
        f'<div class="kpi"><b>{len(rows)}</b>scenarios</div>',
        f'<div class="kpi"><b>{at_risk}</b>with TTS &lt; TTR</div>',
        f'<div class="kpi"><b>{fmt(worst)}</b>worst loss beyond the baseline ({escape(units.loss)})</div></div>',
    ]
    if baseline.get("short"):
        short = ", ".join(
            f"{escape(str(k))} ({fmt(float(v))} {units.per_time} short)" for k, v in sorted(baseline["short"].items())
        )
        body.append(
            '<p class="note">The view this run was computed on runs short with nothing disrupted: '
            f"{len(baseline['short'])} product(s) cannot meet their demand ({short}). Losses below are beyond that "
            "baseline, and TTS is measured from it.</p>"
        )
    if points:
        heading = (
            "Time to survive (from the baseline) against time to recover"
            if baseline.get("short")
            else ("Time to survive against time to recover")
        )
        body += [f"<h2>{heading}</h2>", tts_ttr_scatter(points, tagged=False, unit=units.times if units.time else "")]
    if bars:
        body += ["<h2>Risk exposure index (loss beyond the baseline over the worst)</h2>", rei_bars(bars)]
    shown = riskiest[:TABLE_ROWS]
    body.append(
        f"<h2>{'Every scenario' if len(shown) == len(rows) else f'The {len(shown)} riskiest of {len(rows)} scenarios'}"
        "</h2><table><thead><tr><th>Scenario</th><th>Disrupted</th>"
        f"<th class=num>TTR ({escape(units.times)})</th><th class=num>Loss beyond baseline ({escape(units.loss)})</th>"
        f"<th class=num>TTS ({escape(units.times)})</th><th class=num>REI</th></tr></thead><tbody>"
    )
    for r in shown:
        disrupted = r.disrupted.replace(";", ", ")
        disrupted = disrupted if len(disrupted) <= 90 else disrupted[:87] + "..."
        body.append(
            f'<tr class="{"risk" if r.at_risk else ""}"><td>{escape(r.label or r.scenario_id)}</td>'
            f"<td>{escape(disrupted)}</td><td class=num>{fmt(r.ttr)}</td><td class=num>{fmt(r.excess_loss)}</td>"
            f"<td class=num>{_tts(r)}</td><td class=num>{r.rei:.3f}</td></tr>"
        )
    body.append("</tbody></table>")
    body.append(
        "<h2>How to read this</h2><p>Loss is the weighted production lost over the scenario's time to recover (TTR) "
        "after the network re-plans (re-routing to alternates, drawing on stock), beyond what the view loses "
        "undisrupted. TTS is how long the network meets all demand with the disruption in place; rows in red run "
        "short before they recover (TTS &lt; TTR). REI scales each loss to the worst of this run.</p>"
    )
    # A table's head and foot repeat on every printed page: the banner above and below each page's content.
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{mark}: run {run.id} report</title>"
        f'<style>{_CSS}</style></head><body><table class="frame"><thead><tr><td><div class="mark">{mark}</div>'
        f'</td></tr></thead><tfoot><tr><td><div class="mark">{mark}</div></td></tr></tfoot><tbody><tr><td>'
        f"{''.join(body)}</td></tr></tbody></table></body></html>"
    )


def run_report_pdf(session: Session, principal: Principal, run_id: int) -> tuple[bytes, MarkingSpec]:
    """The PDF report of run ``run_id`` as ``principal`` may see it, and its marking.

    Raises
    ------
    setu.errors.NotFound
        If there is no such run or the user may not see it (audited).
    setu.errors.Unavailable, setu.errors.TooManyRequests
        When it cannot be printed now (:func:`setu.report.pdf.html_to_pdf`).
    """
    run, rows, spec = visible_results(session, principal, run_id, "pdf")
    network = get_network(session, principal, run.network_id)
    banner = str(marking_fields(session, spec)["banner"])
    html = render_run_report(run, rows, banner, f"{network.name} version {network.version}", units=units_of(network))
    return html_to_pdf(html), spec
