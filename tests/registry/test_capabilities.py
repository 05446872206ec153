"""Registry capabilities: never less restricted than their site."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from principals import IN_HAL
from registry.world import RegistryWorld
from setu.models.registry import Capability
from setu.registry.access import marking_of

Factory = sessionmaker[Session]


def test_capabilities_are_never_less_restricted_than_their_site(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        cap = session.get(Capability, world.capabilities["HAL Koraput"])
        assert cap is not None
        assert marking_of(cap).owners == {(IN_HAL, "IN")}
