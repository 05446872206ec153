"""Witnessed logs: each instance logs what it releases, proves it, and cosigns the partner's checkpoints.

Sending: every run of appends to a partner's feed is one audit entry (``federation.release``: the
partner, the sequence numbers and the SHA-256 of the objects' digests), so the sender's own log says
what it released and when. A bundle carries the sender's newest signed checkpoint, an RFC 9162
consistency proof from the last checkpoint the partner cosigned, and for each release entry it covers
the entry itself and its inclusion proof.

Receiving, as a witness in the manner of C2SP tlog-witness: verify the checkpoint's signature with the
pinned key; verify consistency with the last checkpoint cosigned here, and refuse a fork (the same size
with another root, a smaller tree, or no valid proof), keeping the evidence; verify that every received
object is covered by a release entry included in the checkpoint; then cosign the checkpoint and send
the cosignature back in the feed. The sender stores it as a countersignature of its checkpoint, which
``setu audit verify`` checks with the partner's pinned key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from setu.audit.checkpoints import (
    checkpoint_text,
    issue_checkpoint,
    latest_checkpoint,
    signature_digest,
    verify_signature,
)
from setu.audit.keys import key_id_of, key_store
from setu.audit.log import canonical_leaf, canonical_time, entry_fields, integrate, record, stored_leaf_hashes
from setu.audit.merkle import MerkleTree, hash_leaf, verify_consistency, verify_inclusion
from setu.federation.identity import FederationError, Instance
from setu.models.audit import AuditEntry, Checkpoint, Countersignature
from setu.models.base import utcnow
from setu.models.federation import AppliedEntry, Partner, WitnessedCheckpoint

RELEASE_ACTION = "federation.release"
RELEASE_CHUNK = 256
"""Most feed entries one release entry covers (``SETU_FEDERATION_RELEASE_CHUNK`` changes it): a receiver verifies
a release entry once it holds all of its entries, so a page of a pull is extended to the end of the last release
entry it starts (at most this many more)."""
MAX_RELEASE_CHUNK = 1000
"""The most ``SETU_FEDERATION_RELEASE_CHUNK`` may be: no release entry covers more feed entries, so a puller refuses
a header whose release entries run on further past its page than that (rather than ask the partner for as many)."""


def release_chunk() -> int:
    """:data:`RELEASE_CHUNK`, or ``SETU_FEDERATION_RELEASE_CHUNK`` (1 to :data:`MAX_RELEASE_CHUNK`) when set."""
    value = os.environ.get("SETU_FEDERATION_RELEASE_CHUNK", "").strip()
    return min(max(int(value), 1), MAX_RELEASE_CHUNK) if value.isdigit() else RELEASE_CHUNK


EXPORT_ACTION = "federation.export"
COSIGNATURE_TYPE = "x-setu-cosignature"
_APPENDED = "setu.federation.appended"
"""``session.info`` key: per partner, the (seq, digest) of feed entries appended in this transaction."""


class ForkDetected(FederationError):
    """The partner showed a checkpoint that contradicts one this instance cosigned: its log forked."""

    def __init__(self, message: str, partner: str, checkpoint: dict[str, Any]) -> None:
        super().__init__(message)
        self.partner = partner
        self.checkpoint = checkpoint


def note_appended(session: Session, partner: str, seq: int, digest: str) -> None:
    """Remember a feed entry appended in this transaction, for the release entry :func:`log_releases` writes."""
    session.info.setdefault(_APPENDED, {}).setdefault(partner, []).append((seq, digest))


def releases_digest(digests: list[str]) -> str:
    """SHA-256 over the objects' digests in order: what a release entry and a batch header record."""
    hasher = hashlib.sha256()
    for value in digests:
        hasher.update(value.encode())
    return hasher.hexdigest()


def log_releases(session: Session, instance: Instance) -> None:
    """Record one ``federation.release`` audit entry per partner for the entries appended in this transaction."""
    appended: dict[str, list[tuple[int, str]]] = session.info.pop(_APPENDED, {})
    for partner, entries in sorted(appended.items()):
        entries.sort()
        size = release_chunk()
        for start in range(0, len(entries), size):
            chunk = entries[start : start + size]
            record(
                session,
                None,
                RELEASE_ACTION,
                "partner",
                partner,
                actor_name="federation",
                party=instance.party,
                details={
                    "first_seq": chunk[0][0],
                    "last_seq": chunk[-1][0],
                    "digest": releases_digest([digest for _seq, digest in chunk]),
                },
            )


def record_shown(session: Session, local: str, party: str, header: dict[str, Any], actor_name: str) -> None:
    """Audit that the signed header ``header`` (with its checkpoint) was handed to ``party``: a bundle written or
    a TAXII page's header served. Later headers carry a consistency proof from each checkpoint shown."""
    record(
        session,
        None,
        EXPORT_ACTION,
        "partner",
        party,
        actor_name=actor_name,
        party=local,
        details={
            "first_seq": header["first_seq"],
            "last_seq": header["last_seq"],
            "count": header["count"],
            "tree_size": header["checkpoint"]["tree_size"],
        },
    )


def _cosigned_size(session: Session, instance: Instance, party: str) -> tuple[int, bytes] | None:
    """The largest checkpoint of ours that ``party`` cosigned: where its consistency proof starts."""
    row = session.execute(
        select(Checkpoint.tree_size, Checkpoint.root_hash)
        .join(Countersignature, Countersignature.checkpoint_id == Checkpoint.id)
        .where(Checkpoint.party == instance.party, Countersignature.party == party)
        .order_by(Checkpoint.tree_size.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), bytes(row[1]))


def proofs(session: Session, instance: Instance, party: str, first_seq: int, last_seq: int) -> dict[str, Any]:
    """What a bundle to ``party`` carries for the witness: checkpoint, consistency proof, release entries."""
    integrate(session)
    last_release = session.scalar(
        select(func.max(AuditEntry.seq)).where(AuditEntry.action == RELEASE_ACTION, AuditEntry.object_id == party)
    )
    checkpoint = latest_checkpoint(session, instance.party)
    if checkpoint is None or (last_release is not None and checkpoint.tree_size <= last_release):
        # A new checkpoint only when the newest does not cover every release to the partner yet: a partner
        # asking for headers again and again gets the same one, not a signature and an entry each time.
        checkpoint = issue_checkpoint(session, instance.party, actor_name="federation")
    size = checkpoint.tree_size
    tree = MerkleTree(stored_leaf_hashes(session, 0, size))
    cosigned = _cosigned_size(session, instance, party)
    floor = cosigned[0] if cosigned is not None else 0
    # The partner may have cosigned any checkpoint shown to it since (its cosignature not back yet, on an
    # air-gapped link): a proof from each, so that the witness finds the one from its own last.
    shown = {floor} | {
        int(json.loads(details).get("tree_size", 0))
        for details in session.scalars(
            select(AuditEntry.details).where(
                AuditEntry.action == EXPORT_ACTION, AuditEntry.object_id == party, AuditEntry.seq < size
            )
        )
    }
    starts = sorted(s for s in shown if floor <= s <= size and s > 0)
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == RELEASE_ACTION, AuditEntry.object_id == party, AuditEntry.seq < size)
        .order_by(AuditEntry.seq)
    ).all()
    releases = []
    for entry in entries:
        details = json.loads(entry.details)
        if details["last_seq"] >= first_seq and details["first_seq"] <= last_seq:
            releases.append(
                {"entry": entry_fields(entry), "path": [h.hex() for h in tree.inclusion_proof(entry.seq, size)]}
            )
    return {
        "checkpoint": {
            "party": instance.party,
            "tree_size": size,
            "root_hash": bytes(checkpoint.root_hash).hex(),
            "issued_at": canonical_time(checkpoint.issued_at),
            "key_id": checkpoint.key_id,
            "signature": base64.b64encode(bytes(checkpoint.signature)).decode(),
        },
        "consistency": [
            {"from_size": start, "proof": [h.hex() for h in tree.consistency_proof(start, size)]} for start in starts
        ],
        "releases": releases,
    }


def _witnessed(session: Session, party: str) -> WitnessedCheckpoint | None:
    return session.scalars(
        select(WitnessedCheckpoint)
        .where(WitnessedCheckpoint.partner == party, WitnessedCheckpoint.fork == "")
        .order_by(WitnessedCheckpoint.tree_size.desc(), WitnessedCheckpoint.id.desc())
        .limit(1)
    ).first()


def check_checkpoint(session: Session, partner: Partner, header: dict[str, Any], source: str) -> dict[str, Any]:
    """Verify the bundle's checkpoint as a witness: signed by the pinned key, consistent with what was cosigned.

    Raises
    ------
    ForkDetected
        If it contradicts the checkpoint cosigned here last (the caller keeps the evidence).
    FederationError
        If it is missing, malformed or not signed by the partner's pinned key.
    """
    checkpoint, consistency = header.get("checkpoint"), header.get("consistency")
    if not isinstance(checkpoint, dict) or not isinstance(consistency, list):
        raise FederationError(f"{source}: the batch header carries no checkpoint of {partner.party}'s log")
    try:
        size, root = int(checkpoint["tree_size"]), bytes.fromhex(checkpoint["root_hash"])
        text = checkpoint_text(partner.party, size, root, str(checkpoint["issued_at"]))
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        proofs_from = {int(item["from_size"]): [bytes.fromhex(h) for h in item["proof"]] for item in consistency}
    except (KeyError, TypeError, ValueError) as error:
        raise FederationError(f"{source}: the checkpoint is malformed ({error!r})") from None
    if checkpoint.get("party") != partner.party or not verify_signature(
        bytes.fromhex(partner.public_key), text, signature
    ):
        raise FederationError(f"{source}: the checkpoint is not signed by {partner.party}'s pinned key")
    last = _witnessed(session, partner.party)
    if last is not None:
        last_root = bytes.fromhex(last.root_hash)
        seen = session.scalar(
            select(WitnessedCheckpoint.root_hash).where(
                WitnessedCheckpoint.partner == partner.party,
                WitnessedCheckpoint.tree_size == size,
                WitnessedCheckpoint.fork == "",
            )
        )
        if seen is not None and seen != root.hex():
            reason = f"two checkpoints of {size} entries with different roots"
        elif seen is None and size < last.tree_size:
            reason = f"a tree of {size} entries, never seen, after one of {last.tree_size} was cosigned"
        elif seen is None and not verify_consistency(
            last.tree_size, size, last_root, root, proofs_from.get(last.tree_size, [])
        ):
            reason = (
                f"no valid consistency proof from the {last.tree_size}-entry checkpoint cosigned "
                f"on {last.witnessed_at:%Y-%m-%d %H:%M}"
            )
        else:
            reason = ""
        if reason:
            raise ForkDetected(
                f"{source}: {partner.party}'s audit log forked: {reason}; the witness refuses to cosign and nothing "
                "was stored",
                partner.party,
                {**checkpoint, "reason": reason},
            )
    proof = proofs_from.get(last.tree_size, []) if last is not None else []
    return {"size": size, "root": root, "checkpoint": checkpoint, "proof": [h.hex() for h in proof]}


def check_releases(
    session: Session,
    partner: Partner,
    to_party: str,
    header: dict[str, Any],
    witnessed: dict[str, Any],
    new: list[dict[str, Any]],
    source: str,
) -> None:
    """Every new object is covered by a ``federation.release`` entry included in the witnessed checkpoint."""
    from setu.federation.stix import digest

    digests = {obj["x_setu_seq"]: digest(obj) for obj in new}
    covered: set[int] = set()
    for position, release in enumerate(header.get("releases") or [], start=1):
        where = f"{source}: release entry {position}"
        try:
            fields, path = release["entry"], [bytes.fromhex(h) for h in release["path"]]
            details = json.loads(fields["details"])
            first, last = int(details["first_seq"]), int(details["last_seq"])
            leaf = hash_leaf(canonical_leaf(fields))
        except (KeyError, TypeError, ValueError, RecursionError) as error:
            raise FederationError(f"{where} is malformed ({error!r})") from None
        if (fields["action"], fields["object_id"], fields["party"]) != (RELEASE_ACTION, to_party, partner.party):
            raise FederationError(f"{where} is not {partner.party}'s entry of a release to {to_party}")
        if not verify_inclusion(leaf, int(fields["seq"]), witnessed["size"], path, witnessed["root"]):
            raise FederationError(f"{where}: its inclusion proof does not verify against {partner.party}'s checkpoint")
        known = dict(
            session.execute(
                select(AppliedEntry.seq, AppliedEntry.digest).where(
                    AppliedEntry.partner == partner.party, AppliedEntry.seq >= first, AppliedEntry.seq <= last
                )
            ).all()
        )
        known.update({seq: value for seq, value in digests.items() if first <= seq <= last})
        if (
            any(seq not in known for seq in range(first, last + 1))
            or releases_digest([known[seq] for seq in range(first, last + 1)]) != details["digest"]
        ):
            raise FederationError(
                f"{where}: seq {first}-{last} do not match what {partner.party}'s log says it released"
            )
        covered.update(range(first, last + 1))
    missing = sorted(set(digests) - covered)
    if missing:
        raise FederationError(
            f"{source}: seq {missing[0]} is not covered by a release entry in {partner.party}'s witnessed log"
        )


def cosign(session: Session, instance: Instance, partner: Partner, witnessed: dict[str, Any]) -> dict[str, Any] | None:
    """Keep the verified checkpoint as witnessed and return the cosignature to send back (``None``: cosigned before)."""
    checkpoint = witnessed["checkpoint"]
    last = _witnessed(session, partner.party)
    if last is not None and last.tree_size >= witnessed["size"]:
        return None
    text = checkpoint_text(partner.party, witnessed["size"], witnessed["root"], str(checkpoint["issued_at"]))
    cosignature = base64.b64encode(key_store().sign(instance.key, text)).decode()
    session.add(
        WitnessedCheckpoint(
            partner=partner.party,
            tree_size=witnessed["size"],
            root_hash=witnessed["root"].hex(),
            issued_at=str(checkpoint["issued_at"]),
            key_id=str(checkpoint["key_id"]),
            signature=str(checkpoint["signature"]),
            consistency=json.dumps(witnessed["proof"]),
            cosignature=cosignature,
        )
    )
    record(
        session,
        None,
        "federation.witness.cosign",
        "partner",
        partner.party,
        actor_name="federation",
        party=instance.party,
        details={"tree_size": witnessed["size"], "root_hash": witnessed["root"].hex()},
    )
    return {
        "checkpoint_party": partner.party,
        "tree_size": witnessed["size"],
        "root_hash": witnessed["root"].hex(),
        "issued_at": str(checkpoint["issued_at"]),
        "key_id": instance.key.key_id,
        "cosignature": cosignature,
    }


def keep_fork(session: Session, instance: Instance, fork: ForkDetected) -> None:
    """Store the evidence of a fork (in the caller's transaction, which it then commits) and audit it."""
    checkpoint = fork.checkpoint
    session.add(
        WitnessedCheckpoint(
            partner=fork.partner,
            tree_size=int(checkpoint.get("tree_size", 0)),
            root_hash=str(checkpoint.get("root_hash", ""))[:64],
            issued_at=str(checkpoint.get("issued_at", ""))[:40],
            key_id=str(checkpoint.get("key_id", ""))[:16],
            signature=str(checkpoint.get("signature", ""))[:100],
            fork=str(checkpoint.get("reason", "fork")),
        )
    )
    record(
        session,
        None,
        "federation.witness.fork",
        "partner",
        fork.partner,
        decision="deny",
        actor_name="federation",
        party=instance.party,
        details={"reason": str(checkpoint.get("reason", "")), "tree_size": checkpoint.get("tree_size")},
    )


def apply_cosignature(session: Session, instance: Instance, partner: Partner, obj: dict[str, Any]) -> bool:
    """Store the partner's cosignature of one of our checkpoints as its countersignature, if it verifies.

    The countersignature names the partner's pinned key, the one its signature is checked with: a cosignature
    that names any other key (a made-up id beside a valid signature) is refused before anything is stored, as
    ``setu audit verify`` would otherwise find a countersignature by a key the partner does not hold.
    """
    where = str(obj.get("id"))
    try:
        size, root = int(obj["tree_size"]), bytes.fromhex(str(obj["root_hash"]))
        signature = base64.b64decode(str(obj["cosignature"]), validate=True)
    except (KeyError, TypeError, ValueError) as error:
        raise FederationError(f"{where}: the cosignature is malformed ({error!r})") from None
    row = session.scalars(
        select(Checkpoint).where(
            Checkpoint.party == instance.party, Checkpoint.tree_size == size, Checkpoint.root_hash == root
        )
    ).first()
    if row is None or canonical_time(row.issued_at) != obj.get("issued_at"):
        raise FederationError(f"{where}: a cosignature of a checkpoint this instance never issued")
    public_key = bytes.fromhex(partner.public_key)
    pinned = key_id_of(public_key)
    if obj.get("key_id") != pinned:
        raise FederationError(
            f"{where}: the cosignature names key {obj.get('key_id')!r}, not {partner.party}'s pinned key {pinned}"
        )
    text = checkpoint_text(instance.party, row.tree_size, bytes(row.root_hash), row.issued_at)
    if not verify_signature(public_key, text, signature):
        raise FederationError(f"{where}: the cosignature does not verify with {partner.party}'s pinned key")
    if any(c.party == partner.party for c in row.countersignatures):
        return False
    session.add(
        Countersignature(
            checkpoint_id=row.id, party=partner.party, key_id=pinned, signature=signature, signed_at=utcnow()
        )
    )
    session.flush()
    integrate(session)
    record(
        session,
        None,
        "audit.countersign",
        "checkpoint",
        row.id,
        actor_name=f"witness {partner.party}",
        sequenced=True,
        details={
            "party": partner.party,
            "issuer": row.party,
            "tree_size": row.tree_size,
            "key_id": pinned,
            "signature": signature_digest(signature),
        },
    )
    return True


def witness_state(session: Session, party: str) -> tuple[WitnessedCheckpoint | None, int]:
    """The last checkpoint of ``party`` cosigned here, and how many forks were refused."""
    forks = session.scalar(
        select(func.count())
        .select_from(WitnessedCheckpoint)
        .where(WitnessedCheckpoint.partner == party, WitnessedCheckpoint.fork != "")
    )
    return _witnessed(session, party), int(forks or 0)
