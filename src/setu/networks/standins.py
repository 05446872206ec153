"""Tear lines of a stored network: generate stand-ins for the nodes a partner may not see, review, release, withdraw.

A tear line is made by an owner of the hidden records (an analyst or admin of their origin party who may
read them all). Its stand-ins (:mod:`setu.network.tearline`) are ordinary node, edge, BOM, product and
site records of the network, tied to the tear line:

- while it is a *draft* they carry the hidden records' own marking, so nobody who may not read those
  sees them, and nobody computes with them (whoever may read a covered node leaves its stand-in out:
  :func:`setu.networks.views.view_network`);
- releasing re-marks them with the release marking (the owner's party and the audience): from then on
  the audience's views, on this instance and, through federation, on the partner's, use them;
- withdrawing deletes them (the partner's copies are revoked at the next publish).

Every step is audited. Functions write in the caller's session and leave the commit to the caller.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import Conflict, InputError, MarkingError, Problem, ViewError
from setu.models.base import utcnow
from setu.models.networks import (
    BomRecord,
    NodeRecord,
    ProductRecord,
    SiteCapacityRecord,
    SupplyRecord,
    TearLineCover,
    TearLineRecord,
)
from setu.models.parties import Party
from setu.network.compile import compile_network
from setu.network.model import Network
from setu.network.tearline import FOLDS, STANDIN_PREFIX, tear_line
from setu.networks.imports import IMPORT_ROLES
from setu.networks.reads import readable_nodes, require_network
from setu.networks.views import view_network
from setu.sharing.markings import LEVELS, MarkingSpec, combine, specs_by_id, store
from setu.sharing.policy import Principal, allows
from setu.sharing.read import deny, fetch_visible, readable, unfiltered, unfiltered_update
from setu.sharing.roles import require_role
from setu.stress.tearline import check_views

STATES = ("draft", "released")
CHECK_SECONDS = 15.0
"""How long drafting spends checking the partner's figures before it answers with what it compared."""


def audience_reader(audience: str, classification: int) -> Principal:
    """The partner reader a tear line is made for: a government body of ``audience`` cleared to ``classification``."""
    return Principal(user_id=0, party=audience, org_id=0, org_is_government=True, clearance=classification)


def release_marking(principal: Principal, audience: str, classification: int) -> MarkingSpec:
    """What released stand-ins are marked: ``classification``, releasable to the owner's party and ``audience``."""
    return MarkingSpec(
        classification=classification, origin_party=principal.party, releases=frozenset({principal.party, audience})
    )


@dataclass(frozen=True)
class StandInView:
    """A stand-in as its tear line's reader sees it: the node, what it covers, who it supplies and who supplies it."""

    node: NodeRecord
    covers: list[str]
    suppliers: list[str]
    customers: list[str]
    demand: float | None


def _check_audience(session: Session, principal: Principal, audience: str, classification: int) -> MarkingSpec:
    problems = []
    parties = set(session.scalars(select(Party.code)))
    if audience == principal.party:
        problems.append(Problem("audience", f"the partner party, not your own ({principal.party})"))
    elif audience not in parties:
        problems.append(Problem("audience", f"one of {', '.join(sorted(parties - {principal.party}))}"))
    if classification not in LEVELS:
        problems.append(Problem("classification", f"one of {', '.join(f'{k} ({v})' for k, v in LEVELS.items())}"))
    if problems:
        raise InputError(problems)
    spec = release_marking(principal, audience, classification)
    if not allows(principal, spec):
        raise MarkingError(f"you may not mark records {spec.banner()}: you could not read them yourself")
    return spec


def generate(
    session: Session,
    principal: Principal,
    network_id: int,
    *,
    audience: str,
    classification: int,
    fold: str = "twins",
) -> TearLineRecord:
    """Draft stand-ins for the nodes of ``network_id`` that ``audience`` may not see, and check them.

    The hidden nodes are those ``principal`` sees and a government reader of ``audience`` cleared to
    ``classification`` would not (less any another tear line already covers). The check compares, for
    every node the audience would see, PI and TTS in the audience's view with the draft released against
    ``principal``'s own view (:func:`setu.stress.tearline.check_views`); it is stored with the tear line.
    A draft for the same audience that ``principal`` may read is replaced. ``fold`` is ``twins`` (exact) or
    ``material`` (fewer stand-ins; the check says what the partner's figures lose by it).

    Raises
    ------
    setu.errors.AccessDenied
        If ``principal`` is neither analyst nor admin (audited).
    setu.errors.NotFound
        If there is no such network or ``principal`` may not see it.
    InputError
        On a bad audience or classification, or when there is nothing to stand in for.
    Conflict
        If the network was received from the partner, or stand-ins for ``audience`` are already released.
    """
    require_role(session, principal, "network.standins", *IMPORT_ROLES)
    network = require_network(session, principal, network_id, "network.standins")
    if network.received_from:
        raise Conflict(f"network {network_id} was received from {network.received_from}: only its owner stands in")
    _check_audience(session, principal, audience, classification)
    if fold not in FOLDS:
        raise InputError([Problem("fold", f"one of {', '.join(FOLDS)}")])
    for existing in session.scalars(
        readable(principal, TearLineRecord).where(
            TearLineRecord.network_id == network_id, TearLineRecord.audience == audience
        )
    ):
        if existing.state == "released":
            raise Conflict(
                f"stand-ins for {audience} are released (tear line {existing.id}): withdraw them before making new ones"
            )
        session.delete(existing)
        session.flush()
    full, _ = view_network(session, principal, network_id)
    rows = {
        r.node_id: r
        for r in session.execute(
            readable_nodes(principal, network_id, NodeRecord.node_id, NodeRecord.id, NodeRecord.marking_id)
        )
    }
    # Nodes another tear line stands for already (whoever made it): a second stand-in would count them twice.
    covered = set(session.scalars(unfiltered(TearLineCover.covered_id).where(TearLineCover.network_id == network_id)))
    specs = specs_by_id(session, {r.marking_id for r in rows.values()})
    reader = audience_reader(audience, classification)
    unreleasable = [n.id for n in full.nodes if not allows(reader, specs[rows[n.id].marking_id])]
    foreign = sorted({specs[rows[h].marking_id].origin_party for h in unreleasable} - {principal.party})
    notes = []
    if foreign:
        count = sum(specs[rows[h].marking_id].origin_party != principal.party for h in unreleasable)
        notes.append(
            f"{count} hidden node(s) are records of {', '.join(foreign)}: only their owner can stand in for them"
        )
    already = [h for h in unreleasable if rows[h].id in covered]
    if already:
        notes.append(f"{len(already)} hidden node(s) are stood in for by another tear line")
    hidden = [
        h
        for h in unreleasable
        if specs[rows[h].marking_id].origin_party == principal.party and rows[h].id not in covered
    ]
    if not hidden:
        why = f"; {'; '.join(notes)}" if notes else ""
        raise InputError(
            [Problem("audience", f"{audience} sees every node of network {network_id} you could stand in for{why}")]
        )
    # Ids are unique per network over every node, including ones this owner cannot see.
    taken = set(
        session.scalars(
            unfiltered(NodeRecord.node_id).where(
                NodeRecord.network_id == network_id, NodeRecord.node_id.startswith(STANDIN_PREFIX)
            )
        )
    )
    tear = tear_line(full, hidden, keys={h: rows[h].marking_id for h in hidden}, reserved=taken, fold=fold)
    draft_spec = combine({specs[rows[h].marking_id] for h in hidden}, principal.party)
    tear_record = TearLineRecord(
        network_id=network_id,
        audience=audience,
        classification=classification,
        state="draft",
        fold=fold,
        hidden_nodes=len(hidden),
        standins=len(tear.standins),
        check={},
        created_by=principal.user_id,
        marking_id=store(session, draft_spec).id,
    )
    session.add(tear_record)
    session.flush()
    try:
        with session.begin_nested():
            _write_standins(session, network_id, tear_record, tear, {k: r.id for k, r in rows.items()}, rows)
    except IntegrityError as exc:
        # Another owner's tear line took one of these nodes between our look and our write.
        raise Conflict(
            "another tear line now stands in for some of these nodes: draft again to leave them out"
        ) from exc
    tear_record.check = _check(session, principal, network_id, full, tear_record, reader, tear.covers()) | {
        "inexact": tear.inexact + notes
    }
    record(
        session,
        principal,
        "network.standins.generate",
        "tear_line",
        tear_record.id,
        details={"network": network_id, "audience": audience, "hidden": len(hidden), "standins": len(tear.standins)},
    )
    return tear_record


def _write_standins(
    session: Session,
    network_id: int,
    tear_record: TearLineRecord,
    tear: Any,
    pk: dict[str, int],
    rows: dict[str, Any],
) -> None:
    draft = tear_record.marking_id
    session.execute(
        insert(NodeRecord),
        [
            {
                "network_id": network_id,
                "node_id": s.id,
                "material": s.material,
                "capacity": s.capacity,
                "inventory": s.inventory,
                "site": s.site,
                "party": s.party,
                "country": s.country,
                "material_class": s.material_class,
                "chokepoints": ";".join(s.chokepoints),
                "ttr": s.ttr,
                "name": s.name,
                "marking_id": draft,
                "tear_line_id": tear_record.id,
            }
            for s in tear.standins
        ],
    )
    pk = pk | dict(
        session.execute(
            unfiltered(NodeRecord.node_id, NodeRecord.id).where(NodeRecord.tear_line_id == tear_record.id)
        ).all()
    )
    common = {"network_id": network_id, "marking_id": draft}
    if tear.supplies:
        session.execute(
            insert(SupplyRecord),
            [common | {"supplier_id": pk[e.supplier], "customer_id": pk[e.customer]} for e in tear.supplies],
        )
    if tear.bom:
        session.execute(
            insert(BomRecord),
            [common | {"node_id": pk[b.node], "material": b.material, "quantity": b.quantity} for b in tear.bom],
        )
    if tear.products:
        session.execute(
            insert(ProductRecord),
            [common | {"node_id": pk[p.node], "demand": p.demand, "weight": p.weight} for p in tear.products],
        )
    if tear.site_capacities:
        session.execute(
            insert(SiteCapacityRecord),
            [
                common | {"site": c.site, "capacity": c.capacity, "tear_line_id": tear_record.id}
                for c in tear.site_capacities
            ],
        )
    session.execute(
        insert(TearLineCover),
        [
            {
                "network_id": network_id,
                "tear_line_id": tear_record.id,
                "standin_id": pk[s.id],
                "covered_id": pk[member],
                "marking_id": rows[member].marking_id,
            }
            for s in tear.standins
            for member in s.covers
        ],
    )


def _check(
    session: Session,
    principal: Principal,
    network_id: int,
    full: Network,
    tear_record: TearLineRecord,
    reader: Principal,
    covers: dict[str, tuple[str, ...]],
) -> dict[str, Any]:
    try:
        partner, _ = view_network(session, principal, network_id, audience=reader, draft=tear_record.id)
    except ViewError:
        return {
            "scenarios": 0,
            "candidates": 0,
            "differences": 0,
            "worst": None,
            "error": "the partner sees no product",
        }
    known = [n.ttr for n in full.nodes if n.ttr is not None and math.isfinite(n.ttr)]
    default_ttr = statistics.median(known) if known else 1.0
    result = check_views(
        compile_network(full), compile_network(partner), covers, default_ttr=default_ttr, budget_seconds=CHECK_SECONDS
    )
    return result.summary() | {"default_ttr": default_ttr}


def tear_lines(session: Session, principal: Principal, network_id: int) -> list[TearLineRecord]:
    """The tear lines of ``network_id`` that ``principal`` may read (those who may read all the nodes they hide)."""
    require_network(session, principal, network_id, "network.standins")
    return list(
        session.scalars(
            readable(principal, TearLineRecord)
            .where(TearLineRecord.network_id == network_id)
            .order_by(TearLineRecord.id)
        )
    )


def get_tear_line(
    session: Session, principal: Principal, tear_line_id: int, action: str, *, audit_permit: bool = True
) -> TearLineRecord:
    """The tear line ``tear_line_id`` if ``principal`` may read it, else :class:`setu.errors.NotFound` (audited)."""
    return fetch_visible(
        session,
        principal,
        TearLineRecord,
        [TearLineRecord.id == tear_line_id],
        action=action,
        kind="tear_line",
        key=tear_line_id,
        audit_permit=audit_permit,
    )


def standins(session: Session, principal: Principal, tear_record: TearLineRecord) -> list[StandInView]:
    """The stand-ins of a tear line ``principal`` may read, each with what it covers and its links."""
    nodes = list(
        session.scalars(
            readable(principal, NodeRecord).where(NodeRecord.tear_line_id == tear_record.id).order_by(NodeRecord.id)
        )
    )
    ids = [n.id for n in nodes]
    names: dict[int, str] = dict(
        session.execute(readable_nodes(principal, tear_record.network_id, NodeRecord.id, NodeRecord.node_id)).all()
    )
    covers: dict[int, list[str]] = {i: [] for i in ids}
    for standin_id, covered_id in session.execute(
        readable(principal, TearLineCover.standin_id, TearLineCover.covered_id).where(
            TearLineCover.tear_line_id == tear_record.id
        )
    ):
        if covered_id in names:
            covers[standin_id].append(names[covered_id])
    suppliers: dict[int, list[str]] = {i: [] for i in ids}
    customers: dict[int, list[str]] = {i: [] for i in ids}
    for supplier, customer in session.execute(
        readable(principal, SupplyRecord.supplier_id, SupplyRecord.customer_id).where(
            SupplyRecord.network_id == tear_record.network_id,
            SupplyRecord.supplier_id.in_(ids) | SupplyRecord.customer_id.in_(ids),
        )
    ):
        if customer in customers and supplier in names:
            suppliers[customer].append(names[supplier])
        if supplier in suppliers and customer in names:
            customers[supplier].append(names[customer])
    demand: dict[int, float] = dict(
        session.execute(
            readable(principal, ProductRecord.node_id, ProductRecord.demand).where(ProductRecord.node_id.in_(ids))
        ).all()
    )
    return [
        StandInView(n, sorted(covers[n.id]), sorted(suppliers[n.id]), sorted(customers[n.id]), demand.get(n.id))
        for n in nodes
    ]


def release(session: Session, principal: Principal, tear_line_id: int) -> TearLineRecord:
    """Release a draft: re-mark its stand-ins with the release marking, so the audience computes with them.

    An edge between a stand-in and a visible node takes the more restrictive of the release marking and
    that node's: a reader who may not see the node gains nothing from the edge and must not learn of it.

    Raises
    ------
    setu.errors.NotFound
        If there is no such tear line or ``principal`` may not read every node it hides.
    Conflict
        If it is already released.
    MarkingError
        If ``principal`` is not of the hidden records' party (only their owner releases them).
    """
    require_role(session, principal, "network.standins.release", *IMPORT_ROLES)
    tear_record = get_tear_line(session, principal, tear_line_id, "network.standins.release", audit_permit=False)
    if tear_record.state != "draft":
        raise Conflict(f"tear line {tear_line_id} is already {tear_record.state}")
    _require_owner(session, principal, tear_record, "release")
    released = _check_audience(session, principal, tear_record.audience, tear_record.classification)
    standin_ids = list(session.scalars(unfiltered(NodeRecord.id).where(NodeRecord.tear_line_id == tear_line_id)))
    _remark(session, tear_record, standin_ids, released, store(session, released).id)
    tear_record.state = "released"
    tear_record.released_by = principal.user_id
    tear_record.released_at = utcnow()
    record(
        session,
        principal,
        "network.standins.release",
        "tear_line",
        tear_line_id,
        details={
            "network": tear_record.network_id,
            "audience": tear_record.audience,
            "standins": len(standin_ids),
            "marking": released.banner(),
        },
    )
    return tear_record


def _require_owner(session: Session, principal: Principal, tear_record: TearLineRecord, action: str) -> None:
    """Refuse, audited, anyone not of the party whose records ``tear_record`` hides."""
    hidden_spec = specs_by_id(session, {tear_record.marking_id})[tear_record.marking_id]
    if hidden_spec.origin_party != principal.party:
        deny(session, principal, f"network.standins.{action}", "tear_line", tear_record.id)
        raise MarkingError(f"the records tear line {tear_record.id} hides are not {principal.party}'s to {action}")


def _remark(
    session: Session, tear_record: TearLineRecord, standin_ids: Sequence[int], released: MarkingSpec, release_id: int
) -> None:
    session.execute(
        unfiltered_update(NodeRecord).where(NodeRecord.tear_line_id == tear_record.id).values(marking_id=release_id)
    )
    for model in (BomRecord, ProductRecord):
        session.execute(unfiltered_update(model).where(model.node_id.in_(standin_ids)).values(marking_id=release_id))
    session.execute(
        unfiltered_update(SiteCapacityRecord)
        .where(SiteCapacityRecord.tear_line_id == tear_record.id)
        .values(marking_id=release_id)
    )
    inside = set(standin_ids)
    edges = session.execute(
        unfiltered(SupplyRecord.id, SupplyRecord.supplier_id, SupplyRecord.customer_id).where(
            SupplyRecord.supplier_id.in_(standin_ids) | SupplyRecord.customer_id.in_(standin_ids)
        )
    ).all()
    ends = {e.supplier_id if e.supplier_id not in inside else e.customer_id for e in edges} - inside
    end_marking: dict[int, int] = dict(
        session.execute(unfiltered(NodeRecord.id, NodeRecord.marking_id).where(NodeRecord.id.in_(ends))).all()
    )
    end_specs = specs_by_id(session, set(end_marking.values()))
    combined: dict[int, int] = {}
    for edge in edges:
        other = edge.supplier_id if edge.supplier_id not in inside else edge.customer_id
        marking = release_id
        if other not in inside:
            end = end_marking[other]
            if end not in combined:
                combined[end] = store(session, combine({released, end_specs[end]}, released.origin_party)).id
            marking = combined[end]
        session.execute(unfiltered_update(SupplyRecord).where(SupplyRecord.id == edge.id).values(marking_id=marking))


def withdraw(session: Session, principal: Principal, tear_line_id: int) -> None:
    """Delete a tear line and its stand-ins (released ones are revoked at the partner at the next publish).

    Raises
    ------
    setu.errors.NotFound
        If there is no such tear line or ``principal`` may not read every node it hides.
    MarkingError
        If ``principal`` is not of the hidden records' party: a partner who may read the tear line (through
        a group, say) may not take back what its owner released, nor discard the owner's draft.
    """
    require_role(session, principal, "network.standins.withdraw", *IMPORT_ROLES)
    tear_record = get_tear_line(session, principal, tear_line_id, "network.standins.withdraw", audit_permit=False)
    _require_owner(session, principal, tear_record, "withdraw")
    details = {"network": tear_record.network_id, "audience": tear_record.audience, "state": tear_record.state}
    session.delete(tear_record)  # its stand-ins, their edges, lines and covers go with it (ON DELETE CASCADE)
    session.flush()
    record(session, principal, "network.standins.withdraw", "tear_line", tear_line_id, details=details)
