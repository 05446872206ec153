"""The partner-source search: registry sources of a material, ranked, countries of concern last and flagged."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from setu.deps import StateDep
from setu.errors import SetuError
from setu.registry.codes import BY_CODE
from setu.registry.forms import add_problems, number
from setu.registry.sources import Source, find_sources
from setu.report.charts import fmt
from setu.sharing.requested import release_parties
from setu.web.shell import Page, PageDep

router = APIRouter(include_in_schema=False)

SOURCES_SHOWN = 100


def source_row(page: Page, rank: int, source: Source) -> dict[str, Any]:
    """A ranked source as a table row shows it, its marking counted into the page's banner.

    Parameters
    ----------
    page
        The page being built.
    rank
        The source's place, from 1.
    source
        The source.

    Returns
    -------
    dict
        The source, its code's name, headroom and delay formatted, and its marking label.
    """
    code = BY_CODE.get(source.capability.code)
    return {
        "rank": rank,
        "source": source,
        "code_name": code.name if code is not None else "",
        "headroom": fmt(source.headroom),
        "delay": fmt(source.delay),
        "marking": page.label_spec(source.marking),
    }


@router.get("/registry/sources", response_class=HTMLResponse)
def sources_page(
    request: Request,
    page: PageDep,
    state: StateDep,
    material: Annotated[str, Query(max_length=200)] = "",
    material_class: Annotated[str, Query(max_length=200)] = "",
    party: Annotated[str, Query(max_length=8)] = "",
    min_headroom: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Registry sources of a material, ranked: countries of concern last and flagged."""
    errors: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    searched = bool(material.strip())
    if searched:
        least = number(errors, "min_headroom", min_headroom, optional=True)
        if not errors:
            try:
                found = find_sources(
                    page.session,
                    page.principal,
                    material,
                    material_class=material_class.strip(),
                    party=party.strip() or None,
                    min_headroom=least or 0.0,
                    concern=state.settings.concern_countries,
                    limit=SOURCES_SHOWN,
                )
                rows = [source_row(page, i, s) for i, s in enumerate(found, 1)]
            except SetuError as exc:
                page.session.rollback()
                add_problems(errors, exc, "material")
    return page.render(
        request,
        "registry/sources.html",
        status_code=422 if errors else 200,
        rows=rows,
        searched=searched,
        errors=errors,
        filters={"material": material, "material_class": material_class, "party": party, "min_headroom": min_headroom},
        parties=[p.code for p in release_parties(page.session)],
        concern=sorted(state.settings.concern_countries),
    )
