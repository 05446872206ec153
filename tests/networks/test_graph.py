"""The map's graph read: exactly the visible nodes, the visible edges between them and the visible products."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from networks.world import USERS, audit_count, build_world, edge_spec, small_network, spec_of, visible_ids
from principals import US_ANALYST
from setu.errors import NotFound
from setu.networks.graph import network_graph
from setu.sharing.policy import Principal


def test_network_graph_holds_only_what_each_user_may_see(sessions: sessionmaker[Session]) -> None:
    network = small_network()
    with sessions() as session, session.begin():
        nid = build_world(session, network).id
    products = {p.node for p in network.products}
    with sessions() as session:
        for user in USERS:
            graph = network_graph(session, user, nid)
            ids = [node.node_id for node in graph.nodes]
            seen = visible_ids(network, user)
            assert ids == sorted(seen), user
            edges = {(ids[s], ids[c]) for s, c in zip(graph.suppliers, graph.customers, strict=True)}
            expected = {(s.supplier, s.customer) for s in network.supplies if {s.supplier, s.customer} <= seen}
            assert edges == expected, user
            assert {ids[p] for p in graph.products} == products & seen
            assert graph.markings == {edge_spec(s, c) for s, c in edges} | {spec_of(ids[p]) for p in graph.products}
        assert audit_count(session, "network.graph") == len(USERS)
        stranger = Principal(999, "US", 4, True, 0)
        with pytest.raises(NotFound):
            network_graph(session, stranger, nid)
        with pytest.raises(NotFound):
            network_graph(session, US_ANALYST, nid + 1000)
        assert audit_count(session, "network.graph", "deny") == 2


def test_over_its_limit_the_graph_holds_the_products_and_their_nearest_suppliers(
    sessions: sessionmaker[Session],
) -> None:
    network = small_network()
    with sessions() as session, session.begin():
        nid = build_world(session, network).id
    products = {p.node for p in network.products}
    suppliers: dict[str, set[str]] = {}
    for s in network.supplies:
        suppliers.setdefault(s.customer, set()).add(s.supplier)
    with sessions() as session:
        for user in USERS:
            seen = visible_ids(network, user)
            for limit in (1, len(products & seen), 12):
                graph = network_graph(session, user, nid, limit=limit)
                ids = [node.node_id for node in graph.nodes]
                assert graph.total == len(seen) and graph.partial and len(ids) == min(limit, len(seen))
                assert set(ids) <= seen and ids == sorted(ids), user
                shown = set(ids)
                # Products first, then suppliers of what is shown: every non-product has a customer on the map.
                assert shown & products == (products & seen if limit >= len(products & seen) else shown)
                for node in shown - products:
                    assert any(node in suppliers.get(c, set()) for c in shown), (user, node)
                edges = {(ids[s], ids[c]) for s, c in zip(graph.suppliers, graph.customers, strict=True)}
                expected = {(s.supplier, s.customer) for s in network.supplies if {s.supplier, s.customer} <= shown}
                assert edges == expected, user
            whole = network_graph(session, user, nid, limit=len(seen))
            assert not whole.partial and len(whole.nodes) == whole.total == len(seen)
