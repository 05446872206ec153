"""HTTP endpoints of the registry: sites, capabilities, the code list, source search, alternates and the what-if."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from setu.deps import AuthDep, Marker, MarkerDep, SessionDep, StateDep
from setu.jobs.forms import JOB_LIMITED, accepted, job_limits
from setu.jobs.schemas import JobOut
from setu.jobs.submit import submit_what_if
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite
from setu.registry.capabilities import (
    add_capability,
    delete_capability,
    get_capability,
    list_capabilities,
    update_capability,
)
from setu.registry.codes import CODES
from setu.registry.mitigation import rank_alternates
from setu.registry.schemas import (
    AlternateOut,
    AlternatesOut,
    CapabilityIn,
    CapabilityOut,
    CapabilityPage,
    CapabilityPatch,
    CodeOut,
    LostMaterialOut,
    MarkingIn,
    SiteIn,
    SiteOut,
    SitePage,
    SitePatch,
    SourceList,
    SourceOut,
    WhatIfIn,
)
from setu.registry.sites import create_site, delete_site, firm_of, firms_of, get_site, list_sites, update_site
from setu.registry.sources import Source, find_sources
from setu.schemas import ERROR_RESPONSES, MAX_ID, Text
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.sharing.read import MAX_LIMIT
from setu.sharing.requested import requested_marking

router = APIRouter(prefix="/registry", tags=["registry"], responses=ERROR_RESPONSES)

SiteId = Annotated[int, Path(ge=1, le=MAX_ID, description="The site's id.")]
CapabilityId = Annotated[int, Path(ge=1, le=MAX_ID, description="The capability's id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most items to return.")]
PartyQuery = Annotated[Text | None, Query(min_length=1, max_length=8, description="Only firms of this party.")]


def _marking(session: Session, principal: Principal, body: MarkingIn | None) -> MarkingSpec | None:
    """The marking ``body`` asks for (releases default to the writer's party), or ``None`` for the default."""
    if body is None:
        return None
    return requested_marking(
        session,
        principal,
        classification=body.classification,
        releases=body.releases,
        national_only=body.national_only,
        groups=body.groups,
        owners=None,
    )


def site_out(marker: Marker, site: RegistrySite, firm: Organization | None = None) -> SiteOut:
    """A site as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    site
        A visible site.
    firm
        Its firm, when the caller already read it (else it is read here).

    Returns
    -------
    SiteOut
        The site, its firm and its marking.
    """
    org = firm or firm_of(marker.session, marker.principal, site)
    return SiteOut(
        id=site.id,
        organization_id=org.id,
        organization=org.name,
        party=org.party_code,
        code_of_conduct=org.code_of_conduct,
        name=site.name,
        country=site.country,
        region=site.region,
        latitude=site.latitude,
        longitude=site.longitude,
        chokepoints=list(site.chokepoints),
        updated_at=site.updated_at,
        marking=marker.of(site),
    )


def capability_out(marker: Marker, capability: Capability) -> CapabilityOut:
    """A capability as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    capability
        A visible capability.

    Returns
    -------
    CapabilityOut
        The capability with its headroom and marking.
    """
    return CapabilityOut(
        id=capability.id,
        site_id=capability.site_id,
        code=capability.code,
        material=capability.material,
        capacity=capability.capacity,
        committed=capability.committed,
        headroom=max(0.0, capability.capacity - capability.committed),
        unit=capability.unit,
        lead_time_weeks=capability.lead_time_weeks,
        qualification_weeks=capability.qualification_weeks,
        notes=capability.notes,
        marking=marker.of(capability),
    )


def source_out(marker: Marker, rank: int, source: Source) -> SourceOut:
    """A ranked source as answers show it.

    Parameters
    ----------
    marker
        The request's marker.
    rank
        Its place, from 1.
    source
        The source.

    Returns
    -------
    SourceOut
        The source, its site and capability, and their combined marking.
    """
    return SourceOut(
        rank=rank,
        capability=capability_out(marker, source.capability),
        site=site_out(marker, source.site, source.organization),
        match="material" if source.match == "material" else "capability",
        headroom=source.headroom,
        delay_weeks=source.delay,
        concern=source.concern,
        code_of_conduct=source.code_of_conduct,
        marking=marker.out(source.marking),
    )


@router.get("/codes")
def get_codes(auth: AuthDep) -> list[CodeOut]:
    """The capability code list (docs/registry.md): code, family, what it covers, classes and materials."""
    return [
        CodeOut(
            code=c.code,
            family=c.family,
            name=c.name,
            description=c.description,
            material_classes=list(c.material_classes),
            materials=list(c.materials),
        )
        for c in CODES
    ]


@router.get("/sites")
def get_sites(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    organization_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    party: PartyQuery = None,
    country: Annotated[Text | None, Query(min_length=1, max_length=8)] = None,
    q: Annotated[Text, Query(max_length=200, description="Text in the site's name or region.")] = "",
    offset: Offset = 0,
    limit: Limit = 100,
) -> SitePage:
    """Visible registry sites, by firm and name."""
    rows, total = list_sites(
        session,
        auth.principal,
        organization_id=organization_id,
        party=party,
        country=country,
        text=q,
        offset=offset,
        limit=limit,
    )
    firms = firms_of(session, auth.principal, rows)
    items = [site_out(marker, r, firms[r.organization_id]) for r in rows]
    out = marker.listing(SitePage, rows, items, total, offset, limit)
    session.commit()
    return out


@router.post("/sites", status_code=201)
def new_site(auth: AuthDep, session: SessionDep, marker: MarkerDep, body: SiteIn) -> SiteOut:
    """Add a site of a firm (an industry user for their own firm, an admin for their party's firms)."""
    site = create_site(
        session,
        auth.principal,
        body.organization_id,
        name=body.name,
        country=body.country,
        region=body.region,
        latitude=body.latitude,
        longitude=body.longitude,
        chokepoints=body.chokepoints,
        marking=_marking(session, auth.principal, body.marking),
        proprietary=body.proprietary,
    )
    out = site_out(marker, site)
    session.commit()
    return out


@router.get("/sites/{site_id}")
def get_one_site(auth: AuthDep, session: SessionDep, marker: MarkerDep, site_id: SiteId) -> SiteOut:
    """One site; a site you may not see answers 404 as a missing one."""
    out = site_out(marker, get_site(session, auth.principal, site_id))
    session.commit()
    return out


@router.patch("/sites/{site_id}")
def patch_site(auth: AuthDep, session: SessionDep, marker: MarkerDep, site_id: SiteId, body: SitePatch) -> SiteOut:
    """Change a site (its firm's industry users, or its party's admins)."""
    changes = body.model_dump(exclude_unset=True, exclude={"marking", "proprietary"})
    site = update_site(
        session,
        auth.principal,
        site_id,
        changes,
        marking=_marking(session, auth.principal, body.marking),
        proprietary=body.proprietary,
    )
    out = site_out(marker, site)
    session.commit()
    return out


@router.delete("/sites/{site_id}", status_code=204, response_class=Response)
def remove_site(auth: AuthDep, session: SessionDep, site_id: SiteId) -> Response:
    """Remove a site and its capabilities."""
    delete_site(session, auth.principal, site_id)
    session.commit()
    return Response(status_code=204)


@router.get("/capabilities")
def get_capabilities(
    auth: AuthDep,
    session: SessionDep,
    marker: MarkerDep,
    site_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    code: Annotated[Text | None, Query(min_length=1, max_length=32, description="A code or a family.")] = None,
    material: Annotated[Text | None, Query(min_length=1, max_length=200)] = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> CapabilityPage:
    """Visible capabilities, by site, code and material."""
    rows, total = list_capabilities(
        session, auth.principal, site_id=site_id, code=code, material=material, offset=offset, limit=limit
    )
    out = marker.listing(CapabilityPage, rows, [capability_out(marker, r) for r in rows], total, offset, limit)
    session.commit()
    return out


@router.post("/sites/{site_id}/capabilities", status_code=201)
def new_capability(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, site_id: SiteId, body: CapabilityIn
) -> CapabilityOut:
    """Record what a site can make: code, material, capacity and commitments, lead and qualification time."""
    capability = add_capability(
        session,
        auth.principal,
        site_id,
        code=body.code,
        material=body.material,
        capacity=body.capacity,
        committed=body.committed,
        unit=body.unit,
        lead_time_weeks=body.lead_time_weeks,
        qualification_weeks=body.qualification_weeks,
        notes=body.notes,
        marking=_marking(session, auth.principal, body.marking),
    )
    out = capability_out(marker, capability)
    session.commit()
    return out


@router.get("/capabilities/{capability_id}")
def get_one_capability(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, capability_id: CapabilityId
) -> CapabilityOut:
    """One capability; one you may not see answers 404 as a missing one."""
    out = capability_out(marker, get_capability(session, auth.principal, capability_id))
    session.commit()
    return out


@router.patch("/capabilities/{capability_id}")
def patch_capability(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, capability_id: CapabilityId, body: CapabilityPatch
) -> CapabilityOut:
    """Change a capability (capacity, commitments, lead and qualification times ...)."""
    changes = body.model_dump(exclude_unset=True)
    out = capability_out(marker, update_capability(session, auth.principal, capability_id, changes))
    session.commit()
    return out


@router.delete("/capabilities/{capability_id}", status_code=204, response_class=Response)
def remove_capability(auth: AuthDep, session: SessionDep, capability_id: CapabilityId) -> Response:
    """Remove a capability."""
    delete_capability(session, auth.principal, capability_id)
    session.commit()
    return Response(status_code=204)


@router.get("/sources")
def get_sources(
    auth: AuthDep,
    session: SessionDep,
    state: StateDep,
    marker: MarkerDep,
    material: Annotated[Text, Query(min_length=1, max_length=200, description="The wanted material.")],
    material_class: Annotated[Text, Query(max_length=200, description="Its class, to match by code.")] = "",
    party: PartyQuery = None,
    min_headroom: Annotated[float, Query(ge=0, le=1e12, allow_inf_nan=False)] = 0.0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> SourceList:
    """Registry sites able to make a material, ranked (countries of concern last, flagged)."""
    found = find_sources(
        session,
        auth.principal,
        material,
        material_class=material_class,
        party=party,
        min_headroom=min_headroom,
        concern=state.settings.concern_countries,
        limit=limit,
    )
    banner = marker.page(s.marking for s in found)
    out = SourceList(
        material=material,
        items=[source_out(marker, i, s) for i, s in enumerate(found, 1)],
        banner=banner.banner,
        classification=banner.classification,
    )
    session.commit()
    return out


@router.get("/alternates")
def get_alternates(
    auth: AuthDep,
    session: SessionDep,
    state: StateDep,
    marker: MarkerDep,
    scenario: Annotated[int, Query(ge=1, le=MAX_ID, description="The stored scenario's id.")],
    party: PartyQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> AlternatesOut:
    """Registry sites able to replace what a scenario loses, scored (countries of concern excluded)."""
    answer = rank_alternates(
        session, auth.principal, scenario, party=party, concern=state.settings.concern_countries, limit=limit
    )
    banner = marker.page([answer.marking])
    out = AlternatesOut(
        scenario=answer.scenario.id,
        network_id=answer.scenario.network_id,
        ttr=answer.scenario.ttr,
        lost=[
            LostMaterialOut(
                material=m.material,
                material_class=m.material_class,
                disrupted=list(m.disrupted),
                customers=list(m.customers),
                all_sources_lost=m.all_sources_lost,
                binds=m.binds,
                lost_rate=m.lost_rate,
                pi_relief=m.pi_relief,
            )
            for m in answer.lost
        ],
        items=[
            AlternateOut(
                rank=i,
                material=a.lost.material,
                score=a.score,
                coverage=a.coverage,
                timeliness=a.timeliness,
                source=source_out(marker, i, a.source),
            )
            for i, a in enumerate(answer.alternates, 1)
        ],
        marking=marker.out(answer.marking),
        banner=banner.banner,
        classification=banner.classification,
    )
    session.commit()
    return out


@router.post("/what-if", status_code=202, responses=JOB_LIMITED)
def post_what_if(
    request: Request, response: Response, auth: AuthDep, session: SessionDep, state: StateDep, body: WhatIfIn
) -> JobOut:
    """Queue a re-run of a stored scenario on your view with a registry capability qualified as an alternate.

    Answered ``202`` with the job and ``Location: /api/v1/jobs/{id}``; poll it until it ends. Its
    result gives PI and TTS without and with the alternate, which makes the lost material at the
    capability's headroom per week from week qualification + lead time on, and the answer's marking.
    A scenario or capability you cannot see is ``404`` at once; a user with ``SETU_MAX_ACTIVE_JOBS``
    jobs queued or running is answered ``429``, a full server ``503`` (both with ``Retry-After``).
    """
    job = submit_what_if(
        session,
        auth.principal,
        body.scenario,
        body.capability_id,
        material=body.material,
        concern=state.settings.concern_countries,
        limits=job_limits(state),
    )
    return accepted(request, response, job)
