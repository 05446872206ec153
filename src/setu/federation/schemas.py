"""The federation API's shapes: a link's state as the operator view holds it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class LinkStateOut(BaseModel):
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
    forks: int


class PublishOut(BaseModel):
    partner: str
    sent: int
    changed: int
    retracted: int
    last_seq: int


class RetractionOut(BaseModel):
    kind: str
    stix_id: str
    seq: int
    receipt_at: datetime | None


class ForkOut(BaseModel):
    tree_size: int
    root_hash: str
    reason: str
    at: datetime


class LinkOut(BaseModel):
    partner: str
    url: str
    level: str
    groups: list[str]
    key_fingerprint: str
    state: LinkStateOut
    next_publish: PublishOut
    retractions: list[RetractionOut]
    forks: list[ForkOut]
    witnessed_at: datetime | None


class LinksOut(BaseModel):
    """This instance's party (empty: a single-instance deployment, no links) and its links."""

    party: str
    links: list[LinkOut]
