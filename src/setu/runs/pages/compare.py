"""The comparison page: two runs side by side, the largest changes first, and the form that picks them."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from setu.errors import InputError, NotFound, TooLarge
from setu.network.units import Units, units_of
from setu.report.charts import fmt
from setu.runs.compare import Comparison, Figures, ScenarioChange, compare_runs
from setu.runs.pages.runs import compare_choices, network_of
from setu.schemas import MAX_ID
from setu.web.shell import PAGE_SIZE, Page, PageDep

router = APIRouter(include_in_schema=False)


def _tts(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return "not computed" if math.isnan(value) else fmt(value)


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        "loss": fmt(figures.loss),
        "tts": _tts(figures.tts),
        "ttr": fmt(figures.ttr),
        "at_risk": figures.at_risk,
        "rei": f"{figures.rei:.3f}",
    }


def _change(change: ScenarioChange) -> dict[str, Any]:
    tts = change.tts_change
    return {
        "scenario_id": change.scenario_id,
        "label": change.label or change.scenario_id,
        "a": _figures(change.a),
        "b": _figures(change.b),
        "loss_change": ("+" if change.loss_change > 0 else "") + fmt(change.loss_change),
        "worse": change.loss_change > 0 or (change.b.at_risk and not change.a.at_risk),
        "tts_change": ("+" if tts > 0 else "") + fmt(tts) if math.isfinite(tts) else "—",
        "changed": change.changed,
    }


def _view(page: Page, comparison: Comparison, changed_only: bool, page_number: int) -> dict[str, Any]:
    shown = [c for c in comparison.changes if c.changed] if changed_only else comparison.changes
    offset = (page_number - 1) * PAGE_SIZE
    page.label(comparison.a)
    page.label(comparison.b)
    first, second = (units_of(network_of(page, run.network_id)) for run in (comparison.a, comparison.b))
    return {
        "units": first if first == second else Units(),  # two networks in different units: name none
        "a": comparison.a,
        "b": comparison.b,
        "rows": [_change(c) for c in shown[offset : offset + PAGE_SIZE]],
        "matching": len(shown),
        "first": offset + 1 if shown else 0,
        "last": min(offset + PAGE_SIZE, len(shown)),
        "pages": max(1, -(-len(shown) // PAGE_SIZE)),
        "both": len(comparison.changes),
        "changed": comparison.changed,
        "only_a": comparison.only_a,
        "only_b": comparison.only_b,
        "newly_at_risk": comparison.newly_at_risk,
        "no_longer_at_risk": comparison.no_longer_at_risk,
        "scale": fmt(comparison.scale),
        "scale_run": comparison.scale_run,
        "marking": page.label_spec(comparison.spec),
    }


@router.get("/runs/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    page: PageDep,
    a: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    b: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    changed: bool = False,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """Pick two runs; with both, what changed from the first to the second, the largest change first."""
    values: dict[str, Any] = {"choices": compare_choices(page), "chosen_a": a, "chosen_b": b, "changed_only": changed}
    if a is None or b is None:
        return page.render(request, "runs/compare.html", comparison=None, error="", **values)
    try:
        comparison = compare_runs(page.session, page.principal, a, b)
    except NotFound:
        return page.not_found(request)
    except (InputError, TooLarge) as exc:
        message = "; ".join(p.message for p in exc.problems) if isinstance(exc, InputError) else str(exc)
        status = 422 if isinstance(exc, InputError) else 413
        return page.render(request, "runs/compare.html", status_code=status, comparison=None, error=message, **values)
    view = _view(page, comparison, changed, page_number)
    return page.render(request, "runs/compare.html", comparison=view, error="", page=page_number, **values)
