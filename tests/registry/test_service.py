"""Registry service: who may write what, audit entries, the marking filter, source ranking and the what-if."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from networks.world import audit_count
from principals import IN_BEL, IN_HAL, IN_MOD, US_GE
from registry.world import (
    BEL_INDUSTRY,
    GE_INDUSTRY,
    HAL_INDUSTRY,
    IN_ADMIN,
    IN_ANALYST,
    US_ADMIN,
    US_ANALYST,
    RegistryWorld,
    build,
)
from setu.db import transaction
from setu.errors import AccessDenied, InputError, MarkingError, NotFound
from setu.models.registry import Capability, RegistrySite
from setu.registry import service
from setu.registry.mitigation import rank_alternates, what_if
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal

Factory = sessionmaker[Session]


@pytest.fixture
def world(sessions: Factory) -> RegistryWorld:
    with transaction(sessions) as session:
        return build(session)


def names(sites: list[RegistrySite]) -> set[str]:
    return {s.name for s in sites}


def test_firms_keep_their_own_sites_and_admins_their_partys(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        assert audit_count(session, "registry.site.create") == 6
        assert audit_count(session, "registry.capability.create") == 6
        # An industry user may not write for another firm, an admin not for the other party's firms.
        for who, org in ((HAL_INDUSTRY, IN_BEL), (BEL_INDUSTRY, IN_HAL), (IN_ADMIN, US_GE), (US_ADMIN, IN_HAL)):
            with pytest.raises(AccessDenied, match="may not change"):
                service.create_site(session, who, org, name="X", country="IN")
        with pytest.raises(AccessDenied, match="requires role"):
            service.create_site(session, IN_ANALYST, IN_HAL, name="X")
        assert audit_count(session, "registry.site.create", "deny") == 5
        with pytest.raises(AccessDenied):
            service.update_site(session, GE_INDUSTRY, world.sites["HAL Nashik"], {"region": "x"})
        with pytest.raises(AccessDenied):
            service.add_capability(
                session, BEL_INDUSTRY, world.sites["HAL Nashik"], code="MET-FORGE", material="q", capacity=1
            )
        # Ministries are not in the industrial-base registry.
        with pytest.raises(InputError, match="is a ministry"):
            service.create_site(session, IN_ADMIN, IN_MOD, name="MoD depot")


def test_bad_input_names_each_field_and_stores_nothing(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(RegistrySite))
        with pytest.raises(InputError) as caught:
            service.create_site(session, HAL_INDUSTRY, IN_HAL, name=" ", country="India", latitude=91.0)
        assert {p.where for p in caught.value.problems} == {"name", "country", "latitude"}
        with pytest.raises(InputError, match="already has a site"):
            service.create_site(session, HAL_INDUSTRY, IN_HAL, name="hal nashik")
        with pytest.raises(InputError) as caught:
            service.add_capability(
                session, HAL_INDUSTRY, world.sites["HAL Nashik"], code="XX-NOPE", material="", capacity=-1
            )
        assert {p.where for p in caught.value.problems} == {"code", "material", "capacity"}
        with pytest.raises(InputError, match="must not exceed capacity"):
            service.add_capability(
                session, HAL_INDUSTRY, world.sites["HAL Nashik"], code="MET-CAST", material="q", capacity=1, committed=2
            )
        with pytest.raises(InputError, match="already lists"):
            service.add_capability(
                session, HAL_INDUSTRY, world.sites["HAL Nashik"], code="MET-FORGE", material="M", capacity=1
            )
        with pytest.raises(InputError, match="not a site field"):
            service.update_site(session, HAL_INDUSTRY, world.sites["HAL Nashik"], {"owner": 3})
        assert session.scalar(select(func.count()).select_from(RegistrySite)) == before


def test_update_and_delete_are_audited(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        site = service.update_site(
            session, HAL_INDUSTRY, world.sites["HAL Nashik"], {"region": "Nashik", "latitude": 20.0}
        )
        assert (site.region, site.latitude) == ("Nashik", 20.0)
        cap = service.update_capability(session, IN_ADMIN, world.capabilities["HAL Nashik"], {"committed": 5.0})
        assert cap.capacity - cap.committed == 1.0
        with pytest.raises(InputError, match="must not exceed"):
            service.update_capability(session, IN_ADMIN, cap.id, {"capacity": 4.0})
        service.delete_capability(session, HAL_INDUSTRY, cap.id)
        service.delete_site(session, GE_INDUSTRY, world.sites["GE Evendale"])
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
        HAL_INDUSTRY: every,
        BEL_INDUSTRY: every - {"HAL Koraput"},
        IN_ANALYST: every,
        GE_INDUSTRY: every - {"HAL Koraput", "BEL Pune"},
        US_ANALYST: every - {"HAL Koraput", "BEL Pune"},
    }
    with sessions() as session:
        for who, seen in expected.items():
            rows, total = service.list_sites(session, who)
            assert names(rows) == seen and total == len(seen), who
            _, cap_total = service.list_capabilities(session, who, code="MET")
            assert cap_total == len([s for s in seen if s != "GE Evendale"])
            found = service.find_sources(session, who, "m")
            assert {s.site.name for s in found} == seen - {"GE Evendale"}
        hidden = world.sites["HAL Koraput"]
        missing = max(world.sites.values()) + 100
        for key in (hidden, missing):
            with pytest.raises(NotFound) as caught:
                service.get_site(session, US_ANALYST, key)
            assert str(caught.value) == f"no such site: {key!r}"
        with pytest.raises(NotFound):
            service.get_capability(session, BEL_INDUSTRY, world.capabilities["HAL Koraput"])
        # Writing to a hidden site is answered as missing too, before any role check.
        with pytest.raises(NotFound):
            service.update_site(session, US_ADMIN, hidden, {"region": "x"})
        assert audit_count(session, "registry.site.read", "deny") == 2


def test_writers_may_only_assign_markings_they_can_read(sessions: Factory, world: RegistryWorld) -> None:
    secret = MarkingSpec(3, "IN", frozenset({"IN", "US"}))
    with sessions() as session:
        with pytest.raises(MarkingError):
            service.create_site(session, HAL_INDUSTRY, IN_HAL, name="Secret", marking=secret)
        assert audit_count(session, "registry.site.create", "deny") == 1


def test_capabilities_are_never_less_restricted_than_their_site(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        cap = session.get(Capability, world.capabilities["HAL Koraput"])
        assert cap is not None
        assert service.marking_of(cap).owners == {(IN_HAL, "IN")}


def test_find_sources_ranks_clean_exact_code_of_conduct_and_headroom_first(
    sessions: Factory, world: RegistryWorld
) -> None:
    with sessions() as session:
        found = service.find_sources(session, IN_ANALYST, "m")
        # HAL (code of conduct) before the rest; then headroom 50, 50, 10; China last whatever its capacity.
        assert [s.site.name for s in found] == ["HAL Koraput", "HAL Nashik", "BEL Pune", "GE Lynn", "GE Baotou"]
        assert found[-1].concern and not any(s.concern for s in found[:-1])
        assert [s.headroom for s in found] == [50.0, 4.0, 50.0, 10.0, 100.0]
        assert found[3].delay == 3.0
        assert [s.site.name for s in service.find_sources(session, IN_ANALYST, "m", party="us", min_headroom=20)] == [
            "GE Baotou"
        ]
        # A code match: NdFeB magnets from the SmCo line (MAT-REMAG).
        (magnet,) = service.find_sources(session, US_ANALYST, "ndfeb_magnet")
        assert (magnet.site.name, magnet.match) == ("GE Evendale", "capability")
        assert audit_count(session, "registry.sources.search") == 3


def test_alternates_and_what_if_reproduce_the_hand_values(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        ranked = rank_alternates(session, IN_ANALYST, world.scenario)
        assert [m.material for m in ranked.lost] == ["m"]
        # China excluded; scores: match 1 x coverage min(1, headroom / lost rate) x (10 - delay) / 10.
        sites = [a.source.site.name for a in ranked.alternates]
        assert "GE Baotou" not in sites and set(sites) == {"HAL Koraput", "HAL Nashik", "BEL Pune", "GE Lynn"}
        assert ranked.alternates[0].timeliness == 1.0
        lynn = next(a for a in ranked.alternates if a.source.site.name == "GE Lynn")
        assert lynn.timeliness == pytest.approx(0.7)
        # GE Lynn: 10 a week from week 3: PI 50 - 10*7 < 0 -> 0;  50 + 10 (t - 3) >= 10 t never fails: TTS inf.
        lynn_answer = what_if(session, IN_ANALYST, world.scenario, world.capabilities["GE Lynn"])
        assert lynn_answer.effect.pi_with == pytest.approx(0.0, abs=1e-9)
        assert math.isinf(lynn_answer.effect.tts_with)
        # HAL Nashik: headroom 6 - 2 = 4 a week from week 3 (the hand case c = 4, q = 3): PI 22, TTS 38 / 6.
        nashik = what_if(session, IN_ANALYST, world.scenario, world.capabilities["HAL Nashik"])
        assert nashik.effect.pi_without == pytest.approx(50.0) and nashik.effect.pi_with == pytest.approx(22.0)
        assert nashik.effect.tts_with == pytest.approx(38.0 / 6.0)
        assert nashik.effect.pi_saved == pytest.approx(28.0)
        assert audit_count(session, "registry.what_if") == 2 and audit_count(session, "registry.alternates") == 1
        # The US analyst does not see the proprietary and India-only sites: they are neither ranked nor usable.
        us_sites = {a.source.site.name for a in rank_alternates(session, US_ANALYST, world.scenario).alternates}
        assert us_sites == {"HAL Nashik", "GE Lynn"}
        with pytest.raises(NotFound):
            what_if(session, US_ANALYST, world.scenario, world.capabilities["BEL Pune"])
        with pytest.raises(InputError, match="cannot make"):
            what_if(session, IN_ANALYST, world.scenario, world.capabilities["GE Evendale"])


def test_a_what_if_carries_the_markings_of_what_it_used(sessions: Factory, world: RegistryWorld) -> None:
    with sessions() as session:
        answer = what_if(session, IN_ANALYST, world.scenario, world.capabilities["BEL Pune"])
        assert answer.marking.national_only and answer.marking.effective_releases == {"IN"}
        koraput = what_if(session, IN_ANALYST, world.scenario, world.capabilities["HAL Koraput"])
        assert koraput.marking.owners == {(IN_HAL, "IN")}
