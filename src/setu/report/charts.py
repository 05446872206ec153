"""SVG charts of stress results shared by the static report and the web pages: TTS against TTR, REI bars."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

AT_RISK_COLOUR = "#b3261e"
SURVIVES_COLOUR = "#1f4e8c"


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One scenario on the TTS-versus-TTR chart.

    ``tts`` is ``inf`` when the network survives the disruption indefinitely.
    """

    name: str
    ttr: float
    tts: float

    @property
    def at_risk(self) -> bool:
        """TTS is shorter than TTR: the network runs short before recovery."""
        return self.tts < self.ttr


def fmt(value: float, digits: int = 2) -> str:
    """A number for people: thousands separated, ``∞`` for infinity, ``-`` for not-a-number.

    Parameters
    ----------
    value
        The number.
    digits
        Decimals to show.

    Returns
    -------
    str
        The text.
    """
    if math.isinf(value):
        return "∞"
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def tts_ttr_scatter(
    points: Sequence[ChartPoint], width: int = 560, height: int = 380, *, tagged: bool = False, unit: str = ""
) -> str:
    """TTS (y) against TTR (x); points under the diagonal (TTS < TTR) need mitigation.

    Parameters
    ----------
    points
        The scenarios, each with a computed TTS (finite or ``inf``).
    width, height
        The drawing's size in pixels.
    tagged
        Give each point ``class="at-risk"`` or ``class="survives"`` (for pages that style or count them).
    unit
        The time unit of both axes (plural, e.g. ``weeks``); none named when empty.

    Returns
    -------
    str
        An ``<svg>`` element; each point carries its scenario, TTR and TTS as a ``<title>``.
    """
    ttr = np.array([p.ttr for p in points], dtype=np.float64)
    tts = np.array([p.tts for p in points], dtype=np.float64)
    finite = tts[np.isfinite(tts)]
    longest = float(ttr.max(initial=1.0))
    # TTS far beyond every TTR says only "survives": clamp it to the top edge (drawn as a triangle)
    # so the points that matter, near the diagonal, keep their room.
    top = max(longest, min(float(finite.max(initial=0.0)), 2.5 * longest)) * 1.08
    cap = top
    pad_l, pad_b, pad_t, pad_r = 56, 44, 14, 14
    w, h = width - pad_l - pad_r, height - pad_b - pad_t

    def x(v: float) -> float:
        return pad_l + w * v / top

    def y(v: float) -> float:
        return pad_t + h * (1 - min(v, cap) / top)

    parts = [
        f'<svg role="img" aria-label="TTS versus TTR" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">',
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#fafbfd" stroke="#ccd"/>',
        f'<polygon points="{x(0)},{y(0)} {x(top)},{y(top)} {x(top)},{y(0)}" fill="#fbe3e1" opacity="0.55"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(top)}" y2="{y(top)}" stroke="#b3261e" stroke-dasharray="4 3"/>',
    ]
    for k in range(6):
        v = top * k / 5
        parts.append(f'<text x="{x(v):.1f}" y="{height - 26}" text-anchor="middle">{v:,.0f}</text>')
        parts.append(f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    in_unit = f", {escape(unit)}" if unit else ""
    parts.append(
        f'<text x="{pad_l + w / 2}" y="{height - 6}" text-anchor="middle">time to recover (TTR{in_unit})</text>'
    )
    parts.append(
        f'<text transform="translate(14 {pad_t + h / 2}) rotate(-90)" text-anchor="middle">'
        f"time to survive (TTS{in_unit})</text>"
    )
    parts.append(f'<text x="{x(top) - 6}" y="{y(0) - 8}" text-anchor="end" fill="#b3261e">TTS &lt; TTR: at risk</text>')
    parts.append(f'<text x="{x(0) + 6}" y="{pad_t + 12}">▲ TTS beyond the chart (or unbounded)</text>')
    for point, r, t in zip(points, ttr, tts, strict=True):
        risk = bool(t < r)
        colour = AT_RISK_COLOUR if risk else SURVIVES_COLOUR
        label = escape(f"{point.name}: TTR {r:g}, TTS {fmt(float(t))}")
        cx, cy = x(float(r)), y(float(t))
        if t > cap:
            shape = f'<polygon points="{cx - 4:.1f},{cy + 5:.1f} {cx + 4:.1f},{cy + 5:.1f} {cx:.1f},{cy - 2:.1f}"'
        else:
            shape = f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.2"'
        tag = f' class="{"at-risk" if risk else "survives"}"' if tagged else ""
        parts.append(f'{shape}{tag} fill="{colour}" fill-opacity="0.6"><title>{label}</title></{shape.split()[0][1:]}>')
    parts.append("</svg>")
    return "".join(parts)


def rei_bars(bars: Sequence[tuple[str, float]], width: int = 720) -> str:
    """Horizontal bars of the risk exposure index, one per scenario, in the order given.

    Parameters
    ----------
    bars
        (scenario name, REI in [0, 1]) of the scenarios to draw; only those with REI > 0 belong here.
    width
        The drawing's width in pixels.

    Returns
    -------
    str
        An ``<svg>`` element, or a short paragraph when there is nothing to draw.
    """
    if not bars:
        return '<p class="muted">No scenario loses anything: every REI is 0.</p>'
    row_h, label_w = 22, 320
    height = row_h * len(bars) + 8
    parts = [
        f'<svg role="img" aria-label="REI ranking" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    ]
    for k, (full, rei) in enumerate(bars):
        bar = (width - label_w - 60) * float(rei)
        yk = 4 + k * row_h
        name = escape(full if len(full) <= 46 else full[:45] + "…")
        parts.append(f'<text x="{label_w - 6}" y="{yk + 14}" text-anchor="end">{name}</text>')
        parts.append(f'<rect x="{label_w}" y="{yk + 3}" width="{bar:.1f}" height="{row_h - 8}" fill="#1f4e8c"/>')
        parts.append(f'<text x="{label_w + bar + 5:.1f}" y="{yk + 14}">{rei:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)
