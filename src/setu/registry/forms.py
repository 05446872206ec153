"""What the registry pages' forms post: site, capability and what-if fields as typed, parsed and checked."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Form

from setu.errors import InputError, SetuError
from setu.models.registry import Capability, RegistrySite
from setu.registry.access import marking_of
from setu.schemas import MAX_ID

Text = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=300)]
Flag = Annotated[bool, Form()]


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
    release: bool = False
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
            proprietary=bool(marking_of(site).owners),
        )

    def fields(self) -> dict[str, Any]:
        """The site fields for the service; unparsable numbers become field errors."""
        return {
            "name": self.name,
            "country": self.country,
            "region": self.region,
            "latitude": number(self.errors, "latitude", self.latitude, optional=True),
            "longitude": number(self.errors, "longitude", self.longitude, optional=True),
            "chokepoints": [c for c in (part.strip() for part in self.chokepoints.split(",")) if c],
        }

    def organization(self) -> int | None:
        """The chosen firm's id, or None (with a field error) when none or no valid id was chosen."""
        chosen = self.organization_id
        if chosen.isdigit() and valid_id(int(chosen)):
            return int(chosen)
        self.errors["organization_id"] = "choose the firm"
        return None


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
            "capacity": number(self.errors, "capacity", self.capacity),
            "committed": number(self.errors, "committed", self.committed, empty=0.0),
            "unit": self.unit,
            "lead_time_weeks": number(self.errors, "lead_time_weeks", self.lead_time_weeks, empty=0.0),
            "qualification_weeks": number(self.errors, "qualification_weeks", self.qualification_weeks, empty=0.0),
            "notes": self.notes,
        }


@dataclass
class WhatIfForm:
    """A what-if as submitted: the scenario, the capability to qualify, the material it replaces."""

    scenario: str = ""
    capability_id: str = ""
    material: str = ""
    party: str = ""

    def ids(self) -> tuple[int, int] | None:
        """The scenario's and the capability's ids, or None when either is not a valid id."""
        if not (self.scenario.isdigit() and self.capability_id.isdigit()):
            return None
        scenario, capability = int(self.scenario), int(self.capability_id)
        return (scenario, capability) if valid_id(scenario) and valid_id(capability) else None


def valid_id(value: int) -> bool:
    """Whether ``value`` can be a stored record's id (larger ones answer 404 without a query)."""
    return 1 <= value <= MAX_ID


def number(errors: dict[str, str], name: str, text: str, *, optional: bool = False, empty: float | None = None) -> Any:
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


def add_problems(errors: dict[str, str], exc: SetuError, default: str) -> None:
    """Put the service's problems next to the fields they name (the rest under ``default``)."""
    if isinstance(exc, InputError):
        for problem in exc.problems:
            key = problem.where or default
            errors[key] = f"{errors[key]}; {problem.message}" if key in errors else problem.message
    else:
        errors[default] = str(exc)


def posted_site(
    name: Short = "",
    country: Short = "",
    region: Short = "",
    latitude: Short = "",
    longitude: Short = "",
    chokepoints: Text = "",
    proprietary: Flag = False,
) -> SiteForm:
    """The site fields of a posted form, as typed (editing a site takes these)."""
    return SiteForm("", name, country, region, latitude, longitude, chokepoints, proprietary)


def posted_new_site(
    site: Annotated[SiteForm, Depends(posted_site)],
    organization_id: Short = "",
    release: Flag = False,
) -> SiteForm:
    """The fields of a posted new site: a site's, its firm, and whether to release it to every party.

    Without ``release`` the site is national-only: a box left unticked (or a field left out) never widens it.
    """
    site.organization_id = organization_id
    site.release = release
    return site


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


def posted_what_if(
    scenario: Short = "", capability_id: Short = "", material: Short = "", party: Short = ""
) -> WhatIfForm:
    """The fields of a posted what-if, as typed."""
    return WhatIfForm(scenario, capability_id, material, party)


SitePosted = Annotated[SiteForm, Depends(posted_site)]
NewSitePosted = Annotated[SiteForm, Depends(posted_new_site)]
CapabilityPosted = Annotated[CapabilityForm, Depends(posted_capability)]
WhatIfPosted = Annotated[WhatIfForm, Depends(posted_what_if)]
