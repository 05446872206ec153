"""A small world for request tests: the two parties, a tiny network, a scenario, registry sites and actors."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from principals import IN_ANALYST, IN_DESK, IN_ONLY, SHARED, US_DESK, US_GE, US_ONLY, US_OTHER, seed
from setu.models import Organization
from setu.models.registry import RegistrySite
from setu.network.model import BomLine, Network, Node, Product, Supply
from setu.networks import import_network
from setu.runs.scenarios import create_scenario
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.policy import Principal
from setu.sosa import service
from setu.stress.scenarios import Scenario

# The service tests act as principals of tests/principals.py: IN_DESK and US_DESK file and determine,
# IN_ADMIN and US_ADMIN authorize and keep their party's calendar, IN_ANALYST and US_ANALYST only read,
# IN_HAL_INDUSTRY and US_GE_INDUSTRY answer as the supplier firm, US_OTHER_INDUSTRY is another U.S. firm.
IMPORTER = IN_ANALYST
"""Who imports the tiny network and its scenarios."""

TODAY = date(2025, 10, 17)
"""A Friday; Diwali is the Monday after (India), no U.S. holiday that week."""
DRAFT: dict[str, Any] = {
    "title": "F414 turbine blades for Tejas Mk2",
    "rating": "DO",
    "program": "Tejas Mk2",
    "program_symbol": "A1",
    "quantity": 40.0,
    "unit": "sets",
    "delivery_date": date(2026, 6, 30),
    "justification": "Engine line stops in the stress scenario without them.",
    "supplier_organization_id": US_GE,
}
ORDER = {"authorized_signer": "J. Smith, DPAS officer", "certified": True, "delivery_date": "2026-06-30"}


def tiny_network() -> Network:
    """An engine at HAL needing blades from GE (shared), and a secret Indian forge (India-only)."""
    return Network(
        name="tiny",
        nodes=[
            Node("ENG", "engine", 10.0, organization="HAL", party="IN", site="Bengaluru"),
            Node("BLADE", "blade", 10.0, organization="GE Aerospace", party="US", site="Lynn"),
            Node("FORGE", "blade", 5.0, organization="Vikram Alloys", party="IN", site="Nashik"),
        ],
        products=[Product("ENG", 1.0, 1.0)],
        bom=[BomLine("ENG", "blade", 1.0)],
        supplies=[Supply("BLADE", "ENG"), Supply("FORGE", "ENG")],
    )


def build(session: Session) -> dict[str, int]:
    """Seed parties, a third U.S. firm, the network (FORGE India-only), a scenario and GE's sites."""
    seed(session)
    public = store(session, MarkingSpec(0, "US", frozenset({"IN", "US"})))
    session.add(Organization(id=US_OTHER, party_code="US", name="Allegheny", kind="firm", marking=public))
    session.flush()
    network = import_network(
        session,
        IMPORTER,
        tiny_network(),
        name="tiny",
        format="test",
        source="tiny",
        marking=SHARED,
        node_markings={"FORGE": IN_ONLY},
    )
    scenario = create_scenario(session, IMPORTER, network.id, Scenario("blade-out", ("BLADE",), 30.0))
    secret = create_scenario(session, IMPORTER, network.id, Scenario("forge-out", ("FORGE",), 30.0))
    lynn = RegistrySite(organization_id=US_GE, name="Lynn", country="US", updated_by=1, marking=public)
    annex = RegistrySite(
        organization_id=US_GE, name="Evendale Annex", country="US", updated_by=1, marking=store(session, US_ONLY)
    )
    session.add_all([lynn, annex])
    session.flush()
    return {"network": network.id, "scenario": scenario.id, "secret_scenario": secret.id}


def advance(session: Session, request_id: int, steps: list[tuple[Principal, str, dict[str, Any]]]) -> int:
    """Take each ``(actor, action, fields)`` in turn on ``today``; the request's version at the end."""
    request = service.get_request(session, steps[0][0], request_id)
    version = request.version
    for actor, action, fields in steps:
        version = service.transition(session, actor, request_id, action, fields, version, today=TODAY).version
    return version


TO_ORDER: list[tuple[Principal, str, dict[str, Any]]] = [
    (IN_DESK, "submit", {}),
    (US_DESK, "begin_determination", {}),
    (US_DESK, "authorize", {}),
    (US_DESK, "issue_order", ORDER),
]
