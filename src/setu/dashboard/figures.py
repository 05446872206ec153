"""What the dashboard shows of a network: its figures per network and program, each with its marking."""

from __future__ import annotations

from dataclasses import dataclass

from setu.models.networks import NetworkRecord, NodeRecord
from setu.models.stress import ResultRecord, RunRecord
from setu.sharing.markings import MarkingSpec


@dataclass(frozen=True)
class RiskyNode:
    """A node and the worst scenario of the run that disrupts it.

    Attributes
    ----------
    node
        The node.
    result
        The result of that scenario: the node disrupted alone when the run has such a scenario
        (the sweep), else the worst scenario disrupting it with others.
    """

    node: NodeRecord
    result: ResultRecord


@dataclass(frozen=True)
class ProductRisk:
    """A product the run puts at risk, and the worst scenario that does.

    Attributes
    ----------
    node
        The product's node.
    result
        The worst result (highest REI) threatening it.
    scenarios
        How many of the run's visible scenarios threaten it.
    direct
        Whether that worst scenario disrupts the product's node itself (else a node upstream of it).
    """

    node: NodeRecord
    result: ResultRecord
    scenarios: int
    direct: bool


@dataclass(frozen=True)
class Exposure:
    """Nodes of an origin of concern within a scope of visible nodes, and the products depending on them.

    Attributes
    ----------
    nodes
        Visible nodes of the scope in a country of concern, by node id.
    scope
        How many visible nodes the scope holds.
    by_country
        ``(country, nodes)`` for each country of concern present, most nodes first.
    products
        Visible products of the scope with a node of concern upstream of them (or at them).
    products_total
        How many visible products the scope holds.
    spec
        The marking of these figures: the most restrictive of every record they were computed from.
    flagged
        How many nodes of concern the scope holds, when ``nodes`` is not loaded (a network over the
        dashboard's node limit); None when ``nodes`` lists them.
    traced
        Whether the products depending on them were traced (``products``); False over the limit.
    """

    nodes: list[NodeRecord]
    scope: int
    by_country: list[tuple[str, int]]
    products: list[NodeRecord]
    products_total: int
    spec: MarkingSpec
    flagged: int | None = None
    traced: bool = True

    @property
    def count(self) -> int:
        """How many nodes of the scope are in a country of concern."""
        return len(self.nodes) if self.flagged is None else self.flagged

    @property
    def share(self) -> float:
        """The nodes of concern as a fraction of the scope (0 for an empty scope)."""
        return self.count / self.scope if self.scope else 0.0


@dataclass(frozen=True)
class ProgramOverview:
    """One program among the visible nodes of a network.

    Attributes
    ----------
    program
        Its name; :data:`NO_PROGRAM` for the nodes in no program.
    nodes
        How many visible nodes belong to it.
    scope
        How many visible nodes it depends on: its own and every node upstream of them.
    products
        Its visible products.
    riskiest
        The nodes of its scope whose disruption costs most in the run (at most ``top``; only
        those with a loss), worst first; empty without a run.
    at_risk
        Its products the run puts at risk; empty without a run.
    exposure
        Adversary-origin exposure of its scope.
    risk_spec
        The marking of the risk figures (the scope's records and the run's results); ``None``
        without a run.
    """

    program: str
    nodes: int
    scope: int
    products: list[NodeRecord]
    riskiest: list[RiskyNode]
    at_risk: list[ProductRisk]
    exposure: Exposure
    risk_spec: MarkingSpec | None


@dataclass(frozen=True)
class NetworkOverview:
    """A network as the dashboard shows it to one user.

    Attributes
    ----------
    network
        The network.
    nodes
        How many of its nodes the user may see.
    run
        The run the risk figures come from (the reader's reference sweep, or the run they picked), or ``None``.
    results
        How many visible results that run has.
    exposure
        Adversary-origin exposure over every visible node.
    programs
        One entry per program among the visible nodes, by name, the nodes in no program last.
    concern
        The countries of concern used.
    note
        Empty, or what the overview leaves out and why (a network over the dashboard's node limit
        gets counts only: no programs, no dependency tracing, no ranking).
    reference
        Whether ``run`` is the reader's reference sweep (False: a run they picked).
    pending
        A reference sweep of the reader's view still queued or running, if any.
    stale
        Whether there is no reference sweep on the reader's view but one on another view they may read.
    """

    network: NetworkRecord
    nodes: int
    run: RunRecord | None
    results: int
    exposure: Exposure
    programs: list[ProgramOverview]
    concern: frozenset[str]
    note: str = ""
    reference: bool = True
    pending: RunRecord | None = None
    stale: bool = False
