"""The networks a user is working on, most recent first: what pages open by default and the dashboard shows.

A page that opens on "the first network" must not open on whichever name sorts first among everything
anyone imported: it opens on the one the user last worked on (their latest run or import of any of its
versions), then on the newest. The reads go through the read filter and stay bounded however many
networks there are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func
from sqlalchemy.orm import Session

from setu.accounts.lookups import as_utc
from setu.audit.log import record
from setu.models.networks import NetworkRecord
from setu.models.stress import RunRecord
from setu.sharing.policy import Principal
from setu.sharing.read import built_once, readable

SCANNED = 500
"""The newest visible network versions looked at (a user works on recent ones; older ones are on the list pages)."""


def _seconds(when: datetime | None) -> int:
    stamp = as_utc(when)
    return int(stamp.timestamp()) if stamp is not None else 0


@built_once
def _newest_networks(principal: Principal) -> Select[Any]:
    return readable(principal, NetworkRecord).order_by(NetworkRecord.id.desc()).limit(SCANNED)


@built_once
def _run_activity(principal: Principal) -> Select[Any]:
    """When the reader last started a run on each of the networks ``network_ids``."""
    return (
        readable(principal, RunRecord.network_id, func.max(RunRecord.created_at))
        .where(RunRecord.created_by == principal.user_id)
        .where(RunRecord.network_id.in_(bindparam("network_ids", expanding=True)))
        .group_by(RunRecord.network_id)
    )


def recent_networks(session: Session, principal: Principal, *, limit: int = 5) -> list[NetworkRecord]:
    """The newest visible version of each network, those the user last worked on first.

    Parameters
    ----------
    session
        The request's session (one ``network.list`` entry is audited).
    principal
        The user.
    limit
        At most this many networks.

    Returns
    -------
    list of NetworkRecord
        One per network name and importing organization: the newest version the user may see. Those
        on which the user started a run or imported a version come first, most recent activity first;
        then the others, most recently imported first.
    """
    newest = session.scalars(_newest_networks(principal)).all()
    latest: dict[tuple[int, str], NetworkRecord] = {}
    for network in newest:
        latest.setdefault((network.org_id, network.name), network)
    by_id = {network.id: (network.org_id, network.name) for network in newest}
    activity: dict[tuple[int, str], int] = {}
    # Runs and imports share no clock column that orders both; their creation times do.
    for network_id, when in session.execute(_run_activity(principal), {"network_ids": list(by_id)}):
        key = by_id[network_id]
        activity[key] = max(activity.get(key, 0), _seconds(when))
    for network in newest:
        if network.created_by == principal.user_id:
            key = by_id[network.id]
            activity[key] = max(activity.get(key, 0), _seconds(network.created_at))
    chosen = sorted(latest.items(), key=lambda item: (-activity.get(item[0], 0), -item[1].id))[:limit]
    record(session, principal, "network.list", "network", "", details={"recent": [n.id for _key, n in chosen]})
    return [network for _key, network in chosen]
