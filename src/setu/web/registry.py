"""Registry pages: sites and capabilities, the partner-source search and the mitigation what-if."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from setu.deps import SessionDep, StateDep
from setu.errors import AccessDenied, InputError, NotFound, SetuError
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite
from setu.networks.reads import get_network
from setu.registry import service
from setu.registry.codes import BY_CODE, CODES, FAMILIES
from setu.registry.mitigation import Alternates, WhatIf, rank_alternates, what_if
from setu.report.charts import fmt
from setu.schemas import MAX_ID
from setu.sharing.read import MAX_LIMIT
from setu.sharing.requested import release_parties, requested_marking
from setu.web.shell import CSRF_FIELD, PAGE_SIZE, Page, csrf_ok, signed_in, to_login

router = APIRouter(include_in_schema=False)

BAD_FORM = "The form has expired or did not come from Setu."
ALTERNATES_SHOWN = 50
SOURCES_SHOWN = 100
Text = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=300)]


# --- forms ----------------------------------------------------------------------------------------------


@dataclass
class SiteForm:
    """A site form as submitted (or as the stored site fills it), with its field errors."""

    organization_id: str = ""
    name: str = ""
    country: str = ""
    region: str = ""
    latitude: str = ""
    longitude: str = ""
    chokepoints: str = ""
    proprietary: bool = False
    national_only: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, site: RegistrySite) -> SiteForm:
        """The form filled with ``site``'s stored values."""
        return cls(
            organization_id=str(site.organization_id),
            name=site.name,
            country=site.country,
            region=site.region,
            latitude="" if site.latitude is None else f"{site.latitude:g}",
            longitude="" if site.longitude is None else f"{site.longitude:g}",
            chokepoints=", ".join(site.chokepoints),
            proprietary=bool(service.marking_of(site).owners),
        )

    def fields(self) -> dict[str, Any]:
        """The site fields for the service; unparsable numbers become field errors."""
        return {
            "name": self.name,
            "country": self.country,
            "region": self.region,
            "latitude": _number(self.errors, "latitude", self.latitude, optional=True),
            "longitude": _number(self.errors, "longitude", self.longitude, optional=True),
            "chokepoints": [c for c in (part.strip() for part in self.chokepoints.split(",")) if c],
        }


@dataclass
class CapabilityForm:
    """A capability form as submitted (or as the stored capability fills it), with its field errors."""

    code: str = ""
    material: str = ""
    capacity: str = ""
    committed: str = "0"
    unit: str = ""
    lead_time_weeks: str = "0"
    qualification_weeks: str = "0"
    notes: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, capability: Capability) -> CapabilityForm:
        """The form filled with ``capability``'s stored values."""
        return cls(
            code=capability.code,
            material=capability.material,
            capacity=f"{capability.capacity:g}",
            committed=f"{capability.committed:g}",
            unit=capability.unit,
            lead_time_weeks=f"{capability.lead_time_weeks:g}",
            qualification_weeks=f"{capability.qualification_weeks:g}",
            notes=capability.notes,
        )

    def fields(self) -> dict[str, Any]:
        """The capability fields for the service; unparsable numbers become field errors."""
        return {
            "code": self.code,
            "material": self.material,
            "capacity": _number(self.errors, "capacity", self.capacity),
            "committed": _number(self.errors, "committed", self.committed, empty=0.0),
            "unit": self.unit,
            "lead_time_weeks": _number(self.errors, "lead_time_weeks", self.lead_time_weeks, empty=0.0),
            "qualification_weeks": _number(self.errors, "qualification_weeks", self.qualification_weeks, empty=0.0),
            "notes": self.notes,
        }


def _number(errors: dict[str, str], name: str, text: str, *, optional: bool = False, empty: float | None = None) -> Any:
    """``text`` as a number; when empty ``None`` if optional, else ``empty`` if given, else a field error."""
    text = text.strip()
    if not text:
        if optional or empty is not None:
            return empty
        errors[name] = "enter a number"
        return 0.0
    try:
        value = float(text)
    except ValueError:
        errors[name] = f"expected a number, got {text!r}"
        return 0.0
    if not math.isfinite(value):
        errors[name] = f"expected a finite number, got {text!r}"
        return 0.0
    return value


def _problems(errors: dict[str, str], exc: SetuError, default: str) -> None:
    """Put the service's problems next to the fields they name (the rest at the form's top)."""
    if isinstance(exc, InputError):
        for problem in exc.problems:
            key = problem.where or default
            errors[key] = f"{errors[key]}; {problem.message}" if key in errors else problem.message
    else:
        errors[default] = str(exc)


# --- the site list -------------------------------------------------------------------------------------


def posted_capability(
    code: Short = "",
    material: Short = "",
    capacity: Short = "",
    committed: Short = "",
    unit: Short = "",
    lead_time_weeks: Short = "",
    qualification_weeks: Short = "",
    notes: Text = "",
) -> CapabilityForm:
    """The capability fields of a posted form, as typed (adding and editing a capability take the same)."""
    return CapabilityForm(code, material, capacity, committed, unit, lead_time_weeks, qualification_weeks, notes)


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
    except SetuError as exc:
        page.session.rollback()
        _problems(errors, exc, "form")
        return None


def _writable_firms(page: Page) -> list[Organization]:
    """The visible firms the user may keep registry entries of (the service decides who may)."""
    return [f for f in service.list_firms(page.session, page.principal) if service.may_write(page.principal, f)]


@router.get("/registry", response_class=HTMLResponse)
def registry_page(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    party: Annotated[str, Query(max_length=8)] = "",
    country: Annotated[str, Query(max_length=8)] = "",
    code: Annotated[str, Query(max_length=32)] = "",
    coc: Annotated[bool, Query()] = False,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The visible registry sites grouped by firm, searched, filtered and paged on the server."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    offset = (page_number - 1) * PAGE_SIZE
    sites, total = service.list_sites(
        session,
        auth.principal,
        party=party.strip() or None,
        country=country.strip() or None,
        text=q.strip(),
        code=code.strip() or None,
        code_of_conduct=coc,
        offset=offset,
        limit=PAGE_SIZE,
    )
    counts = service.capability_counts(session, auth.principal, [s.id for s in sites])
    groups: list[dict[str, Any]] = []
    for site in sites:
        if not groups or groups[-1]["firm"].id != site.organization_id:
            # list_sites answers only sites whose firm the reader may see.
            firm = session.get(Organization, site.organization_id)
            assert firm is not None
            groups.append({"firm": firm, "marking": page.label(firm), "sites": []})
        groups[-1]["sites"].append({"record": site, "capabilities": counts[site.id], "marking": page.label(site)})
    filters = {"q": q, "party": party, "country": country, "code": code, "coc": coc}
    query = urlencode({k: v for k, v in filters.items() if v})
    return page.render(
        request,
        "registry.html",
        groups=groups,
        total=total,
        filters=filters,
        query=query,
        parties=[p.code for p in release_parties(session)],
        codes=CODES,
        can_add=bool(_writable_firms(page)),
        page=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
        first=offset + 1 if sites else 0,
        last=offset + len(sites),
    )


@router.get("/registry/codes", response_class=HTMLResponse)
def codes_page(request: Request, session: SessionDep) -> Response:
    """The capability code list, by family (public reference data: nothing on it is marked)."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    families = [(prefix, name, [c for c in CODES if c.family == prefix]) for prefix, name in FAMILIES.items()]
    return Page(session, auth).render(request, "registry_codes.html", families=families)


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
        site = service.get_site(page.session, page.principal, site_id)
    except NotFound:
        return page.not_found(request)
    # get_site answers only a site whose firm the reader may see.
    firm = page.session.get(Organization, site.organization_id)
    assert firm is not None
    capabilities, total = service.list_capabilities(page.session, page.principal, site_id=site.id, limit=MAX_LIMIT)
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
        "registry_site.html",
        status_code=status_code,
        site=site,
        site_marking=page.label(site),
        firm=firm,
        firm_marking=page.label(firm),
        rows=rows,
        total=total,
        can_write=service.may_write(page.principal, firm),
        site_form=site_form or SiteForm.of(site),
        site_form_open=site_form is not None,
        new_capability=new_capability or CapabilityForm(),
        codes=CODES,
        saved=request.query_params.get("saved", ""),
    )


def _valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


@router.get("/registry/sites/new", response_class=HTMLResponse)
def new_site_page(request: Request, session: SessionDep) -> Response:
    """The form to add a site of a firm the user may keep (their own firm; their party's firms for admins)."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    firms = _writable_firms(page)
    if not firms:
        return page.forbidden(request, "Adding registry sites needs the industry role (your own firm) or admin.")
    return page.render(request, "registry_site_new.html", firms=firms, form=SiteForm())


@router.post("/registry/sites/new", response_class=HTMLResponse)
def new_site_submit(
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    organization_id: Short = "",
    name: Short = "",
    country: Short = "",
    region: Short = "",
    latitude: Short = "",
    longitude: Short = "",
    chokepoints: Text = "",
    proprietary: Annotated[bool, Form()] = False,
    national_only: Annotated[bool, Form()] = False,
) -> Response:
    """Store a new site; any problem shows the form again with it, storing nothing."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, BAD_FORM)
    form = SiteForm(
        organization_id, name, country, region, latitude, longitude, chokepoints, proprietary, national_only
    )
    values = form.fields()
    org_id = int(organization_id) if organization_id.isdigit() and _valid_id(int(organization_id)) else None
    if org_id is None:
        form.errors["organization_id"] = "choose the firm"
    if not form.errors and org_id is not None:
        try:
            marking = None
            if national_only:
                marking = requested_marking(
                    session,
                    auth.principal,
                    classification="0",
                    releases=[auth.principal.party],
                    national_only=True,
                    groups=None,
                    owners=None,
                )
            site = service.create_site(
                session, auth.principal, org_id, marking=marking, proprietary=proprietary, **values
            )
            session.commit()
            return RedirectResponse(f"/registry/sites/{site.id}?saved=site", status_code=303)
        except AccessDenied as exc:
            return page.forbidden(request, str(exc))
        except NotFound:
            session.rollback()
            form.errors["organization_id"] = "no such firm"
        except SetuError as exc:
            session.rollback()
            _problems(form.errors, exc, "form")
    firms = _writable_firms(page)
    if not firms:
        return page.forbidden(request, "Adding registry sites needs the industry role (your own firm) or admin.")
    return page.render(request, "registry_site_new.html", status_code=422, firms=firms, form=form)


@router.get("/registry/sites/{site_id:int}", response_class=HTMLResponse)
def site_page(request: Request, session: SessionDep, site_id: int) -> Response:
    """A site's details and capabilities; edit forms only for users who may keep the firm's entries."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not _valid_id(site_id):
        return page.not_found(request)
    return _site_page(request, page, site_id)


@router.post("/registry/sites/{site_id:int}/edit", response_class=HTMLResponse)
def site_edit(
    request: Request,
    session: SessionDep,
    site_id: int,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    name: Short = "",
    country: Short = "",
    region: Short = "",
    latitude: Short = "",
    longitude: Short = "",
    chokepoints: Text = "",
    proprietary: Annotated[bool, Form()] = False,
) -> Response:
    """Change a site; the service refuses (403) a user who may not keep the firm's entries."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, BAD_FORM)
    if not _valid_id(site_id):
        return page.not_found(request)
    form = SiteForm("", name, country, region, latitude, longitude, chokepoints, proprietary)
    values = form.fields()
    if not form.errors:
        done = _saved(
            request,
            page,
            form.errors,
            lambda: service.update_site(session, auth.principal, site_id, values, proprietary=proprietary),
            f"/registry/sites/{site_id}?saved=site",
        )
        if done is not None:
            return done
    return _site_page(request, page, site_id, site_form=form, status_code=422)


@router.post("/registry/sites/{site_id:int}/capabilities", response_class=HTMLResponse)
def capability_add(
    request: Request,
    session: SessionDep,
    site_id: int,
    form: Annotated[CapabilityForm, Depends(posted_capability)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Add a capability to a site; bad fields show the form again with their errors, storing nothing."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, BAD_FORM)
    if not _valid_id(site_id):
        return page.not_found(request)
    values = form.fields()
    if not form.errors:
        done = _saved(
            request,
            page,
            form.errors,
            lambda: service.add_capability(session, auth.principal, site_id, **values),
            f"/registry/sites/{site_id}?saved=capability",
        )
        if done is not None:
            return done
    return _site_page(request, page, site_id, new_capability=form, status_code=422)


@router.post("/registry/capabilities/{capability_id:int}/edit", response_class=HTMLResponse)
def capability_edit(
    request: Request,
    session: SessionDep,
    capability_id: int,
    form: Annotated[CapabilityForm, Depends(posted_capability)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Change a capability; the service refuses (403) a user who may not keep the firm's entries."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, BAD_FORM)
    if not _valid_id(capability_id):
        return page.not_found(request)
    values = form.fields()
    try:
        capability = service.get_capability(session, auth.principal, capability_id, action="registry.capability.update")
    except NotFound:
        return page.not_found(request)
    site_id = capability.site_id
    if not form.errors:
        done = _saved(
            request,
            page,
            form.errors,
            lambda: service.update_capability(session, auth.principal, capability_id, values),
            f"/registry/sites/{site_id}?saved=capability",
        )
        if done is not None:
            return done
    return _site_page(request, page, site_id, edits={capability_id: form}, status_code=422)


@router.post("/registry/capabilities/{capability_id:int}/delete", response_class=HTMLResponse)
def capability_delete(
    request: Request,
    session: SessionDep,
    capability_id: int,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Remove a capability; the service refuses (403) a user who may not keep the firm's entries."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, BAD_FORM)
    if not _valid_id(capability_id):
        return page.not_found(request)
    try:
        capability = service.get_capability(session, auth.principal, capability_id, action="registry.capability.delete")
        site_id = capability.site_id
        service.delete_capability(session, auth.principal, capability_id)
        session.commit()
    except NotFound:
        return page.not_found(request)
    except AccessDenied as exc:
        return page.forbidden(request, str(exc))
    return RedirectResponse(f"/registry/sites/{site_id}?saved=removed", status_code=303)


# --- partner sources -----------------------------------------------------------------------------------


def _source_row(page: Page, rank: int, source: service.Source) -> dict[str, Any]:
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
    session: SessionDep,
    state: StateDep,
    material: Annotated[str, Query(max_length=200)] = "",
    material_class: Annotated[str, Query(max_length=200)] = "",
    party: Annotated[str, Query(max_length=8)] = "",
    min_headroom: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Registry sources of a material, ranked: countries of concern last and flagged."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    errors: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    searched = bool(material.strip())
    if searched:
        least = _number(errors, "min_headroom", min_headroom, optional=True)
        if not errors:
            try:
                found = service.find_sources(
                    session,
                    auth.principal,
                    material,
                    material_class=material_class.strip(),
                    party=party.strip() or None,
                    min_headroom=least or 0.0,
                    concern=state.settings.concern_countries,
                    limit=SOURCES_SHOWN,
                )
                rows = [_source_row(page, i, s) for i, s in enumerate(found, 1)]
            except SetuError as exc:
                session.rollback()
                _problems(errors, exc, "material")
    return page.render(
        request,
        "registry_sources.html",
        status_code=422 if errors else 200,
        rows=rows,
        searched=searched,
        errors=errors,
        filters={"material": material, "material_class": material_class, "party": party, "min_headroom": min_headroom},
        parties=[p.code for p in release_parties(session)],
        concern=sorted(state.settings.concern_countries),
    )


# --- mitigation what-if --------------------------------------------------------------------------------


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
                **_source_row(page, i, a.source),
                "material": a.lost.material,
                "score": f"{a.score:.2f}",
                "coverage": f"{a.coverage:.0%}",
                "timeliness": f"{a.timeliness:.0%}",
            }
            for i, a in enumerate(answer.alternates, 1)
        ],
    }


def effect_context(page: Page, answer: WhatIf) -> dict[str, Any]:
    """The what-if answer as the page shows it: PI and TTS without and with the alternate, and the saving.

    Parameters
    ----------
    page
        The page (the answer's combined marking is counted into its banner).
    answer
        The service's what-if.

    Returns
    -------
    dict
        Formatted values (:func:`setu.report.charts.fmt`, ``∞`` for an unbounded TTS) and the marking label.
    """
    e = answer.effect
    site = answer.source.site
    return {
        "material": e.material,
        "capability": answer.source.capability,
        "site": site,
        "firm": answer.source.organization,
        "capacity": fmt(e.capacity),
        "qualification": fmt(e.qualification),
        "ttr": fmt(e.ttr),
        "pi_without": fmt(e.pi_without),
        "pi_with": fmt(e.pi_with),
        "pi_saved": fmt(e.pi_saved),
        "tts_without": fmt(e.tts_without),
        "tts_with": fmt(e.tts_with),
        "tts_gained": fmt(e.tts_gained),
        "closes_gap": e.closes_gap,
        "marking": page.label_spec(answer.marking),
    }


def _what_if_page(
    request: Request,
    page: Page,
    state_concern: frozenset[str],
    scenario: int | None,
    party: str,
    *,
    effect: dict[str, Any] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    if scenario is None:
        return page.render(request, "registry_what_if.html", scenario=None, party=party, error=error)
    if not _valid_id(scenario):
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
            request, "registry_what_if.html", status_code=409, scenario=None, party=party, error=str(exc)
        )
    return page.render(
        request,
        "registry_what_if.html",
        status_code=status_code,
        party=party,
        effect=effect,
        error=error,
        **_alternates_context(page, answer),
    )


@router.get("/registry/what-if", response_class=HTMLResponse)
def what_if_page(
    request: Request,
    session: SessionDep,
    state: StateDep,
    scenario: Annotated[str, Query(max_length=20)] = "",
    party: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """The registry sites able to replace what a stored scenario loses, ranked, each with a what-if form."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if scenario and not scenario.isdigit():
        return page.not_found(request)
    pk = int(scenario) if scenario else None
    return _what_if_page(request, page, state.settings.concern_countries, pk, party)


@router.post("/registry/what-if", response_class=HTMLResponse)
def what_if_submit(
    request: Request,
    session: SessionDep,
    state: StateDep,
    csrf: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    scenario: Short = "",
    capability_id: Short = "",
    material: Short = "",
    party: Short = "",
) -> Response:
    """Re-run the scenario with one alternate qualified; the answer shows PI and TTS without and with it."""
    auth = signed_in(request, session)
    if auth is None:
        return to_login()
    page = Page(session, auth)
    if not csrf_ok(auth, csrf):
        return page.forbidden(request, BAD_FORM)
    if not (scenario.isdigit() and capability_id.isdigit()):
        return page.not_found(request)
    scenario_pk, capability_pk = int(scenario), int(capability_id)
    if not (_valid_id(scenario_pk) and _valid_id(capability_pk)):
        return page.not_found(request)
    concern = state.settings.concern_countries
    try:
        answer = what_if(
            session, auth.principal, scenario_pk, capability_pk, material=material.strip() or None, concern=concern
        )
    except NotFound:
        return page.not_found(request)
    except SetuError as exc:
        session.rollback()
        return _what_if_page(request, page, concern, scenario_pk, party, error=str(exc), status_code=422)
    effect = effect_context(page, answer)
    return _what_if_page(request, page, concern, scenario_pk, party, effect=effect)
