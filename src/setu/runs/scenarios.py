"""Stored scenarios: built on each user's view of a network, checked, and marked by the nodes they name."""

from __future__ import annotations

import math
from collections import Counter

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import InputError, ScenarioError
from setu.models.networks import NodeRecord
from setu.models.stress import ScenarioRecord
from setu.networks.reads import require_network
from setu.networks.views import compiled_view
from setu.runs.schemas import ScenarioIn
from setu.sharing.markings import combine, marking_specs, store
from setu.sharing.policy import Principal
from setu.sharing.read import count_readable, count_unfiltered, deny, fetch_visible, page, readable
from setu.sharing.roles import require_role
from setu.stress import scenarios as build
from setu.stress.scenarios import KINDS, Scenario

__all__ = ["build_scenario", "create_scenario", "get_scenario", "list_scenarios", "to_scenario"]

CREATORS = ("analyst", "admin")
"""Roles that may create scenarios."""


def _check_values(scenario: Scenario) -> None:
    where = f"scenario {scenario.id!r}"
    if not scenario.id:
        raise ScenarioError("a scenario needs an id")
    if scenario.kind not in KINDS:
        raise ScenarioError(f"{where}: kind must be one of {', '.join(KINDS)}, got {scenario.kind!r}")
    if not scenario.nodes:
        raise ScenarioError(f"{where}: disrupts no node")
    if len(set(scenario.nodes)) != len(scenario.nodes):
        twice = next(node for node, times in Counter(scenario.nodes).items() if times > 1)
        raise ScenarioError(f"{where}: node {twice!r} is listed twice")
    if not isinstance(scenario.ttr, (int, float)) or not math.isfinite(scenario.ttr) or scenario.ttr < 0:
        raise ScenarioError(f"{where}: TTR must be a finite number >= 0, got {scenario.ttr!r}")
    if scenario.severity is not None:
        if len(scenario.severity) != len(scenario.nodes):
            raise ScenarioError(f"{where}: one severity per disrupted node expected")
        if not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in scenario.severity):
            raise ScenarioError(f"{where}: severity must be between 0 and 1")


def _checked_id(scenario: Scenario, body: ScenarioIn) -> Scenario:
    """The built scenario with the id and label asked for; refused if its id or label is too long to store."""
    sid = body.id or scenario.id
    label = body.label if body.label is not None else scenario.label
    if len(sid) > 200:
        raise InputError("the scenario's generated id is longer than 200 characters; give an id", "body.id")
    if len(label) > 300:
        raise InputError("the scenario's generated label is longer than 300 characters; give a label", "body.label")
    return Scenario(
        id=sid, nodes=scenario.nodes, ttr=scenario.ttr, severity=scenario.severity, kind=body.kind, label=label
    )


def build_scenario(session: Session, principal: Principal, network_id: int, body: ScenarioIn) -> Scenario:
    """The scenario ``body`` asks for, built on ``principal``'s view of the network (the first step of creating it).

    Parameters
    ----------
    session
        The caller's session.
    principal
        The user (analyst or admin).
    network_id
        The network.
    body
        The kind and its parameters.

    Returns
    -------
    Scenario
        The scenario, not yet stored (see :func:`create_scenario`). Node ids the user cannot see are
        kept as given, so that storing it answers them as not found.

    Raises
    ------
    setu.errors.AccessDenied
        If the user is neither analyst nor admin (audited as a denied ``scenario.create``).
    setu.errors.ScenarioError
        If nothing matches, or no TTR is given and the nodes have no estimate.
    """
    # Checked before the view is read, so that a user who may not create scenarios learns nothing here.
    require_role(session, principal, "scenario.create", *CREATORS)
    if body.kind in ("node", "custom"):
        nodes = tuple(body.nodes or ())
        ttr = body.ttr
        if ttr is None:
            view, _ = compiled_view(session, principal, network_id)
            known = [view.index_of(n) for n in nodes if view.has_node(n)]
            # A node outside the view is hidden or missing: create_scenario answers it as not found.
            ttr = build.scenario_ttr(view, known, None, f"{body.kind} scenario") if len(known) == len(nodes) else 0.0
        severity = None if body.severities is None else tuple(body.severities)
        default_id = f"{body.kind}:{'+'.join(nodes)}"
        label = f"{body.kind}: {', '.join(nodes)}"
        return _checked_id(Scenario(default_id, nodes, ttr, severity, body.kind, label[:300]), body)
    view, _ = compiled_view(session, principal, network_id)
    if body.kind in ("site", "organization", "party", "country"):
        built = build.by_attribute(view, body.kind, body.value or "", body.ttr)
    elif body.kind == "material":
        built = build.by_material(view, body.value or "", body.ttr)
    elif body.kind == "chokepoint":
        built = build.by_chokepoint(view, body.value or "", body.ttr)
    else:
        built = build.export_control(
            view, body.materials or [], body.countries or [], body.ttr, body.severity, body.label or ""
        )
    return _checked_id(built, body)


def create_scenario(session: Session, principal: Principal, network_id: int, scenario: Scenario) -> ScenarioRecord:
    """Store ``scenario`` on network ``network_id``, after checking it against the user's view.

    Its marking is the most restrictive of the network's and of every node it names.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        The user creating it (analyst or admin).
    network_id
        The network it disrupts.
    scenario
        The scenario; its node ids are those users know.

    Returns
    -------
    ScenarioRecord
        The stored scenario (flushed).

    Raises
    ------
    setu.errors.AccessDenied
        If the user is neither analyst nor admin (audited as denied).
    setu.errors.NotFound
        If the network, or a node the scenario names, does not exist or the user may not see it
        (naming the first such node as given; audited as denied).
    setu.errors.ScenarioError
        If the TTR, severities or id are bad, or the user already has a scenario of that id here.
    """
    require_role(session, principal, "scenario.create", *CREATORS)
    network = require_network(session, principal, network_id, "scenario.create")
    _check_values(scenario)
    found: dict[str, int] = {
        node_id: marking_id
        for node_id, marking_id in session.execute(
            readable(principal, NodeRecord.node_id, NodeRecord.marking_id).where(
                NodeRecord.network_id == network_id, NodeRecord.node_id.in_(scenario.nodes)
            )
        ).all()
    }
    missing = [node for node in scenario.nodes if node not in found]
    if missing:
        raise deny(
            session,
            principal,
            "scenario.create",
            "node",
            missing[0],
            details={"network_id": network_id, "scenario_id": scenario.id},
        )
    # A uniqueness check before the write: the user's own ids on this network, whatever their marking.
    taken = count_unfiltered(
        session,
        ScenarioRecord,
        ScenarioRecord.network_id == network_id,
        ScenarioRecord.created_by == principal.user_id,
        ScenarioRecord.scenario_id == scenario.id,
    )
    if taken:
        raise ScenarioError(f"you already have a scenario {scenario.id!r} on this network")
    spec = combine(marking_specs(session, [network.marking_id, *found.values()]), principal.party)
    stored = ScenarioRecord(
        network_id=network_id,
        scenario_id=scenario.id,
        kind=scenario.kind,
        label=scenario.label or scenario.id,
        ttr=float(scenario.ttr),
        nodes=list(scenario.nodes),
        severities=None if scenario.severity is None else [float(v) for v in scenario.severity],
        created_by=principal.user_id,
        marking_id=store(session, spec).id,
    )
    session.add(stored)
    session.flush()
    record(
        session,
        principal,
        "scenario.create",
        "scenario",
        stored.id,
        details={"network_id": network_id, "scenario_id": scenario.id, "nodes": len(scenario.nodes)},
    )
    return stored


def to_scenario(stored: ScenarioRecord) -> Scenario:
    """The stored scenario as the stress engine takes it."""
    return Scenario(
        id=stored.scenario_id,
        nodes=tuple(stored.nodes),
        ttr=stored.ttr,
        severity=None if stored.severities is None else tuple(stored.severities),
        kind=stored.kind,
        label=stored.label,
    )


def list_scenarios(
    session: Session, principal: Principal, network_id: int, *, offset: int = 0, limit: int = 100
) -> tuple[list[ScenarioRecord], int]:
    """Visible scenarios of a visible network, by scenario id.

    Returns
    -------
    tuple[list[ScenarioRecord], int]
        The page and how many visible scenarios the network has.

    Raises
    ------
    setu.errors.NotFound
        If there is no such network or the user may not see it.
    """
    offset, limit = page(offset, limit)
    require_network(session, principal, network_id, "scenario.list")
    total = count_readable(session, principal, ScenarioRecord, ScenarioRecord.network_id == network_id)
    rows = session.scalars(
        readable(principal, ScenarioRecord)
        .where(ScenarioRecord.network_id == network_id)
        .order_by(ScenarioRecord.scenario_id, ScenarioRecord.id)
        .offset(offset)
        .limit(limit)
    ).all()
    record(session, principal, "scenario.list", "network", network_id, details={"total": total})
    return list(rows), total


def get_scenario(session: Session, principal: Principal, scenario_pk: int) -> ScenarioRecord:
    """The stored scenario ``scenario_pk``.

    Raises
    ------
    setu.errors.NotFound
        If there is no such scenario or the user may not see it.
    """
    return fetch_visible(
        session,
        principal,
        ScenarioRecord,
        [ScenarioRecord.id == scenario_pk],
        action="scenario.read",
        kind="scenario",
        key=scenario_pk,
    )
