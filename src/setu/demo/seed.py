"""Seed a database for the demo: both parties, their ministries and firms, a user per role, the marked network."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.login import principal_of
from setu.accounts.users import create_user
from setu.demo.data import NETWORK_NAME
from setu.demo.network import build_demo_network
from setu.models.networks import NetworkRecord
from setu.models.parties import Organization, Party
from setu.network.model import Network, Node
from setu.networks.imports import import_network
from setu.sharing.markings import LEVEL_OF, MarkingSpec, store
from setu.sharing.read import readable, unfiltered

DEMO_NETWORK = NETWORK_NAME
OPERATOR = "setu demo (seed)"
BOTH = frozenset({"IN", "US"})

PARTIES = (("IN", "India", "IN"), ("US", "United States", "US"))
PARTIES_CODES = tuple(code for code, _name, _holidays in PARTIES)
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
    """Whether the demo network is stored already (whoever may read it: the seed writes at most once)."""
    return session.scalar(unfiltered(NetworkRecord.id).where(NetworkRecord.name == DEMO_NETWORK).limit(1)) is not None


def seed_demo(factory: sessionmaker[Session]) -> list[SeededUser]:
    """Write the demo parties, organizations, users and network in one transaction.

    Returns the accounts with their passwords, or an empty list when the database is
    already seeded (passwords are shown once; reset one with ``setu accounts passwd``).
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
            # The operator's uniqueness check before writing an organization, not a user's read.
            org = session.scalar(
                unfiltered(Organization).where(Organization.party_code == party, Organization.name == name)
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

        from setu.accounts.lookups import get_user

        importer = principal_of(get_user(session, "in.admin"))
        owners = {key: (orgs[name].id, orgs[name].party_code) for key, name in PROPRIETARY.items()}
        network = build_demo_network()
        stored = import_network(
            session,
            importer,
            network,
            name=DEMO_NETWORK,
            format="setu",
            source="setu.demo.network",
            marking=MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", BOTH),
            node_markings=demo_markings(network, owners),
            operator=OPERATOR,
        )
        from setu.demo.framework import seed_framework

        seed_framework(session, network_id=stored.id, operator=OPERATOR)
        return users


def seed_demo_runs(factory: sessionmaker[Session], analysts: tuple[str, ...] = ("in.analyst", "us.analyst")) -> int:
    """Store the demo scenario library and run it, then the reference sweep, as each party's analyst.

    Each analyst's scenarios are built on their own view of the network, so a scenario never names a
    node its runner may not see; a library event with nothing to disrupt in that view is left out.
    Runs are computed in this process, one after the other. Returns the number of runs stored.
    """
    from setu.accounts.lookups import get_user
    from setu.demo.scenarios import demo_scenarios
    from setu.networks.views import compiled_view
    from setu.runs.reference import start_reference_sweep
    from setu.runs.scenarios import create_scenario
    from setu.runs.service import execute_run, start_run

    runs = 0
    for username in analysts:
        with factory() as session, session.begin():
            principal = principal_of(get_user(session, username))
            network_id = session.scalar(readable(principal, NetworkRecord.id).where(NetworkRecord.name == DEMO_NETWORK))
            if network_id is None:
                return runs
            view, _specs = compiled_view(session, principal, network_id)
            stored = [
                create_scenario(session, principal, network_id, scenario).id
                for scenario in demo_scenarios(view, skip_unmatched=True)
                if scenario.nodes
            ]
            queued = [
                start_run(session, principal, network_id, stored, name="Demo scenario library").id,
                start_reference_sweep(session, principal, network_id).id,
            ]
        for run_id in queued:
            execute_run(factory, run_id, principal)
            runs += 1
    return runs


# Which seeded firm a demo node belongs to, from the network's organization text.
REGISTRY_FIRMS = {
    "Hindustan Aeronautics (HAL)": ("HAL",),
    "Bharat Electronics (BEL)": ("Bharat Electronics",),
    "Bharat Dynamics (BDL)": ("Bharat Dynamics",),
    "Mishra Dhatu Nigam (MIDHANI)": ("Mishra Dhatu",),
    "Tata Advanced Systems": ("Tata Advanced",),
    "GE Aerospace": ("GE Aerospace",),
    "Lockheed Martin": ("Lockheed",),
    "RTX": ("RTX",),
    "General Dynamics Land Systems": ("General Dynamics",),
    "Boeing Defense": ("Boeing",),
}
# Partner capabilities the demo network does not use yet, so the mitigation what-if has candidates
# (illustrative: firm, site, country, material, material class, capacity per week, committed, qualification weeks).
PARTNER_CAPABILITIES = (
    ("Mishra Dhatu Nigam (MIDHANI)", "IN-MDN-HYD-FORGE", "IN", "rotor_disc", "superalloy", 6.0, 2.0, 26.0),
    ("Bharat Electronics (BEL)", "IN-BEL-BLR-FAB", "IN", "fpga_die", "semiconductor", 400.0, 250.0, 30.0),
)
COMMITTED_SHARE = 0.8
"""Illustrative: each demo site has 20% of its capacity free for partner orders."""
QUALIFICATION_WEEKS = 12.0
LEAD_TIME_WEEKS = 4.0


def _firm_name(organization: str) -> str | None:
    """The seeded firm a demo node belongs to, from its organization text (the first whose key it holds)."""
    return next((name for name, keys in REGISTRY_FIRMS.items() if any(k in organization for k in keys)), None)


def seed_demo_registry(factory: sessionmaker[Session]) -> int:
    """Register the demo firms' sites and capabilities, as each party's admin; return the capabilities stored.

    Every stored node of a seeded firm becomes a capability of its site, coded from its material with the
    registry's code list; capacity is the node's, with an illustrative 80% already committed.

    Markings: a copy is never more readable than what it was copied from. A site carries the combined
    marking of the network and of every node naming it (its name and country reveal each of them), a
    capability its node's and the site's; so India-only, need-to-know and HAL- or GE-proprietary nodes
    stay as hidden in the registry as in the network. The partner capabilities are no copies: each
    party's admin releases them to both parties on purpose, so that the mitigation what-if has candidates.
    """
    from setu.accounts.lookups import get_user
    from setu.models.registry import RegistrySite
    from setu.registry.capabilities import add_capability
    from setu.registry.codes import codes_for
    from setu.registry.copies import copy_nodes
    from setu.registry.sites import create_site

    stored = 0
    with factory() as session, session.begin():
        admins = {party: principal_of(get_user(session, f"{party.lower()}.admin")) for party in PARTIES_CODES}
        # The operator registers every seeded firm's sites on its party admin's behalf: not a user's read.
        firms = {org.name: org for org in session.scalars(unfiltered(Organization).where(Organization.kind == "firm"))}
        network_id = session.scalar(
            unfiltered(NetworkRecord.id)
            .where(NetworkRecord.name == DEMO_NETWORK)
            .order_by(NetworkRecord.version.desc())
        )
        if network_id is None:
            return 0
        for name in REGISTRY_FIRMS:
            firm = firms.get(name)
            if firm is None:
                continue
            copied = copy_nodes(
                session,
                admins[firm.party_code],
                network_id,
                firm,
                # A node is the first listed firm's whose key its organization text holds.
                lambda node, name=name: _firm_name(node.organization) == name,  # type: ignore[misc]
                committed_share=COMMITTED_SHARE,
                lead_time_weeks=LEAD_TIME_WEEKS,
                qualification_weeks=QUALIFICATION_WEEKS,
            )
            stored += len(copied)
        for firm_name, site_name, country, material, material_class, capacity, committed, weeks in PARTNER_CAPABILITIES:
            firm = firms.get(firm_name)
            codes = codes_for(material, material_class)
            if firm is None or not codes:
                continue
            admin = admins[firm.party_code]
            released = MarkingSpec(LEVEL_OF["UNCLASSIFIED"], admin.party, BOTH)
            # The operator's lookup of a site copied above, before adding to it: not a user's read.
            site_id = session.scalar(
                unfiltered(RegistrySite.id).where(
                    RegistrySite.organization_id == firm.id, RegistrySite.name == site_name
                )
            )
            if site_id is None:
                site_id = create_site(session, admin, firm.id, name=site_name, country=country, marking=released).id
            add_capability(
                session,
                admin,
                site_id,
                code=codes[0].code,
                material=material,
                capacity=capacity,
                committed=committed,
                unit="units/week",
                lead_time_weeks=LEAD_TIME_WEEKS,
                qualification_weeks=weeks,
                marking=released,
            )
            stored += 1
    return stored


def seed_demo_requests(factory: sessionmaker[Session], today: date | None = None) -> list[str]:
    """File three illustrative priority-delivery requests between the desk officers; return their references.

    An Indian DX request for an RTX item taken through to a rated order (the supplier's reply is due),
    a US DO request for MIDHANI superalloy waiting for India's determination, and an Indian DO
    request escalated while under determination.
    """
    from datetime import timedelta

    from setu.accounts.lookups import get_user
    from setu.networks.reads import list_nodes
    from setu.registry.sites import list_sites
    from setu.sosa.service import create_request, today_utc, transition

    today = today or today_utc()
    references: list[str] = []
    with factory() as session, session.begin():
        desk = {party: principal_of(get_user(session, f"{party.lower()}.desk")) for party in PARTIES_CODES}
        network_id = session.scalar(readable(desk["IN"], NetworkRecord.id).where(NetworkRecord.name == DEMO_NETWORK))
        if network_id is None:
            return references

        def request(requester: str, supplier: str, firm: str, search: str, values: dict[str, object]) -> int:
            principal = desk[requester]
            org = session.scalar(readable(principal, Organization).where(Organization.name == firm))
            nodes, _total = list_nodes(session, principal, network_id, search=search, limit=1)
            sites, _count = list_sites(session, principal, organization_id=org.id if org else None, limit=1)
            if org is None or not nodes or not sites:
                raise LookupError(f"demo data lacks a visible {firm} item or site for {search!r}")
            values = {
                "network_id": network_id,
                "item_node_id": nodes[0].node_id,
                "supplier_organization_id": org.id,
                "supplier_site": sites[0].name,
                "quantity": 40.0,
                "unit": "units",
                "delivery_date": today + timedelta(days=120),
                "authorized_signer": f"Joint Secretary (Defence Industrial Production), {requester}",
                **values,
            }
            created = create_request(session, principal, supplier, values)
            references.append(created.reference)
            return created.id

        def act(party: str, request_id: int, action: str, fields: dict[str, object]) -> None:
            from setu.models.sosa import PriorityRequest

            version = session.scalar(
                readable(desk[party], PriorityRequest.version).where(PriorityRequest.id == request_id)
            )
            assert version is not None
            transition(session, desk[party], request_id, action, fields, version, today=today)

        order = {"rating": "DX", "program_symbol": "A1", "delivery_date": today + timedelta(days=120)}
        first = request(
            "IN",
            "US",
            "RTX",
            "RTX",
            {
                "title": "Seeker electronics for the Javelin co-production line",
                "rating": "DX",
                "program_symbol": "A1",
                "program": "Javelin-ATGM",
                "justification": "A sanctions scenario leaves the co-production line short.",
            },
        )
        act("IN", first, "submit", {})
        act("US", first, "begin_determination", {})
        act("US", first, "authorize", {"rating": "DX", "program_symbol": "A1"})
        act(
            "US",
            first,
            "issue_order",
            {**order, "authorized_signer": "Director, Office of Strategic Industries", "certified": True},
        )

        second = request(
            "US",
            "IN",
            "Mishra Dhatu Nigam (MIDHANI)",
            "Mishra Dhatu",
            {
                "title": "Superalloy billet for F414 discs after the forge fire",
                "rating": "DO",
                "program_symbol": "A2",
                "program": "F414-engine",
                "justification": "The forge-fire scenario: TTS 6.7 weeks against a TTR of 78.",
            },
        )
        act("US", second, "submit", {})

        third = request(
            "IN",
            "US",
            "General Dynamics Land Systems",
            "General Dynamics",
            {
                "title": "Stryker hull and driveline kits",
                "rating": "DO",
                "program_symbol": "A3",
                "program": "Stryker-AFV",
                "justification": "Co-production lot 2 needs hull kits before the monsoon trials.",
            },
        )
        act("IN", third, "submit", {})
        act("US", third, "begin_determination", {})
        act("IN", third, "escalate", {"reason": "No determination after three weeks; the engine line stops in June."})
    return references


def seed_whole_demo(factory: sessionmaker[Session]) -> list[SeededUser]:
    """Everything ``setu demo`` seeds, in its order: parties and users, runs, registry, requests, checkpoints.

    Returns the users created (with their one-time passwords), or an empty list if the database already
    held the demo, in which case nothing else is seeded.
    """
    from setu.demo.checkpoints import seed_demo_checkpoints

    users = seed_demo(factory)
    if users:
        seed_demo_runs(factory)
        seed_demo_registry(factory)
        seed_demo_requests(factory)
        seed_demo_checkpoints(factory)
    return users
