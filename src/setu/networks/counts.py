"""How many nodes of each network a reader sees: counted in SQL, kept per reader's view and network revision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.models.networks import NetworkRecord, NodeRecord
from setu.networks import stamps
from setu.sharing.cache import Cached, ViewCache, view_key
from setu.sharing.policy import Principal
from setu.sharing.read import built_once, readable

_NODE_COUNTS = ViewCache(entries=4096)
"""Visible nodes by (reader's view, network, revision): a revision is never reused (:mod:`setu.models.revisions`)."""


@built_once
def _visible_networks(principal: Principal) -> Select[Any]:
    return readable(principal, NetworkRecord.id).where(NetworkRecord.id.in_(bindparam("network_ids", expanding=True)))


def visible_node_counts(session: Session, principal: Principal, network_ids: Sequence[int]) -> dict[int, int]:
    """How many nodes of each of ``network_ids`` ``principal`` may see, in one query (audited as one count).

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader.
    network_ids
        The networks.

    Returns
    -------
    dict
        Visible nodes by network id; networks the reader may not see, or of which they see no node, are left out.
    """
    if not network_ids:
        return {}
    visible = list(session.scalars(_visible_networks(principal), {"network_ids": list(network_ids)}))
    revisions = stamps.revisions(session, visible)
    view = view_key(principal)
    counts: dict[int, int] = {}
    missing = []
    for network_id in visible:
        known = _NODE_COUNTS.get((view, network_id, revisions[network_id])) if network_id in revisions else None
        if known is None:
            missing.append(network_id)
        elif known.value:
            counts[network_id] = int(known.value)
    if missing:
        found: dict[int, int] = dict(
            session.execute(
                readable(principal, NodeRecord.network_id, func.count())
                .where(NodeRecord.network_id.in_(missing))
                .group_by(NodeRecord.network_id)
            ).all()
        )
        for network_id in missing:
            if found.get(network_id):
                counts[network_id] = int(found[network_id])
            if network_id in revisions:
                _NODE_COUNTS.put((view, network_id, revisions[network_id]), Cached(found.get(network_id, 0)))
    record(session, principal, "node.count", "network", "", details={"networks": list(network_ids)})
    return counts
