"""What someone holding the database (not the parties' keys) does to rewrite the audit trail.

Each function works through raw SQL and the public leaf and checkpoint formats only, as an attacker
with a database shell would: rewrite entries and recompute their leaf hashes, recompute checkpoint
roots and re-sign them, swap the public keys, delete checkpoints, forge a tail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from setu.audit.checkpoints import checkpoint_text, signature_digest
from setu.audit.keys import key_id_of
from setu.audit.log import canonical_leaf, canonical_time, leaf_hash
from setu.audit.merkle import MerkleTree


def public_of(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def private_keys_in_database(session: Session) -> dict[str, Ed25519PrivateKey]:
    """Every party's private signing key the database gives away, by party: any column of any table
    whose value is the private half of a stored public key (raw 32 bytes or PEM)."""
    publics = {bytes(row.public_key): row.party for row in session.execute(text("SELECT * FROM audit_signing_keys"))}
    found: dict[str, Ed25519PrivateKey] = {}
    for table in inspect(session.get_bind()).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')).mappings():
            for value in row.values():
                candidate: Ed25519PrivateKey | None = None
                try:
                    if isinstance(value, bytes | memoryview) and len(bytes(value)) == 32:
                        candidate = Ed25519PrivateKey.from_private_bytes(bytes(value))
                    elif isinstance(value, str | bytes) and "PRIVATE KEY" in str(value):
                        raw = value.encode() if isinstance(value, str) else value
                        loaded = load_pem_private_key(raw, password=None)
                        candidate = loaded if isinstance(loaded, Ed25519PrivateKey) else None
                except ValueError:
                    candidate = None
                if candidate is not None and public_of(candidate) in publics:
                    found[publics[public_of(candidate)]] = candidate
    return found


def edit_entry(session: Session, seq: int, object_id: str) -> None:
    session.execute(text("UPDATE audit_entries SET object_id = :o WHERE seq = :s"), {"o": object_id, "s": seq})


def _when(value: object) -> str:
    # Raw SQL on SQLite gives timestamps as text.
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return canonical_time(moment)


def _rows(session: Session) -> list[dict[str, object]]:
    return [dict(r) for r in session.execute(text("SELECT * FROM audit_entries ORDER BY seq")).mappings()]


def rehash(session: Session) -> list[bytes]:
    """Recompute every leaf hash from the entry's fields (the format is public); returns them in order."""
    hashes = []
    for row in _rows(session):
        fields = {**row, "at": _when(row["at"])}
        digest = leaf_hash(canonical_leaf(fields))
        session.execute(text("UPDATE audit_entries SET leaf_hash = :h WHERE seq = :s"), {"h": digest, "s": row["seq"]})
        hashes.append(digest)
    return hashes


def renumber(session: Session) -> None:
    """Close the gaps that deleted entries left: seq 0..n-1 again, in order."""
    seqs = [int(r[0]) for r in session.execute(text("SELECT seq FROM audit_entries ORDER BY seq"))]
    for new, old in enumerate(seqs):
        if new != old:
            session.execute(text("UPDATE audit_entries SET seq = :n WHERE seq = :o"), {"n": new, "o": old})


def _set_details(session: Session, seq: int, changes: Mapping[str, object]) -> None:
    current = session.execute(text("SELECT details FROM audit_entries WHERE seq = :s"), {"s": seq}).scalar_one()
    details = json.loads(current)
    details.update({k: v for k, v in changes.items() if k in details})
    session.execute(
        text("UPDATE audit_entries SET details = :d WHERE seq = :s"),
        {"d": json.dumps(details, sort_keys=True), "s": seq},
    )


def swap_keys(session: Session, keys: Mapping[str, Ed25519PrivateKey]) -> None:
    """Replace the stored public key of each party in ``keys`` with the attacker's, and the key entries' record."""
    for party, private in keys.items():
        public = public_of(private)
        old = session.execute(text("SELECT key_id FROM audit_signing_keys WHERE party = :p"), {"p": party}).scalar_one()
        session.execute(
            text("UPDATE audit_signing_keys SET public_key = :pub, key_id = :kid WHERE party = :p"),
            {"pub": public, "kid": key_id_of(public), "p": party},
        )
        for row in _rows(session):
            if row["action"] == "audit.key.create" and row["object_id"] == old:
                session.execute(
                    text("UPDATE audit_entries SET object_id = :k WHERE seq = :s"),
                    {"k": key_id_of(public), "s": row["seq"]},
                )
                _set_details(session, int(row["seq"]), {"public_key": public.hex()})  # type: ignore[call-overload]


def resign(session: Session, keys: Mapping[str, Ed25519PrivateKey]) -> None:
    """Make every checkpoint and its log entry agree with the log as it now is, signed with ``keys``.

    Leaf hashes are recomputed first; each checkpoint gets the root of the rewritten log, a new signature
    and countersignatures by the key of each party in ``keys``; the ``audit.checkpoint`` entries that
    describe a checkpoint are rewritten to match; then the leaves are recomputed again.
    """
    for _ in range(2):  # the checkpoint entries change the leaves that later checkpoints cover
        hashes = rehash(session)
        tree = MerkleTree(hashes)
        for checkpoint in session.execute(text("SELECT * FROM audit_checkpoints ORDER BY id")).mappings():
            private = keys[checkpoint["party"]]
            root = tree.root(int(checkpoint["tree_size"]))
            message = checkpoint_text(
                checkpoint["party"], checkpoint["tree_size"], root, _when(checkpoint["issued_at"])
            )
            signature = private.sign(message)
            kid = key_id_of(public_of(private))
            session.execute(
                text("UPDATE audit_checkpoints SET root_hash = :r, signature = :s, key_id = :k WHERE id = :id"),
                {"r": root, "s": signature, "k": kid, "id": checkpoint["id"]},
            )
            countersigned = {}
            for counter in session.execute(
                text("SELECT * FROM audit_countersignatures WHERE checkpoint_id = :id"), {"id": checkpoint["id"]}
            ).mappings():
                other = keys[counter["party"]]
                counter_signature = other.sign(message)
                countersigned[counter["party"]] = {
                    "key_id": key_id_of(public_of(other)),
                    "signature": signature_digest(counter_signature),
                }
                session.execute(
                    text("UPDATE audit_countersignatures SET signature = :s, key_id = :k WHERE id = :id"),
                    {"s": counter_signature, "k": key_id_of(public_of(other)), "id": counter["id"]},
                )
            for row in _rows(session):
                if row["object_id"] != str(checkpoint["id"]):
                    continue
                seq = int(row["seq"])  # type: ignore[call-overload]
                if row["action"] == "audit.checkpoint":
                    changes = {"root_hash": root.hex(), "key_id": kid, "signature": signature_digest(signature)}
                    _set_details(session, seq, changes)
                elif row["action"] == "audit.countersign":
                    party = json.loads(str(row["details"])).get("party")
                    _set_details(session, seq, countersigned.get(party, {}))
    rehash(session)


def delete_checkpoints(session: Session, *ids: int) -> None:
    for checkpoint_id in ids:
        session.execute(text("DELETE FROM audit_countersignatures WHERE checkpoint_id = :i"), {"i": checkpoint_id})
        session.execute(text("DELETE FROM audit_checkpoints WHERE id = :i"), {"i": checkpoint_id})


def delete_checkpoint_entries(session: Session, *ids: int) -> None:
    """Remove the entries that record issuing or countersigning these checkpoints, then close the gaps."""
    for checkpoint_id in ids:
        session.execute(
            text(
                "DELETE FROM audit_entries WHERE action IN ('audit.checkpoint', 'audit.countersign') AND object_id = :i"
            ),
            {"i": str(checkpoint_id)},
        )
    renumber(session)


def truncate(session: Session, size: int) -> None:
    session.execute(text("DELETE FROM audit_entries WHERE seq >= :n"), {"n": size})


def append_forged(session: Session, count: int, template_seq: int = 0) -> None:
    """Append ``count`` entries that look like ordinary reads, with correct leaf hashes."""
    row = session.execute(text("SELECT * FROM audit_entries WHERE seq = :s"), {"s": template_seq}).mappings().one()
    size = int(session.execute(text("SELECT COUNT(*) FROM audit_entries")).scalar_one())
    for i in range(count):
        values = {**dict(row), "seq": size + i, "object_id": f"FORGED{i}", "action": "node.read"}
        fields = {**values, "at": _when(values["at"])}
        values["leaf_hash"] = leaf_hash(canonical_leaf(fields))
        columns = ", ".join(values)
        session.execute(
            text(f"INSERT INTO audit_entries ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values
        )
