"""Importing networks: versions, markings, validation, all-or-nothing writes, and plain reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from networks.world import IN_HAL_USER, audit_count, small_network
from principals import IN_ADMIN, IN_ANALYST, IN_AUDITOR, IN_ONLY, SHARED, US_ANALYST, US_ONLY, seed
from setu.errors import AccessDenied, InputError, MarkingError, ViewError
from setu.models import Marking
from setu.models.audit import AuditEntry
from setu.models.networks import (
    BomRecord,
    NetworkRecord,
    NodeRecord,
    ProductRecord,
    SiteCapacityRecord,
    SupplyRecord,
)
from setu.network.compile import compile_network
from setu.network.io.setu_format import write_setu
from setu.network.model import Network, SiteCapacity
from setu.networks import (
    compiled_view,
    filter_suggestions,
    get_network,
    get_node,
    import_network,
    list_networks,
    list_nodes,
)
from setu.networks.imports import import_upload, may_import
from setu.networks.uploads import UploadLimits
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.policy import Principal

TABLES = (NetworkRecord, NodeRecord, SupplyRecord, BomRecord, ProductRecord, SiteCapacityRecord, Marking)


@pytest.fixture
def network() -> Network:
    return small_network()


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions() as session, session.begin():
        seed(session)
    return sessions


def counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {t.__name__: session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES}


def store_network(
    factory: sessionmaker[Session],
    network: Network,
    user: Principal = IN_ANALYST,
    marking: MarkingSpec = SHARED,
    name: str = "small",
    node_markings: dict[str, MarkingSpec] | None = None,
) -> int:
    with factory() as session, session.begin():
        return import_network(
            session,
            user,
            network,
            name=name,
            format="accelerator",
            source="dataset_small.json",
            marking=marking,
            node_markings=node_markings,
        ).id


def test_import_stores_every_row_and_attribute(seeded: sessionmaker[Session], network: Network) -> None:
    nid = store_network(seeded, network)
    assert counts(seeded)["NodeRecord"] == len(network.nodes) == 35
    assert counts(seeded)["SupplyRecord"] == len(network.supplies)
    assert counts(seeded)["BomRecord"] == len(network.bom)
    assert counts(seeded)["ProductRecord"] == len(network.products)
    with seeded() as session:
        stored = get_network(session, IN_ANALYST, nid)
        assert (stored.name, stored.version, stored.format, stored.source) == (
            "small",
            1,
            "accelerator",
            "dataset_small.json",
        )
        assert (stored.node_count, stored.edge_count, stored.created_by) == (35, 44, IN_ANALYST.user_id)
        assert MarkingSpec.of(stored.marking) == SHARED
        node = get_node(session, US_ANALYST, nid, "T2_3")
        original = next(n for n in network.nodes if n.id == "T2_3")
        for field in ("material", "capacity", "inventory", "site", "organization", "party", "country", "ttr"):
            assert getattr(node, field) == getattr(original, field)
        assert (node.material_class, node.name, node.program) == ("tier2", "GE Aerospace T2_3", "F414")
        session.commit()
        assert audit_count(session, "network.import") == 1
        assert audit_count(session, "network.read") == 1
        assert audit_count(session, "node.read") == 1


def test_reimporting_a_name_adds_a_version_and_keeps_the_old(seeded: sessionmaker[Session], network: Network) -> None:
    first = store_network(seeded, network)
    second = store_network(seeded, network)
    # Importing is for analysts and admins: an analyst of another organization (HAL) starts its own versions.
    other_org = store_network(seeded, network, user=dataclasses.replace(IN_HAL_USER, roles=frozenset({"analyst"})))
    with seeded() as session:
        versions = {n.id: n.version for n in list_networks(session, IN_ANALYST, name="small")[0]}
        assert versions == {first: 1, second: 2, other_org: 1}
        assert list_networks(session, IN_ANALYST, name="SMA", limit=2)[1] == 3
        assert list_nodes(session, IN_ANALYST, first)[1] == list_nodes(session, IN_ANALYST, second)[1] == 35
    assert counts(seeded)["NodeRecord"] == 3 * 35


def test_an_importer_cannot_assign_a_marking_they_could_not_read(
    seeded: sessionmaker[Session], network: Network
) -> None:
    before = counts(seeded)
    us_only = {"T3_1": US_ONLY}
    with pytest.raises(MarkingError), seeded() as session, session.begin():
        import_network(session, US_ANALYST, network, name="x", format="", source="", marking=IN_ONLY)
    with pytest.raises(MarkingError), seeded() as session, session.begin():
        import_network(
            session, IN_ANALYST, network, name="x", format="", source="", marking=SHARED, node_markings=us_only
        )
    assert counts(seeded) == before
    with seeded() as session:
        assert audit_count(session, "network.import", "deny") == 2


def test_only_analysts_and_admins_import_and_a_refusal_is_audited(
    seeded: sessionmaker[Session], network: Network, tmp_path: Path
) -> None:
    """The import checks the role itself, so every caller (API, page, tools) is held to it."""
    before = counts(seeded)
    upload = write_setu(network, tmp_path / "small.xlsx")
    limits = UploadLimits(1024 * 1024, 16, 4 * 1024 * 1024)
    for user in (IN_HAL_USER, IN_AUDITOR):
        with pytest.raises(AccessDenied, match="requires role analyst or admin"), seeded() as session:
            import_network(session, user, network, name="x", format="", source="", marking=SHARED)
        with pytest.raises(AccessDenied), seeded() as session, upload.open("rb") as stream:
            import_upload(session, user, stream, "small.xlsx", format="auto", name="x", marking=SHARED, limits=limits)
    assert counts(seeded) == before
    with seeded() as session:
        assert audit_count(session, "network.import", "deny") == 4
        reasons = session.scalars(select(AuditEntry.details).where(AuditEntry.action == "network.import")).all()
    assert all('"reason": "role"' in details for details in reasons)
    assert [may_import(user) for user in (IN_ANALYST, IN_ADMIN, IN_HAL_USER, IN_AUDITOR)] == [True, True, False, False]


def test_an_import_failing_half_way_leaves_the_database_unchanged(
    seeded: sessionmaker[Session], network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_network(seeded, network)
    before = counts(seeded)
    # A crafted network that skips validation: the duplicate id fails only when its row is inserted,
    # after the network row and the markings were written.
    broken = dataclasses.replace(network, nodes=[*network.nodes, network.nodes[3]])
    monkeypatch.setattr("setu.networks.imports.network_problems", lambda _network: [])
    new_marking = MarkingSpec(2, "IN", frozenset({"IN"}))
    with seeded() as session:
        with pytest.raises(IntegrityError):
            import_network(session, IN_ANALYST, broken, name="small", format="", source="", marking=new_marking)
        # The service rolled the session back: committing now writes nothing of the import.
        session.commit()
    assert counts(seeded) == before
    with seeded() as session:
        assert audit_count(session, "network.import") == 1


def test_an_invalid_network_or_marking_map_is_refused(seeded: sessionmaker[Session], network: Network) -> None:
    before = counts(seeded)
    with pytest.raises(InputError, match="unknown node"), seeded() as session:
        import_network(
            session, IN_ANALYST, network, name="x", format="", source="", marking=SHARED, node_markings={"NOPE": SHARED}
        )
    broken = dataclasses.replace(network, products=[])
    with pytest.raises(InputError, match="no product"), seeded() as session:
        import_network(session, IN_ANALYST, broken, name="x", format="", source="", marking=SHARED)
    assert counts(seeded) == before


def test_node_lists_search_sort_and_refuse_bad_arguments(seeded: sessionmaker[Session], network: Network) -> None:
    nid = store_network(seeded, network)
    with seeded() as session:
        rows, total = list_nodes(session, IN_ANALYST, nid, search="t3_1", sort="node_id", limit=3)
        assert total == 11 and [r.node_id for r in rows] == ["T3_1", "T3_10", "T3_11"]
        rows, total = list_nodes(session, IN_ANALYST, nid, filters={"party": "US", "material_class": "tier2"})
        assert total == 5 and {r.organization for r in rows} == {"GE Aerospace"}
        rows, _ = list_nodes(session, IN_ANALYST, nid, sort="-inventory", limit=1000)
        assert [r.inventory for r in rows] == sorted((n.inventory for n in network.nodes), reverse=True)
        rows, _ = list_nodes(session, IN_ANALYST, nid, search="100%_", limit=10)
        assert rows == []
        with pytest.raises(InputError, match="sort"):
            list_nodes(session, IN_ANALYST, nid, sort="marking_id")
        with pytest.raises(InputError, match="filter"):
            list_nodes(session, IN_ANALYST, nid, filters={"marking_id": "1"})
        with pytest.raises(InputError, match="limit"):
            list_nodes(session, IN_ANALYST, nid, limit=0)
        with pytest.raises(InputError, match="suggestions"):
            filter_suggestions(session, IN_ANALYST, nid, "capacity", "1")


def test_the_view_of_a_fully_visible_network_is_the_network(seeded: sessionmaker[Session], network: Network) -> None:
    nid = store_network(seeded, network)
    expected = compile_network(network)
    with seeded() as session:
        view, used = compiled_view(session, US_ANALYST, nid)
    assert used == {SHARED}
    assert view.node_ids == expected.node_ids and view.materials == expected.materials
    assert list(view.capacity) == list(expected.capacity) and list(view.inventory) == list(expected.inventory)
    assert sorted(zip(view.edge_supplier.tolist(), view.edge_customer.tolist(), strict=True)) == sorted(
        zip(expected.edge_supplier.tolist(), expected.edge_customer.tolist(), strict=True)
    )
    assert sorted(zip(view.bom_node.tolist(), view.bom_material, strict=True)) == sorted(
        zip(expected.bom_node.tolist(), expected.bom_material, strict=True)
    )
    assert view.product_nodes.tolist() == expected.product_nodes.tolist()
    assert view.demand.tolist() == expected.demand.tolist() and view.weight.tolist() == expected.weight.tolist()
    assert view.attributes == expected.attributes


def test_shared_site_capacities_carry_all_their_nodes_markings(seeded: sessionmaker[Session], network: Network) -> None:
    network.site_capacities = [SiteCapacity("Pittsburgh", 5000.0), SiteCapacity("Bengaluru", 90000.0)]
    nid = store_network(seeded, network, node_markings={"T3_2": IN_ONLY})
    with seeded() as session:
        stored = {
            row.site: MarkingSpec.of(row.marking)
            for row in session.scalars(select(SiteCapacityRecord).where(SiteCapacityRecord.network_id == nid))
        }
        assert stored == {"Pittsburgh": IN_ONLY, "Bengaluru": SHARED}
        us_view, _ = compiled_view(session, US_ANALYST, nid)
        in_view, _ = compiled_view(session, IN_ANALYST, nid)
    assert us_view.shared_sites == ["Bengaluru"]
    assert in_view.shared_sites == ["Bengaluru", "Pittsburgh"]


def test_a_view_without_a_visible_product_is_refused(seeded: sessionmaker[Session], network: Network) -> None:
    products = {p.node for p in network.products}
    nid = store_network(seeded, network, node_markings=dict.fromkeys(products, IN_ONLY))
    with seeded() as session:
        with pytest.raises(ViewError):
            compiled_view(session, US_ANALYST, nid)
        assert compiled_view(session, IN_ANALYST, nid)[0].n_products == len(products)


def test_combining_markings_keeps_one_that_already_admits_exactly_the_combination() -> None:
    assert combine([IN_ONLY, SHARED], "IN") == IN_ONLY
    assert combine([SHARED], "US") == SHARED
    ntk = MarkingSpec(1, "IN", frozenset({"IN", "US"}), groups=frozenset({"ENGINE"}))
    both = combine([ntk, IN_ONLY], "IN")
    assert both.groups == {"ENGINE"} and both.effective_releases == {"IN"}
