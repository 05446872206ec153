"""Registry test world: the firms' registry sites, kept by the users of tests/principals.py, and the hand network.

Sites (the shared ones added by their party's admins, who alone may release a site beyond its party;
capabilities by the firms' industry users or the admins):

- HAL Nashik (IN, HAL), shared: ``m`` exactly, 6/week with 2 committed, qualification 3 + lead 0;
  HAL is in the SoSA code of conduct.
- HAL Koraput (IN, HAL), proprietary to HAL: ``m`` exactly, 50/week.
- BEL Pune (IN, BEL), India-only: ``m`` exactly, 50/week.
- GE Lynn (US, GE), shared: ``m`` exactly, 10/week, qualification 2 + lead 1.
- GE Evendale (US, GE), shared: ``MAT-REMAG`` for ``smco_magnet`` (matches ``ndfeb_magnet`` by code).
- GE Baotou (CN, GE), shared: ``m`` exactly, 100/week: a country of concern.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from principals import (
    IN_ADMIN,
    IN_ANALYST,
    IN_BEL,
    IN_HAL,
    IN_HAL_INDUSTRY,
    IN_ONLY,
    SHARED,
    US_ADMIN,
    US_GE,
    US_GE_INDUSTRY,
    seed,
)
from setu.models import Organization
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.networks import import_network
from setu.registry.capabilities import add_capability
from setu.registry.sites import create_site
from setu.runs.scenarios import create_scenario
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal
from setu.stress.scenarios import Scenario


def hand_network() -> Network:
    """The network of tests/stress/test_mitigation.py: S (m) and B (m2) feed product P.

    S: c=20, s=30.  B: c=100, s=0.  P: c=100, s=20, d=10, f=1.  S out for 10 weeks: PI 50, TTS 5.
    """
    return Network(
        name="hand",
        nodes=[
            Node("S", "m", capacity=20.0, inventory=30.0, country="IN"),
            Node("B", "m2", capacity=100.0, inventory=0.0, country="IN"),
            Node("P", "p", capacity=100.0, inventory=20.0, country="IN"),
        ],
        products=[Product("P", demand=10.0, weight=1.0)],
        bom=[BomLine("P", "m", 1.0), BomLine("P", "m2", 1.0)],
        supplies=[Supply("S", "P"), Supply("B", "P")],
    )


@dataclass
class RegistryWorld:
    """Ids of what :func:`build` stored."""

    network: int
    scenario: int
    sites: dict[str, int]
    capabilities: dict[str, int]


def released(writer: Principal) -> MarkingSpec:
    """Unclassified and released to both parties by ``writer``: a shared site is one its writer chose to share."""
    return MarkingSpec(0, writer.party, frozenset({"IN", "US"}))


def build(session: Session) -> RegistryWorld:
    """Seed the parties, the registry sites and the hand network with its S-out scenario."""
    seed(session)
    session.execute(update(Organization).where(Organization.id == IN_HAL).values(code_of_conduct=True))
    sites: dict[str, int] = {}
    caps: dict[str, int] = {}

    def site(who: Principal, org: int, name: str, country: str, **kwargs: object) -> int:
        sites[name] = create_site(session, who, org, name=name, country=country, **kwargs).id  # type: ignore[arg-type]
        return sites[name]

    def cap(who: Principal, site_name: str, code: str, material: str, capacity: float, **kwargs: object) -> None:
        caps[site_name] = add_capability(
            session,
            who,
            sites[site_name],
            code=code,
            material=material,
            capacity=capacity,
            **kwargs,  # type: ignore[arg-type]
        ).id

    # Releasing a site beyond its party is its government admin's decision, so the admins add the shared ones.
    site(IN_ADMIN, IN_HAL, "HAL Nashik", "IN", region="Maharashtra", marking=released(IN_ADMIN))
    cap(IN_HAL_INDUSTRY, "HAL Nashik", "MET-FORGE", "m", 6.0, committed=2.0, qualification_weeks=3.0)
    site(IN_ADMIN, IN_HAL, "HAL Koraput", "IN", proprietary=True, marking=released(IN_ADMIN))
    cap(IN_HAL_INDUSTRY, "HAL Koraput", "MET-FORGE", "m", 50.0)
    site(IN_ADMIN, IN_BEL, "BEL Pune", "IN", marking=IN_ONLY)
    cap(IN_ADMIN, "BEL Pune", "MET-FORGE", "m", 50.0)
    site(US_ADMIN, US_GE, "GE Lynn", "US", marking=SHARED)
    cap(US_GE_INDUSTRY, "GE Lynn", "MET-FORGE", "m", 10.0, qualification_weeks=2.0, lead_time_weeks=1.0)
    site(US_ADMIN, US_GE, "GE Evendale", "US", marking=released(US_ADMIN))
    cap(US_ADMIN, "GE Evendale", "MAT-REMAG", "smco_magnet", 40.0)
    site(US_ADMIN, US_GE, "GE Baotou", "CN", marking=released(US_ADMIN))
    cap(US_GE_INDUSTRY, "GE Baotou", "MET-FORGE", "m", 100.0)
    net = import_network(session, IN_ANALYST, hand_network(), name="hand", format="setu", source="test", marking=SHARED)
    scenario = create_scenario(session, IN_ANALYST, net.id, Scenario("S-out", ("S",), ttr=10.0))
    session.flush()
    return RegistryWorld(net.id, scenario.id, sites, caps)
