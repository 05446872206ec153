"""The dashboard's figures: per program riskiest nodes, products at risk and exposure, over visible records only."""

from __future__ import annotations

from collections import deque

import pytest
from sqlalchemy.orm import Session, sessionmaker

from networks.world import (
    IN_HAL_USER,
    IN_ONLY_NODES,
    SECRET_WORDS,
    US_GE_USER,
    USERS,
    audit_count,
    build_world,
    edge_spec,
    small_network,
    spec_of,
    visible_ids,
)
from principals import IN_ANALYST, IN_ONLY, SHARED, US_ANALYST
from setu.dashboard.figures import NetworkOverview, ProgramOverview
from setu.dashboard.service import NO_PROGRAM, dashboard_overview, network_overview
from setu.errors import NotFound
from setu.network.model import Network
from setu.networks import import_network
from setu.runs import execute_run, start_run
from setu.runs.reference import chosen_run
from setu.runs.results import list_results
from setu.runs.scenarios import create_scenario
from setu.settings import DEFAULT_CONCERN_COUNTRIES, ApiSettings, parse_countries
from setu.sharing.markings import combine
from setu.sharing.policy import Principal, allows
from setu.stress.scenarios import Scenario

Factory = sessionmaker[Session]


@pytest.fixture
def world() -> Network:
    return small_network()


@pytest.fixture
def built(sessions: Factory, world: Network) -> int:
    """The world network stored, with a completed node sweep by each party's analyst; its id."""
    with sessions() as session, session.begin():
        network_id = build_world(session, world).id
    for analyst in (IN_ANALYST, US_ANALYST):
        run(sessions, analyst, network_id, "sweep", reference=True)
    return network_id


def run(
    sessions: Factory, principal: Principal, network_id: int, scenarios: list[int] | str, *, reference: bool = False
) -> int:
    with sessions() as session, session.begin():
        chosen = scenarios if scenarios == "sweep" else list(scenarios)
        run_id = start_run(session, principal, network_id, chosen, reference=reference).id
    execute_run(sessions, run_id, principal)
    return run_id


def overview(
    sessions: Factory, principal: Principal, network_id: int, concern: set[str], run_id: int | None = None
) -> NetworkOverview:
    with sessions() as session, session.begin():
        choice = chosen_run(session, principal, network_id, run_id)
        return network_overview(session, principal, network_id, concern=concern, choice=choice)


def programs(view: NetworkOverview) -> dict[str, ProgramOverview]:
    return {p.program: p for p in view.programs}


# --- the oracle: the same figures from the world's Network and the Python marking rule ----------------


def upstream(world: Network, principal: Principal, start: set[str]) -> set[str]:
    seen = visible_ids(world, principal)
    suppliers: dict[str, list[str]] = {}
    for s in world.supplies:
        if s.supplier in seen and s.customer in seen and allows(principal, edge_spec(s.supplier, s.customer)):
            suppliers.setdefault(s.customer, []).append(s.supplier)
    found, queue = set(start), deque(start)
    while queue:
        for supplier in suppliers.get(queue.popleft(), []):
            if supplier not in found:
                found.add(supplier)
                queue.append(supplier)
    return found


def expected_exposure(
    world: Network, principal: Principal, program: str | None, concern: set[str]
) -> tuple[int, int, list[str]]:
    """(nodes of concern, nodes in scope, dependent products) of a program's scope (None: every visible node)."""
    seen = visible_ids(world, principal)
    country = {n.id: n.country.upper() for n in world.nodes}
    own = {n.id for n in world.nodes if n.id in seen and (program is None or n.program == program)}
    scope = upstream(world, principal, own) if program is not None else seen
    flagged = {n for n in scope if country[n] in {c.upper() for c in concern}}
    products = [p.node for p in world.products if p.node in own]
    exposed = sorted(p for p in products if upstream(world, principal, {p}) & flagged)
    return len(flagged), len(scope), exposed


# --- exact figures -------------------------------------------------------------------------------------


def test_exact_figures_for_each_analyst(sessions: Factory, built: int, world: Network) -> None:
    ours = overview(sessions, IN_ANALYST, built, {"US"})
    assert ours.nodes == 34 and ours.results == 29
    assert [p.program for p in ours.programs] == ["F414", "Project Agni", "Tejas", NO_PROGRAM]
    by = programs(ours)
    tejas, f414, agni = by["Tejas"], by["F414"], by["Project Agni"]
    assert (tejas.nodes, tejas.scope, len(tejas.products)) == (5, 34, 5)
    assert (f414.nodes, f414.scope, f414.products) == (5, 12, [])
    assert (agni.nodes, agni.scope) == (3, 5)
    assert (len(ours.exposure.nodes), ours.exposure.scope) == (14, 34)
    assert ours.exposure.share == pytest.approx(14 / 34)
    assert [n.node_id for n in ours.exposure.products] == ["T1_1", "T1_2", "T1_3", "T1_4", "T1_5"]
    assert f414.exposure.by_country == [("US", 8)]
    top = [(r.node.node_id, round(r.result.rei, 3)) for r in tejas.riskiest]
    assert top == [("T3_8", 1.0), ("T2_6", 0.596), ("T2_9", 0.357), ("T2_4", 0.176), ("T3_2", 0.045)]
    assert [p.node.node_id for p in tejas.at_risk] == ["T1_2", "T1_3", "T1_5", "T1_4", "T1_1"]

    theirs = overview(sessions, US_ANALYST, built, {"US"})
    us_seen = visible_ids(world, US_ANALYST)
    assert theirs.nodes == len(us_seen) == 31
    assert [p.program for p in theirs.programs] == ["F414", "Tejas", NO_PROGRAM]
    assert (len(theirs.exposure.nodes), theirs.exposure.scope) == (15, 31)
    assert programs(theirs)["Tejas"].scope == 28
    # Without the India-only suppliers, four Tejas products cannot be made at all on the US view: every
    # scenario's loss is the view's own shortfall, and nothing is ranked as if a disruption caused it.
    assert theirs.run is not None and sorted(theirs.run.baseline["short"]) == ["T1_1", "T1_2", "T1_3", "T1_4"]
    assert programs(theirs)["Tejas"].riskiest == []


def test_no_in_only_record_reaches_the_us_analyst(sessions: Factory, built: int, world: Network) -> None:
    for principal in (US_ANALYST, US_GE_USER):
        view = overview(sessions, principal, built, {"IN", "US"})
        seen = visible_ids(world, principal)
        assert view.nodes == len(seen) and not seen & set(IN_ONLY_NODES)
        assert view.exposure.scope == len(seen)
        listed: set[str] = {n.node_id for n in view.exposure.nodes + view.exposure.products}
        for program in view.programs:
            assert program.scope <= len(seen)
            listed |= {n.node_id for n in program.exposure.nodes + program.exposure.products + program.products}
            listed |= {r.node.node_id for r in program.riskiest} | {p.node.node_id for p in program.at_risk}
            for word in SECRET_WORDS:
                assert word not in program.program
        assert listed <= seen
        assert not listed & set(IN_ONLY_NODES)
        # Every node of the world is in India or the US: all the visible ones and none other are counted.
        assert len(view.exposure.nodes) == len(seen) and view.exposure.share == 1.0
    # The Indian analyst's counts do include them.
    in_seen = visible_ids(world, IN_ANALYST)
    in_view = overview(sessions, IN_ANALYST, built, {"IN"})
    assert len(in_view.exposure.nodes) == sum(1 for n in world.nodes if n.id in in_seen and n.country == "IN") == 20
    assert {n.node_id for n in in_view.exposure.nodes} >= set(IN_ONLY_NODES)


# --- exposure against the oracle ---------------------------------------------------------------------


@pytest.mark.parametrize("concern", [set(), {"US"}, {"IN"}, {"in", "us"}, {"CN", "RU"}])
def test_exposure_matches_the_oracle_for_every_user(
    sessions: Factory, built: int, world: Network, concern: set[str]
) -> None:
    for principal in USERS:
        view = overview(sessions, principal, built, concern)
        assert (len(view.exposure.nodes), view.exposure.scope, [n.node_id for n in view.exposure.products]) == (
            expected_exposure(world, principal, None, concern)
        )
        seen = visible_ids(world, principal)
        assert {p.program for p in view.programs} == {n.program for n in world.nodes if n.id in seen}
        for program in view.programs:
            exposure = program.exposure
            got = (len(exposure.nodes), exposure.scope, [n.node_id for n in exposure.products])
            assert got == expected_exposure(world, principal, program.program, concern), program.program
            assert sum(count for _c, count in exposure.by_country) == len(exposure.nodes)
            assert all(n.country.upper() in {c.upper() for c in concern} for n in exposure.nodes)


def test_figures_carry_the_combined_marking_of_what_they_count(sessions: Factory, built: int, world: Network) -> None:
    for principal in (IN_ANALYST, US_ANALYST):
        view = overview(sessions, principal, built, {"US"})
        seen = visible_ids(world, principal)
        everything = combine([spec_of(n) for n in seen] + [SHARED], principal.party)
        assert view.exposure.spec == everything
        for program in view.programs:
            assert program.risk_spec is not None and allows(principal, program.risk_spec)
    in_view = programs(overview(sessions, IN_ANALYST, built, {"US"}))
    # Project Agni's scope is India-only nodes and shared suppliers; F414's holds no India-only node.
    assert in_view["Project Agni"].exposure.spec == IN_ONLY
    assert in_view["F414"].exposure.spec == SHARED
    assert in_view["Tejas"].exposure.spec.national_only
    us_view = programs(overview(sessions, US_ANALYST, built, {"US"}))
    assert all(p.exposure.spec.origin_party == "US" or not p.exposure.spec.national_only for p in us_view.values())
    assert not any(p.exposure.spec.national_only and p.exposure.spec.origin_party == "IN" for p in us_view.values())


# --- risks from the run ------------------------------------------------------------------------------


def test_riskiest_nodes_are_the_worst_single_node_results_of_the_scope(
    sessions: Factory, built: int, world: Network
) -> None:
    view = overview(sessions, IN_ANALYST, built, set())
    assert view.run is not None
    with sessions() as session:
        results, _ = list_results(session, IN_ANALYST, view.run.id, limit=1000)
    for program in view.programs:
        own = {n.id for n in world.nodes if n.program == program.program} & visible_ids(world, IN_ANALYST)
        scope = upstream(world, IN_ANALYST, own)
        losing = sorted(
            (r for r in results if r.disrupted in scope and r.lost_profit > 0),
            key=lambda r: (-r.rei, -r.lost_profit, r.disrupted),
        )
        assert [(r.node.node_id, r.result.id) for r in program.riskiest] == [(r.disrupted, r.id) for r in losing[:5]]
        # A loss exactly when TTS < TTR.
        assert all(r.result.at_risk and r.result.tts_value < r.result.ttr for r in program.riskiest)


def test_products_at_risk_follow_the_disruption_downstream(sessions: Factory, built: int) -> None:
    expected = {
        ("T3_2",): (["T1_1", "T1_2"], False),
        ("T2_6",): (["T1_2", "T1_3", "T1_4"], False),
        ("T1_4",): (["T1_4"], True),
    }
    for nodes, (products, direct) in expected.items():
        with sessions() as session, session.begin():
            scenario = Scenario(id="-".join(nodes), nodes=nodes, ttr=20.0, kind="custom")
            stored = create_scenario(session, IN_ANALYST, built, scenario).id
        run_id = run(sessions, IN_ANALYST, built, [stored])
        assert overview(sessions, IN_ANALYST, built, set()).run.id != run_id  # type: ignore[union-attr]
        view = overview(sessions, IN_ANALYST, built, set(), run_id)  # the run, picked
        assert view.run is not None and view.run.id == run_id and view.results == 1 and not view.reference
        tejas = programs(view)["Tejas"]
        assert sorted(p.node.node_id for p in tejas.at_risk) == products
        assert all(p.direct is direct and p.scenarios == 1 for p in tejas.at_risk)
        assert [r.node.node_id for r in tejas.riskiest] == list(nodes)
        assert programs(view)["F414"].at_risk == []


def test_without_a_visible_completed_run_nothing_is_ranked(sessions: Factory, built: int) -> None:
    # Neither analyst's run is visible to the firms' users (need-to-know, national-only records in them).
    for principal in (IN_HAL_USER, US_GE_USER):
        view = overview(sessions, principal, built, {"US"})
        assert view.run is None and view.results == 0
        assert all(p.riskiest == [] and p.at_risk == [] and p.risk_spec is None for p in view.programs)
        assert view.exposure.scope > 0
    # A queued reference sweep is not used until it completes; the overview says it is coming.
    with sessions() as session, session.begin():
        queued = start_run(session, IN_ANALYST, built, "sweep", reference=True).id
    view = overview(sessions, IN_ANALYST, built, set())
    assert view.run is not None and view.run.id < queued and view.run.status == "completed"
    assert view.pending is not None and view.pending.id == queued and view.reference


# --- networks, settings, audit -----------------------------------------------------------------------


def test_dashboard_overview_takes_the_latest_visible_version_and_hides_the_rest(
    sessions: Factory, built: int, world: Network
) -> None:
    with sessions() as session, session.begin():
        again = import_network(
            session, IN_ANALYST, world, name="small", format="accelerator", source="again", marking=SHARED
        ).id
        secret = import_network(
            session, IN_ANALYST, world, name="agni only", format="accelerator", source="x", marking=IN_ONLY
        ).id
    with sessions() as session, session.begin():
        ours = dashboard_overview(session, IN_ANALYST)
        theirs = dashboard_overview(session, US_ANALYST)
        assert [v.network.id for v in ours] == [secret, again]
        assert [v.network.id for v in theirs] == [again]
        assert ours[1].concern == DEFAULT_CONCERN_COUNTRIES and ours[1].exposure.nodes == []
    with sessions() as session, pytest.raises(NotFound):
        network_overview(session, US_ANALYST, secret)
    with sessions() as session:
        assert audit_count(session, "network.overview") == 3
        assert audit_count(session, "network.overview", "deny") == 1


def test_concern_countries_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_countries(" cn, ru  ir,") == frozenset({"CN", "RU", "IR"})
    assert parse_countries("  ") == frozenset()
    assert {"CN", "RU"} <= DEFAULT_CONCERN_COUNTRIES
    monkeypatch.delenv("SETU_CONCERN_COUNTRIES", raising=False)
    assert ApiSettings.from_env().concern_countries == DEFAULT_CONCERN_COUNTRIES
    monkeypatch.setenv("SETU_CONCERN_COUNTRIES", "by,kp")
    assert ApiSettings.from_env().concern_countries == frozenset({"BY", "KP"})
    monkeypatch.setenv("SETU_CONCERN_COUNTRIES", "")
    assert ApiSettings.from_env().concern_countries == DEFAULT_CONCERN_COUNTRIES


def test_over_the_node_limit_the_overview_is_counted_in_the_database_and_says_so(
    sessions: Factory, built: int, world: Network
) -> None:
    # A network larger than SETU_DASHBOARD_NODES must not make every reader's dashboard load its graph:
    # the same counts, exposure and marking as the full overview, computed in SQL, with a note.
    concern = {"US", "IN"}
    for user in USERS:
        full = overview(sessions, user, built, concern)
        with sessions() as session, session.begin():
            counted = network_overview(session, user, built, concern=concern, node_limit=5)
        run_ids = [None if view.run is None else view.run.id for view in (counted, full)]
        assert (counted.nodes, counted.results) == (full.nodes, full.results) and run_ids[0] == run_ids[1], user
        assert counted.exposure.count == full.exposure.count and counted.exposure.scope == full.exposure.scope
        assert counted.exposure.by_country == full.exposure.by_country
        assert counted.exposure.products_total == full.exposure.products_total
        assert counted.exposure.spec == full.exposure.spec, user
        assert counted.programs == [] and not counted.exposure.traced and counted.exposure.products == []
        assert counted.note.startswith(f"You may see {full.nodes:,} nodes of this network, more than the 5 ")
        with sessions() as session, session.begin():
            assert network_overview(session, user, built, concern=concern, node_limit=full.nodes).note == ""
