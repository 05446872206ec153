"""Request and response models of the registry endpoints: sites, capabilities, sources, alternates, what-if."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from setu.schemas import MAX_ID, MarkingOut, PageBanner, Paged, Strict, Text

Name = Annotated[Text, Field(min_length=1, max_length=200)]
Country = Annotated[Text, Field(max_length=8, description="ISO 3166 code, e.g. IN or US.")]
Amount = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
Weeks = Annotated[float, Field(ge=0, le=1e4, allow_inf_nan=False)]
Code = Annotated[Text, Field(min_length=1, max_length=32, description="A capability code (GET /registry/codes).")]
Party = Annotated[Text, Field(min_length=1, max_length=8)]


class MarkingIn(Strict):
    """The marking to give a record; releases default to the writer's own party (restrictive unless asked)."""

    classification: Literal["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"] = "UNCLASSIFIED"
    releases: list[Party] | None = Field(default=None, max_length=50, description="Default: your own party only.")
    national_only: bool = False
    groups: list[Annotated[Text, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)


class CodeOut(Strict):
    """One capability code of the documented list."""

    code: str
    family: str
    name: str
    description: str
    material_classes: list[str]
    materials: list[str]


class SiteIn(Strict):
    """A new registry site of a firm."""

    organization_id: int = Field(ge=1, le=MAX_ID, description="The firm (yours, or one of your party's for admins).")
    name: Name
    country: Country = ""
    region: Annotated[Text, Field(max_length=200)] = ""
    latitude: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    chokepoints: list[Name] = Field(default_factory=list, max_length=50)
    marking: MarkingIn | None = None
    proprietary: bool = Field(default=False, description="Readable only by the firm and its party's government.")


class SitePatch(Strict):
    """Changes to a site; absent fields stay as they are."""

    name: Name | None = None
    country: Country | None = None
    region: Annotated[Text, Field(max_length=200)] | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    chokepoints: list[Name] | None = Field(default=None, max_length=50)
    marking: MarkingIn | None = None
    proprietary: bool | None = None


class SiteOut(Strict):
    """A registry site as the reader may see it."""

    id: int
    organization_id: int
    organization: str
    party: str
    code_of_conduct: bool = Field(description="The firm joined its party's SoSA code of conduct.")
    name: str
    country: str
    region: str
    latitude: float | None
    longitude: float | None
    chokepoints: list[str]
    updated_at: datetime
    marking: MarkingOut


class SitePage(Paged):
    """A page of visible sites."""

    items: list[SiteOut]


class CapabilityIn(Strict):
    """What a site can make."""

    code: Code
    material: Name
    capacity: Amount = Field(description="Units per week.")
    committed: Amount = Field(default=0.0, description="Units per week already committed (<= capacity).")
    unit: Annotated[Text, Field(max_length=32)] = ""
    lead_time_weeks: Weeks = 0.0
    qualification_weeks: Weeks = Field(default=0.0, description="Weeks a new customer needs to qualify the site.")
    notes: Annotated[Text, Field(max_length=4000)] = ""
    marking: MarkingIn | None = Field(default=None, description="Default: the site's; never less restrictive.")


class CapabilityPatch(Strict):
    """Changes to a capability; absent fields stay as they are."""

    code: Code | None = None
    material: Name | None = None
    capacity: Amount | None = None
    committed: Amount | None = None
    unit: Annotated[Text, Field(max_length=32)] | None = None
    lead_time_weeks: Weeks | None = None
    qualification_weeks: Weeks | None = None
    notes: Annotated[Text, Field(max_length=4000)] | None = None


class CapabilityOut(Strict):
    """A capability as the reader may see it."""

    id: int
    site_id: int
    code: str
    material: str
    capacity: float
    committed: float
    headroom: float = Field(description="capacity - committed.")
    unit: str
    lead_time_weeks: float
    qualification_weeks: float
    notes: str
    marking: MarkingOut


class CapabilityPage(Paged):
    """A page of visible capabilities."""

    items: list[CapabilityOut]


class SourceOut(Strict):
    """A registry source of a material, ranked."""

    rank: int = Field(ge=1)
    capability: CapabilityOut
    site: SiteOut
    match: Literal["material", "capability"] = Field(
        description="material: the site makes it; capability: it holds a code able to make it."
    )
    headroom: float
    delay_weeks: float = Field(description="Qualification plus lead time.")
    concern: bool = Field(description="The site is in a country of concern.")
    code_of_conduct: bool
    marking: MarkingOut = Field(description="The combined marking of the capability, site and firm.")


class SourceList(PageBanner):
    """Ranked sources of a material."""

    material: str
    items: list[SourceOut]


class LostMaterialOut(Strict):
    """A material the scenario takes away from its customers."""

    material: str
    material_class: str
    disrupted: list[str]
    customers: list[str]
    all_sources_lost: bool
    binds: bool = Field(description="Restoring its disrupted suppliers lowers PI.")
    lost_rate: float = Field(description="Units per week its disrupted suppliers shipped in the undisrupted plan.")
    pi_relief: float


class AlternateOut(Strict):
    """A registry source for a lost material, scored for the scenario."""

    rank: int = Field(ge=1)
    material: str
    score: float = Field(description="match x coverage x timeliness, in [0, 1].")
    coverage: float = Field(description="min(1, headroom / lost rate).")
    timeliness: float = Field(description="max(0, (TTR - delay) / TTR).")
    source: SourceOut


class AlternatesOut(PageBanner):
    """The ranked alternates of a scenario; the banner is the answer's combined marking."""

    scenario: int
    network_id: int
    ttr: float
    lost: list[LostMaterialOut]
    items: list[AlternateOut]
    marking: MarkingOut


class WhatIfIn(Strict):
    """Re-run a stored scenario with a registry capability qualified as an alternate."""

    scenario: int = Field(ge=1, le=MAX_ID, description="The stored scenario's id.")
    capability_id: int = Field(ge=1, le=MAX_ID)
    material: Name | None = Field(default=None, description="The lost material it replaces (default: chosen).")
