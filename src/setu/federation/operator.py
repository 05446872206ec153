"""The operator's view of every link, for the instance's admins and auditors: state, preview, retractions, forks.

Counts and lists go through the read filter as the viewer (a count never tells of records kept from
them); the preview says what the next publish would send; reading it is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import AccessDenied
from setu.federation.feed import PublishReport, preview
from setu.federation.identity import FederationError, configured_party, fingerprint
from setu.federation.partners import list_partners
from setu.federation.service import LinkState, link_states
from setu.models.federation import Partner, SentObject, WitnessedCheckpoint
from setu.sharing.markings import LEVELS
from setu.sharing.policy import Principal
from setu.sharing.read import readable

OPERATOR_ROLES = frozenset({"admin", "auditor"})
RETRACTIONS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class Retraction:
    """One retraction sent: what kind of record, its STIX id, when, and the partner's receipt."""

    kind: str
    stix_id: str
    seq: int
    receipt_at: datetime | None


@dataclass(frozen=True, slots=True)
class Fork:
    """A partner's checkpoint the witness refused."""

    tree_size: int
    root_hash: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LinkView:
    """One link as the operator page shows it."""

    partner: str
    url: str
    level: str
    groups: list[str]
    key_fingerprint: str
    state: LinkState
    next_publish: PublishReport
    retractions: list[Retraction]
    forks: list[Fork]
    witnessed_at: datetime | None


@dataclass(frozen=True, slots=True)
class OperatorView:
    """This instance's party (``""``: a single-instance deployment) and its links."""

    party: str
    links: list[LinkView]


def operator_view(session: Session, principal: Principal) -> OperatorView:
    """Every link as ``principal`` (an admin or auditor of this instance's party) may see it (audited).

    Raises
    ------
    AccessDenied
        For anyone else.
    """
    try:
        party = configured_party()
    except FederationError:
        party = ""
    if principal.roles.isdisjoint(OPERATOR_ROLES) or (party and principal.party != party):
        record(session, principal, "federation.read", "federation", "links", decision="deny")
        session.commit()
        raise AccessDenied("the federation page is for this instance's admins and auditors")
    if not party:
        return OperatorView("", [])
    states = {state.partner: state for state in link_states(session, principal)}
    links = [_link(session, principal, party, partner, states[partner.party]) for partner in list_partners(session)]
    details = {"partners": [link.partner for link in links]}
    record(session, principal, "federation.read", "federation", "links", details=details)
    return OperatorView(party, links)


def _link(session: Session, principal: Principal, local_party: str, partner: Partner, state: LinkState) -> LinkView:
    retractions = [
        Retraction(row.kind, row.stix_id, row.seq, row.receipt_at)
        for row in session.scalars(
            readable(principal, SentObject)
            .where(SentObject.partner == partner.party, SentObject.revoked.is_(True))
            .order_by(SentObject.seq.desc())
            .limit(RETRACTIONS_SHOWN)
        )
    ]
    forks = [
        Fork(row.tree_size, row.root_hash, row.fork, row.witnessed_at)
        for row in session.scalars(
            select(WitnessedCheckpoint)
            .where(WitnessedCheckpoint.partner == partner.party, WitnessedCheckpoint.fork != "")
            .order_by(WitnessedCheckpoint.id.desc())
        )
    ]
    witnessed = session.scalar(
        select(WitnessedCheckpoint.witnessed_at)
        .where(WitnessedCheckpoint.partner == partner.party, WitnessedCheckpoint.fork == "")
        .order_by(WitnessedCheckpoint.id.desc())
        .limit(1)
    )
    return LinkView(
        partner=partner.party,
        url=partner.url,
        level=LEVELS[partner.max_classification],
        groups=list(partner.groups),
        key_fingerprint=fingerprint(bytes.fromhex(partner.public_key)),
        state=state,
        next_publish=preview(session, local_party, partner.party),
        retractions=retractions,
        forks=forks,
        witnessed_at=witnessed,
    )
