"""The outbound feed to a partner: what the partner may have, as numbered, signed changes.

:func:`publish` does not rely on every write path remembering to tell the feed: it reads what the
partner may have now, through the read filter as :func:`setu.sharing.policy.partner_reader`, and
compares it with what was sent (:class:`SentObject`). A record new to that set, or changed, is appended
as its next version; a sent record no longer in it (deleted, re-marked beyond the partner, or now
referencing a withheld record) is appended as a retraction. Records received from a partner are never
sent on (``received_from`` is empty on every row published). One publish is one transaction under the
partner row's lock, so two publishers cannot number two entries alike.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import Session

from setu.audit.keys import HeldKey
from setu.federation.identity import Instance
from setu.federation.kinds import KINDS, MARKING_KIND, Kind, to_json
from setu.federation.partners import get_partner
from setu.federation.stix import content_digest, digest, marking_content, signed_object, tlp_refs
from setu.federation.witness import log_releases, note_appended
from setu.models.base import Marking, utcnow
from setu.models.federation import OutboundEntry, Partner, ReceivedObject, SentObject, StixId
from setu.models.parties import Organization
from setu.sharing.markings import MarkingSpec, specs_by_id
from setu.sharing.policy import partner_reader
from setu.sharing.read import readable, unfiltered


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What one publish appended to a partner's feed."""

    partner: str
    sent: int
    changed: int
    retracted: int
    last_seq: int


def stix_ids(
    session: Session, kind: str, stix_type: str, local_ids: Iterable[int], *, create: bool = True
) -> dict[int, str]:
    """The STIX ids of ``kind``'s rows ``local_ids``, made (random) for rows that have none yet.

    With ``create`` false nothing is written: a row without one gets a stand-in no other row has (a preview).
    """
    wanted = set(local_ids)
    known = dict(session.execute(select(StixId.local_id, StixId.stix_id).where(StixId.kind == kind)).all())
    missing = sorted(wanted - known.keys())
    if missing and not create:
        known.update({local_id: f"{stix_type}--not-sent-{local_id}" for local_id in missing})
    elif missing:
        made = {local_id: f"{stix_type}--{uuid.uuid4()}" for local_id in missing}
        session.execute(insert(StixId), [{"kind": kind, "local_id": k, "stix_id": v} for k, v in made.items()])
        known.update(made)
    return {local_id: known[local_id] for local_id in wanted}


def next_seq(session: Session, partner: str) -> int:
    """The next sequence number of the feed to ``partner`` (call under the partner row's lock)."""
    # The feed's own numbering, whatever the reader: not a read of the records.
    last = session.scalar(unfiltered(func.max(OutboundEntry.seq)).where(OutboundEntry.partner == partner))
    return int(last or 0) + 1


def lock_partner(session: Session, party: str) -> Partner:
    """The partner row, locked for this transaction (PostgreSQL; SQLite serializes writers anyway)."""
    get_partner(session, party)
    return session.scalars(select(Partner).where(Partner.party == party).with_for_update()).one()


def append(
    session: Session,
    instance: Instance,
    partner: str,
    *,
    seq: int,
    kind: str,
    stix_type: str,
    stix_id: str,
    marking_id: int,
    content: dict[str, Any],
    created: datetime,
    revoked: bool = False,
) -> dict[str, Any]:
    """Sign one object for ``partner`` at ``seq`` and append it to the feed; the signed object."""
    now = utcnow()
    obj = signed_object(
        instance,
        stix_type=stix_type,
        stix_id=stix_id,
        created=created,
        modified=now,
        content=content,
        to=partner,
        seq=seq,
        revoked=revoked,
    )
    session.add(
        OutboundEntry(
            partner=partner,
            seq=seq,
            stix_id=stix_id,
            kind=kind,
            revoked=revoked,
            object=json.dumps(obj, ensure_ascii=False),
            marking_id=marking_id,
            created_at=now,
        )
    )
    note_appended(session, partner, seq, digest(obj))
    return obj


class _Publisher:
    """One publish: the partner's current releasable set, compared with what was sent."""

    def __init__(self, session: Session, instance: Instance, partner: Partner, *, dry_run: bool = False) -> None:
        self.dry_run = dry_run
        self.session = session
        self.instance = instance
        self.partner = partner
        self.reader = partner_reader(partner)
        self.link = frozenset({instance.party, partner.party})
        # What was sent to this partner, whatever the reader: the feed's own bookkeeping.
        self.sent = {
            row.stix_id: row
            for row in session.scalars(unfiltered(SentObject).where(SentObject.partner == partner.party))
        }
        self.seq = next_seq(session, partner.party)
        self.current: set[str] = set()
        self.released: dict[str, dict[int, str]] = {}
        self.markings: dict[int, list[str]] = {}
        self.counts = {"sent": 0, "changed": 0, "retracted": 0}
        self.partners_own: dict[str, dict[int, str]] = {}

    def _emit(
        self, kind: str, stix_type: str, stix_id: str, local_id: int, marking_id: int, content: dict[str, Any]
    ) -> None:
        self.current.add(stix_id)
        digest = content_digest(content)
        previous = self.sent.get(stix_id)
        if previous is not None and not previous.revoked and previous.content_digest == digest:
            return
        if self.dry_run:  # a preview: count what would go, send nothing
            self.counts["sent" if previous is None else "changed"] += 1
            return
        created = previous.first_sent_at if previous is not None else utcnow()
        append(
            self.session,
            self.instance,
            self.partner.party,
            seq=self.seq,
            kind=kind,
            stix_type=stix_type,
            stix_id=stix_id,
            marking_id=marking_id,
            content=content,
            created=created,
        )
        if previous is None:
            self.counts["sent"] += 1
            row = SentObject(
                partner=self.partner.party,
                stix_id=stix_id,
                kind=kind,
                local_id=local_id,
                content_digest=digest,
                seq=self.seq,
                revoked=False,
                marking_id=marking_id,
                first_sent_at=created,
            )
            self.session.add(row)
            self.sent[stix_id] = row
        else:
            self.counts["changed"] += 1
            previous.content_digest, previous.seq, previous.revoked = digest, self.seq, False
            previous.marking_id, previous.receipt_at, previous.receipt = marking_id, None, ""
        self.seq += 1

    def marking_ref(self, marking_id: int) -> list[str]:
        """The marking-definition refs of a record marked ``marking_id``, sending the definition first if new.

        Worked out once per marking in a publish: a network of 10^5 nodes holds a handful of markings.
        """
        if marking_id not in self.markings:
            stix_id = stix_ids(self.session, MARKING_KIND, "marking-definition", [marking_id], create=not self.dry_run)[
                marking_id
            ]
            spec = specs_by_id(self.session, [marking_id])[marking_id]
            self._emit(MARKING_KIND, "marking-definition", stix_id, marking_id, marking_id, self._marking_content(spec))
            self.markings[marking_id] = [stix_id, *tlp_refs(spec, self.link)]
        return self.markings[marking_id]

    def _marking_content(self, spec: MarkingSpec) -> dict[str, Any]:
        ids = sorted(org for org, _ in spec.owners)
        # Owners are named in the marking of a record the partner may read; a reader of a record may
        # know who owns it (as banners do), whatever the organization's own marking.
        rows = self.session.execute(
            unfiltered(Organization.id, Organization.party_code, Organization.name, Organization.kind).where(
                Organization.id.in_(ids)
            )
        ).all()
        return marking_content(spec, {org_id: (party, name, kind) for org_id, party, name, kind in rows})

    def publish_kind(self, kind: Kind) -> None:
        model: Any = kind.model
        columns = [model.id, model.marking_id]
        columns += [getattr(model, column) for column in kind.fields]
        columns += [getattr(model, ref.column) for ref in kind.references]
        statement = readable(self.reader, *columns).where(model.received_from.is_(None)).order_by(model.id)
        if kind.where is not None:
            statement = statement.where(kind.where(model))
        statement = statement.where(*self._own(kind))
        rows = self.session.execute(statement).all()
        ids = stix_ids(self.session, kind.name, kind.stix_type, [row[0] for row in rows], create=not self.dry_run)
        self.released[kind.name] = {}
        # One pass in id order, each row released as soon as it is decided: a reference to a record of the same
        # kind (a working group's parent body) sees the ones before it.
        for row in rows:
            refs = self._references(kind, row)
            if refs is None:
                continue
            local_id, marking_id = row[0], row[1]
            # STIX has no null: an empty value is an absent property.
            content: dict[str, Any] = {
                prop: to_json(kind, column, row[2 + i])
                for i, (column, prop) in enumerate(kind.fields.items())
                if row[2 + i] is not None
            }
            if kind.stix_type == "identity":
                content["identity_class"] = "organization"
            content.update(refs)
            content["object_marking_refs"] = self.marking_ref(marking_id)
            self._emit(kind.name, kind.stix_type, ids[local_id], local_id, marking_id, content)
            self.released[kind.name][local_id] = ids[local_id]

    def _own(self, kind: Kind) -> list[ColumnElement[bool]]:
        """Conditions for a row to be this party's own to send, as the partner's receiver checks it.

        A record's party column (an organization's party, a run's origin) names this party, and its marking
        originates here: a record under another party's marking authority is that party's to release. A
        transition is the one exception: the holder's transition of the partner's request carries the
        request's marking, the partner's own, which the partner sent here.
        """
        model: Any = kind.model
        conditions: list[ColumnElement[bool]] = []
        if kind.party:
            conditions.append(getattr(model, kind.party) == self.instance.party)
        if kind.name != "request_event":
            conditions.append(
                model.marking_id.in_(select(Marking.id).where(Marking.origin_party == self.instance.party))
            )
        return conditions

    def _references(self, kind: Kind, row: Any) -> dict[str, Any] | None:
        """The row's references as STIX ids (and id lists inside JSON columns), or ``None`` if one is withheld."""
        refs: dict[str, Any] = {}
        for position, ref in enumerate(kind.references, start=2 + len(kind.fields)):
            target = self.released.get(ref.kind, {}).get(row[position])
            if target is None and row[position] is not None and ref.receivers_own:
                target = self._partners_own(ref.kind).get(row[position])
            if target is not None:
                refs[ref.prop] = target
            elif ref.required:
                return None
        columns = list(kind.fields)
        for column, (key, target_kind) in kind.id_lists.items():
            value = dict(row[2 + columns.index(column)] or {})
            local_ids = value.get(key)
            if isinstance(local_ids, list):
                released = self.released.get(target_kind, {})
                if not all(int(local) in released for local in local_ids):
                    return None
                value[key] = [released[int(local)] for local in local_ids]
            refs[kind.fields[column]] = value
        return refs

    def _partners_own(self, kind: str) -> dict[int, str]:
        """The partner's own records of ``kind`` held here, by local id, as the partner's STIX ids.

        A record of ours may point at one where the reference allows it (:attr:`Reference.receivers_own`: a
        request to a firm of the partner, a transition of a request the partner filed): the reference crosses as
        the partner's own id, which tells it nothing it lacks. Any other reference to one is withheld like a
        record that does not cross.
        """
        if kind not in self.partners_own:
            # The feed's own bookkeeping of what this partner sent, whatever the reader.
            rows = self.session.execute(
                unfiltered(ReceivedObject.local_id, ReceivedObject.stix_id).where(
                    ReceivedObject.partner == self.partner.party,
                    ReceivedObject.kind == kind,
                    ReceivedObject.retracted_at.is_(None),
                    ReceivedObject.local_id.is_not(None),
                )
            ).all()
            self.partners_own[kind] = {int(local_id): stix_id for local_id, stix_id in rows}
        return self.partners_own[kind]

    def retract_the_rest(self) -> None:
        order = {kind.name: position for position, kind in enumerate(KINDS)}
        stale = [
            row
            for stix_id, row in self.sent.items()
            if not row.revoked and row.kind != MARKING_KIND and stix_id not in self.current
        ]
        if self.dry_run:
            self.counts["retracted"] += len(stale)
            return
        # Children before parents: the receiver never holds an edge whose node is gone.
        for row in sorted(stale, key=lambda r: (-order.get(r.kind, 0), r.seq)):
            stix_type = next(kind.stix_type for kind in KINDS if kind.name == row.kind)
            append(
                self.session,
                self.instance,
                self.partner.party,
                seq=self.seq,
                kind=row.kind,
                stix_type=stix_type,
                stix_id=row.stix_id,
                marking_id=row.marking_id,
                content={},
                created=row.first_sent_at,
                revoked=True,
            )
            row.revoked, row.seq, row.receipt_at, row.receipt = True, self.seq, None, ""
            self.counts["retracted"] += 1
            self.seq += 1


def preview(session: Session, local_party: str, party: str) -> PublishReport:
    """What :func:`publish` would append to the feed to ``party`` now, appending nothing.

    The releasable set is computed in full (through the read filter, as the partner), writing and
    signing nothing: the operator page's "what the partner will see", a read like any other. It needs
    no signing key (a page view never creates one).
    """
    partner = get_partner(session, party)
    unsigned = Instance(local_party, HeldKey("", local_party, b""))  # a dry run signs nothing
    publisher = _Publisher(session, unsigned, partner, dry_run=True)
    for kind in KINDS:
        publisher.publish_kind(kind)
    publisher.retract_the_rest()
    return PublishReport(party, **publisher.counts, last_seq=publisher.seq - 1)


def publish(session: Session, instance: Instance, party: str) -> PublishReport:
    """Append to the feed to ``party`` every change to what it may have since the last publish.

    Parameters
    ----------
    session
        The transaction (committed by the caller; one publish is all or nothing).
    instance
        This instance (party and signing key).
    party
        The partner.

    Returns
    -------
    PublishReport
        How many records were sent for the first time, sent again changed, and retracted.
    """
    partner = lock_partner(session, party)
    publisher = _Publisher(session, instance, partner)
    for kind in KINDS:
        publisher.publish_kind(kind)
    publisher.retract_the_rest()
    log_releases(session, instance)
    session.flush()
    return PublishReport(party, **publisher.counts, last_seq=publisher.seq - 1)
