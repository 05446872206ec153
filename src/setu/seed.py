"""Seed a database for the demo: both parties, their ministries and firms, a user per role, the marked network."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.service import create_user, principal_of
from setu.models.networks import NetworkRecord
from setu.models.parties import Organization, Party
from setu.network.demo import build_demo_network
from setu.network.model import Network, Node
from setu.networks.service import import_network
from setu.sharing.markings import LEVEL_OF, MarkingSpec, store

DEMO_NETWORK = "India-US defense-industrial base (illustrative)"
OPERATOR = "setu demo (seed)"
BOTH = frozenset({"IN", "US"})

PARTIES = (("IN", "India", "IN"), ("US", "United States", "US"))
# (party, name, kind, SoSA code of conduct)
ORGANIZATIONS = (
    ("IN", "Ministry of Defence (India)", "ministry", False),
    ("IN", "Department of Defence Production", "agency", False),
    ("IN", "Hindustan Aeronautics (HAL)", "firm", True),
    ("IN", "Bharat Electronics (BEL)", "firm", True),
    ("IN", "Bharat Dynamics (BDL)", "firm", True),
    ("IN", "Mishra Dhatu Nigam (MIDHANI)", "firm", True),
    ("IN", "Tata Advanced Systems", "firm", True),
    ("US", "Department of Defense", "ministry", False),
    ("US", "Department of Commerce (BIS)", "agency", False),
    ("US", "GE Aerospace", "firm", False),
    ("US", "Lockheed Martin", "firm", False),
    ("US", "RTX", "firm", False),
    ("US", "General Dynamics Land Systems", "firm", False),
    ("US", "Boeing Defense", "firm", False),
)
# Which firm owns a node, from the network's organization text: HAL and GE data stay proprietary.
PROPRIETARY = {"HAL": "Hindustan Aeronautics (HAL)", "GE Aerospace": "GE Aerospace"}
# (username suffix, role, clearance, groups, organization)
ROLE_USERS = {
    "IN": (
        ("admin", "admin", "SECRET", ("ENGINE",), "Ministry of Defence (India)"),
        ("analyst", "analyst", "CONFIDENTIAL", ("ENGINE",), "Ministry of Defence (India)"),
        ("desk", "desk_officer", "RESTRICTED", (), "Department of Defence Production"),
        ("industry", "industry", "RESTRICTED", ("ENGINE",), "Hindustan Aeronautics (HAL)"),
        ("auditor", "auditor", "RESTRICTED", (), "Ministry of Defence (India)"),
    ),
    "US": (
        ("admin", "admin", "SECRET", ("ENGINE",), "Department of Defense"),
        ("analyst", "analyst", "CONFIDENTIAL", ("ENGINE",), "Department of Defense"),
        ("desk", "desk_officer", "RESTRICTED", (), "Department of Commerce (BIS)"),
        ("industry", "industry", "RESTRICTED", ("ENGINE",), "GE Aerospace"),
        ("auditor", "auditor", "RESTRICTED", (), "Department of Defense"),
    ),
}


@dataclass(frozen=True, slots=True)
class SeededUser:
    """A demo account and its one-time password (printed once, never stored in clear)."""

    username: str
    password: str
    party: str
    role: str
    organization: str


def _node_marking(node: Node, owners: dict[str, tuple[int, str]]) -> MarkingSpec | None:
    """The demo's marking rules; ``None`` keeps the network's default (RESTRICTED, released to both)."""
    groups = frozenset({"ENGINE"}) if node.program == "F414-engine" else frozenset()
    if node.program == "Su-30MKI-spares" or node.party == "RU":
        # India does not share its Russian-origin sustainment picture.
        return MarkingSpec(LEVEL_OF["CONFIDENTIAL"], "IN", frozenset({"IN"}), national_only=True, groups=groups)
    if node.program == "GaN-radar-EW" and node.party == "US":
        return MarkingSpec(LEVEL_OF["CONFIDENTIAL"], "US", frozenset({"US"}), national_only=True, groups=groups)
    owner = next((owners[key] for key in owners if key in node.organization), None)
    if owner is not None:
        return MarkingSpec(LEVEL_OF["RESTRICTED"], owner[1], BOTH, owners=frozenset({owner}), groups=groups)
    if groups:
        return MarkingSpec(LEVEL_OF["RESTRICTED"], node.party if node.party in BOTH else "IN", BOTH, groups=groups)
    if node.party not in BOTH:
        # Mines and refineries abroad: open-source facts, shareable with industry.
        return MarkingSpec(LEVEL_OF["UNCLASSIFIED"], "US", BOTH)
    return None


def demo_markings(network: Network, owners: dict[str, tuple[int, str]]) -> dict[str, MarkingSpec]:
    """Markings of the demo's nodes that differ from the default."""
    marked = {node.id: _node_marking(node, owners) for node in network.nodes}
    return {node: spec for node, spec in marked.items() if spec is not None}


def is_seeded(session: Session) -> bool:
    return session.scalar(select(NetworkRecord.id).where(NetworkRecord.name == DEMO_NETWORK).limit(1)) is not None


def seed_demo(factory: sessionmaker[Session]) -> list[SeededUser]:
    """Write the demo parties, organizations, users and network in one transaction.

    Returns the accounts with their passwords, or an empty list when the database is
    already seeded (passwords are shown once; reset one with ``setu users passwd``).
    """
    with factory() as session, session.begin():
        if is_seeded(session):
            return []
        public = store(session, MarkingSpec(LEVEL_OF["UNCLASSIFIED"], "IN", BOTH))
        for code, name, holidays in PARTIES:
            if session.get(Party, code) is None:
                session.add(Party(code=code, name=name, holiday_country=holidays))
        session.flush()
        orgs: dict[str, Organization] = {}
        for party, name, kind, conduct in ORGANIZATIONS:
            org = session.scalar(
                select(Organization).where(Organization.party_code == party, Organization.name == name)
            )
            if org is None:
                org = Organization(party_code=party, name=name, kind=kind, code_of_conduct=conduct, marking=public)
                session.add(org)
            orgs[name] = org
        session.flush()

        users: list[SeededUser] = []
        for party, roles in ROLE_USERS.items():
            for suffix, role, clearance, groups, org_name in roles:
                username = f"{party.lower()}.{suffix}"
                password = secrets.token_urlsafe(12)
                create_user(
                    session,
                    username,
                    password,
                    party=party,
                    organization=org_name,
                    clearance=clearance,
                    roles=[role],
                    groups=groups,
                    display_name=f"{party} {role.replace('_', ' ')}",
                    actor_name=OPERATOR,
                )
                users.append(SeededUser(username, password, party, role, org_name))
        session.flush()

        from setu.accounts.service import get_user

        importer = principal_of(get_user(session, "in.admin"))
        owners = {key: (orgs[name].id, orgs[name].party_code) for key, name in PROPRIETARY.items()}
        network = build_demo_network()
        import_network(
            session,
            importer,
            network,
            name=DEMO_NETWORK,
            format="setu",
            source="setu.network.demo",
            marking=MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", BOTH),
            node_markings=demo_markings(network, owners),
            operator=OPERATOR,
        )
        return users


def seed_demo_runs(factory: sessionmaker[Session], analysts: tuple[str, ...] = ("in.analyst", "us.analyst")) -> int:
    """Store the demo scenario library and run it, then the node sweep, as each party's analyst.

    Each analyst's scenarios are built on their own view of the network, so a scenario never names a
    node its runner may not see; a library event with nothing to disrupt in that view is left out.
    Runs are computed in this process, one after the other. Returns the number of runs stored.
    """
    from setu.accounts.service import get_user
    from setu.network.demo import demo_scenarios
    from setu.networks.service import compiled_view
    from setu.runs.service import create_scenario, execute_run, start_run

    runs = 0
    for username in analysts:
        with factory() as session, session.begin():
            principal = principal_of(get_user(session, username))
            network_id = session.scalar(select(NetworkRecord.id).where(NetworkRecord.name == DEMO_NETWORK))
            if network_id is None:
                return runs
            view, _specs = compiled_view(session, principal, network_id)
            stored = [
                create_scenario(session, principal, network_id, scenario).id
                for scenario in demo_scenarios(view, skip_unmatched=True)
                if scenario.nodes
            ]
            queued = [
                start_run(session, principal, network_id, stored).id,
                start_run(session, principal, network_id, "sweep").id,
            ]
        for run_id in queued:
            execute_run(factory, run_id, principal)
            runs += 1
    return runs
