"""The federation page (admins and auditors): each partner's link, what the next publish sends, retractions, forks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from setu.errors import AccessDenied
from setu.federation.operator import operator_view
from setu.web.shell import PageDep

router = APIRouter(include_in_schema=False)


@router.get("/federation", response_class=HTMLResponse)
def federation_page(request: Request, page: PageDep) -> HTMLResponse:
    """Every link as this admin or auditor may see it; 403 for anyone else."""
    try:
        view = operator_view(page.session, page.principal)
    except AccessDenied:
        return page.render(request, "federation/operator.html", status_code=403, view=None, refused=True)
    return page.render(request, "federation/operator.html", view=view, refused=False)
