"""Signed checkpoints: each party signs tree heads of the log with its Ed25519 key; the other party countersigns.

A checkpoint signs the text from :func:`checkpoint_text`; a countersignature is another party's signature
over the same text, given only after that party recomputed the root from the log itself. The private
keys are held by :mod:`setu.audit.keys` (key files or a PKCS#11 token), never by the database, which
keeps the public keys only. Every checkpoint and countersignature is also an audit entry naming its row
and signature, so a deleted or altered checkpoint row no longer matches the log (:mod:`setu.audit.verify`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from setu.audit.keys import HeldKey, check_party, key_store, last_signed, remember_signed, require_signer
from setu.audit.log import AuditError, canonical_time, integrate, record, stored_leaf_hashes
from setu.audit.merkle import MerkleTree
from setu.models.audit import Checkpoint, Countersignature, SigningKey
from setu.models.base import utcnow
from setu.sharing.policy import Principal

SIGNED_TEXT_HEADER = "setu-audit-checkpoint"


def checkpoint_text(party: str, tree_size: int, root_hash: bytes, issued_at: datetime | str) -> bytes:
    """The exact bytes a checkpoint's signature and countersignatures cover.

    Parameters
    ----------
    party
        The issuing party.
    tree_size
        Number of entries covered.
    root_hash
        Their RFC 9162 tree head.
    issued_at
        When it was issued (a datetime, or the canonical text of :func:`~setu.audit.log.canonical_time`).

    Returns
    -------
    bytes
        ``setu-audit-checkpoint\\n{party}\\n{tree_size}\\n{root hex}\\n{issued_at}\\n`` in ASCII.
    """
    when = issued_at if isinstance(issued_at, str) else canonical_time(issued_at)
    return f"{SIGNED_TEXT_HEADER}\n{party}\n{tree_size}\n{root_hash.hex()}\n{when}\n".encode("ascii")


def signature_digest(signature: bytes) -> str:
    """The SHA-256 (hex) of a signature, as the log entry of a checkpoint or countersignature records it."""
    return hashlib.sha256(bytes(signature)).hexdigest()


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under the raw ``public_key``.

    Parameters
    ----------
    public_key
        32 raw bytes.
    message
        The signed bytes.
    signature
        64 bytes.

    Returns
    -------
    bool
        False for a bad signature and for malformed keys or signatures alike.
    """
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _publish(session: Session, held: HeldKey, actor: Principal | None, actor_name: str, where: str) -> SigningKey:
    """The database's copy of ``held``'s public key, added (an audited write) when it has none."""
    stored = session.scalars(select(SigningKey).where(SigningKey.key_id == held.key_id)).first()
    if stored is not None:
        if bytes(stored.public_key) != held.public_key or stored.party != held.party:
            raise AuditError(
                f"the database's public key {held.key_id} differs from the key {held.party} holds: "
                "the key table was changed; run `setu audit verify --keys`"
            )
        return stored
    stored = SigningKey(key_id=held.key_id, party=held.party, public_key=held.public_key, created_at=utcnow())
    session.add(stored)
    session.flush()
    record(
        session,
        actor,
        "audit.key.create",
        "signing_key",
        held.key_id,
        actor_name=actor_name,
        details={"party": held.party, "public_key": held.public_key.hex(), "held_in": where},
    )
    return stored


def generate_key(session: Session, party: str, *, actor: Principal | None = None, actor_name: str = "") -> SigningKey:
    """Create a new key for ``party`` in this instance's key store; publish its public half (audited).

    Parameters
    ----------
    session
        The transaction to publish the public key in.
    party
        Party code (``IN``, ``US``); this instance must sign for it (``SETU_SIGNING_PARTIES``).
    actor, actor_name
        Who asked, for the audit entry.

    Returns
    -------
    SigningKey
        The stored public key.
    """
    require_signer(party)
    store = key_store()
    return _publish(session, store.generate(party), actor, actor_name, store.where)


def held_key(
    session: Session, party: str, *, create: bool = True, actor: Principal | None = None, actor_name: str = ""
) -> HeldKey:
    """The key this instance signs with as ``party`` (its store's newest), created on first use when ``create``.

    The key comes from the key store, never from the database: a public key added to the database does
    not make this instance sign with it. The database's copy is added when missing and must match.

    Raises
    ------
    AuditError
        If this instance does not sign for ``party``, or holds no key of it and ``create`` is false.
    """
    require_signer(party)
    store = key_store()
    keys = store.keys(party)
    if not keys:
        if not create:
            raise AuditError(f"{store.where} holds no key of {party}")
        keys = [store.generate(party)]
    held = keys[-1]
    _publish(session, held, actor, actor_name, store.where)
    return held


def signing_key(
    session: Session, party: str, *, create: bool = True, actor: Principal | None = None, actor_name: str = ""
) -> SigningKey:
    """The database's copy of the public key this instance signs with as ``party`` (see :func:`held_key`)."""
    held = held_key(session, party, create=create, actor=actor, actor_name=actor_name)
    return session.scalars(select(SigningKey).where(SigningKey.key_id == held.key_id)).one()


def public_keys(session: Session) -> dict[str, SigningKey]:
    """Every public key in the database, by key id (old keys stay to verify old checkpoints)."""
    return {key.key_id: key for key in session.scalars(select(SigningKey))}


def _sign(held: HeldKey, message: bytes) -> bytes:
    signature = key_store().sign(held, message)
    if not verify_signature(held.public_key, message, signature):
        raise AuditError(f"the key store's signature with {held.key_id} does not verify")
    return signature


def log_name(session: Session) -> str:
    """The database ``session`` writes to, as this instance names it: its URL without password."""
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _check_own_memory(session: Session, tree: MerkleTree, party: str) -> None:
    """Refuse to sign as ``party`` over a log that no longer holds what this instance signed before.

    The database's checkpoint rows can be deleted along with the rewrite they would reveal; the tree
    this instance last signed is kept beside its key (:func:`~setu.audit.keys.last_signed`).
    """
    known = last_signed(party, log_name(session))
    if known is None:
        return
    size, root = known
    if size > tree.size:
        raise AuditError(
            f"{party} signed the log at size {size} but it now has {tree.size} entries: it was truncated; "
            "refusing to sign; run `setu audit verify`"
        )
    if tree.root(size) != root:
        raise AuditError(
            f"the log no longer reproduces the root {party} signed at size {size}: it was rewritten; "
            "refusing to sign; run `setu audit verify`"
        )


def _remember_on_commit(session: Session, party: str, tree_size: int, root: bytes) -> None:
    """Remember the signed tree once the transaction commits (a rolled-back signature is forgotten)."""
    pending: list[tuple[str, int, bytes]] = session.info.setdefault("setu_signed", [])
    if not session.info.get("setu_signed_listening"):
        session.info["setu_signed_listening"] = True

        @event.listens_for(session, "after_commit")
        def remember(done: Session) -> None:
            for signer, size, signed_root in done.info.pop("setu_signed", []):
                remember_signed(signer, log_name(done), size, signed_root)

        @event.listens_for(session, "after_rollback")
        def forget(done: Session) -> None:
            done.info.pop("setu_signed", None)

    pending.append((party, tree_size, root))


def _check_log_against(tree: MerkleTree, checkpoints: list[Checkpoint]) -> None:
    """Refuse to sign on top of a log that no longer reproduces an earlier checkpoint."""
    for earlier in checkpoints:
        if earlier.tree_size > tree.size:
            raise AuditError(
                f"the log has {tree.size} entries but checkpoint {earlier.id} of {earlier.party} covers "
                f"{earlier.tree_size}: the log was truncated; run `setu audit verify`"
            )
        if tree.root(earlier.tree_size) != bytes(earlier.root_hash):
            raise AuditError(
                f"the log no longer reproduces checkpoint {earlier.id} of {earlier.party} at size "
                f"{earlier.tree_size}: it was changed; run `setu audit verify`"
            )


def issue_checkpoint(
    session: Session, party: str, *, actor: Principal | None = None, actor_name: str = ""
) -> Checkpoint:
    """Sign the current tree head as ``party`` and record that in the log.

    The checkpoint covers every entry committed before it (pending ones are sequenced first); its own
    audit entry comes right after (at ``seq == tree_size``) and is covered by the next checkpoint.
    Before signing, the log must still reproduce every earlier checkpoint, so a party never signs over
    a log that was rewritten.

    Parameters
    ----------
    session
        The transaction to issue in (holds the append lock until it ends).
    party
        The issuing party; its key is created on first use.
    actor, actor_name
        Who asked, for the audit entry.

    Returns
    -------
    Checkpoint
        The stored, signed checkpoint.
    """
    key = held_key(session, party, actor=actor, actor_name=actor_name)
    # Lock (integrate takes it) and sequence what is pending, so no entry lands between the tree head
    # read here and this checkpoint's own entry, which is appended sequenced below.
    integrate(session)
    tree = MerkleTree(stored_leaf_hashes(session))
    _check_own_memory(session, tree, party)
    _check_log_against(tree, list(session.scalars(select(Checkpoint).order_by(Checkpoint.id))))
    issued_at = utcnow()
    root = tree.root()
    signature = _sign(key, checkpoint_text(party, tree.size, root, issued_at))
    checkpoint = Checkpoint(
        party=party,
        tree_size=tree.size,
        root_hash=root,
        issued_at=issued_at,
        key_id=key.key_id,
        signature=signature,
    )
    session.add(checkpoint)
    session.flush()
    _remember_on_commit(session, party, tree.size, root)
    record(
        session,
        actor,
        "audit.checkpoint",
        "checkpoint",
        checkpoint.id,
        actor_name=actor_name,
        sequenced=True,
        # What ties this entry to its row: the verifier finds the row by id and compares every field.
        details={
            "party": party,
            "tree_size": tree.size,
            "root_hash": root.hex(),
            "issued_at": canonical_time(issued_at),
            "key_id": key.key_id,
            "signature": signature_digest(signature),
        },
    )
    return checkpoint


def newest_to_countersign(session: Session, party: str) -> int:
    """The newest checkpoint of another party than ``party``: what ``party`` countersigns by default.

    Parameters
    ----------
    session
        The transaction to read in.
    party
        The countersigning party.

    Returns
    -------
    int
        The checkpoint's id.

    Raises
    ------
    AuditError
        If no other party has issued a checkpoint.
    """
    found = session.scalar(
        select(Checkpoint.id).where(Checkpoint.party != party).order_by(Checkpoint.id.desc()).limit(1)
    )
    if found is None:
        raise AuditError(f"no checkpoint of another party than {party} to countersign")
    return int(found)


def countersign(
    session: Session,
    checkpoint_id: int,
    party: str,
    *,
    actor: Principal | None = None,
    actor_name: str = "",
    trusted_keys: Mapping[str, tuple[str, bytes]] | None = None,
) -> Countersignature:
    """Countersign another party's checkpoint as ``party``, after checking it against the log.

    The countersigning party checks the issuer's signature and recomputes the root at the checkpoint's
    size from the log; only then does it sign the same text with its own key.

    Parameters
    ----------
    session
        The transaction to countersign in.
    checkpoint_id
        The checkpoint.
    party
        The countersigning party (not the issuer).
    actor, actor_name
        Who asked, for the audit entry.
    trusted_keys
        The public keys the countersigner pinned (key id -> (party, raw key)); the issuer's signature
        must verify with one of them. ``None``: with the key the database holds.

    Returns
    -------
    Countersignature
        The stored countersignature.
    """
    check_party(party)
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise AuditError(f"no checkpoint {checkpoint_id}")
    if checkpoint.party == party:
        raise AuditError(f"checkpoint {checkpoint_id} is {party}'s own; a party countersigns another's")
    if any(c.party == party for c in checkpoint.countersignatures):
        raise AuditError(f"{party} already countersigned checkpoint {checkpoint_id}")
    message = checkpoint_text(checkpoint.party, checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at)
    stored = session.scalars(select(SigningKey).where(SigningKey.key_id == checkpoint.key_id)).first()
    issuer = (stored.party, bytes(stored.public_key)) if stored is not None else None
    if trusted_keys is not None:  # the issuer's key as the countersigner pinned it, not as the database says
        issuer = trusted_keys.get(checkpoint.key_id)
    if issuer is None or issuer[0] != checkpoint.party:
        pinned = "a pinned key" if trusted_keys is not None else "a key"
        raise AuditError(
            f"checkpoint {checkpoint_id} names key {checkpoint.key_id}, not {pinned} of {checkpoint.party}"
        )
    if not verify_signature(issuer[1], message, checkpoint.signature):
        raise AuditError(f"the signature of checkpoint {checkpoint_id} does not verify; refusing to countersign")
    leaves = stored_leaf_hashes(session, 0, checkpoint.tree_size)
    if len(leaves) != checkpoint.tree_size or MerkleTree(leaves).root() != bytes(checkpoint.root_hash):
        raise AuditError(
            f"the log does not reproduce checkpoint {checkpoint_id}'s root at size {checkpoint.tree_size}; "
            "refusing to countersign"
        )
    _check_own_memory(session, MerkleTree(stored_leaf_hashes(session)), party)
    key = held_key(session, party, actor=actor, actor_name=actor_name)
    signature = Countersignature(
        checkpoint_id=checkpoint.id,
        party=party,
        key_id=key.key_id,
        signature=_sign(key, message),
        signed_at=utcnow(),
    )
    session.add(signature)
    session.flush()
    _remember_on_commit(session, party, checkpoint.tree_size, bytes(checkpoint.root_hash))
    session.refresh(checkpoint, ["countersignatures"])
    # The row and its entry must become visible together: a verifier that saw the countersignature
    # but not its entry (still pending) would report it missing. So the entry is appended sequenced,
    # after what is pending (this transaction's key entry among it).
    integrate(session)
    record(
        session,
        actor,
        "audit.countersign",
        "checkpoint",
        checkpoint.id,
        actor_name=actor_name,
        sequenced=True,
        details={
            "party": party,
            "issuer": checkpoint.party,
            "tree_size": checkpoint.tree_size,
            "key_id": key.key_id,
            "signature": signature_digest(signature.signature),
        },
    )
    return signature


def latest_checkpoint(session: Session, party: str | None = None) -> Checkpoint | None:
    """The most recently issued checkpoint (of ``party``, if given).

    Parameters
    ----------
    session
        Any session.
    party
        Only this party's checkpoints.

    Returns
    -------
    Checkpoint or None
        ``None`` when there is none.
    """
    query = select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1)
    if party is not None:
        query = query.where(Checkpoint.party == party)
    return session.scalars(query).first()
