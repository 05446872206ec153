"""A stamp of a network's data: equal stamps and equal reader views, equal figures (for :mod:`setu.sharing.cache`).

A stored network version's nodes, edges, BOM lines, products and site capacities are written once, when
it is imported; what could change them afterwards is a tear line's release, an operator's hand (a marking
changed, a record added or removed in the database) and, for the dashboard and map, the runs computed on
it. Which records a reader sees is a function of the reader's view (:func:`setu.sharing.cache.view_key`,
part of every cache key) and of the records' markings, so the stamp need not go through the read filter:
it is the network's row as the reader may see it and the network's revision, which the database's own
triggers change with any added, removed or re-marked record (:mod:`setu.models.revisions`). Without a
revision it is, per table, the count, largest id and two marking-weighted sums of *all* the version's
rows. The stamp itself is never shown to anyone.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Hashable
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    bindparam,
    cast,
    event,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import ORMExecuteState, Session

from setu.models.networks import (
    BomRecord,
    NetworkRecord,
    NodeRecord,
    ProductRecord,
    SiteCapacityRecord,
    SupplyRecord,
    TearLineCover,
)
from setu.models.revisions import NetworkRevision
from setu.sharing.cache import Cached, ViewCache, view_key
from setu.sharing.policy import Principal
from setu.sharing.read import built_once, readable, unfiltered

_DIGESTS = ViewCache(entries=4096)
"""Readers' view digests by (view, network row, revision): a revision is never reused (see its module)."""

_TABLES: tuple[Any, ...] = (NodeRecord, SupplyRecord, BomRecord, ProductRecord, SiteCapacityRecord)


def network_stamp(session: Session, principal: Principal, network_id: int) -> tuple[Hashable, ...]:
    """The stamp of the figures of a network (the dashboard's, the map's): :func:`records_stamp`.

    The run the figures come from is the caller's to add to its key (its choice depends on the reader's
    view: :func:`setu.runs.reference.chosen_run`).
    """
    return records_stamp(session, principal, network_id)


def view_stamp(session: Session, principal: Principal, network_id: int) -> tuple[Hashable, ...]:
    """The stamp of a compiled view of the network (:func:`records_stamp`: it covers BOM lines and sites too)."""
    return records_stamp(session, principal, network_id)


def view_digest(session: Session, principal: Principal, network_id: int) -> str:
    """A digest of the records of the network ``principal`` may read: equal digests, equal views.

    Unlike :func:`records_stamp` this one goes through the read filter: it tells apart two readers of
    the same version who see different records, or the same records under different markings. A run
    stores the digest of the view it was computed on, so a reader's figures come from a run on exactly
    their view (:func:`setu.runs.reference.reference_run`), never from a partner's partial one.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader.
    network_id
        The network.

    Returns
    -------
    str
        64 hex digits; empty when the reader may not see the network.
    """
    network, revision, cacheable = _network_revision(session, principal, network_id)
    if network is None:
        return ""
    revision = revision if cacheable else None
    key = (view_key(principal), network, revision)
    if revision is not None and (known := _DIGESTS.get(key)) is not None:
        return str(known.value)
    # Stand-ins the reader computes without (they see a node each stands for) are not part of their view:
    # releasing a tear line changes the partner's digest, never the owner's.
    left_out = readable(principal, TearLineCover.standin_id).where(TearLineCover.network_id == network_id)
    left_lines = readable(principal, TearLineCover.tear_line_id).where(TearLineCover.network_id == network_id)
    outside: dict[Any, ColumnElement[bool]] = {
        NodeRecord: NodeRecord.id.not_in(left_out),
        SupplyRecord: and_(SupplyRecord.supplier_id.not_in(left_out), SupplyRecord.customer_id.not_in(left_out)),
        BomRecord: BomRecord.node_id.not_in(left_out),
        ProductRecord: ProductRecord.node_id.not_in(left_out),
        SiteCapacityRecord: or_(
            SiteCapacityRecord.tear_line_id.is_(None), SiteCapacityRecord.tear_line_id.not_in(left_lines)
        ),
    }
    # A column of each model first, so that the read filter applies to the aggregates.
    per_table = union_all(
        *(
            readable(principal, model.network_id, literal(index), *_sums(model.id, model.marking_id))
            .where(model.network_id == network_id, outside[model])
            .group_by(model.network_id)
            for index, model in enumerate(_TABLES)
        )
    )
    rows = {row[1]: [None if v is None else int(v) for v in row[2:]] for row in session.execute(per_table)}
    content = [list(network), *(rows.get(index, []) for index in range(len(_TABLES)))]
    digest = hashlib.sha256(json.dumps(content).encode()).hexdigest()
    if revision is not None:
        _DIGESTS.put(key, Cached(digest))
    return digest


def revisions(session: Session, network_ids: list[int]) -> dict[int, int]:
    """The revisions of ``network_ids`` that have one (:mod:`setu.models.revisions`), by network id.

    Not a read of anyone's data: a revision says nothing but that something changed. Callers key
    cached figures with it and the reader's view, for networks the reader may see. Left out: those
    whose revision the session's own transaction changed on PostgreSQL (:func:`_wrote`).
    """
    if not network_ids:
        return {}
    found = session.execute(_revisions_of(_dialect(session)), {"network_ids": network_ids}).all()
    return {int(row[0]): int(row[1]) for row in found if not row[2]}


_MEMO = "setu_network_revisions"
_MEMO_LISTENING = "setu_network_revisions_listening"
_UNCACHED = itertools.count()
"""Stamps of what a writing transaction reads: each one new, so that no cached entry ever matches."""


def _dialect(session: Session) -> str:
    return str(session.get_bind().dialect.name)


@built_once
def _revisions_of(dialect: str) -> Select[int, int, bool]:
    query = select(NetworkRevision.network_id, NetworkRevision.revision, _wrote(dialect))
    return query.where(NetworkRevision.network_id.in_(bindparam("network_ids", expanding=True)))


@built_once
def _readable_revision(principal: Principal, dialect: str) -> Select[Any]:
    """The network's row as the reader may see it, its revision, and whether this transaction wrote that."""
    return (
        readable(principal, NetworkRecord.id, NetworkRecord.version, NetworkRecord.marking_id)
        .add_columns(NetworkRevision.revision, _wrote(dialect))
        .outerjoin(NetworkRevision, NetworkRevision.network_id == NetworkRecord.id)
        .where(NetworkRecord.id == bindparam("network_id"))
    )


def _wrote(dialect: str) -> ColumnElement[bool]:
    """Whether the session's own transaction changed the revision row read beside it (PostgreSQL; else false).

    PostgreSQL changes a network's revision once per transaction (:mod:`setu.models.revisions`), so
    what a transaction reads after its own second write to a network has the revision of its first:
    such a reader must neither use nor fill a cache. On SQLite every write changes the revision.
    """
    if dialect == "postgresql":
        return literal_column("coalesce(network_revisions.xmin = pg_current_xact_id_if_assigned()::xid, false)")
    return literal(False)


def _network_revision(
    session: Session, principal: Principal, network_id: int
) -> tuple[tuple[int, int, int] | None, int | None, bool]:
    """The network's row as the reader may see it (id, version, marking), its revision and whether to cache.

    One statement, once per transaction and reader's view between writes: a dashboard asks for each
    network's stamp and digest. The revision is read with or before the records a caller fingerprints,
    so a concurrent change can only make it older than what was computed, never newer (such an entry
    is keyed by a revision no later request reads). Not to cache: the transaction changed the
    network's revision itself (:func:`_wrote`).
    """
    memo: dict[tuple[Hashable, int], tuple[Any, Any, bool]] = session.info.setdefault(_MEMO, {})
    key = (view_key(principal), network_id)
    if key not in memo:
        statement = _readable_revision(principal, _dialect(session))
        found = session.execute(statement, {"network_id": network_id}).one_or_none()
        if not session.info.get(_MEMO_LISTENING):
            session.info[_MEMO_LISTENING] = True
            event.listen(session, "after_transaction_end", _forget)
            event.listen(session, "after_flush", _forget)
            event.listen(session, "do_orm_execute", _forget_on_write)
        memo[key] = (None, None, False) if found is None else ((found[0], found[1], found[2]), found[3], not found[4])
    network, revision, cacheable = memo[key]
    return network, revision, cacheable


def _forget(session: Session, *_: Any) -> None:
    # A write, or a later transaction, may see other records: the memo serves only reads between writes.
    session.info.pop(_MEMO, None)


def _forget_on_write(execution: ORMExecuteState) -> None:
    if not execution.is_select:
        _forget(execution.session)


def records_stamp(session: Session, principal: Principal, network_id: int) -> tuple[Hashable, ...]:
    """The network's row as ``principal`` may see it and a fingerprint of every record of the version.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader.
    network_id
        The network.

    Returns
    -------
    tuple
        The network's id, version and marking; then its revision, or without one, for nodes, edges, BOM
        lines, products and site capacities, the count, largest id and two marking-weighted sums of the
        version's rows. Empty when the reader may not see the network.

    """
    network, revision, cacheable = _network_revision(session, principal, network_id)
    if network is None:
        return ()
    if not cacheable:
        return (network, ("written", next(_UNCACHED)))
    if revision is not None:
        return (network, ("revision", revision))
    # Not a read for the reader: a fingerprint of the data, keyed with the reader's view (see the module).
    per_table = union_all(
        *(
            unfiltered(literal(index), *_sums(model.id, model.marking_id)).where(model.network_id == network_id)
            for index, model in enumerate(_TABLES)
        )
    )
    rows = {row[0]: tuple(row[1:]) for row in session.execute(per_table)}
    return (network, *(rows.get(index, ()) for index in range(len(_TABLES))))


def _sums(key: Any, marking_id: Any) -> tuple[Any, ...]:
    """Count, largest id and two marking-weighted sums of a set of rows: a change to any row changes one."""
    return func.count(), func.max(key), func.sum(marking_id), func.sum(cast(key, BigInteger) * marking_id)
