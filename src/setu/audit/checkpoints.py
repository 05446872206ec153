"""Signed checkpoints: each party signs tree heads of the log with its Ed25519 key; the other party countersigns.

A checkpoint signs the text from :func:`checkpoint_text`; a countersignature is another party's signature
over the same text, given only after that party recomputed the root from the log itself. Private keys
are read from ``SETU_KEY_DIR`` when it is set (one PEM file per key), else from the database; see
docs/security.md for why production keeps them out of the database.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from setu.audit.log import AuditError, canonical_time, lock_log, record, stored_leaf_hashes
from setu.audit.merkle import MerkleTree
from setu.models.audit import Checkpoint, Countersignature, SigningKey
from setu.models.base import utcnow
from setu.sharing.policy import Principal

KEY_DIR_ENV = "SETU_KEY_DIR"
SIGNED_TEXT_HEADER = "setu-audit-checkpoint"
_PARTY = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,7}$")


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


def key_id_of(public_key: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of its raw 32-byte public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


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


def key_dir() -> Path | None:
    """The folder of private key files named by ``SETU_KEY_DIR``, or ``None`` (keys in the database)."""
    value = os.environ.get(KEY_DIR_ENV, "").strip()
    return Path(value) if value else None


def _key_file(folder: Path, party: str, key_id: str) -> Path:
    return folder / f"{party}-{key_id}.pem"


def _check_party(party: str) -> None:
    # Party codes end up in file names and in the signed text: keep them to a safe alphabet.
    if not _PARTY.match(party):
        raise AuditError(f"party code {party!r} is not 1-8 capital letters, digits, '-' or '_'")


def generate_key(session: Session, party: str, *, actor: Principal | None = None, actor_name: str = "") -> SigningKey:
    """Create a new Ed25519 key pair for ``party``; it becomes the party's signing key (an audited write).

    With ``SETU_KEY_DIR`` set the private key is written there (PKCS#8 PEM, mode 0600) and not stored
    in the database.

    Parameters
    ----------
    session
        The transaction to add the key in.
    party
        Party code (``IN``, ``US``).
    actor, actor_name
        Who asked, for the audit entry.

    Returns
    -------
    SigningKey
        The stored key.
    """
    _check_party(party)
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    key = SigningKey(key_id=key_id_of(public), party=party, public_key=public, private_key=raw, created_at=utcnow())
    folder = key_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = _key_file(folder, party, key.key_id)
        # Created with owner-only permissions from the start, never world-readable for a moment.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        key.private_key = None
    session.add(key)
    session.flush()
    record(
        session,
        actor,
        "audit.key.create",
        "signing_key",
        key.key_id,
        actor_name=actor_name,
        details={"party": party, "public_key": public.hex(), "in_key_dir": folder is not None},
    )
    return key


def signing_key(
    session: Session,
    party: str,
    *,
    create: bool = True,
    actor: Principal | None = None,
    actor_name: str = "",
) -> SigningKey:
    """The party's current signing key (its newest), created on first use when ``create``.

    Parameters
    ----------
    session
        The transaction to read (and maybe add) the key in.
    party
        Party code.
    create
        Whether to generate a key if the party has none.
    actor, actor_name
        Who asked, for the audit entry of a key created here.

    Returns
    -------
    SigningKey
        The key.
    """
    key = session.scalars(
        select(SigningKey).where(SigningKey.party == party).order_by(SigningKey.id.desc()).limit(1)
    ).first()
    if key is not None:
        return key
    if not create:
        raise AuditError(f"party {party} has no signing key")
    return generate_key(session, party, actor=actor, actor_name=actor_name)


def public_keys(session: Session) -> dict[str, SigningKey]:
    """Every signing key ever used, by key id (old keys stay to verify old checkpoints)."""
    return {key.key_id: key for key in session.scalars(select(SigningKey))}


def private_key(key: SigningKey) -> Ed25519PrivateKey:
    """The private half of ``key``: from the database, else from its file in ``SETU_KEY_DIR``.

    Parameters
    ----------
    key
        A stored key.

    Returns
    -------
    Ed25519PrivateKey
        The key, checked to match the stored public key.
    """
    private: Ed25519PrivateKey
    if key.private_key is not None:
        private = Ed25519PrivateKey.from_private_bytes(bytes(key.private_key))
    else:
        folder = key_dir()
        path = _key_file(folder, key.party, key.key_id) if folder is not None else None
        if path is None or not path.is_file():
            where = f"{path}" if path is not None else f"a file {key.party}-{key.key_id}.pem in ${KEY_DIR_ENV}"
            raise AuditError(f"the private key of {key.party} (key {key.key_id}) is not available: expected {where}")
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise AuditError(f"{path} is not an Ed25519 private key")
        private = loaded
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if public != bytes(key.public_key):
        raise AuditError(f"the private key of {key.party} (key {key.key_id}) does not match its public key")
    return private


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

    The checkpoint covers every entry committed before it; its own audit entry comes right after (at
    ``seq == tree_size``) and is covered by the next checkpoint. Before signing, the log must still
    reproduce every earlier checkpoint, so a party never signs over a log that was rewritten.

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
    _check_party(party)
    key = signing_key(session, party, actor=actor, actor_name=actor_name)
    # Lock first, so no entry lands between the tree head read here and this checkpoint's own entry.
    lock_log(session)
    tree = MerkleTree(stored_leaf_hashes(session))
    _check_log_against(tree, list(session.scalars(select(Checkpoint).order_by(Checkpoint.id))))
    issued_at = utcnow()
    root = tree.root()
    signature = private_key(key).sign(checkpoint_text(party, tree.size, root, issued_at))
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
    record(
        session,
        actor,
        "audit.checkpoint",
        "checkpoint",
        checkpoint.id,
        actor_name=actor_name,
        details={"party": party, "tree_size": tree.size, "root_hash": root.hex(), "key_id": key.key_id},
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
    session: Session, checkpoint_id: int, party: str, *, actor: Principal | None = None, actor_name: str = ""
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

    Returns
    -------
    Countersignature
        The stored countersignature.
    """
    _check_party(party)
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise AuditError(f"no checkpoint {checkpoint_id}")
    if checkpoint.party == party:
        raise AuditError(f"checkpoint {checkpoint_id} is {party}'s own; a party countersigns another's")
    if any(c.party == party for c in checkpoint.countersignatures):
        raise AuditError(f"{party} already countersigned checkpoint {checkpoint_id}")
    message = checkpoint_text(checkpoint.party, checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at)
    issuer_key = session.scalars(select(SigningKey).where(SigningKey.key_id == checkpoint.key_id)).first()
    if issuer_key is None or issuer_key.party != checkpoint.party:
        raise AuditError(f"checkpoint {checkpoint_id} names key {checkpoint.key_id}, not a key of {checkpoint.party}")
    if not verify_signature(issuer_key.public_key, message, checkpoint.signature):
        raise AuditError(f"the signature of checkpoint {checkpoint_id} does not verify; refusing to countersign")
    leaves = stored_leaf_hashes(session, 0, checkpoint.tree_size)
    if len(leaves) != checkpoint.tree_size or MerkleTree(leaves).root() != bytes(checkpoint.root_hash):
        raise AuditError(
            f"the log does not reproduce checkpoint {checkpoint_id}'s root at size {checkpoint.tree_size}; "
            "refusing to countersign"
        )
    key = signing_key(session, party, actor=actor, actor_name=actor_name)
    signature = Countersignature(
        checkpoint_id=checkpoint.id,
        party=party,
        key_id=key.key_id,
        signature=private_key(key).sign(message),
        signed_at=utcnow(),
    )
    session.add(signature)
    session.flush()
    session.refresh(checkpoint, ["countersignatures"])
    record(
        session,
        actor,
        "audit.countersign",
        "checkpoint",
        checkpoint.id,
        actor_name=actor_name,
        details={"party": party, "issuer": checkpoint.party, "tree_size": checkpoint.tree_size, "key_id": key.key_id},
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
