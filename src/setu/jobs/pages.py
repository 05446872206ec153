"""The job page: where a queued import or what-if stands, and its result, error or problems once it ends."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.errors import NotFound, Problem
from setu.jobs.service import JobStateError, cancel_job, get_job, payload_of, result_of
from setu.models.jobs import JOB_FINAL_STATUSES, JobRecord
from setu.networks.forms import problem_row
from setu.report.charts import fmt
from setu.runs.scenarios import get_scenario
from setu.schemas import MAX_ID
from setu.sharing.markings import specs_by_id
from setu.sosa import service as sosa_service
from setu.web.shell import FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)

KIND_NAMES = {"network.import": "Network import", "registry.what_if": "Registry what-if"}
"""Each job kind as the page names it."""
MAX_SHOWN = 500
"""Problems of a failed import listed on the page."""


def _unbounded(result: dict[str, Any], key: str) -> float:
    """A TTS value of a what-if result: the JSON keeps an unbounded one as null with ``*_infinite`` set."""
    value = result.get(key)
    return float("inf") if value is None else float(value)


def effect_of(page: Page, job: JobRecord, result: dict[str, Any]) -> dict[str, Any]:
    """A what-if result as the registry's what-if page shows it, its marking counted into the page's banner."""
    marking = job.result_marking_id
    spec = specs_by_id(page.session, [marking])[marking] if marking is not None else None
    return {
        "material": result["material"],
        "site": result["site"],
        "firm": result["firm"],
        "capability": result["capability"],
        "capacity": fmt(result["capacity"]),
        "qualification": fmt(result["qualification_weeks"]),
        "ttr": fmt(result["ttr"]),
        "pi_without": fmt(result["pi_without"]),
        "pi_with": fmt(result["pi_with"]),
        "pi_saved": fmt(result["pi_saved"]),
        "tts_without": fmt(_unbounded(result, "tts_without")),
        "tts_with": fmt(_unbounded(result, "tts_with")),
        "tts_gained": fmt(_unbounded(result, "tts_gained")),
        "closes_gap": result["closes_gap"],
        "marking": page.label_spec(spec) if spec is not None else None,
        "scenario": result["scenario"],
        "request_url": request_url(page, result),
    }


def request_url(page: Page, result: dict[str, Any]) -> str | None:
    """The draft form of a priority request for what the what-if found, or None when there is none to file.

    None for a user who may not file requests, and for an alternate of the user's own party (a priority
    request goes to the partner's firms).

    The form holds the firm and site of the alternate, the scenario and its first disrupted node (the item), a
    title and a justification quoting the figures: what a desk officer would otherwise copy by hand.
    """
    if not sosa_service.may_draft(page.principal):
        return None
    if result["firm"]["id"] not in {f.id for f in sosa_service.supplier_firms(page.session, page.principal)}:
        return None  # a firm of the user's own party: no request between the governments is needed
    try:
        scenario = get_scenario(page.session, page.principal, int(result["scenario"]))
    except NotFound:
        return None
    tts_without, tts_with = fmt(_unbounded(result, "tts_without")), fmt(_unbounded(result, "tts_with"))
    justification = (
        f"Registry what-if on scenario {scenario.scenario_id} ({scenario.label or 'no label'}): qualifying "
        f"{result['site']['name']} of {result['firm']['name']} for {result['material']} "
        f"({fmt(result['capacity'])} a week from week {fmt(result['qualification_weeks'])}) cuts the loss over the "
        f"TTR of {fmt(result['ttr'])} from {fmt(result['pi_without'])} to {fmt(result['pi_with'])} and moves TTS "
        f"from {tts_without} to {tts_with}."
    )
    query = {
        "network": scenario.network_id,
        "item": scenario.nodes[0] if scenario.nodes else "",
        "supplier": result["firm"]["id"],
        "site": result["site"]["name"],
        "scenario": scenario.id,
        "title": f"Priority delivery of {result['material']} from {result['site']['name']}"[:300],
        "justification": justification[:2000],
    }
    return "/sosa/new?" + urlencode(query)


def _job_page(request: Request, page: Page, job_id: int, *, message: str = "", status_code: int = 200) -> Response:
    if not 1 <= job_id <= MAX_ID:
        return page.not_found(request)
    try:
        job = get_job(page.session, page.principal, job_id)
    except NotFound:
        return page.not_found(request)
    result = result_of(job) or {}
    payload = payload_of(job)
    filename = str(payload.get("filename", ""))
    problems = [Problem(str(p["where"]), str(p["message"])) for p in result.get("problems", [])]
    values: dict[str, Any] = {
        "job": job,
        "kind_name": KIND_NAMES.get(job.kind, job.kind),
        "final": job.status in JOB_FINAL_STATUSES,
        "message": message,
        "filename": filename,
        "scenario": payload.get("scenario"),
        "problems": [problem_row(p, filename) for p in problems[:MAX_SHOWN]],
        "problem_total": int(result.get("problem_total", len(problems))),
        "effect": effect_of(page, job, result)
        if job.kind == "registry.what_if" and job.status == "succeeded"
        else None,
        "network_id": job.result_id if job.kind == "network.import" and job.status == "succeeded" else None,
    }
    return page.render(request, "jobs/detail.html", status_code=status_code, **values)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, page: PageDep, job_id: int) -> Response:
    """One of your jobs: its state while it waits or runs (the page follows it), then its result or error."""
    return _job_page(request, page, job_id)


@router.post("/jobs/{job_id}/cancel", response_class=HTMLResponse)
def job_cancel(request: Request, page: FormPageDep, job_id: int) -> Response:
    """Ask a queued or running job to stop (its creator, or an admin of their party), then show it again."""
    if not 1 <= job_id <= MAX_ID:
        return page.not_found(request)
    try:
        cancel_job(page.session, page.principal, job_id)
    except NotFound:
        return page.not_found(request)
    except JobStateError as exc:
        page.session.rollback()
        return _job_page(request, page, job_id, message=f"The job already ended: {exc.job_status}.", status_code=409)
    page.session.commit()
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
