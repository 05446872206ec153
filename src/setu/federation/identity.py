"""This instance's identity in a federation: the one party it belongs to and the key it signs with.

An instance of a federated deployment belongs to one party, named by ``SETU_INSTANCE_PARTY``. It signs
with that party's key from its key store (:mod:`setu.audit.keys`: key files or a PKCS#11 token, never
the database), the same key that signs its audit checkpoints; every message it signs starts with a
context line naming what it is (an object, a batch, a receipt, a cosignature), so a signature made for
one can never be taken for another. Unset, the instance is a single-instance deployment (the demo)
and the federation commands say so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from setu.audit.checkpoints import held_key
from setu.audit.keys import HeldKey, KeyStore, check_party, key_store
from setu.errors import SetuError

INSTANCE_PARTY_ENV = "SETU_INSTANCE_PARTY"


class FederationError(SetuError):
    """A federation operation refused: not configured, an unknown partner, a bundle that fails a check (422)."""

    status = 422


@dataclass(frozen=True, slots=True)
class Instance:
    """This instance: its party, and the key it signs with as that party."""

    party: str
    key: HeldKey
    store: KeyStore | None = None
    """The key store holding ``key`` (kept, so that it signs thousands of objects without reloading the key)."""

    def sign(self, context: bytes, payload: bytes) -> str:
        """The base64 Ed25519 signature of ``context`` + ``payload`` (``context`` is one line naming the kind)."""
        return base64.b64encode((self.store or key_store()).sign(self.key, context + payload)).decode()

    @property
    def public_key_hex(self) -> str:
        return self.key.public_key.hex()


def configured_party() -> str:
    """The party this instance belongs to (``SETU_INSTANCE_PARTY``).

    Raises
    ------
    FederationError
        If it is not set: the instance is a single-instance deployment.
    """
    party = os.environ.get(INSTANCE_PARTY_ENV, "").strip().upper()
    if not party:
        raise FederationError(
            f"this is a single-instance deployment: set {INSTANCE_PARTY_ENV} to the party this instance "
            "belongs to (e.g. IN) before federating with a partner"
        )
    check_party(party)
    return party


def this_instance(session: Session, party: str | None = None) -> Instance:
    """This instance as ``party`` (default: :func:`configured_party`), its signing key created on first use."""
    party = party or configured_party()
    return Instance(party, held_key(session, party, create=True, actor_name="federation"), key_store())


def fingerprint(public_key: bytes) -> str:
    """A key's fingerprint as people compare it out of band: SHA-256 in eight groups of eight hex digits."""
    digest = hashlib.sha256(public_key).hexdigest()
    return " ".join(digest[i : i + 8] for i in range(0, 64, 8))


def public_key_from_hex(text: str, *, what: str = "public key") -> bytes:
    """A raw Ed25519 public key from its 64 hex digits, or a precise error."""
    cleaned = text.strip().lower()
    try:
        raw = bytes.fromhex(cleaned)
    except ValueError:
        raise FederationError(f"the {what} must be 64 hex digits, got {text[:80]!r}") from None
    if len(raw) != 32:
        raise FederationError(f"the {what} must be 64 hex digits (32 bytes), got {len(raw)} bytes")
    return raw


def verify(public_key_hex: str, context: bytes, payload: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is the key's Ed25519 signature of ``context`` + ``payload``."""
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(raw, context + payload)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
