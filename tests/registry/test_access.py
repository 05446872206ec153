"""Registry access: who may write which firm's entries, the markings a writer may assign, and input checks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from networks.world import audit_count
from principals import (
    IN_ADMIN,
    IN_ANALYST,
    IN_BEL,
    IN_BEL_INDUSTRY,
    IN_HAL,
    IN_HAL_INDUSTRY,
    IN_MOD,
    SECRET_SHARED,
    US_ADMIN,
    US_GE,
    US_GE_INDUSTRY,
)
from registry.world import RegistryWorld
from setu.errors import AccessDenied, InputError, MarkingError
from setu.models.registry import RegistrySite
from setu.registry.capabilities import add_capability
from setu.registry.sites import create_site, update_site

Factory = sessionmaker[Session]


def test_firms_keep_their_own_sites_and_admins_their_partys(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        assert audit_count(session, "registry.site.create") == 6
        assert audit_count(session, "registry.capability.create") == 6
        # An industry user may not write for another firm, an admin not for the other party's firms.
        for who, org in ((IN_HAL_INDUSTRY, IN_BEL), (IN_BEL_INDUSTRY, IN_HAL), (IN_ADMIN, US_GE), (US_ADMIN, IN_HAL)):
            with pytest.raises(AccessDenied, match="may not change"):
                create_site(session, who, org, name="X", country="IN")
        with pytest.raises(AccessDenied, match="requires role"):
            create_site(session, IN_ANALYST, IN_HAL, name="X")
        assert audit_count(session, "registry.site.create", "deny") == 5
        with pytest.raises(AccessDenied):
            update_site(session, US_GE_INDUSTRY, world.sites["HAL Nashik"], {"region": "x"})
        with pytest.raises(AccessDenied):
            add_capability(
                session, IN_BEL_INDUSTRY, world.sites["HAL Nashik"], code="MET-FORGE", material="q", capacity=1
            )
        # Ministries are not in the industrial-base registry.
        with pytest.raises(InputError, match="is a ministry"):
            create_site(session, IN_ADMIN, IN_MOD, name="MoD depot")


def test_writers_may_only_assign_markings_they_can_read(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        with pytest.raises(MarkingError):
            create_site(session, IN_HAL_INDUSTRY, IN_HAL, name="Secret", marking=SECRET_SHARED)
        assert audit_count(session, "registry.site.create", "deny") == 1


def test_bad_input_names_each_field_and_stores_nothing(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(RegistrySite))
        with pytest.raises(InputError) as caught:
            create_site(session, IN_HAL_INDUSTRY, IN_HAL, name=" ", country="India", latitude=91.0)
        assert {p.where for p in caught.value.problems} == {"name", "country", "latitude"}
        with pytest.raises(InputError, match="already has a site"):
            create_site(session, IN_HAL_INDUSTRY, IN_HAL, name="hal nashik")
        with pytest.raises(InputError) as caught:
            add_capability(
                session, IN_HAL_INDUSTRY, world.sites["HAL Nashik"], code="XX-NOPE", material="", capacity=-1
            )
        assert {p.where for p in caught.value.problems} == {"code", "material", "capacity"}
        with pytest.raises(InputError, match="must not exceed capacity"):
            add_capability(
                session,
                IN_HAL_INDUSTRY,
                world.sites["HAL Nashik"],
                code="MET-CAST",
                material="q",
                capacity=1,
                committed=2,
            )
        with pytest.raises(InputError, match="already lists"):
            add_capability(
                session, IN_HAL_INDUSTRY, world.sites["HAL Nashik"], code="MET-FORGE", material="M", capacity=1
            )
        with pytest.raises(InputError, match="not a site field"):
            update_site(session, IN_HAL_INDUSTRY, world.sites["HAL Nashik"], {"owner": 3})
        assert session.scalar(select(func.count()).select_from(RegistrySite)) == before
