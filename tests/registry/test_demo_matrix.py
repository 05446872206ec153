"""The authorization matrix on the demo: its ten users x the registry, sources, alternates, the SoSA form and history.

The demo copies every firm node of its network into registry sites and capabilities, and files requests
between the desk officers. For each of the ten demo users, over HTTP: each registry list shows exactly
the records whose markings (and their firms') admit the user, by the marking predicate; and no record
the user is shown was copied from a node the user may not read (its site's every node, its own node,
and the network). The same holds for source rankings, mitigation alternates, the SoSA draft form's
site list, and the names in request histories.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, sign_in
from setu.accounts.login import principal_of
from setu.accounts.lookups import get_user
from setu.accounts.tokens import issue_token
from setu.api import create_app
from setu.db import transaction
from setu.demo.seed import (
    DEMO_NETWORK,
    REGISTRY_FIRMS,
    seed_demo,
    seed_demo_registry,
    seed_demo_requests,
)
from setu.models.accounts import User
from setu.models.networks import NetworkRecord, NodeRecord
from setu.models.parties import Organization
from setu.models.registry import Capability, RegistrySite
from setu.models.sosa import PriorityRequest
from setu.runs.scenarios import create_scenario
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal, allows
from setu.sharing.read import readable
from setu.stress.scenarios import Scenario

API = "/api/v1"
DEMO_USERS = tuple(
    f"{party}.{role}" for party in ("in", "us") for role in ("admin", "analyst", "desk", "industry", "auditor")
)


@dataclass
class Demo:
    """The seeded demo over HTTP, and what the test needs to judge each answer."""

    client: TestClient
    tokens: dict[str, str]
    passwords: dict[str, str]
    principals: dict[str, Principal]
    sites: dict[int, tuple[RegistrySite, MarkingSpec, MarkingSpec]]
    capabilities: dict[int, tuple[Capability, MarkingSpec]]
    sources: dict[int, list[MarkingSpec]]
    capability_sources: dict[int, list[MarkingSpec]]
    requests: list[int]
    users: dict[int, tuple[User, MarkingSpec]]
    scenarios: dict[str, int]

    def get(self, user: str, url: str, **params: Any) -> Any:
        answer = self.client.get(url, params=params, headers={"Authorization": f"Bearer {self.tokens[user]}"})
        assert answer.status_code == 200, (user, url, answer.text)
        return answer.json()

    def site_visible(self, principal: Principal, site_id: int) -> bool:
        _site, spec, firm = self.sites[site_id]
        return allows(principal, spec) and allows(principal, firm)

    def capability_visible(self, principal: Principal, capability_id: int) -> bool:
        capability, spec = self.capabilities[capability_id]
        return allows(principal, spec) and self.site_visible(principal, capability.site_id)

    def reads_sources(self, principal: Principal, *, site: int | None = None, capability: int | None = None) -> bool:
        """Whether ``principal`` may read everything the site or capability was copied from."""
        found = self.sources.get(site, []) if site is not None else self.capability_sources.get(capability or 0, [])
        return all(allows(principal, spec) for spec in found)


def _firm_nodes(session: Session, network_id: int, firm: Organization) -> list[NodeRecord]:
    keys = REGISTRY_FIRMS.get(firm.name, ())
    nodes = session.scalars(select(NodeRecord).where(NodeRecord.network_id == network_id)).all()
    return [n for n in nodes if any(k in n.organization for k in keys)]


@pytest.fixture
def demo(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Demo]:
    passwords = {u.username: u.password for u in seed_demo(sessions)}
    seed_demo_registry(sessions)
    seed_demo_requests(sessions)
    tokens: dict[str, str] = {}
    principals: dict[str, Principal] = {}
    scenarios: dict[str, int] = {}
    with transaction(sessions) as session:
        for name in DEMO_USERS:
            user = get_user(session, name)
            tokens[name], principals[name] = issue_token(session, user, "api"), principal_of(user)
        network = session.scalars(select(NetworkRecord).where(NetworkRecord.name == DEMO_NETWORK)).one()
        network_spec = MarkingSpec.of(network.marking)
        # Each analyst's scenario: every node of the other party out (a sanctions case), so alternates are ranked.
        for name, other in (("in.analyst", "US"), ("us.analyst", "IN")):
            query = readable(principals[name], NodeRecord.node_id).where(
                NodeRecord.network_id == network.id, NodeRecord.party == other
            )
            scenario = Scenario(f"{other}-out", tuple(sorted(session.scalars(query))), ttr=26.0, kind="country")
            scenarios[name] = create_scenario(session, principals[name], network.id, scenario).id
    with sessions() as session:
        firms = {o.id: o for o in session.scalars(select(Organization))}
        sites = {
            s.id: (s, MarkingSpec.of(s.marking), MarkingSpec.of(firms[s.organization_id].marking))
            for s in session.scalars(select(RegistrySite))
        }
        capabilities = {c.id: (c, MarkingSpec.of(c.marking)) for c in session.scalars(select(Capability))}
        # What each record was copied from: the network, and the firm's nodes at the site (and of the material).
        sources: dict[int, list[MarkingSpec]] = {}
        capability_sources: dict[int, list[MarkingSpec]] = {}
        for site_id, (site, _spec, _firm) in sites.items():
            at_site = [n for n in _firm_nodes(session, network.id, firms[site.organization_id]) if n.site == site.name]
            sources[site_id] = [network_spec, *(MarkingSpec.of(n.marking) for n in at_site)]
            for capability, _ in capabilities.values():
                if capability.site_id == site_id:
                    made = [n for n in at_site if n.material == capability.material]
                    capability_sources[capability.id] = [network_spec, *(MarkingSpec.of(n.marking) for n in made)]
        requests = list(session.scalars(select(PriorityRequest.id)))
        users = {u.id: (u, MarkingSpec.of(u.marking)) for u in session.scalars(select(User))}
        session.expunge_all()
    app = create_app(engine, settings=TEST_SETTINGS)
    with TestClient(app) as client:
        yield Demo(
            client,
            tokens,
            passwords,
            principals,
            sites,
            capabilities,
            sources,
            capability_sources,
            requests,
            users,
            scenarios,
        )


def test_the_demo_registry_copies_are_marked_at_least_as_their_nodes(demo: Demo) -> None:
    """Every copied site and capability admits no reader its source nodes keep out (India-only, NTK, proprietary)."""
    copied = [site_id for site_id, found in demo.sources.items() if len(found) > 1]
    assert len(copied) > 10
    for name, principal in demo.principals.items():
        for site_id in copied:
            if demo.site_visible(principal, site_id):
                assert all(allows(principal, s) for s in demo.sources[site_id]), (name, demo.sites[site_id][0].name)
        for capability_id, found in demo.capability_sources.items():
            if demo.capability_visible(principal, capability_id):
                assert all(allows(principal, s) for s in found), (name, capability_id)


@pytest.mark.parametrize("user", DEMO_USERS)
def test_each_demo_user_sees_exactly_the_registry_its_markings_allow(demo: Demo, user: str) -> None:
    principal = demo.principals[user]
    expected_sites = {pk for pk in demo.sites if demo.site_visible(principal, pk)}
    expected_caps = {pk for pk in demo.capabilities if demo.capability_visible(principal, pk)}
    listed = demo.get(user, f"{API}/registry/sites", limit=1000)
    assert {s["id"] for s in listed["items"]} == expected_sites and listed["total"] == len(expected_sites)
    caps = demo.get(user, f"{API}/registry/capabilities", limit=1000)
    assert {c["id"] for c in caps["items"]} == expected_caps and caps["total"] == len(expected_caps)
    # ... and none of it was copied from a node the user may not read.
    assert not [demo.sites[pk][0].name for pk in expected_sites if not demo.reads_sources(principal, site=pk)]
    assert not [pk for pk in expected_caps if not demo.reads_sources(principal, capability=pk)]
    # Source rankings: every material the registry holds, by name.
    materials = sorted({c.material for c, _ in demo.capabilities.values()})
    for material in materials:
        found = demo.get(user, f"{API}/registry/sources", material=material, limit=1000)
        ranked = {s["capability"]["id"] for s in found["items"]}
        assert ranked <= expected_caps, (user, material, ranked - expected_caps)
        assert all(demo.reads_sources(principal, capability=pk) for pk in ranked), (user, material)
        assert {pk for pk in expected_caps if demo.capabilities[pk][0].material == material} <= ranked
    # Nothing a hidden site or capability holds shows up anywhere in what the user was answered.
    hidden_names = {demo.sites[pk][0].name for pk in set(demo.sites) - expected_sites} - {
        demo.sites[pk][0].name for pk in expected_sites
    }
    text = str(listed) + str(caps)
    assert not [n for n in hidden_names if n in text], user


def test_mitigation_alternates_rank_only_what_the_analyst_may_read(demo: Demo) -> None:
    ranked = 0
    for user, scenario in demo.scenarios.items():
        principal = demo.principals[user]
        answer = demo.get(user, f"{API}/registry/alternates", scenario=scenario, limit=1000)
        ranked += len(answer["items"])
        for item in answer["items"]:
            capability_id = item["source"]["capability"]["id"]
            assert demo.capability_visible(principal, capability_id), (user, capability_id)
            assert demo.reads_sources(principal, capability=capability_id), (user, capability_id)
    assert ranked, "the sanctions scenarios should have alternates"


@pytest.mark.parametrize("user", DEMO_USERS)
def test_the_sosa_form_and_request_histories_show_only_what_each_user_may_read(demo: Demo, user: str) -> None:
    principal = demo.principals[user]
    sign_in(demo.client, user, demo.passwords[user])
    form = demo.client.get("/sosa/new")
    if form.status_code == 200:
        datalist = re.search(r'<datalist id="draft-sites">(.*?)</datalist>', form.text, re.S)
        assert datalist is not None
        offered = set(re.findall(r'<option value="([^"]*)"', datalist.group(1)))
        allowed = {
            s.name
            for pk, (s, _m, _f) in demo.sites.items()
            if demo.site_visible(principal, pk) and demo.reads_sources(principal, site=pk)
        }
        assert offered and offered <= allowed, (user, offered - allowed)
    else:
        assert form.status_code == 403, (user, form.status_code)  # only desk officers and admins draft
    unreadable = [u for u, spec in demo.users.values() if not allows(principal, spec)]
    assert unreadable, user  # every demo user misses at least the other party's accounts
    shown = 0
    for request_id in demo.requests:  # the request page names who acted in its history
        page = demo.client.get(f"/sosa/{request_id}")
        if page.status_code == 200:
            shown += 1
            for hidden in unreadable:
                assert hidden.username not in page.text and hidden.display_name not in page.text, (
                    user,
                    hidden.username,
                )
    assert shown or principal.roles.isdisjoint({"desk_officer", "admin"}), user
    demo.client.cookies.clear()
    for request_id in demo.requests:
        answer = demo.client.get(
            f"{API}/sosa/{request_id}/history", headers={"Authorization": f"Bearer {demo.tokens[user]}"}
        )
        if answer.status_code == 404:
            continue
        assert answer.status_code == 200, answer.text
        for hidden in unreadable:
            assert hidden.username not in answer.text and hidden.display_name not in answer.text, (
                user,
                hidden.username,
            )
