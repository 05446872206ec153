"""Mitigation on a stored scenario: ranked alternates and the what-if, on the reader's view, with their markings."""

from __future__ import annotations

import math

import pytest
from sqlalchemy.orm import Session, sessionmaker

from networks.world import audit_count
from principals import IN_ANALYST, IN_HAL, US_ANALYST
from registry.world import RegistryWorld
from setu.errors import InputError, NotFound
from setu.registry.mitigation import rank_alternates, what_if

Factory = sessionmaker[Session]


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
