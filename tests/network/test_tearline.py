"""Tear-line stand-ins: the partner's view with them gives the full network's PI and TTS, and names nothing hidden.

Hand-built cases first (a hidden forge behind a visible engine maker, hidden twins, a hidden chain with its
own product, a shared site), then a property over random networks with random hidden sets and twins.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from setu.network.compile import compile_network
from setu.network.model import BomLine, Network, Node, Product, SiteCapacity, Supply
from setu.network.tearline import partner_network, tear_line
from setu.stress.tearline import check_views
from stress.test_properties import networks


def engine_line() -> Network:
    """An engine maker (visible) fed by two Indian forges (hidden twins) and one US forge; forges need titanium.

    The hidden nodes carry names, sites, organizations and a program that nothing released may repeat.
    """
    return Network(
        "engines",
        nodes=[
            Node("ENG", "engine", 10, 4, ttr=8, country="US", name="GE Lynn"),
            Node("F-IN-1", "forging", 5, 2, ttr=30, site="Pune Works", organization="Bharat Forge", country="IN",
                 name="Bharat Forge Pune", program="Kaveri"),
            Node("F-IN-2", "forging", 3, 1, ttr=20, site="Nagpur", organization="Bharat Forge", country="IN",
                 name="Bharat Forge Nagpur", program="Kaveri"),
            Node("F-US", "forging", 2, 0, ttr=10, country="US", name="PCC Forge"),
            Node("TI-IN", "titanium", 9, 3, ttr=40, site="Hyderabad", organization="MIDHANI", country="IN",
                 name="MIDHANI Hyderabad"),
            Node("TI-US", "titanium", 2, 0, ttr=12, country="US", name="Timet"),
        ],
        products=[Product("ENG", 9, 2.0)],
        bom=[BomLine("ENG", "forging", 1.0), BomLine("F-IN-1", "titanium", 2.0), BomLine("F-IN-2", "titanium", 2.0)],
        supplies=[
            Supply("F-IN-1", "ENG"),
            Supply("F-IN-2", "ENG"),
            Supply("F-US", "ENG"),
            Supply("TI-IN", "F-IN-1"),
            Supply("TI-IN", "F-IN-2"),
            Supply("TI-US", "F-IN-1"),
            Supply("TI-US", "F-IN-2"),
        ],
    )  # fmt: skip


HIDDEN = {"F-IN-1", "F-IN-2", "TI-IN"}


def test_without_stand_ins_the_partner_computes_on_a_starvedengine_line() -> None:
    # The reason stand-ins exist: the partner's figures for the same scenario are wrong without them.
    net = engine_line()
    bare = partner_network(net, HIDDEN)
    assert {n.id for n in bare.nodes} == {"ENG", "F-US", "TI-US"}
    full = compile_network(net)
    check = check_views(full, compile_network(bare), {})
    assert not check.exact
    assert {d.scenario for d in check.differences} >= {"F-US"}


def test_stand_ins_give_the_full_networks_figures_and_fold_twins() -> None:
    net = engine_line()
    tear = tear_line(net, HIDDEN)
    # The two forges are twins (same material, country, suppliers, customers, BOM): one stand-in.
    forges = [s for s in tear.standins if s.material == "forging"]
    assert len(forges) == 1 and forges[0].covers == ("F-IN-1", "F-IN-2")
    assert (forges[0].capacity, forges[0].inventory, forges[0].ttr) == (8, 3, 30)
    assert forges[0].name == "Undisclosed IN source of forging"
    check = check_views(compile_network(net), compile_network(partner_network(net, HIDDEN, tear)), tear.covers())
    assert check.exact, check.differences
    assert check.scenarios == 4  # F-US, TI-US and the two stand-ins


def test_stand_ins_name_no_hidden_name_site_or_organization() -> None:
    net = engine_line()
    tear = tear_line(net, HIDDEN)
    text = repr([dataclasses.asdict(s) | {"name": s.name} for s in tear.standins]) + repr(tear.supplies)
    for hidden in (n for n in net.nodes if n.id in HIDDEN):
        for secret in (hidden.site, hidden.organization):
            assert secret not in text
    stood = partner_network(net, HIDDEN, tear)
    assert {n.id for n in stood.nodes}.isdisjoint(HIDDEN)
    assert all(not n.site and not n.organization for n in stood.nodes if n.id.startswith("standin-"))


def test_a_hidden_product_stands_in_with_its_demand() -> None:
    net = engine_line()
    net.nodes.append(Node("HAL", "engine", 4, 1, ttr=5, country="IN", name="HAL Koraput"))
    net.products.append(Product("HAL", 3, 5.0))
    net.bom.append(BomLine("HAL", "forging", 1.0))
    net.supplies.append(Supply("F-US", "HAL"))
    hidden = HIDDEN | {"HAL"}
    tear = tear_line(net, hidden)
    (demand,) = [s for s in tear.standins if s.demand is not None]
    assert (demand.demand, demand.weight, demand.name) == (3, 5.0, "Undisclosed IN demand for engine")
    check = check_views(compile_network(net), compile_network(partner_network(net, hidden, tear)), tear.covers())
    assert check.exact, check.differences


def test_a_shared_site_all_hidden_becomes_an_undisclosed_site_and_a_mixed_one_is_reported() -> None:
    net = engine_line()
    net.nodes[1] = dataclasses.replace(net.nodes[1], site="Pune Works")
    net.nodes[4] = dataclasses.replace(net.nodes[4], site="Pune Works")
    net.site_capacities.append(SiteCapacity("Pune Works", 6))
    tear = tear_line(net, HIDDEN)
    assert [s.capacity for s in tear.site_capacities] == [6]
    assert "Pune" not in repr(tear.site_capacities) and not tear.inexact
    check = check_views(compile_network(net), compile_network(partner_network(net, HIDDEN, tear)), tear.covers())
    assert check.exact, check.differences

    net.nodes[3] = dataclasses.replace(net.nodes[3], site="Pune Works")  # a visible forge joins the site
    mixed = tear_line(net, HIDDEN)
    assert mixed.inexact and "Pune" not in " ".join(mixed.inexact)


@st.composite
def hidden_cases(draw: st.DrawFn) -> tuple[Network, set[str]]:
    """A random network, with some nodes given hidden twins, and a random hidden set."""
    net = draw(networks())
    products = {p.node for p in net.products}
    twins: list[tuple[str, str]] = []
    for node in list(net.nodes):
        if node.id not in products and draw(st.integers(0, 3)) == 0:
            twin = f"{node.id}-twin"
            net.nodes.append(dataclasses.replace(node, id=twin, capacity=draw(st.integers(0, 20)) / 2))
            twins.append((node.id, twin))
    for original, twin in twins:
        net.supplies += [Supply(twin, e.customer) for e in net.supplies if e.supplier == original]
        net.supplies += [Supply(e.supplier, twin) for e in net.supplies if e.customer == original]
        net.bom += [BomLine(twin, b.material, b.quantity) for b in net.bom if b.node == original]
    ids = [n.id for n in net.nodes]
    hidden = set(draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids) - 1)))
    for original, twin in twins:
        if original in hidden and draw(st.booleans()):
            hidden.add(twin)
    if len(hidden) == len(ids):
        hidden.discard(ids[0])
    return net, hidden


@settings(max_examples=150, deadline=None)
@given(hidden_cases())
def test_with_stand_ins_every_partner_scenario_has_the_full_networks_figures(case: tuple[Network, set[str]]) -> None:
    net, hidden = case
    tear = tear_line(net, hidden)
    assert sum(len(s.covers) for s in tear.standins) == len(hidden)
    if tear.inexact:  # a shared site over hidden and visible nodes: nothing to claim, but nothing named either
        return
    partner = partner_network(net, hidden, tear)
    if not partner.products:
        return
    check = check_views(compile_network(net), compile_network(partner), tear.covers())
    assert check.exact, check.differences


def test_folding_by_material_crosses_fewer_records_and_the_check_says_what_it_costs() -> None:
    net = engine_line()
    # A second engine maker, fed only by the Nagpur forge: the two forges are no longer twins.
    net.nodes.append(Node("ENG-2", "engine", 6, 1, ttr=6, country="US", name="GE Evendale"))
    net.products.append(Product("ENG-2", 5, 3.0))
    net.bom.append(BomLine("ENG-2", "forging", 1.0))
    net.supplies.append(Supply("F-IN-2", "ENG-2"))
    exact = tear_line(net, HIDDEN)
    folded = tear_line(net, HIDDEN, fold="material")
    assert [len(s.covers) for s in exact.standins if s.material == "forging"] == [1, 1]
    (forge,) = [s for s in folded.standins if s.material == "forging"]
    assert (forge.covers, forge.capacity) == (("F-IN-1", "F-IN-2"), 8.0)
    full = compile_network(net)
    assert check_views(full, compile_network(partner_network(net, HIDDEN, exact)), exact.covers()).exact
    pooled = check_views(full, compile_network(partner_network(net, HIDDEN, folded)), folded.covers())
    # Pooled, the Pune forge can now ship to ENG-2 as well: the partner's figures are rosier, and the check says so.
    assert pooled.differences and all(d.partner_pi <= d.full_pi + 1e-9 for d in pooled.differences)


@settings(max_examples=100, deadline=None)
@given(hidden_cases())
def test_folding_by_material_never_makes_more_stand_ins_and_always_yields_a_computable_view(
    case: tuple[Network, set[str]],
) -> None:
    net, hidden = case
    exact, folded = tear_line(net, hidden), tear_line(net, hidden, fold="material")
    assert len(folded.standins) <= len(exact.standins)
    assert sum(len(s.covers) for s in folded.standins) == len(hidden)
    assert len({(s.material, s.country, s.party, s.demand is None or s.covers) for s in folded.standins}) == len(
        folded.standins
    )
    partner = partner_network(net, hidden, folded)
    if partner.products:
        check_views(compile_network(net), compile_network(partner), folded.covers())  # computes, whatever it finds
