"""Source finding: visible capabilities able to make a material, ranked (countries of concern last)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from networks.world import audit_count
from principals import IN_ANALYST, US_ANALYST
from registry.world import RegistryWorld
from setu.registry.sources import find_sources

Factory = sessionmaker[Session]


def test_find_sources_ranks_clean_exact_code_of_conduct_and_headroom_first(
    sessions: Factory, world: RegistryWorld
) -> None:
    with sessions() as session:
        found = find_sources(session, IN_ANALYST, "m")
        # HAL (code of conduct) before the rest; then headroom 50, 50, 10; China last whatever its capacity.
        assert [s.site.name for s in found] == ["HAL Koraput", "HAL Nashik", "BEL Pune", "GE Lynn", "GE Baotou"]
        assert found[-1].concern and not any(s.concern for s in found[:-1])
        assert [s.headroom for s in found] == [50.0, 4.0, 50.0, 10.0, 100.0]
        assert found[3].delay == 3.0
        assert [s.site.name for s in find_sources(session, IN_ANALYST, "m", party="us", min_headroom=20)] == [
            "GE Baotou"
        ]
        # A code match: NdFeB magnets from the SmCo line (MAT-REMAG).
        (magnet,) = find_sources(session, US_ANALYST, "ndfeb_magnet")
        assert (magnet.site.name, magnet.match) == ("GE Evendale", "capability")
        assert audit_count(session, "registry.sources.search") == 3
