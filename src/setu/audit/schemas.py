"""Response models of the audit endpoints: checkpoints, inclusion and consistency proofs, entry pages."""

from __future__ import annotations

from pydantic import Field

from setu.schemas import Strict


class SignatureOut(Strict):
    """A countersignature of a checkpoint by another party."""

    party: str
    key_id: str
    public_key: str = Field(description="Raw Ed25519 public key, hex.")
    signature: str = Field(description="Ed25519 signature over `signed_text`, hex.")
    signed_at: str


class CheckpointOut(Strict):
    """A signed tree head of the audit log, with the exact signed text and the keys to check it."""

    id: int
    party: str
    tree_size: int = Field(ge=0)
    root_hash: str = Field(description="RFC 9162 tree head, hex.")
    issued_at: str
    key_id: str
    public_key: str = Field(description="The issuer's raw Ed25519 public key, hex.")
    signature: str = Field(description="Ed25519 signature over `signed_text`, hex.")
    signed_text: str
    countersignatures: list[SignatureOut]


class CheckpointList(Strict):
    """Checkpoints in issue order."""

    items: list[CheckpointOut]


class InclusionProofOut(Strict):
    """RFC 9162 proof that entry ``seq`` is in the tree of ``tree_size`` entries."""

    seq: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    leaf_hash: str
    path: list[str]
    root_hash: str


class ConsistencyProofOut(Strict):
    """RFC 9162 proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""

    first: int = Field(ge=0)
    second: int = Field(ge=0)
    first_root: str
    second_root: str
    path: list[str]


class AuditEntryOut(Strict):
    """One entry of the log: the fields its leaf hash covers, and that hash."""

    seq: int = Field(ge=0)
    at: str
    actor_id: int | None
    actor: str
    party: str
    action: str
    object_type: str
    object_id: str
    decision: str
    details: str = Field(description="JSON text.")
    leaf_hash: str


class EntryPageOut(Strict):
    """A page of entries in ``seq`` order."""

    entries: list[AuditEntryOut]
    next_start: int | None = Field(description="`start` of the next page; null on the last.")
    tree_size: int = Field(ge=0, description="Entries in the whole log.")
