"""The explanation page: why one scenario of a run scores as it does, on the reader's view of the network."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from setu.errors import NotFound, SetuError
from setu.report.charts import fmt
from setu.runs.explanations import explain_result
from setu.runs.pages.runs import network_of
from setu.runs.service import get_run
from setu.schemas import MAX_ID
from setu.web.shell import PageDep

router = APIRouter(include_in_schema=False)

REROUTED_SHOWN = 50


@router.get("/runs/{run_id}/scenarios/{scenario:path}/explain", response_class=HTMLResponse)
def explain_page(request: Request, page: PageDep, run_id: int, scenario: str) -> Response:
    """Why one scenario of a run scores as it does: products that lose, the binding material, re-routing."""
    session, principal = page.session, page.principal
    if not 1 <= run_id <= MAX_ID or not 0 < len(scenario) <= 200:
        return page.not_found(request)
    try:
        explained = explain_result(session, principal, run_id, scenario)
    except NotFound:
        return page.not_found(request)
    except SetuError as exc:
        session.rollback()
        try:
            run = get_run(session, principal, run_id)
        except NotFound:
            return page.not_found(request)
        return page.render(
            request,
            "runs/explain.html",
            status_code=409,
            run=run,
            run_marking=page.label(run),
            error=str(exc),
            explanation=None,
        )
    e = explained.explanation
    s = e.scenario
    return page.render(
        request,
        "runs/explain.html",
        run=explained.run,
        run_marking=page.label(explained.run),
        marking=page.label_spec(explained.marking),
        network=network_of(page, explained.run.network_id),
        error="",
        explanation=e,
        scenario=s,
        severities=None if s.severity is None else [f"{v:.0%}" for v in s.severity],
        tts=fmt(e.tts),
        base_tts=fmt(e.base_tts),
        base_short=e.base_tts < s.ttr,
        at_risk=e.tts < s.ttr,
        shortfall=fmt(s.ttr - e.tts) if e.tts < s.ttr else "",
        lost_profit=fmt(e.lost_profit),
        base_lost_profit=fmt(e.base_lost_profit),
        losses=[
            {
                "product": loss.product,
                "units": fmt(loss.lost_units, 1),
                "share": f"{loss.lost_units / loss.demand_over_ttr:.0%}" if loss.demand_over_ttr > 0 else "-",
                "value": fmt(loss.lost_value),
                "binding": loss.binding,
                "suppliers": list(loss.binding_suppliers),
            }
            for loss in e.losses
        ],
        rerouted=[
            {
                "supplier": f.supplier,
                "customer": f.customer,
                "material": f.material,
                "base": fmt(f.base, 1),
                "scenario": fmt(f.scenario, 1),
                "change": f"{f.change:+,.1f}",
            }
            for f in e.rerouted[:REROUTED_SHOWN]
        ],
        rerouted_total=len(e.rerouted),
    )
