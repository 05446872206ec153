"""The mitigation what-if: sites able to replace what a stored scenario loses, and one qualified as an alternate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.deps import StateDep
from setu.errors import NotFound, SetuError, TooManyRequests
from setu.jobs.forms import job_limits, page_path, wake
from setu.jobs.submit import submit_what_if
from setu.networks.reads import get_network
from setu.registry.forms import WhatIfPosted, valid_id
from setu.registry.mitigation import Alternates, rank_alternates
from setu.registry.pages.sources import source_row
from setu.report.charts import fmt
from setu.web.shell import FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)

ALTERNATES_SHOWN = 50


def _alternates_context(page: Page, answer: Alternates) -> dict[str, Any]:
    """The scenario, its lost materials and the ranked alternates, each marked."""
    stored = answer.scenario
    try:
        network = get_network(page.session, page.principal, stored.network_id)
    except NotFound:
        network = None
    return {
        "scenario": stored,
        "scenario_marking": page.label(stored),
        "network": network,
        "answer_marking": page.label_spec(answer.marking),
        "lost": [
            {
                "item": m,
                "lost_rate": fmt(m.lost_rate),
                "pi_relief": fmt(m.pi_relief),
            }
            for m in answer.lost
        ],
        "alternates": [
            {
                **source_row(page, i, a.source),
                "material": a.lost.material,
                "score": f"{a.score:.2f}",
                "coverage": f"{a.coverage:.0%}",
                "timeliness": f"{a.timeliness:.0%}",
            }
            for i, a in enumerate(answer.alternates, 1)
        ],
    }


def _what_if_page(
    request: Request,
    page: Page,
    state_concern: frozenset[str],
    scenario: int | None,
    party: str,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    """The what-if page of ``scenario`` (the scenario library's pointer when None), with an answer or error if any."""
    if scenario is None:
        return page.render(request, "registry/what_if.html", scenario=None, party=party, error=error)
    if not valid_id(scenario):
        return page.not_found(request)
    try:
        answer = rank_alternates(
            page.session,
            page.principal,
            scenario,
            party=party.strip() or None,
            concern=state_concern,
            limit=ALTERNATES_SHOWN,
        )
    except NotFound:
        return page.not_found(request)
    except SetuError as exc:
        page.session.rollback()
        return page.render(
            request, "registry/what_if.html", status_code=409, scenario=None, party=party, error=str(exc)
        )
    return page.render(
        request,
        "registry/what_if.html",
        status_code=status_code,
        party=party,
        error=error,
        **_alternates_context(page, answer),
    )


@router.get("/registry/what-if", response_class=HTMLResponse)
def what_if_page(
    request: Request,
    page: PageDep,
    state: StateDep,
    scenario: Annotated[str, Query(max_length=20)] = "",
    party: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """The registry sites able to replace what a stored scenario loses, ranked, each with a what-if form."""
    if scenario and not scenario.isdigit():
        return page.not_found(request)
    pk = int(scenario) if scenario else None
    return _what_if_page(request, page, state.settings.concern_countries, pk, party)


@router.post("/registry/what-if", response_class=HTMLResponse)
def what_if_submit(request: Request, page: FormPageDep, state: StateDep, form: WhatIfPosted) -> Response:
    """Queue a re-run of the scenario with one alternate qualified; the job page shows PI and TTS without and with it.

    A scenario or capability the user cannot see is the 404 page at once; a user or server at their
    job cap gets this page again with the reason (429 or 503, with ``Retry-After``).
    """
    ids = form.ids()
    if ids is None:
        return page.not_found(request)
    scenario_pk, capability_pk = ids
    concern = state.settings.concern_countries
    try:
        job = submit_what_if(
            page.session,
            page.principal,
            scenario_pk,
            capability_pk,
            material=form.material.strip() or None,
            concern=concern,
            limits=job_limits(state),
        )
    except NotFound:
        return page.not_found(request)
    except TooManyRequests as exc:
        page.session.rollback()
        refused = _what_if_page(request, page, concern, scenario_pk, form.party, error=str(exc), status_code=exc.status)
        refused.headers.update(exc.http_headers)
        return refused
    wake(request)
    return RedirectResponse(page_path(job), status_code=303)
