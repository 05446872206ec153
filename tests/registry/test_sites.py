"""Registry sites: audited changes; sites hidden by their own marking or their firm's answer as missing ones."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from networks.world import audit_count
from principals import (
    IN_ADMIN,
    IN_ANALYST,
    IN_BEL_INDUSTRY,
    IN_HAL_INDUSTRY,
    US_ADMIN,
    US_ANALYST,
    US_GE,
    US_GE_INDUSTRY,
    US_ONLY,
)
from registry.world import RegistryWorld
from setu.db import transaction
from setu.errors import InputError, NotFound
from setu.models import Organization
from setu.models.registry import Capability, RegistrySite
from setu.registry.capabilities import (
    capability_counts,
    delete_capability,
    get_capability,
    list_capabilities,
    update_capability,
)
from setu.registry.sites import (
    delete_site,
    firms_of,
    get_site,
    list_firms,
    list_sites,
    site_and_firm,
    update_site,
)
from setu.registry.sources import find_sources
from setu.sharing.markings import store
from setu.sharing.policy import Principal

Factory = sessionmaker[Session]


def names(sites: list[RegistrySite]) -> set[str]:
    return {s.name for s in sites}


def test_update_and_delete_are_audited(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        site = update_site(session, IN_HAL_INDUSTRY, world.sites["HAL Nashik"], {"region": "Nashik", "latitude": 20.0})
        assert (site.region, site.latitude) == ("Nashik", 20.0)
        cap = update_capability(session, IN_ADMIN, world.capabilities["HAL Nashik"], {"committed": 5.0})
        assert cap.capacity - cap.committed == 1.0
        with pytest.raises(InputError, match="must not exceed"):
            update_capability(session, IN_ADMIN, cap.id, {"capacity": 4.0})
        delete_capability(session, IN_HAL_INDUSTRY, cap.id)
        delete_site(session, US_GE_INDUSTRY, world.sites["GE Evendale"])
        for action in (
            "registry.site.update",
            "registry.capability.update",
            "registry.capability.delete",
            "registry.site.delete",
        ):
            assert audit_count(session, action) == 1, action
        assert session.get(Capability, world.capabilities["GE Evendale"]) is None


def test_proprietary_and_national_only_sites_are_hidden_like_missing_ones(
    sessions: Factory, world: RegistryWorld
) -> None:
    every = set(world.sites)
    # HAL Koraput is proprietary to HAL (its firm and India's government see it); BEL Pune is India-only.
    expected: dict[Principal, set[str]] = {
        IN_HAL_INDUSTRY: every,
        IN_BEL_INDUSTRY: every - {"HAL Koraput"},
        IN_ANALYST: every,
        US_GE_INDUSTRY: every - {"HAL Koraput", "BEL Pune"},
        US_ANALYST: every - {"HAL Koraput", "BEL Pune"},
    }
    with sessions() as session:
        for who, seen in expected.items():
            rows, total = list_sites(session, who)
            assert names(rows) == seen and total == len(seen), who
            _, cap_total = list_capabilities(session, who, code="MET")
            assert cap_total == len([s for s in seen if s != "GE Evendale"])
            found = find_sources(session, who, "m")
            assert {s.site.name for s in found} == seen - {"GE Evendale"}
        hidden = world.sites["HAL Koraput"]
        missing = max(world.sites.values()) + 100
        for key in (hidden, missing):
            with pytest.raises(NotFound) as caught:
                get_site(session, US_ANALYST, key)
            assert str(caught.value) == f"no such site: {key!r}"
        with pytest.raises(NotFound):
            get_capability(session, IN_BEL_INDUSTRY, world.capabilities["HAL Koraput"])
        # Writing to a hidden site is answered as missing too, before any role check.
        with pytest.raises(NotFound):
            update_site(session, US_ADMIN, hidden, {"region": "x"})
        assert audit_count(session, "registry.site.read", "deny") == 2


def test_a_site_whose_firm_is_hidden_is_hidden_with_it(sessions: Factory, world: RegistryWorld) -> None:
    """GE Aerospace marked US-only: its shared sites and capabilities vanish for India on every read path."""
    with transaction(sessions) as session:
        marking = store(session, US_ONLY).id
        session.execute(update(Organization).where(Organization.id == US_GE).values(marking_id=marking))
    ge = {"GE Lynn", "GE Evendale", "GE Baotou"}
    lynn = world.sites["GE Lynn"]
    with sessions() as session:
        rows, total = list_sites(session, IN_ANALYST)
        assert names(rows) == set(world.sites) - ge and total == 3
        assert "GE Aerospace" not in {f.name for f in list_firms(session, IN_ANALYST)}
        assert {s.site.name for s in find_sources(session, IN_ANALYST, "m")} == {
            "HAL Nashik",
            "HAL Koraput",
            "BEL Pune",
        }
        _, caps = list_capabilities(session, IN_ANALYST)
        assert caps == 3
        assert capability_counts(session, IN_ANALYST, [lynn]) == {lynn: 0}
        for read in (
            lambda: get_site(session, IN_ANALYST, lynn),
            lambda: get_capability(session, IN_ANALYST, world.capabilities["GE Lynn"]),
            lambda: site_and_firm(session, IN_ANALYST, lynn, action="registry.site.read"),
        ):
            with pytest.raises(NotFound):
                read()
        # The firm's own party still sees all of it; firms_of answers only firms the reader may see.
        us_rows, _ = list_sites(session, US_ANALYST)
        assert ge <= names(us_rows)
        site = session.get(RegistrySite, lynn)
        assert site is not None
        assert set(firms_of(session, US_ANALYST, [site])) == {US_GE}
        assert firms_of(session, IN_ANALYST, [site]) == {}
