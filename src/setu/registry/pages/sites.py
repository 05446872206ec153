"""The site list, the code list, a site with its capabilities, and the forms that keep them current."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.errors import AccessDenied, NotFound, SetuError
from setu.models.base import ReceivedReadOnly
from setu.models.parties import Organization
from setu.registry.access import may_write
from setu.registry.capabilities import (
    add_capability,
    capability_counts,
    delete_capability,
    get_capability,
    list_capabilities,
    update_capability,
)
from setu.registry.codes import BY_CODE, CODES, FAMILIES
from setu.registry.forms import (
    CapabilityForm,
    CapabilityPosted,
    NewSitePosted,
    SiteForm,
    SitePosted,
    add_problems,
    valid_id,
)
from setu.registry.sites import create_site, firm_of, firms_of, get_site, list_firms, list_sites, update_site
from setu.sharing.read import MAX_LIMIT
from setu.sharing.requested import release_parties, requested_marking
from setu.web.shell import PAGE_SIZE, FormPageDep, Page, PageDep

router = APIRouter(include_in_schema=False)

NO_FIRM = "Adding registry sites needs the industry role (your own firm) or admin."


def _saved(
    request: Request, page: Page, errors: dict[str, str], work: Callable[[], object], done: str
) -> Response | None:
    """Run one registry write and commit it: the redirect to ``done``, or the 404 or 403 page.

    None when the service found the fields wrong: its problems are added to ``errors`` and nothing is
    stored, so the caller shows its form again.
    """
    try:
        work()
        page.session.commit()
        return RedirectResponse(done, status_code=303)
    except NotFound:
        return page.not_found(request)
    except AccessDenied as exc:
        return page.forbidden(request, str(exc))
    except ReceivedReadOnly as exc:
        page.session.rollback()
        return page.conflict(request, f"Not changed: {exc}.", back=done.split("?")[0])
    except SetuError as exc:
        page.session.rollback()
        add_problems(errors, exc, "form")
        return None


def _writable_firms(page: Page) -> list[Organization]:
    """The visible firms the user may keep registry entries of (the service decides who may)."""
    return [f for f in list_firms(page.session, page.principal) if may_write(page.principal, f)]


# --- the site list and the code list -------------------------------------------------------------------


@router.get("/registry", response_class=HTMLResponse)
def registry_page(
    request: Request,
    page: PageDep,
    q: Annotated[str, Query(max_length=200)] = "",
    party: Annotated[str, Query(max_length=8)] = "",
    country: Annotated[str, Query(max_length=8)] = "",
    code: Annotated[str, Query(max_length=32)] = "",
    coc: Annotated[bool, Query()] = False,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The visible registry sites grouped by firm, searched, filtered and paged on the server."""
    offset = (page_number - 1) * PAGE_SIZE
    sites, total = list_sites(
        page.session,
        page.principal,
        party=party.strip() or None,
        country=country.strip() or None,
        text=q.strip(),
        code=code.strip() or None,
        code_of_conduct=coc,
        offset=offset,
        limit=PAGE_SIZE,
    )
    counts = capability_counts(page.session, page.principal, [s.id for s in sites])
    # list_sites answers only sites whose firm the reader may see.
    firms = firms_of(page.session, page.principal, sites)
    groups: list[dict[str, Any]] = []
    for site in sites:
        if not groups or groups[-1]["firm"].id != site.organization_id:
            firm = firms[site.organization_id]
            groups.append({"firm": firm, "marking": page.label(firm), "sites": []})
        groups[-1]["sites"].append({"record": site, "capabilities": counts[site.id], "marking": page.label(site)})
    filters = {"q": q, "party": party, "country": country, "code": code, "coc": coc}
    query = urlencode({k: v for k, v in filters.items() if v})
    return page.render(
        request,
        "registry/sites.html",
        groups=groups,
        total=total,
        filters=filters,
        query=query,
        parties=[p.code for p in release_parties(page.session)],
        codes=CODES,
        can_add=bool(_writable_firms(page)),
        page=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
        first=offset + 1 if sites else 0,
        last=offset + len(sites),
    )


@router.get("/registry/codes", response_class=HTMLResponse)
def codes_page(request: Request, page: PageDep) -> Response:
    """The capability code list, by family (public reference data: nothing on it is marked)."""
    families = [(prefix, name, [c for c in CODES if c.family == prefix]) for prefix, name in FAMILIES.items()]
    return page.render(request, "registry/codes.html", families=families)


# --- a site and its capabilities -----------------------------------------------------------------------


def _site_page(
    request: Request,
    page: Page,
    site_id: int,
    *,
    site_form: SiteForm | None = None,
    new_capability: CapabilityForm | None = None,
    edits: dict[int, CapabilityForm] | None = None,
    status_code: int = 200,
) -> Response:
    """Render a site's page; forms carry what was submitted and its errors when given."""
    try:
        site = get_site(page.session, page.principal, site_id)
    except NotFound:
        return page.not_found(request)
    # get_site answers only a site whose firm the reader may see.
    firm = firm_of(page.session, page.principal, site)
    capabilities, total = list_capabilities(page.session, page.principal, site_id=site.id, limit=MAX_LIMIT)
    edits = edits or {}
    rows = [
        {
            "record": c,
            "name": BY_CODE[c.code].name if c.code in BY_CODE else "",
            "headroom": max(0.0, c.capacity - c.committed),
            "marking": page.label(c),
            "form": edits.get(c.id) or CapabilityForm.of(c),
            "open": c.id in edits,
        }
        for c in capabilities
    ]
    return page.render(
        request,
        "registry/site.html",
        status_code=status_code,
        site=site,
        site_marking=page.label(site),
        firm=firm,
        firm_marking=page.label(firm),
        rows=rows,
        total=total,
        # A site shared by a partner's instance is changed there (its capabilities with it).
        can_write=site.received_from is None and may_write(page.principal, firm),
        site_form=site_form or SiteForm.of(site),
        site_form_open=site_form is not None,
        new_capability=new_capability or CapabilityForm(),
        codes=CODES,
        saved=request.query_params.get("saved", ""),
    )


@router.get("/registry/sites/new", response_class=HTMLResponse)
def new_site_page(request: Request, page: PageDep) -> Response:
    """The form to add a site of a firm the user may keep (their own firm; their party's firms for admins)."""
    firms = _writable_firms(page)
    if not firms:
        return page.forbidden(request, NO_FIRM)
    # Restrictive as offered: proprietary to the firm, and national-only unless the writer releases it.
    return page.render(request, "registry/site_new.html", firms=firms, form=SiteForm(proprietary=True))


@router.post("/registry/sites/new", response_class=HTMLResponse)
def new_site_submit(request: Request, page: FormPageDep, form: NewSitePosted) -> Response:
    """Store a new site; any problem shows the form again with it, storing nothing."""
    session, principal = page.session, page.principal
    values = form.fields()
    org_id = form.organization()
    if not form.errors and org_id is not None:
        try:
            # Unless released, the service's restrictive default (national-only, proprietary to the firm);
            # releasing is a government admin's decision, refused to others by the service.
            marking = None
            if form.release:
                marking = requested_marking(
                    session,
                    principal,
                    classification="0",
                    releases=[p.code for p in release_parties(session)],
                    national_only=False,
                    groups=None,
                    owners=None,
                )
            proprietary = form.proprietary or not form.release
            site = create_site(session, principal, org_id, marking=marking, proprietary=proprietary, **values)
            session.commit()
            return RedirectResponse(f"/registry/sites/{site.id}?saved=site", status_code=303)
        except AccessDenied as exc:
            return page.forbidden(request, str(exc))
        except NotFound:
            session.rollback()
            form.errors["organization_id"] = "no such firm"
        except SetuError as exc:
            session.rollback()
            add_problems(form.errors, exc, "form")
    firms = _writable_firms(page)
    if not firms:
        return page.forbidden(request, NO_FIRM)
    return page.render(request, "registry/site_new.html", status_code=422, firms=firms, form=form)


@router.get("/registry/sites/{site_id:int}", response_class=HTMLResponse)
def site_page(request: Request, page: PageDep, site_id: int) -> Response:
    """A site's details and capabilities; edit forms only for users who may keep the firm's entries."""
    if not valid_id(site_id):
        return page.not_found(request)
    return _site_page(request, page, site_id)


@router.post("/registry/sites/{site_id:int}/edit", response_class=HTMLResponse)
def site_edit(request: Request, page: FormPageDep, site_id: int, form: SitePosted) -> Response:
    """Change a site; the service refuses (403) a user who may not keep the firm's entries."""
    if not valid_id(site_id):
        return page.not_found(request)
    values = form.fields()
    if not form.errors:
        done = _saved(
            request,
            page,
            form.errors,
            lambda: update_site(page.session, page.principal, site_id, values, proprietary=form.proprietary),
            f"/registry/sites/{site_id}?saved=site",
        )
        if done is not None:
            return done
    return _site_page(request, page, site_id, site_form=form, status_code=422)


@router.post("/registry/sites/{site_id:int}/capabilities", response_class=HTMLResponse)
def capability_add(request: Request, page: FormPageDep, site_id: int, form: CapabilityPosted) -> Response:
    """Add a capability to a site; bad fields show the form again with their errors, storing nothing."""
    if not valid_id(site_id):
        return page.not_found(request)
    values = form.fields()
    if not form.errors:
        done = _saved(
            request,
            page,
            form.errors,
            lambda: add_capability(page.session, page.principal, site_id, **values),
            f"/registry/sites/{site_id}?saved=capability",
        )
        if done is not None:
            return done
    return _site_page(request, page, site_id, new_capability=form, status_code=422)


@router.post("/registry/capabilities/{capability_id:int}/edit", response_class=HTMLResponse)
def capability_edit(request: Request, page: FormPageDep, capability_id: int, form: CapabilityPosted) -> Response:
    """Change a capability; the service refuses (403) a user who may not keep the firm's entries."""
    if not valid_id(capability_id):
        return page.not_found(request)
    values = form.fields()
    try:
        capability = get_capability(page.session, page.principal, capability_id, action="registry.capability.update")
    except NotFound:
        return page.not_found(request)
    site_id = capability.site_id
    if not form.errors:
        done = _saved(
            request,
            page,
            form.errors,
            lambda: update_capability(page.session, page.principal, capability_id, values),
            f"/registry/sites/{site_id}?saved=capability",
        )
        if done is not None:
            return done
    return _site_page(request, page, site_id, edits={capability_id: form}, status_code=422)


@router.post("/registry/capabilities/{capability_id:int}/delete", response_class=HTMLResponse)
def capability_delete(request: Request, page: FormPageDep, capability_id: int) -> Response:
    """Remove a capability; the service refuses (403) a user who may not keep the firm's entries."""
    if not valid_id(capability_id):
        return page.not_found(request)
    try:
        capability = get_capability(page.session, page.principal, capability_id, action="registry.capability.delete")
        site_id = capability.site_id
        delete_capability(page.session, page.principal, capability_id)
        page.session.commit()
    except NotFound:
        return page.not_found(request)
    except AccessDenied as exc:
        return page.forbidden(request, str(exc))
    return RedirectResponse(f"/registry/sites/{site_id}?saved=removed", status_code=303)
