"""The receiving side: a partner's checked feed entries applied as read-only, partner-origin records.

A received record is stored in the same table as a local one, with ``received_from`` naming the
partner and the partner's marking, so every read path filters it like any other record, and the ORM
refuses any local change to it (:class:`setu.models.base.ReceivedReadOnly`). Its provenance (STIX id,
sequence number, signature) is kept in :class:`ReceivedObject`. A retraction deletes the record, keeps
the provenance row as a tombstone, and appends a signed receipt to this instance's feed back to the
partner. A batch is applied in one transaction: all of it or none.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from setu.audit.keys import check_party
from setu.audit.log import AuditError, record
from setu.federation.authority import MarkingCheck
from setu.federation.feed import append, lock_partner, next_seq
from setu.federation.identity import FederationError, Instance
from setu.federation.kinds import BY_STIX_TYPE, MARKING_KIND, RECEIPT_TYPE, Kind, Reference, from_json
from setu.federation.requests import apply_transition_received
from setu.federation.stix import digest
from setu.federation.witness import COSIGNATURE_TYPE, apply_cosignature, cosign, log_releases
from setu.models.base import APPLYING_FEED, utcnow
from setu.models.federation import AppliedEntry, Partner, ReceivedObject, SentObject
from setu.models.networks import NetworkRecord, NodeRecord, SupplyRecord
from setu.models.parties import ORGANIZATION_KINDS, Organization, Party
from setu.models.stress import RunRecord, ScenarioRecord
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.read import count_unfiltered, unfiltered

NETWORK_PARTS = frozenset({"network", "node", "supply", "bom", "product", "site_capacity"})
"""The kinds a network version is made of: what the engine computes on, so a change to one invalidates runs."""
ORG_NAME_LENGTH = 200
"""The organizations table's name width."""
UNDISCLOSED = "An undisclosed organization of {party}"
"""The organization a received record belongs to here when its own organization was withheld."""


@dataclass
class ApplyReport:
    """What applying one batch did."""

    partner: str
    applied: int = 0
    created: int = 0
    updated: int = 0
    retracted: int = 0
    receipts: int = 0
    cosignatures: int = 0
    """Cosignatures of this instance's checkpoints the partner sent back as its witness."""
    networks: set[int] = field(default_factory=set)


def received_creator(stix_id: str) -> int:
    """The creator of a received record here: a negative number no user has, one per record.

    The partner's user ids mean nothing here and are not sent; one number per record keeps apart records
    that two of the partner's users made under one name (a scenario per network and creator).
    """
    return -(uuid.UUID(stix_id.split("--", 1)[1]).int % 2**31) - 1


class _Receiver:
    """One batch being applied. What was received from the partner is read once; rows made in the batch are
    flushed together when one of them is first referenced (the sender sends each kind after the kinds it
    references, so that is about once per kind), not one statement per object."""

    def __init__(self, session: Session, instance: Instance, partner: Partner) -> None:
        self.session = session
        self.instance = instance
        self.partner = partner
        self.report = ApplyReport(partner.party)
        # Provenance bookkeeping of the feed being applied, not a user's read.
        self.held: dict[str, ReceivedObject] = {
            row.stix_id: row
            for row in session.scalars(unfiltered(ReceivedObject).where(ReceivedObject.partner == partner.party))
        }
        self.made: dict[str, Any] = {}
        """Rows written in this batch, by STIX id (their ids come with the next flush)."""
        self.organizations: dict[tuple[str, str], int] = {}
        self.made_here: set[int] = set()
        """Organizations this batch created (named as an owner, or as a placeholder, before their own record)."""
        self.networks: list[Any] = []
        self.sent_to_partner: dict[str, dict[str, int]] = {}
        self.withdrawn: dict[int, set[str]] = {}
        """Received networks that lost a record in this batch, with the ids of the nodes they lost."""
        self.markings = MarkingCheck(session, instance, partner)

    def _row(self, model: Any, stix_id: str) -> Any:
        if stix_id in self.made:
            return self.made[stix_id]
        held = self.held.get(stix_id)
        if held is None or held.local_id is None:
            return None
        # The feed writes received rows whoever may read them here; not a user's read.
        return self.session.scalars(unfiltered(model).where(model.id == held.local_id)).one_or_none()

    def _id_of(self, stix_id: str) -> int | None:
        row = self.made.get(stix_id)
        if row is None:
            held = self.held.get(stix_id)
            return None if held is None else held.local_id
        if row.id is None:
            self.session.flush()
        return int(row.id)

    # -- references -------------------------------------------------------------------------------
    def _local_id(self, obj: dict[str, Any], ref: Reference) -> int | None:
        value = obj.get(ref.prop)
        return None if value is None else self._resolve(obj, str(value), ref.prop, ref.kind, ref.receivers_own)

    def _resolve(self, obj: dict[str, Any], ref: str, prop: str, kind: str, receivers_own: bool = False) -> int:
        """The local id of the ``kind`` record ``ref`` received from the partner (or, where the reference may name
        one, of ours sent to the partner), or a precise error."""
        found = self.held.get(ref)
        local = self._id_of(ref) if found is not None and found.kind == kind else None
        if local is None and ref in self._ours(kind):
            if not receivers_own:
                raise FederationError(
                    f"{obj['id']} (seq {obj['x_setu_seq']}) refers in {prop} to {ref}, which is "
                    f"{self.instance.party}'s own ({kind}): a record of {self.partner.party}'s cannot join or hang off "
                    f"a record of {self.instance.party}'s; {prop} must name a {kind} {self.partner.party} sent"
                )
            local = self._ours(kind)[ref]
        if local is None:
            raise FederationError(
                f"{obj['id']} (seq {obj['x_setu_seq']}) refers in {prop} to {ref}, which is not a {kind} held from "
                f"{self.partner.party}: the feed is out of order or was altered"
            )
        return local

    def _ours(self, kind: str) -> dict[str, int]:
        """This instance's records of ``kind`` sent to the partner and not retracted, by STIX id: what a partner's
        record may point at of ours where its reference allows it (its transition of a request we filed)."""
        if kind not in self.sent_to_partner:
            # The feed's own bookkeeping of what was sent to this partner, whatever the reader.
            rows = self.session.execute(
                unfiltered(SentObject.stix_id, SentObject.local_id).where(
                    SentObject.partner == self.partner.party, SentObject.kind == kind, SentObject.revoked.is_(False)
                )
            ).all()
            self.sent_to_partner[kind] = {stix_id: int(local_id) for stix_id, local_id in rows}
        return self.sent_to_partner[kind]

    def _marking_id(self, obj: dict[str, Any]) -> int:
        for ref in obj.get("object_marking_refs") or []:
            found = self.held.get(str(ref))
            if found is not None and found.kind == MARKING_KIND and found.local_id is not None:
                return found.local_id
        raise FederationError(
            f"{obj['id']} (seq {obj['x_setu_seq']}) carries no Setu marking received from {self.partner.party}; "
            "an unmarked record is never stored"
        )

    def _party(self, code: str) -> None:
        if self.session.get(Party, code) is None:
            self.session.add(Party(code=code, name=code))
            self.session.flush()

    def _organization(self, party: str, name: str, kind: str) -> int:
        """The local organization (party, name), created as the partner's when there is none."""
        check_party(party)
        if not name or len(name) > ORG_NAME_LENGTH:
            raise ValueError(f"an organization's name must be 1 to {ORG_NAME_LENGTH} characters, got {len(name)}")
        key = (party, name)
        if key in self.organizations:
            return self.organizations[key]
        # Matching by name needs every organization, visible to a given user or not.
        found = self.session.scalar(
            unfiltered(Organization.id).where(Organization.party_code == party, Organization.name == name)
        )
        if found is None:
            self._party(party)
            spec = MarkingSpec(0, self.partner.party, frozenset({party, self.instance.party, self.partner.party}))
            org = Organization(
                party_code=party,
                name=name,
                kind=kind if kind in ORGANIZATION_KINDS else "firm",
                received_from=self.partner.party,
                marking_id=store(self.session, spec).id,
            )
            self.session.add(org)
            self.session.flush()
            found = org.id
            self.made_here.add(int(found))
        self.organizations[key] = int(found)
        return int(found)

    # -- entries ------------------------------------------------------------------------------------
    def marking(self, obj: dict[str, Any]) -> None:
        marking = store(self.session, self.markings.spec(obj))
        self._remember(obj, MARKING_KIND, marking.id, marking.id)

    def _remember(self, obj: dict[str, Any], kind: str, local_id: int | None, marking_id: int, row: Any = None) -> None:
        held = self.held.get(obj["id"])
        if held is None:
            held = ReceivedObject(partner=self.partner.party, stix_id=obj["id"], kind=kind)
            self.session.add(held)
            self.held[obj["id"]] = held
        live = local_id is not None or row is not None
        held.local_id = local_id if row is None else row.id
        held.marking_id, held.seq = marking_id, obj["x_setu_seq"]
        held.signature, held.received_at = obj["x_setu_signature"], utcnow()
        held.retracted_at = None if live else utcnow()
        if row is not None:
            self.made[obj["id"]] = row
        else:
            self.made.pop(obj["id"], None)

    def record(self, kind: Kind, obj: dict[str, Any]) -> None:
        where = f"{obj['id']} (seq {obj['x_setu_seq']})"
        values: dict[str, Any] = dict(kind.local)
        for column, prop in kind.fields.items():
            try:
                values[column] = from_json(kind, column, obj.get(prop))
            except (TypeError, ValueError) as error:
                raise FederationError(f"{where}: property {prop}: {error}") from None
        for column, (key, target_kind) in kind.id_lists.items():
            value = dict(values[column] or {})
            if isinstance(value.get(key), list):
                value[key] = [self._resolve(obj, str(ref), kind.fields[column], target_kind) for ref in value[key]]
            values[column] = value
        for ref in kind.references:
            local = self._local_id(obj, ref)
            if local is None and ref.required:
                raise FederationError(f"{where}: property {ref.prop} is missing")
            if local is None and not kind.model.__table__.columns[ref.column].nullable:
                # A column that must name an organization (a network's importer) whose record was withheld.
                if ref.kind != "organization":
                    raise FederationError(f"{where}: property {ref.prop} is missing")
                local = self._organization(self.partner.party, UNDISCLOSED.format(party=self.partner.party), "firm")
            values[ref.column] = local
        # The partner's marking, as its signed feed says: the partner's authority decided it there (its own
        # check of who may lower a marking); here no user changes it, and received records are read-only.
        values["marking_id"] = self._marking_id(obj)
        self.markings.check_record(kind, obj, values)
        for creator in ("created_by", "actor_id"):
            if creator in values:
                values[creator] = received_creator(obj["id"])
        model: Any = kind.model
        row = self._row(model, obj["id"])
        if row is None and kind.name == "organization":
            # An organization this instance holds already (its own, or named before in a marking) is the same one.
            try:
                existing = self._organization(str(values["party_code"]), str(values["name"]), str(values["kind"]))
            except (ValueError, AuditError) as error:
                raise FederationError(f"{where}: {error}") from None
            row = self.session.scalars(unfiltered(Organization).where(Organization.id == existing)).one()
        elif row is None and kind.natural_key:
            # A record this instance holds under the same name (a pillar's code, a body's name) is the same one.
            named = [getattr(model, column) == values[column] for column in kind.natural_key]
            row = self.session.scalars(unfiltered(model).where(*named)).first()
        if row is not None and row.received_from != self.partner.party:
            self._remember(obj, kind.name, row.id, values["marking_id"])  # ours: mapped, never changed by a partner
            return
        created_before = self.report.created
        if row is None:
            row = model(received_from=self.partner.party, **values)
            self.session.add(row)
            self.report.created += 1
        else:
            for column, value in values.items():
                if column not in kind.local:
                    setattr(row, column, value)
            if kind.name == "organization" and row.id in self.made_here:
                self.report.created += 1  # made a moment ago for a marking that names it: new to this instance
            else:
                self.report.updated += 1
        if kind.name == "request_event" and self.report.created > created_before:
            apply_transition_received(self.session, self.instance, self.partner, row, obj)
        if kind.name == "network":
            self.networks.append(row)
        elif kind.name in NETWORK_PARTS:
            self.report.networks.add(int(values["network_id"]))
        self._remember(obj, kind.name, None, values["marking_id"], row=row)

    def retract(self, kind: Kind, obj: dict[str, Any]) -> None:
        held = self.held.get(obj["id"])
        row: Any = self._row(kind.model, obj["id"])
        if row is not None and row.received_from == self.partner.party:
            network_id = row.id if kind.name == "network" else getattr(row, "network_id", None)
            if network_id is not None and kind.name in NETWORK_PARTS:
                self.report.networks.add(int(network_id))
                self.withdrawn.setdefault(int(network_id), set())
                if kind.name == "node":
                    self.withdrawn[int(network_id)].add(row.node_id)
            if inspect(row).pending:  # made earlier in this very batch and not flushed yet
                self.session.expunge(row)
            else:
                self.session.delete(row)
        if held is None:
            raise FederationError(f"{obj['id']} (seq {obj['x_setu_seq']}): a retraction of a record never received")
        marking_id = held.marking_id
        self._remember(obj, kind.name, None, marking_id)
        self.report.retracted += 1
        self._send_receipt(obj, marking_id)

    def _send_receipt(self, obj: dict[str, Any], marking_id: int) -> None:
        self.send_back(
            RECEIPT_TYPE,
            {"retracted_ref": obj["id"], "retraction_seq": obj["x_setu_seq"], "applied": obj["modified"]},
            kind="receipt",
            marking_id=marking_id,
        )

    def send_back(self, stix_type: str, content: dict[str, Any], *, kind: str, marking_id: int) -> None:
        """Append a signed object (a receipt, a cosignature) to this instance's feed back to the partner."""
        lock_partner(self.session, self.partner.party)
        append(
            self.session,
            self.instance,
            self.partner.party,
            seq=next_seq(self.session, self.partner.party),
            kind=kind,
            stix_type=stix_type,
            stix_id=f"{stix_type}--{uuid.uuid4()}",
            marking_id=marking_id,
            content=content,
            created=utcnow(),
        )
        self.session.flush()

    def receipt(self, obj: dict[str, Any]) -> None:
        # The feed's own bookkeeping: which of our retractions the partner applied.
        sent = self.session.scalars(
            unfiltered(SentObject).where(
                SentObject.partner == self.partner.party, SentObject.stix_id == obj.get("retracted_ref")
            )
        ).one_or_none()
        if sent is not None and sent.revoked and sent.seq == obj.get("retraction_seq"):
            sent.receipt_at = datetime.fromisoformat(str(obj["created"]).replace("Z", "+00:00"))
            sent.receipt = json.dumps(obj, ensure_ascii=False)
            self.report.receipts += 1

    def apply(self, obj: dict[str, Any]) -> None:
        stix_type = obj.get("type")
        if stix_type == RECEIPT_TYPE:
            self.receipt(obj)
        elif stix_type == COSIGNATURE_TYPE:
            if apply_cosignature(self.session, self.instance, self.partner, obj):
                self.report.cosignatures += 1
        elif stix_type == "marking-definition":
            self.marking(obj)
        elif stix_type in BY_STIX_TYPE:
            kind = BY_STIX_TYPE[str(stix_type)]
            if obj.get("revoked") is True:
                self.retract(kind, obj)
            else:
                self.record(kind, obj)
        else:
            raise FederationError(
                f"{obj.get('id')} (seq {obj.get('x_setu_seq')}): type {stix_type!r} is not one Setu exchanges"
            )
        self.session.add(
            AppliedEntry(partner=self.partner.party, seq=obj["x_setu_seq"], stix_id=obj["id"], digest=digest(obj))
        )
        self.report.applied += 1

    def finish(self) -> None:
        """Flush the batch, give the provenance rows their records' ids, and recount the networks touched."""
        self.session.flush()
        for stix_id, row in self.made.items():
            self.held[stix_id].local_id = row.id
        self.report.networks.update(network.id for network in self.networks if network.id is not None)
        self.recount()
        self.drop_derived()

    def drop_derived(self) -> None:
        """Delete what this instance derived from records the partner withdrew: runs on the network, scenarios
        naming a withdrawn node. Their results were computed from the withdrawn record and may show it."""
        runs = scenarios = 0
        for network_id, nodes in self.withdrawn.items():
            # Every local run on the network, whoever computed it: derived from what was withdrawn.
            for run in self.session.scalars(
                unfiltered(RunRecord).where(RunRecord.network_id == network_id, RunRecord.received_from.is_(None))
            ):
                self.session.delete(run)
                runs += 1
            for scenario in self.session.scalars(
                unfiltered(ScenarioRecord).where(
                    ScenarioRecord.network_id == network_id, ScenarioRecord.received_from.is_(None)
                )
            ):
                if nodes & set(scenario.nodes):
                    self.session.delete(scenario)
                    scenarios += 1
        if runs or scenarios:
            self.session.flush()
            record(
                self.session,
                None,
                "federation.retraction.derived",
                "partner",
                self.partner.party,
                actor_name="federation",
                party=self.instance.party,
                details={"networks": sorted(self.withdrawn), "runs": runs, "scenarios": scenarios},
            )

    def recount(self) -> None:
        """Count received networks' nodes and edges here (the sender's counts would tell what was withheld)."""
        for network_id in self.report.networks:
            network = self.session.scalars(
                unfiltered(NetworkRecord).where(NetworkRecord.id == network_id)
            ).one_or_none()
            if network is None or network.received_from is None:
                continue
            network.node_count = count_unfiltered(self.session, NodeRecord, NodeRecord.network_id == network_id)
            network.edge_count = count_unfiltered(self.session, SupplyRecord, SupplyRecord.network_id == network_id)


def apply_entries(
    session: Session,
    instance: Instance,
    partner: Partner,
    objects: list[dict[str, Any]],
    witnessed: dict[str, Any] | None = None,
) -> ApplyReport:
    """Apply a partner's checked entries in order, in the caller's transaction (commit or roll back as one).

    Parameters
    ----------
    session
        The transaction.
    instance
        This instance (signs the receipts of retractions and the cosignature).
    partner
        The sender.
    objects
        Entries that passed :func:`setu.federation.bundles.check_bundle` (or the same checks online), not applied yet.
    witnessed
        The partner's checkpoint as :func:`setu.federation.witness.check_checkpoint` verified it: cosigned
        here and the cosignature sent back.

    Returns
    -------
    ApplyReport
        Counts of what was created, updated and retracted.
    """
    receiver = _Receiver(session, instance, partner)
    session.info[APPLYING_FEED] = True
    try:
        for obj in objects:
            receiver.apply(obj)
        receiver.finish()
        session.flush()
    finally:
        session.info.pop(APPLYING_FEED, None)
    if witnessed is not None:
        cosignature = cosign(session, instance, partner, witnessed)
        if cosignature is not None:
            marking = store(session, MarkingSpec(0, instance.party, frozenset({instance.party, partner.party})))
            receiver.send_back(COSIGNATURE_TYPE, cosignature, kind="cosignature", marking_id=marking.id)
    log_releases(session, instance)
    return receiver.report
