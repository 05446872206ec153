"""Mitigation on stored scenarios: rank registry sites able to replace what a scenario loses, and the what-if.

Both work on the reader's marking-filtered view of the scenario's network
(:func:`setu.networks.views.compiled_view`) and on the registry records the reader may see; each
answer carries the combined marking of everything it used, and each call is audited.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError, ScenarioError
from setu.models.stress import ScenarioRecord
from setu.network.compile import CompiledNetwork
from setu.networks.views import compiled_view
from setu.registry.access import marking_of
from setu.registry.capabilities import get_capability
from setu.registry.codes import codes_for
from setu.registry.sites import site_and_firm
from setu.registry.sources import MATCH_WEIGHT, Source, matching_sources, source_for
from setu.runs.scenarios import to_scenario
from setu.settings import DEFAULT_CONCERN_COUNTRIES
from setu.sharing.markings import MarkingSpec, combine, marking_specs
from setu.sharing.policy import Principal
from setu.sharing.read import fetch_visible, page
from setu.stress.mitigation import AlternateEffect, LostMaterial, evaluate_alternate, lost_materials
from setu.stress.scenarios import Scenario, validate_scenario


@dataclass(frozen=True)
class Alternate:
    """A registry source for one lost material, scored for the scenario.

    ``score = match * coverage * timeliness`` where ``match`` is 1 for a site making that very
    material and 0.6 for one holding a code able to make it; ``coverage = min(1, headroom / lost
    rate)`` (1 when the lost rate is 0); ``timeliness = max(0, (TTR - delay) / TTR)``, the share of
    the outage the alternate can still deliver in (``delay`` = qualification + lead time; 0 for a
    TTR of 0). Sites in a country of concern are excluded.
    """

    lost: LostMaterial
    source: Source
    coverage: float
    timeliness: float

    @property
    def score(self) -> float:
        """The product of match, coverage and timeliness, in [0, 1]."""
        return MATCH_WEIGHT[self.source.match] * self.coverage * self.timeliness


@dataclass(frozen=True)
class Alternates:
    """The ranked alternates of a scenario, and the marking of the answer."""

    scenario: ScenarioRecord
    lost: list[LostMaterial]
    alternates: list[Alternate]
    marking: MarkingSpec


@dataclass(frozen=True)
class WhatIf:
    """A scenario re-run with one registry capability qualified as an alternate source."""

    scenario: ScenarioRecord
    source: Source
    effect: AlternateEffect
    marking: MarkingSpec


def _scenario(
    session: Session, principal: Principal, scenario_pk: int, action: str
) -> tuple[ScenarioRecord, Scenario, CompiledNetwork, set[MarkingSpec]]:
    stored = fetch_visible(
        session,
        principal,
        ScenarioRecord,
        [ScenarioRecord.id == scenario_pk],
        action=action,
        kind="scenario",
        key=scenario_pk,
        audit_permit=False,
    )
    view, used = compiled_view(session, principal, stored.network_id)
    scenario = to_scenario(stored)
    try:
        validate_scenario(view, scenario)
    except ScenarioError as exc:
        raise ScenarioError(f"the scenario no longer fits your view of its network: {exc}") from None
    return stored, scenario, view, used | marking_specs(session, [stored.marking_id])


def _timeliness(ttr: float, delay: float) -> float:
    return max(0.0, (ttr - delay) / ttr) if ttr > 0 else 0.0


def rank_alternates(
    session: Session,
    principal: Principal,
    scenario_pk: int,
    *,
    party: str | None = None,
    concern: Collection[str] = DEFAULT_CONCERN_COUNTRIES,
    limit: int = 20,
) -> Alternates:
    """Registry sites able to replace what scenario ``scenario_pk`` loses, best first.

    Lost materials come from :func:`setu.stress.mitigation.lost_materials` on the reader's view;
    sources from the registry records the reader may see (:func:`setu.registry.sources.matching_sources`),
    without those in a country of concern (excluded: a mitigation should not add adversary exposure).
    Ordered by :attr:`Alternate.score`, then as :meth:`Source.rank_key`.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The reader.
    scenario_pk
        The stored scenario.
    party
        Only firms of this party.
    concern
        Country codes of concern.
    limit
        At most this many alternates.

    Returns
    -------
    Alternates
        The lost materials, the ranked alternates and the answer's marking (the scenario's, its
        view's and every listed source's, combined).

    Raises
    ------
    NotFound
        If the scenario does not exist or the reader may not see it.
    setu.errors.ScenarioError
        If the scenario no longer fits the reader's view.
    """
    _, limit = page(0, limit)
    action = "registry.alternates"
    stored, scenario, view, used = _scenario(session, principal, scenario_pk, action)
    lost = lost_materials(view, scenario)
    ranked: list[Alternate] = []
    for item in lost:
        for source in matching_sources(
            session, principal, item.material, material_class=item.material_class, party=party, concern=concern
        ):
            if source.concern:
                continue
            coverage = min(1.0, source.headroom / item.lost_rate) if item.lost_rate > 0 else 1.0
            ranked.append(Alternate(item, source, coverage, _timeliness(scenario.ttr, source.delay)))
    ranked.sort(key=lambda a: (-a.score, a.source.rank_key()))
    ranked = ranked[:limit]
    marking = combine(used | {a.source.marking for a in ranked}, principal.party)
    record(
        session,
        principal,
        action,
        "scenario",
        scenario_pk,
        details={"lost": [m.material for m in lost], "alternates": len(ranked), "party": party},
    )
    return Alternates(stored, lost, ranked, marking)


def what_if(
    session: Session,
    principal: Principal,
    scenario_pk: int,
    capability_id: int,
    *,
    material: str | None = None,
    concern: Collection[str] = DEFAULT_CONCERN_COUNTRIES,
) -> WhatIf:
    """Re-run scenario ``scenario_pk`` with capability ``capability_id`` qualified as an alternate source.

    The alternate makes the lost material at the capability's headroom (capacity minus committed)
    per week, from week ``qualification + lead time`` on, shipping to every node of the view that
    needs it (:func:`setu.stress.mitigation.evaluate_alternate`).

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The reader.
    scenario_pk
        The stored scenario.
    capability_id
        The registry capability to qualify.
    material
        The lost material it replaces (default: the first material the scenario loses that the
        capability can make, binding ones first).
    concern
        Country codes of concern (only to flag the source).

    Returns
    -------
    WhatIf
        PI and TTS without and with the alternate, and the answer's marking (the scenario's, its
        view's and the capability's, site's and firm's, combined).

    Raises
    ------
    NotFound
        If the scenario or capability does not exist or the reader may not see it.
    setu.errors.InputError
        If the capability cannot make any lost material, or ``material`` is not one the view needs.
    """
    action = "registry.what_if"
    stored, scenario, view, used = _scenario(session, principal, scenario_pk, action)
    capability = get_capability(session, principal, capability_id, action=action)
    lost = lost_materials(view, scenario)
    makes = {capability.material.lower()}
    if material is not None:
        chosen = material.strip()
        if chosen not in set(view.bom_material):
            raise InputError(f"no node of your view of the network needs material {material!r}", "material")
        if chosen.lower() not in makes and capability.code not in {
            c.code for c in codes_for(chosen, _class_of(view, chosen))
        }:
            raise InputError(f"capability {capability_id} ({capability.code}) cannot make {material!r}", "material")
    else:
        able = [
            m.material
            for m in lost
            if m.material.lower() in makes
            or capability.code in {c.code for c in codes_for(m.material, m.material_class)}
        ]
        if not able:
            names = ", ".join(m.material for m in lost) or "nothing"
            raise InputError(
                f"capability {capability_id} ({capability.code}, {capability.material}) cannot make what the "
                f"scenario loses ({names})",
                "capability_id",
            )
        chosen = able[0]
    # get_capability only answers a capability whose site and firm the reader sees.
    site, org = site_and_firm(session, principal, capability.site_id, action=action)
    source = source_for(principal, capability, site, org, chosen, concern)
    effect = evaluate_alternate(view, scenario, chosen, source.headroom, source.delay)
    marking = combine(used | {source.marking, marking_of(capability)}, principal.party)
    record(
        session,
        principal,
        action,
        "scenario",
        scenario_pk,
        details={
            "capability_id": capability_id,
            "material": chosen,
            "capacity": source.headroom,
            "qualification": source.delay,
            "pi_saved": effect.pi_saved,
            "tts_gained": effect.tts_gained,
        },
    )
    return WhatIf(stored, source, effect, marking)


def _class_of(view: CompiledNetwork, material: str) -> str:
    classes = view.attributes.get("material_class", [""] * view.n_nodes)
    return next((c for m, c in zip(view.materials, classes, strict=True) if m == material and c), "")
