"""The dashboard's figures per network and program: riskiest nodes, products at risk, adversary-origin exposure.

Every figure is computed from records read through the marking filter (visible nodes, edges between
them, products and the results of a visible run) and carries the most restrictive combination of the
markings of the records it was computed from.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from setu.audit.log import record
from setu.dashboard.figures import Exposure, NetworkOverview, ProductRisk, ProgramOverview, RiskyNode
from setu.models.base import Marking
from setu.models.networks import NetworkRecord, NodeRecord, ProductRecord
from setu.models.stress import ResultRecord
from setu.networks.reads import readable_nodes, require_network, visible_edges
from setu.runs.recent import recent_networks
from setu.runs.reference import RunChoice, chosen_run
from setu.runs.results import list_results
from setu.settings import DEFAULT_CONCERN_COUNTRIES
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.policy import Principal
from setu.sharing.read import MAX_LIMIT, count_readable, join_readable, readable

NO_PROGRAM = ""
"""The program of nodes that belong to none (the shared supply base)."""
TOP_NODES = 5
OVERVIEW_NETWORKS = 5


def _upstream(start: Iterable[int], suppliers: Mapping[int, list[int]]) -> set[int]:
    """``start`` and every node that ships to them, directly or through others."""
    seen = set(start)
    queue = deque(seen)
    while queue:
        for supplier in suppliers.get(queue.popleft(), ()):
            if supplier not in seen:
                seen.add(supplier)
                queue.append(supplier)
    return seen


def _worse(a: ResultRecord, b: ResultRecord) -> bool:
    """Whether ``a`` costs more than ``b`` (REI, then loss beyond the baseline, then the earlier scenario)."""
    return (a.rei, a.excess_loss, -a.position) > (b.rei, b.excess_loss, -b.position)


class _Graph:
    """The visible part of one network, loaded once: nodes, edges, products and their markings."""

    def __init__(self, session: Session, principal: Principal, network: NetworkRecord) -> None:
        network_id = network.id
        self.nodes: dict[int, NodeRecord] = {
            node.id: node
            for node in session.scalars(readable_nodes(principal, network_id).order_by(NodeRecord.node_id))
        }
        edges = visible_edges(principal, network_id)
        self.edges = session.execute(select(edges.c.supplier_id, edges.c.customer_id, edges.c.marking_id)).all()
        self.suppliers: dict[int, list[int]] = defaultdict(list)
        for edge in self.edges:
            self.suppliers[edge.customer_id].append(edge.supplier_id)
        node = aliased(NodeRecord)
        self.products: dict[int, int] = {
            node_pk: marking_id
            for node_pk, marking_id in session.execute(
                join_readable(
                    readable(principal, ProductRecord.node_id, ProductRecord.marking_id),
                    principal,
                    node,
                    node.id == ProductRecord.node_id,
                ).where(ProductRecord.network_id == network_id)
            ).all()
        }
        self.network_marking = network.marking_id
        self.by_node_id = {node.node_id: node.id for node in self.nodes.values()}
        self.upstream_of = {pk: _upstream([pk], self.suppliers) for pk in self.products}

    def marking_ids(self, scope: Collection[int], products: Iterable[int]) -> set[int]:
        """Markings of the records a figure over ``scope`` uses: network, nodes, edges inside, products."""
        ids = {self.network_marking, *(self.nodes[pk].marking_id for pk in scope)}
        ids.update(e.marking_id for e in self.edges if e.supplier_id in scope and e.customer_id in scope)
        ids.update(self.products[pk] for pk in products)
        return ids

    def sorted_nodes(self, pks: Iterable[int]) -> list[NodeRecord]:
        return sorted((self.nodes[pk] for pk in pks), key=lambda n: n.node_id)


class _Specs:
    """Marking values by id, loaded once per overview."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.party = principal.party
        self.known: dict[int, MarkingSpec] = {}

    def combined(self, marking_ids: Iterable[int]) -> MarkingSpec:
        ids = set(marking_ids)
        missing = sorted(ids - self.known.keys())
        if missing:
            for marking in self.session.scalars(select(Marking).where(Marking.id.in_(missing))):
                self.known[marking.id] = MarkingSpec.of(marking)
        return combine((self.known[i] for i in ids), self.party)


def _exposure(graph: _Graph, specs: _Specs, scope: set[int], products: set[int], concern: frozenset[str]) -> Exposure:
    flagged = {pk for pk in scope if graph.nodes[pk].country.upper() in concern}
    exposed = {pk for pk in products if graph.upstream_of[pk] & flagged}
    by_country = Counter(graph.nodes[pk].country.upper() for pk in flagged)
    return Exposure(
        nodes=graph.sorted_nodes(flagged),
        scope=len(scope),
        by_country=sorted(by_country.items(), key=lambda item: (-item[1], item[0])),
        products=graph.sorted_nodes(exposed),
        products_total=len(products),
        spec=specs.combined(graph.marking_ids(scope, products)),
    )


def _load_results(session: Session, principal: Principal, run_id: int) -> list[ResultRecord]:
    """Every visible result of a visible run, in the order the run computed them."""
    rows: list[ResultRecord] = []
    total = 1
    while len(rows) < total:
        page, total = list_results(session, principal, run_id, sort="position", offset=len(rows), limit=MAX_LIMIT)
        if not page:
            break
        rows.extend(page)
    return rows


class _Risks:
    """What one run says about each visible node: the worst scenario disrupting it, and at-risk products."""

    def __init__(self, graph: _Graph, results: list[ResultRecord]) -> None:
        self.results = results
        self.disrupted: list[set[int]] = []
        worst_alone: dict[int, ResultRecord] = {}
        worst_any: dict[int, ResultRecord] = {}
        for result in results:
            # Names outside the reader's view cannot occur in a run they may see; ignoring them keeps it so.
            hit = {graph.by_node_id[n] for n in result.disrupted.split(";") if n in graph.by_node_id}
            self.disrupted.append(hit)
            target = worst_alone if len(hit) == 1 and ";" not in result.disrupted else worst_any
            for pk in hit:
                if pk not in target or _worse(result, target[pk]):
                    target[pk] = result
        self.worst = {**worst_any, **worst_alone}

    def riskiest(self, graph: _Graph, scope: set[int], top: int) -> list[RiskyNode]:
        losing = [RiskyNode(graph.nodes[pk], r) for pk, r in self.worst.items() if pk in scope and r.excess_loss > 0]
        losing.sort(key=lambda item: (-item.result.rei, -item.result.excess_loss, item.node.node_id))
        return losing[:top]

    def at_risk(self, graph: _Graph, products: Iterable[int]) -> list[ProductRisk]:
        """Products disrupted with TTS < TTR, or downstream of a disruption that loses anything."""
        risks = []
        for pk in products:
            upstream = graph.upstream_of[pk] - {pk}
            threats = [
                (result, pk in hit)
                for result, hit in zip(self.results, self.disrupted, strict=True)
                if (pk in hit and (result.at_risk or result.excess_loss > 0))
                or (result.excess_loss > 0 and hit & upstream)
            ]
            if threats:
                worst, direct = threats[0]
                for result, is_direct in threats[1:]:
                    if _worse(result, worst):
                        worst, direct = result, is_direct
                risks.append(ProductRisk(graph.nodes[pk], worst, len(threats), direct))
        risks.sort(key=lambda item: (-item.result.rei, item.node.node_id))
        return risks


def _summary(
    session: Session,
    principal: Principal,
    network: NetworkRecord,
    wanted: frozenset[str],
    total: int,
    limit: int,
    choice: RunChoice,
) -> NetworkOverview:
    """A network over the dashboard's node limit, in counts the database computes (no graph is loaded)."""
    nid, specs = network.id, _Specs(session, principal)
    by_country: Counter[str] = Counter()
    country = NodeRecord.country  # a node column first, so the read filter applies to the count
    for value, count in session.execute(
        readable_nodes(principal, nid, country, func.count())
        .where(func.upper(country).in_(sorted(wanted)))
        .group_by(country)
    ).all():
        by_country[value.upper()] += count
    node = aliased(NodeRecord)
    products = session.execute(
        join_readable(
            readable(principal, ProductRecord.marking_id, func.count()),
            principal,
            node,
            node.id == ProductRecord.node_id,
        )
        .where(ProductRecord.network_id == nid)
        .group_by(ProductRecord.marking_id)
    ).all()
    edges = visible_edges(principal, nid)
    used = {network.marking_id, *(marking_id for marking_id, _count in products)}
    used |= set(session.scalars(readable_nodes(principal, nid, NodeRecord.marking_id).distinct()))
    used |= set(session.scalars(select(edges.c.marking_id).distinct()))
    run = choice.run
    results = count_readable(session, principal, ResultRecord, ResultRecord.run_id == run.id) if run else 0
    exposure = Exposure(
        nodes=[],
        scope=total,
        by_country=sorted(by_country.items(), key=lambda item: (-item[1], item[0])),
        products=[],
        products_total=sum(count for _marking, count in products),
        spec=specs.combined(used),
        flagged=sum(by_country.values()),
        traced=False,
    )
    note = (
        f"You may see {total:,} nodes of this network, more than the {limit:,} the dashboard traces dependencies "
        "over: it shows counts only, with no programs, products at risk or riskiest nodes. The node list, "
        "the map and the run's results show more."
    )
    details = {"nodes": total, "summary": True, "run": run.id if run else None, "concern": sorted(wanted)}
    record(session, principal, "network.overview", "network", nid, details=details)
    return NetworkOverview(
        network, total, run, results, exposure, [], wanted, note, choice.reference, choice.pending, choice.stale
    )


def network_overview(
    session: Session,
    principal: Principal,
    network_id: int,
    *,
    concern: Collection[str] = DEFAULT_CONCERN_COUNTRIES,
    top: int = TOP_NODES,
    node_limit: int | None = None,
    choice: RunChoice | None = None,
) -> NetworkOverview:
    """The dashboard's figures for one network, over what ``principal`` may see.

    Parameters
    ----------
    session
        The caller's session (the reads' audit entries are written in it; the caller commits).
    principal
        The reader.
    network_id
        The network.
    concern
        Country codes of concern (compared case-insensitively with the nodes' countries).
    top
        How many riskiest nodes per program.
    node_limit
        Most visible nodes to load the network's graph for (None: no limit); above it the overview
        holds counts computed in the database and a ``note`` saying what is left out.
    choice
        The run the risk figures come from (:func:`setu.runs.reference.chosen_run`); default: the
        reader's reference sweep. Ad-hoc runs never change it.

    Returns
    -------
    NetworkOverview
        Per program among the visible nodes: the riskiest nodes and the products at risk in the
        chosen run, and the exposure to origins of concern (the
        nodes of concern among the program's nodes and everything upstream of them, and the
        program's products that depend on one). Counts include visible records only.

    Raises
    ------
    setu.errors.NotFound
        If there is no such network or the reader may not see it.
    """
    wanted = frozenset(code.upper() for code in concern)
    network = require_network(session, principal, network_id, "network.overview")
    if choice is None:
        choice = chosen_run(session, principal, network_id, None)
    total = count_readable(session, principal, NodeRecord, NodeRecord.network_id == network_id)
    if node_limit is not None and total > node_limit:
        return _summary(session, principal, network, wanted, total, node_limit, choice)
    graph = _Graph(session, principal, network)
    specs = _Specs(session, principal)
    run = choice.run
    results = _load_results(session, principal, run.id) if run is not None else []
    risks = _Risks(graph, results) if run is not None else None
    result_markings = {r.marking_id for r in results} | ({run.marking_id} if run is not None else set())

    members: dict[str, set[int]] = defaultdict(set)
    for pk, node in graph.nodes.items():
        members[node.program].add(pk)
    programs = []
    for program in sorted(members, key=lambda name: (name == NO_PROGRAM, name)):
        own = members[program]
        scope = _upstream(own, graph.suppliers)
        products = {pk for pk in graph.products if pk in own}
        exposure = _exposure(graph, specs, scope, products, wanted)
        risk_spec = None
        if risks is not None:
            risk_spec = specs.combined(graph.marking_ids(scope, products) | result_markings)
        programs.append(
            ProgramOverview(
                program=program,
                nodes=len(own),
                scope=len(scope),
                products=graph.sorted_nodes(products),
                riskiest=risks.riskiest(graph, scope, top) if risks is not None else [],
                at_risk=risks.at_risk(graph, products) if risks is not None else [],
                exposure=exposure,
                risk_spec=risk_spec,
            )
        )
    everything = set(graph.nodes)
    overview = NetworkOverview(
        network=network,
        nodes=len(graph.nodes),
        run=run,
        results=len(results),
        exposure=_exposure(graph, specs, everything, set(graph.products), wanted),
        programs=programs,
        concern=wanted,
        reference=choice.reference,
        pending=choice.pending,
        stale=choice.stale,
    )
    record(
        session,
        principal,
        "network.overview",
        "network",
        network_id,
        details={
            "nodes": overview.nodes,
            "programs": len(programs),
            "run": run.id if run is not None else None,
            "concern": sorted(wanted),
        },
    )
    return overview


def overview_networks(session: Session, principal: Principal, *, limit: int = OVERVIEW_NETWORKS) -> list[NetworkRecord]:
    """The networks the dashboard gives an overview of (:func:`setu.runs.recent.recent_networks`).

    Parameters
    ----------
    session, principal
        As for :func:`network_overview`.
    limit
        At most this many networks.

    Returns
    -------
    list of NetworkRecord
        The newest visible version of each network, those the user last worked on first.
    """
    return recent_networks(session, principal, limit=limit)


def dashboard_overview(
    session: Session,
    principal: Principal,
    *,
    concern: Collection[str] = DEFAULT_CONCERN_COUNTRIES,
    limit: int = OVERVIEW_NETWORKS,
    top: int = TOP_NODES,
    node_limit: int | None = None,
) -> list[NetworkOverview]:
    """:func:`network_overview` of each of :func:`overview_networks`.

    Parameters
    ----------
    session, principal, concern, top, node_limit
        As for :func:`network_overview`.
    limit
        At most this many networks.

    Returns
    -------
    list of NetworkOverview
        One per network name (and importing organization), the newest visible version of each.
    """
    chosen = overview_networks(session, principal, limit=limit)
    return [network_overview(session, principal, n.id, concern=concern, top=top, node_limit=node_limit) for n in chosen]
