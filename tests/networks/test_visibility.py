"""Every read path over stored networks shows a user exactly what their markings admit, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from networks.world import (
    IN_BEL_USER,
    IN_HAL_USER,
    IN_ONLY_NODES,
    SECRET_WORDS,
    US_GE_USER,
    USERS,
    audit_count,
    build_world,
    counter,
    edge_spec,
    small_network,
    spec_of,
    visible_ids,
)
from principals import ENGINE_NTK, HAL_PROPRIETARY, IN_ANALYST, IN_ONLY, SHARED, US_ANALYST, US_ONLY
from setu.errors import NotFound
from setu.network.model import Network
from setu.networks import (
    compiled_view,
    filter_suggestions,
    get_network,
    get_node,
    import_network,
    list_materials,
    list_networks,
    list_nodes,
    list_organizations,
    list_sites,
    node_neighbourhood,
)
from setu.networks.reads import SUGGEST_FIELDS
from setu.sharing.policy import Principal

World = tuple[Network, int]


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    network = small_network()
    with sessions() as session, session.begin():
        stored = build_world(session, network)
    return network, stored.id


def raised(call: Callable[[], Any]) -> NotFound:
    with pytest.raises(NotFound) as info:
        call()
    return info.value


def test_the_world_hides_something_from_everyone(world: World) -> None:
    network, _ = world
    everything = {node.id for node in network.nodes}
    for user in USERS:
        assert visible_ids(network, user) < everything
    assert not visible_ids(network, US_ANALYST) & set(IN_ONLY_NODES)
    assert "T2_6" in visible_ids(network, IN_ANALYST) - visible_ids(network, IN_BEL_USER)
    assert "T3_11" not in visible_ids(network, US_GE_USER)


def test_a_hidden_node_answers_exactly_like_a_missing_one(sessions: sessionmaker[Session], world: World) -> None:
    network, nid = world
    cases = [(US_ANALYST, "T2_9"), (IN_ANALYST, "T3_1"), (IN_BEL_USER, "T2_6"), (US_GE_USER, "T3_11")]
    with sessions() as session:
        for user, hidden in cases:
            assert hidden not in visible_ids(network, user)
            for read in (get_node, node_neighbourhood):
                h = raised(lambda read=read, user=user, hidden=hidden: read(session, user, nid, hidden))
                m = raised(lambda read=read, user=user: read(session, user, nid, "NO_SUCH"))
                assert type(h) is type(m) is NotFound
                assert str(h) == "no such node: " + repr(hidden)
                assert str(m) == "no such node: 'NO_SUCH'"
                assert str(h).replace(repr(hidden), "X") == str(m).replace("'NO_SUCH'", "X")
        # The denials were committed before raising, so a caller's rollback cannot erase them.
        session.rollback()
        assert audit_count(session, "node.read", "deny") == 2 * len(cases)
        assert audit_count(session, "node.neighbourhood", "deny") == 2 * len(cases)
        # The same users may read what they may see.
        for user, _ in cases:
            assert get_node(session, user, nid, "T1_1").node_id == "T1_1"
        session.commit()
        assert audit_count(session, "node.read") == len(cases)


def test_a_hidden_network_answers_like_a_missing_one(sessions: sessionmaker[Session], world: World) -> None:
    _, shared_id = world
    with sessions() as session, session.begin():
        secret = import_network(
            session,
            IN_ANALYST,
            small_network(),
            name="agni",
            format="accelerator",
            source="agni.json",
            marking=IN_ONLY,
        ).id
    with sessions() as session:
        assert get_network(session, IN_ANALYST, secret).name == "agni"
        assert get_network(session, US_ANALYST, shared_id).name == "small"
        session.commit()
        missing = 10_000
        reads: list[Callable[[Session, Principal, int], object]] = [
            get_network,
            lambda s, p, n: list_nodes(s, p, n),
            list_sites,
            list_organizations,
            list_materials,
            lambda s, p, n: filter_suggestions(s, p, n, "site", ""),
            lambda s, p, n: node_neighbourhood(s, p, n, "T1_1"),
            lambda s, p, n: get_node(s, p, n, "T1_1"),
            compiled_view,
        ]
        for read in reads:
            h = raised(lambda read=read: read(session, US_ANALYST, secret))
            m = raised(lambda read=read: read(session, US_ANALYST, missing))
            assert type(h) is type(m)
            assert str(h).replace(str(secret), "N") == str(m).replace(str(missing), "N") == "no such network: N"
        rows, total = list_networks(session, US_ANALYST)
        assert [r.name for r in rows] == ["small"] and total == 1
        assert list_networks(session, US_ANALYST, name="agni") == ([], 0)
        rows, total = list_networks(session, IN_ANALYST)
        assert sorted(r.name for r in rows) == ["agni", "small"] and total == 2
        session.commit()
        assert audit_count(session, "network.read", "deny") == 2
        assert audit_count(session, "network.list") == 3


def test_lists_counts_and_pages_hold_only_visible_nodes(sessions: sessionmaker[Session], world: World) -> None:
    network, nid = world
    with sessions() as session:
        for user in USERS:
            expected = visible_ids(network, user)
            rows, total = list_nodes(session, user, nid, limit=1000)
            assert {r.node_id for r in rows} == expected and total == len(expected)
            first, total = list_nodes(session, user, nid, sort="-capacity", limit=5)
            second, again = list_nodes(session, user, nid, sort="-capacity", offset=5, limit=5)
            assert total == again == len(expected)
            caps = [r.capacity for r in first + second]
            by_capacity = sorted((n.capacity for n in network.nodes if n.id in expected), reverse=True)
            assert caps == by_capacity[:10]
            for word in SECRET_WORDS:
                hits = {n.id for n in network.nodes if n.id in expected and word.lower() in _text(n).lower()}
                rows, total = list_nodes(session, user, nid, search=word.lower())
                assert {r.node_id for r in rows} == hits and total == len(hits)
            for field, value in (("organization", "Vikram Alloys"), ("program", "Project Agni"), ("party", "US")):
                hits = {n.id for n in network.nodes if n.id in expected and getattr(n, field) == value}
                rows, total = list_nodes(session, user, nid, filters={field: value}, limit=1000)
                assert {r.node_id for r in rows} == hits and total == len(hits)
        assert list_nodes(session, US_ANALYST, nid, search="vikram") == ([], 0)
        assert list_nodes(session, US_ANALYST, nid, filters={"site": "Nashik Secret Forge"}) == ([], 0)
        assert list_nodes(session, IN_ANALYST, nid, search="VIKRAM")[1] == len(IN_ONLY_NODES)
        session.commit()
        assert audit_count(session, "node.list") == len(USERS) * (3 + len(SECRET_WORDS) + 3) + 3


def _text(node: object) -> str:
    return " ".join(str(getattr(node, f)) for f in ("id", "name", "site", "organization", "material"))


def test_aggregates_count_only_visible_nodes(sessions: sessionmaker[Session], world: World) -> None:
    network, nid = world
    with sessions() as session:
        for user in USERS:
            seen = [n for n in network.nodes if n.id in visible_ids(network, user)]
            assert list_sites(session, user, nid) == counter([n.site for n in seen])
            assert list_organizations(session, user, nid) == counter([n.organization for n in seen])
            assert list_materials(session, user, nid) == counter([n.material for n in seen])
        us_orgs = {v.value for v in list_organizations(session, US_ANALYST, nid)}
        assert "Vikram Alloys" not in us_orgs and "GE Aerospace" in us_orgs
        assert "Nashik Secret Forge" not in {v.value for v in list_sites(session, US_ANALYST, nid)}
        # T3_16 (India-only) and T3_15 both make aal: the US analyst counts one source, the Indian two.
        assert dict(list_materials(session, US_ANALYST, nid))["aal"] == 1
        assert dict(list_materials(session, IN_ANALYST, nid))["aal"] == 2
        session.commit()
        assert audit_count(session, "site.list") == len(USERS) + 1
        assert audit_count(session, "organization.list") == len(USERS) + 1


def test_filter_suggestions_offer_only_visible_values(sessions: sessionmaker[Session], world: World) -> None:
    network, nid = world
    with sessions() as session:
        for user in USERS:
            seen = [n for n in network.nodes if n.id in visible_ids(network, user)]
            for field in SUGGEST_FIELDS:
                attribute = "id" if field == "node_id" else field
                values = {str(getattr(n, attribute)) for n in seen} - {""}
                assert set(filter_suggestions(session, user, nid, field, "", limit=1000)) == values
        assert filter_suggestions(session, US_ANALYST, nid, "organization", "vik") == []
        assert filter_suggestions(session, IN_ANALYST, nid, "organization", "vik") == ["Vikram Alloys"]
        assert filter_suggestions(session, US_ANALYST, nid, "program", "") == ["F414", "Tejas"]
        assert filter_suggestions(session, IN_ANALYST, nid, "program", "") == ["F414", "Project Agni", "Tejas"]
        assert filter_suggestions(session, US_ANALYST, nid, "node_id", "t2_9") == []
        assert filter_suggestions(session, IN_ANALYST, nid, "node_id", "t2_9") == ["T2_9"]
        assert filter_suggestions(session, US_ANALYST, nid, "site", "Pitt") == ["Pittsburgh", "Pittsburgh Annex"]
        assert filter_suggestions(session, IN_ANALYST, nid, "site", "Pitt") == ["Pittsburgh"]


def _neighbours(network: Network, user: Principal, node_id: str) -> dict[str, set[str]]:
    """The oracle: a node's neighbourhood over the nodes ``user`` sees (edges follow their ends here)."""
    seen = visible_ids(network, user)
    edges = {(s.supplier, s.customer) for s in network.supplies if s.supplier in seen and s.customer in seen}
    material = {n.id: n.material for n in network.nodes}
    customers = {c for s, c in edges if s == node_id}
    dependents: set[str] = set()
    frontier = set(customers)
    while frontier:
        dependents |= frontier
        frontier = {c for s, c in edges if s in frontier} - dependents
    return {
        "suppliers": {s for s, c in edges if c == node_id},
        "customers": customers,
        "alternates": {s for s, c in edges if c in customers and s != node_id and material[s] == material[node_id]},
        "dependents": dependents,
    }


def test_neighbourhoods_show_only_visible_nodes_and_edges(sessions: sessionmaker[Session], world: World) -> None:
    network, nid = world
    with sessions() as session:
        for user in USERS:
            for node_id in ("T1_5", "T2_7", "T2_1", "T2_2", "T3_18", "T3_13", "T3_15"):
                hood = node_neighbourhood(session, user, nid, node_id)
                got = {part: {n.node_id for n in getattr(hood, part)} for part in _neighbours(network, user, node_id)}
                assert got == _neighbours(network, user, node_id), (user, node_id)
        us, india = (node_neighbourhood(session, u, nid, "T2_7") for u in (US_ANALYST, IN_ANALYST))
        assert [n.node_id for n in us.alternates] == ["T2_8"]
        assert [n.node_id for n in india.alternates] == ["T2_8", "T2_9"]
        us, india = (node_neighbourhood(session, u, nid, "T3_18") for u in (US_ANALYST, IN_ANALYST))
        assert (us.customers, us.dependents) == ([], [])
        assert [n.node_id for n in india.dependents] == ["T1_1", "T1_2", "T2_9"]
        assert "T3_1" in {n.node_id for n in node_neighbourhood(session, US_ANALYST, nid, "T2_1").suppliers}
        assert node_neighbourhood(session, IN_ANALYST, nid, "T2_1").suppliers == []


def test_a_neighbourhood_lists_a_bounded_number_of_each_and_counts_them_all(
    sessions: sessionmaker[Session], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hub node of a large network must not load the network: each list is capped, the totals are exact.
    from setu.networks import reads

    network, nid = world
    monkeypatch.setattr(reads, "NEIGHBOURS", 2)
    with sessions() as session:
        for user in USERS:
            for node_id in ("T1_5", "T2_7", "T2_1", "T3_18", "T3_13"):
                hood = node_neighbourhood(session, user, nid, node_id)
                for part, expected in _neighbours(network, user, node_id).items():
                    assert [n.node_id for n in getattr(hood, part)] == sorted(expected)[:2], (user, node_id, part)
                    assert hood.totals[part] == len(expected), (user, node_id, part)


def test_compiled_view_is_the_network_as_the_user_sees_it(sessions: sessionmaker[Session], world: World) -> None:
    network, nid = world
    capacity = {n.id: n.capacity for n in network.nodes}
    with sessions() as session:
        for user in USERS:
            view, used = compiled_view(session, user, nid)
            assert set(view.node_ids) == visible_ids(network, user)
            pairs = zip(view.edge_supplier.tolist(), view.edge_customer.tolist(), strict=True)
            edges = {(view.node_ids[s], view.node_ids[c]) for s, c in pairs}
            assert used == {SHARED} | {spec_of(n) for n in view.node_ids} | {edge_spec(s, c) for s, c in edges}
            assert edges <= {(s.supplier, s.customer) for s in network.supplies}
            assert all(s in view.node_ids and c in view.node_ids for s, c in edges)
        us_view, us_used = compiled_view(session, US_ANALYST, nid)
        assert IN_ONLY not in us_used and HAL_PROPRIETARY not in us_used and US_ONLY in us_used
        assert not set(IN_ONLY_NODES) & set(us_view.node_ids)
        assert us_view.capacity[us_view.index_of("T2_1")] == capacity["T2_1"]
        # T3_1 (US-only) is T2_1's sole source of aae: India sees T2_1 unable to make anything.
        in_view, in_used = compiled_view(session, IN_ANALYST, nid)
        assert US_ONLY not in in_used and {IN_ONLY, HAL_PROPRIETARY, ENGINE_NTK} <= in_used
        assert in_view.capacity[in_view.index_of("T2_1")] == 0.0
        assert in_view.inventory[in_view.index_of("T2_1")] > 0
        t2_1 = in_view.index_of("T2_1")
        assert "aae" not in [m for i, m in enumerate(in_view.bom_material) if in_view.bom_node[i] == t2_1]
        assert in_view.capacity[in_view.index_of("T2_2")] == capacity["T2_2"]
        # BEL does not see HAL's T2_6, the only source of aab for T1_2 and T1_4: both are starved.
        bel_view, _ = compiled_view(session, IN_BEL_USER, nid)
        assert bel_view.capacity[bel_view.index_of("T1_2")] == 0.0
        assert bel_view.capacity[bel_view.index_of("T1_4")] == 0.0
        assert bel_view.capacity[bel_view.index_of("T1_3")] == capacity["T1_3"]
        session.commit()
        assert audit_count(session, "network.view") == len(USERS) + 3


def test_users_of_a_firm_see_their_own_proprietary_nodes(sessions: sessionmaker[Session], world: World) -> None:
    network, nid = world
    with sessions() as session:
        assert get_node(session, IN_HAL_USER, nid, "T2_6").organization == "HAL"
        assert get_node(session, IN_ANALYST, nid, "T2_6").organization == "HAL"
        for user in (IN_BEL_USER, US_ANALYST, US_GE_USER):
            assert str(raised(lambda user=user: get_node(session, user, nid, "T2_6"))) == "no such node: 'T2_6'"
        assert "Koraput" not in {v.value for v in list_sites(session, US_ANALYST, nid)}
        assert "T3_11" not in visible_ids(network, IN_HAL_USER)
        assert {r.node_id for r in list_nodes(session, IN_HAL_USER, nid, limit=1000)[0]} == visible_ids(
            network, IN_HAL_USER
        )
