"""Federation operations as one call each: export a bundle, import one, and the state of every link.

An export runs in the caller's transaction and publishes the latest changes first, so the file holds
everything the partner may have up to now. An import runs in a transaction of its own: it checks the
whole bundle before storing anything (:func:`setu.federation.bundles.check_bundle`) and stores all of it
or nothing, and keeps the evidence of a fork in a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import record
from setu.db import transaction
from setu.federation.bundles import check_bundle, export_bundle, parse_bundle
from setu.federation.feed import PublishReport, lock_partner, publish
from setu.federation.identity import Instance, this_instance
from setu.federation.partners import list_partners
from setu.federation.receive import ApplyReport, apply_entries
from setu.federation.witness import ForkDetected, keep_fork, record_shown, witness_state
from setu.models.federation import AppliedEntry, OutboundEntry, Partner, ReceivedObject, SentObject
from setu.sharing.policy import Principal
from setu.sharing.read import readable, unfiltered


def export(
    session: Session, instance: Instance, party: str, since: int = 0, *, actor_name: str = ""
) -> tuple[dict[str, Any], PublishReport]:
    """Publish the latest changes to ``party`` and return its feed after ``since`` as a signed bundle (audited)."""
    report = publish(session, instance, party)
    bundle = export_bundle(session, instance, party, since)
    record_shown(session, instance.party, party, bundle["objects"][0], actor_name)
    return bundle, report


def import_bundle(
    sessions: sessionmaker[Session], data: bytes, source: str, *, party: str | None = None, actor_name: str = ""
) -> ApplyReport:
    """Check a bundle file in full, then apply what it holds that was not applied yet, in one transaction (audited).

    A bundle showing that the partner's log forked stores nothing of itself, but the evidence of the fork
    is kept and audited in a transaction of its own (the operator page and the auditors must see it).

    Parameters
    ----------
    sessions
        Sessions on this instance's database.
    data, source
        The file's bytes and its name (for errors).
    party
        This instance's party (default: ``SETU_INSTANCE_PARTY``).
    actor_name
        Who imports, for the audit log.
    """
    try:
        with transaction(sessions) as session:
            return _import(session, this_instance(session, party), data, source, actor_name)
    except ForkDetected as fork:
        with transaction(sessions) as session:
            keep_fork(session, this_instance(session, party), fork)
        raise


def _import(session: Session, instance: Instance, data: bytes, source: str, actor_name: str) -> ApplyReport:
    bundle = parse_bundle(data, source)
    sender = (
        bundle["objects"][0].get("from_party") if bundle["objects"] and isinstance(bundle["objects"][0], dict) else None
    )
    if isinstance(sender, str) and session.get(Partner, sender) is not None:
        # Two imports from one partner at once take turns (a pull beside a file): the second then finds what the
        # first applied, rather than both applying the same entries.
        lock_partner(session, sender)
    checked = check_bundle(session, instance, bundle, source)
    report = apply_entries(session, instance, checked.partner, checked.new, checked.witnessed)
    record(
        session,
        None,
        "federation.import",
        "partner",
        checked.partner.party,
        actor_name=actor_name,
        party=instance.party,
        details={
            "first_seq": checked.first_seq,
            "last_seq": checked.last_seq,
            "applied": report.applied,
            "retracted": report.retracted,
            "receipts": report.receipts,
        },
    )
    return report


@dataclass(frozen=True, slots=True)
class LinkState:
    """Where one link stands, for the operator: what was sent and received, and retractions unacknowledged."""

    partner: str
    last_sent_seq: int
    last_applied_seq: int
    last_applied_at: datetime | None
    released: int
    retractions: int
    unacknowledged: int
    received: int
    tombstones: int
    witnessed_size: int
    """The size of the partner's log at the last checkpoint of it cosigned here (0: none yet)."""
    forks: int
    """Checkpoints of the partner refused because they contradict one cosigned here."""


def link_states(session: Session, reader: Principal | None = None) -> list[LinkState]:
    """The state of the link to every partner (counts only: no record's content).

    For a ``reader`` (the operator page) every count is of the records they may read, so a count never
    tells them of records kept from them; without one (the CLI, the database's operator) of all.
    """

    def select_(*entities: Any) -> Any:
        # The CLI's operator holds the database: the counts of everything. A page's reader: of what they may read.
        return unfiltered(*entities) if reader is None else readable(reader, *entities)

    states = []
    for partner in list_partners(session):
        party = partner.party
        sent_seq = session.scalar(select_(func.max(OutboundEntry.seq)).where(OutboundEntry.partner == party))
        applied = session.execute(
            select(func.max(AppliedEntry.seq), func.max(AppliedEntry.applied_at)).where(AppliedEntry.partner == party)
        ).one()
        sent = session.execute(
            select_(SentObject.revoked, SentObject.receipt_at.is_(None), func.count())
            .where(SentObject.partner == party, SentObject.kind != "marking")
            .group_by(SentObject.revoked, SentObject.receipt_at.is_(None))
        ).all()
        received = session.execute(
            select_(ReceivedObject.retracted_at.is_(None), func.count())
            .where(ReceivedObject.partner == party, ReceivedObject.kind != "marking")
            .group_by(ReceivedObject.retracted_at.is_(None))
        ).all()
        witnessed, forks = witness_state(session, party)
        states.append(
            LinkState(
                partner=party,
                last_sent_seq=int(sent_seq or 0),
                last_applied_seq=int(applied[0] or 0),
                last_applied_at=applied[1],
                released=sum(n for revoked, _open, n in sent if not revoked),
                retractions=sum(n for revoked, _open, n in sent if revoked),
                unacknowledged=sum(n for revoked, open_, n in sent if revoked and open_),
                received=sum(n for live, n in received if live),
                tombstones=sum(n for live, n in received if not live),
                witnessed_size=witnessed.tree_size if witnessed is not None else 0,
                forks=forks,
            )
        )
    return states
