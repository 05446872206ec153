"""A self-contained HTML report of stress results: tables and SVG charts, no scripts or fonts fetched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import numpy as np

from setu.network.compile import CompiledNetwork
from setu.report.charts import ChartPoint, rei_bars, tts_ttr_scatter
from setu.report.charts import fmt as _fmt
from setu.stress.engine import StressResult
from setu.stress.explain import Explanation

_CSS = """
:root { --ink:#1b2430; --muted:#5b6675; --line:#d5dbe3; --risk:#b3261e; --ok:#1d6b3a; --accent:#1f4e8c; }
* { box-sizing:border-box; }
body { font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif; color:var(--ink);
       margin:0; background:#f6f8fb; }
header { background:#12263f; color:#fff; padding:18px 32px; }
header h1 { margin:0; font-size:22px; } header p { margin:4px 0 0; color:#c9d6e8; }
.banner { background:#fff3cd; color:#5c4400; padding:8px 32px; border-bottom:1px solid #e9d48b; font-weight:600; }
main { padding:20px 32px 48px; max-width:1280px; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:16px 20px; margin:0 0 20px; }
h2 { font-size:18px; margin:0 0 10px; } h3 { font-size:15px; margin:16px 0 6px; }
.kpis { display:flex; gap:16px; flex-wrap:wrap; }
.kpi { border:1px solid var(--line); border-radius:6px; padding:10px 14px; min-width:170px; }
.kpi b { display:block; font-size:22px; } .kpi span { color:var(--muted); font-size:13px; }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { border-bottom:1px solid var(--line); padding:5px 8px; text-align:left; vertical-align:top; }
th { background:#eef2f7; position:sticky; top:0; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr.risk td.tts { color:var(--risk); font-weight:700; }
.tag { display:inline-block; white-space:nowrap; padding:0 6px; border-radius:3px; font-size:12px;
       background:#e7edf5; color:var(--accent); }
.tag.risk { background:#fbe3e1; color:var(--risk); } .tag.ok { background:#e2f2e7; color:var(--ok); }
.muted { color:var(--muted); } svg text { font:12px system-ui,sans-serif; fill:#334; }
details { margin:6px 0; } summary { cursor:pointer; font-weight:600; }
pre { white-space:pre-wrap; font-size:12.5px; background:#f4f6f9; padding:8px; border-radius:4px; }
"""


@dataclass(frozen=True, slots=True)
class ReportPart:
    """One set of results shown in the report, with explanations of its scenarios if any."""

    title: str
    result: StressResult
    explanations: dict[str, Explanation]
    intro: str = ""


def _scatter(result: StressResult) -> str:
    """TTS (y) against TTR (x) of every scenario of ``result``."""
    points = [
        ChartPoint(s.label or s.id, float(r), float(t))
        for s, r, t in zip(result.scenarios, result.ttr, result.tts, strict=True)
    ]
    return tts_ttr_scatter(points)


def _rei_bars(result: StressResult, top: int = 15) -> str:
    """The REI of the ``top`` scenarios that lose most (those that lose anything)."""
    order = np.argsort(-result.lost_profit)[:top]
    order = order[result.lost_profit[order] > 0]
    rei = result.rei
    bars = [(result.scenarios[int(i)].label or result.scenarios[int(i)].id, float(rei[i])) for i in order]
    return rei_bars(bars)


def _table(result: StressResult, limit: int | None) -> str:
    rows = []
    rei = result.rei
    for i in result.ranking(limit):
        s = result.scenarios[int(i)]
        tts = float(result.tts[i])
        risk = tts < s.ttr
        shown = escape(s.nodes[0]) if len(s.nodes) == 1 else f"{len(s.nodes)} nodes"
        tag = '<span class="tag risk">TTS &lt; TTR</span>' if risk else '<span class="tag ok">survives</span>'
        rows.append(
            f'<tr class="{"risk" if risk else ""}"><td>{escape(s.label or s.id)}</td>'
            f'<td>{shown}</td><td class="num">{s.ttr:g}</td><td class="num tts">{_fmt(tts)}</td>'
            f'<td class="num">{_fmt(float(result.lost_profit[i]))}</td><td class="num">{rei[i]:.3f}</td>'
            f"<td>{tag}</td></tr>"
        )
    return (
        "<table><thead><tr><th>scenario</th><th>disrupted</th><th class=num>TTR</th><th class=num>TTS</th>"
        "<th class=num>lost profit (PI)</th><th class=num>REI</th><th>status</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _suppliers(names: tuple[str, ...]) -> str:
    return " from " + escape(", ".join(names)) if names else ""


def _explanations(explanations: dict[str, Explanation]) -> str:
    if not explanations:
        return ""
    parts = ["<h3>What each scenario does</h3>"]
    for explanation in explanations.values():
        s = explanation.scenario
        losses = "".join(
            f"<li><b>{escape(loss.product)}</b> loses {loss.lost_units:,.0f} units "
            f"({loss.lost_units / loss.demand_over_ttr:.0%} of demand over the TTR); binding: "
            f"{escape(loss.binding)}{_suppliers(loss.binding_suppliers)}</li>"
            for loss in explanation.losses[:8]
        )
        flows = "".join(
            f"<li>{escape(f.supplier)} → {escape(f.customer)} ({escape(f.material)}): "
            f"{f.base:,.0f} → {f.scenario:,.0f}</li>"
            for f in explanation.rerouted[:8]
        )
        parts.append(
            f"<details><summary>{escape(s.label or s.id)}: {len(s.nodes)} node(s), TTR {s.ttr:g}, "
            f"TTS {_fmt(explanation.tts)}, PI {_fmt(explanation.lost_profit)}</summary>"
            f"<p>Products that lose:</p><ul>{losses or '<li>none</li>'}</ul>"
            f"<p>Largest re-routed shipments:</p><ul>{flows or '<li>none</li>'}</ul></details>"
        )
    return "".join(parts)


def render_report(net: CompiledNetwork, parts: list[ReportPart], *, title: str, banner: str = "") -> str:
    """Render the report as one HTML string (inline CSS and SVG; nothing loaded from elsewhere)."""
    sections = []
    for part in parts:
        result = part.result
        at_risk = int(result.at_risk.sum())
        full = len(result.scenarios) <= 40
        sections.append(
            f"<section><h2>{escape(part.title)}</h2>"
            + (f"<p>{escape(part.intro)}</p>" if part.intro else "")
            + '<div class="kpis">'
            f'<div class="kpi"><b>{len(result.scenarios)}</b><span>scenarios</span></div>'
            f'<div class="kpi"><b>{at_risk}</b><span>with TTS &lt; TTR</span></div>'
            f'<div class="kpi"><b>{_fmt(float(result.lost_profit.max(initial=0.0)))}</b>'
            "<span>worst lost profit (PI)</span></div>"
            f'<div class="kpi"><b>{result.wall_seconds:.2f} s</b><span>to compute</span></div></div>'
            "<h3>Time to survive against time to recover</h3>"
            + _scatter(result)
            + "<h3>Risk exposure index (REI = PI / worst PI)</h3>"
            + _rei_bars(result)
            + f"<h3>{'All scenarios' if full else 'Riskiest 30 scenarios'}</h3>"
            + _table(result, None if full else 30)
            + _explanations(part.explanations)
            + "</section>"
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(net.name)}: {net.n_nodes} nodes, {net.n_edges} supply edges, "
        f"{net.n_products} products. Generated {stamp} by Setu.</p></header>"
        + (f'<div class="banner">{escape(banner)}</div>' if banner else "")
        + "<main>"
        + "".join(sections)
        + "<section><h2>How to read this</h2><p>PI is the weighted production lost over the scenario's time to "
        "recover (TTR) after the network re-plans optimally (re-routing to alternates, drawing on stock). TTS is "
        "how long the network can meet all demand with the disruption in place. Where TTS &lt; TTR the network "
        "runs short before the disrupted sites recover: those need mitigation (stock, a qualified alternate, or "
        "a faster recovery). REI scales PI to the worst scenario of the set.</p></section>"
        "</main></body></html>"
    )


def write_report(
    net: CompiledNetwork, parts: list[ReportPart], path: str | Path, *, title: str, banner: str = ""
) -> Path:
    """Write the report to ``path`` and return it."""
    path = Path(path)
    path.write_text(render_report(net, parts, title=title, banner=banner), encoding="utf-8")
    return path
