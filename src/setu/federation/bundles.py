"""Signed bundle files: the air-gapped transport of a partner feed, checked in full before anything is stored.

A bundle is a STIX 2.1 bundle whose first object is a signed batch header (``x-setu-batch``): sender,
receiver, the sequence numbers it holds, how many objects, and the SHA-256 of their digests in order.
Every object after it is a signed feed entry. :func:`check_bundle` refuses, with the place and the
reason, a bundle that is not JSON, is for another instance, is signed by a key other than the pinned
one, has been truncated, reordered or altered in any byte, or leaves a gap after what was applied.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from setu.federation.identity import FederationError, Instance, fingerprint, verify
from setu.federation.partners import get_partner
from setu.federation.stix import (
    PROVENANCE_EXTENSION,
    RECORDS_EXTENSION,
    canonical,
    digest,
    object_signature_ok,
    timestamp,
)
from setu.federation.stix_types import BATCH_TYPE, validate
from setu.federation.witness import check_checkpoint, check_releases, proofs, releases_digest
from setu.models.base import utcnow
from setu.models.federation import AppliedEntry, OutboundEntry, Partner
from setu.sharing.read import unfiltered

BATCH_CONTEXT = b"setu/federation/batch/v1\n"
MAX_BUNDLE_BYTES = 2 * 1024**3
"""The largest bundle file read (2 GiB): a 10^5-node network is about 60 MB."""
MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects read from a partner (its feed entries and headers nest under 10 deep):
deeper JSON could exhaust the stack where it is parsed, signed or validated."""


@dataclass(frozen=True, slots=True)
class CheckedBundle:
    """A bundle that passed every check: its sender and the entries not applied yet, in order."""

    partner: Partner
    first_seq: int
    last_seq: int
    new: list[dict[str, Any]]
    already_applied: int
    witnessed: dict[str, Any]
    """The sender's checkpoint, verified as a witness (see :mod:`setu.federation.witness`)."""


def objects_digest(objects: list[dict[str, Any]]) -> str:
    """SHA-256 over the objects' digests in order: a reordered, dropped or altered object changes it."""
    return releases_digest([digest(obj) for obj in objects])


def export_bundle(
    session: Session, instance: Instance, party: str, since: int = 0, until: int | None = None
) -> dict[str, Any]:
    """The feed to ``party`` after sequence number ``since`` (up to ``until``), as a signed STIX bundle.

    Publish first (:func:`setu.federation.feed.publish`) to include the latest changes. The TAXII
    listener answers a page's header with the same function (its objects are the page's).
    """
    get_partner(session, party)
    if since < 0:
        raise FederationError(f"--since must be 0 or more, got {since}")
    # The feed is the partner's already: the read filter was applied when each entry was appended.
    statement = (
        unfiltered(OutboundEntry.object)
        .where(OutboundEntry.partner == party, OutboundEntry.seq > since)
        .order_by(OutboundEntry.seq)
    )
    if until is not None:
        statement = statement.where(OutboundEntry.seq <= until)
    objects = [json.loads(text) for text in session.scalars(statement).all()]
    now = timestamp(utcnow())
    batch: dict[str, Any] = {
        "type": BATCH_TYPE,
        "spec_version": "2.1",
        "id": f"{BATCH_TYPE}--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "from_party": instance.party,
        "to_party": party,
        "first_seq": since + 1,
        "last_seq": since + len(objects),
        "count": len(objects),
        "objects_digest": objects_digest(objects),
        **proofs(session, instance, party, since + 1, since + len(objects)),
        "extensions": {
            RECORDS_EXTENSION: {"extension_type": "new-sdo"},
            PROVENANCE_EXTENSION: {"extension_type": "toplevel-property-extension"},
        },
        "x_setu_from": instance.party,
        "x_setu_to": party,
        "x_setu_seq": 0,
    }
    batch["x_setu_signature"] = instance.sign(BATCH_CONTEXT, canonical(batch))
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [batch, *objects]}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(data: bytes) -> Any:
    """Parse JSON that came from a partner (a bundle file, a TAXII answer), refusing what later steps cannot handle.

    Raises
    ------
    ValueError
        :class:`json.JSONDecodeError` for a syntax error, :class:`UnicodeDecodeError` for bytes that are not
        UTF-8, else a plain :class:`ValueError` saying what is wrong: nesting deeper than :data:`MAX_JSON_DEPTH`
        (never a ``RecursionError``), ``NaN`` or ``Infinity`` (not JSON), a number out of a float's range, an
        integer of more digits than Python converts.
    """
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_JSON_DEPTH} deep") from None
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested more than {MAX_JSON_DEPTH} deep")
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
            elif isinstance(child, float) and not math.isfinite(child):
                raise ValueError("a number out of range (non-finite numbers cross as strings)")
    return value


def parse_bundle(data: bytes, source: str) -> dict[str, Any]:
    """The JSON of a bundle file, or an error naming the file, line and column (or what else makes it unreadable)."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise FederationError(f"{source}: {len(data)} bytes, more than the {MAX_BUNDLE_BYTES} a bundle may have")
    try:
        parsed = load_json(data)
    except UnicodeDecodeError as error:
        raise FederationError(f"{source}: not UTF-8 at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise FederationError(f"{source}: not JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    except ValueError as error:
        raise FederationError(f"{source}: not JSON: {error}") from None
    if not isinstance(parsed, dict) or parsed.get("type") != "bundle" or not isinstance(parsed.get("objects"), list):
        raise FederationError(
            f"{source}: not a STIX bundle (expected an object with type 'bundle' and a list 'objects')"
        )
    return parsed


def _header(
    session: Session, instance: Instance, bundle: dict[str, Any], source: str
) -> tuple[Partner, dict[str, Any]]:
    objects = bundle["objects"]
    if not objects or not isinstance(objects[0], dict) or objects[0].get("type") != BATCH_TYPE:
        raise FederationError(f"{source}: the first object is not a signed batch header ({BATCH_TYPE})")
    batch = objects[0]
    sender = batch.get("from_party")
    if not isinstance(sender, str) or session.get(Partner, sender) is None:
        raise FederationError(f"{source}: the bundle comes from {sender!r}, which is not a partner of this instance")
    partner = get_partner(session, sender)
    if not verify(partner.public_key, BATCH_CONTEXT, canonical(batch), str(batch.get("x_setu_signature", ""))):
        raise FederationError(
            f"{source}: the batch header is not signed by {sender}'s pinned key "
            f"({fingerprint(bytes.fromhex(partner.public_key))}): signed by another key, or altered"
        )
    if batch.get("to_party") != instance.party:
        raise FederationError(
            f"{source}: the bundle is for {batch.get('to_party')!r}, not for this instance ({instance.party})"
        )
    return partner, batch


def check_bundle(session: Session, instance: Instance, bundle: dict[str, Any], source: str) -> CheckedBundle:
    """Every check of a bundle before anything of it is stored (see the module's description).

    Raises
    ------
    FederationError
        Naming the file, the object (position and id) and what is wrong.
    """
    partner, batch = _header(session, instance, bundle, source)
    entries = bundle["objects"][1:]
    first, last, count = batch.get("first_seq"), batch.get("last_seq"), batch.get("count")
    if not all(isinstance(value, int) for value in (first, last, count)) or first < 1:  # type: ignore[operator]
        raise FederationError(
            f"{source}: the batch header's first_seq, last_seq and count must be integers, first_seq >= 1"
        )
    assert isinstance(first, int) and isinstance(last, int) and isinstance(count, int)
    if count != len(entries) or last - first + 1 != count:
        raise FederationError(
            f"{source}: the batch header lists {count} objects (seq {first}-{last}), the file holds {len(entries)}: "
            "the bundle was truncated or objects were added"
        )
    if objects_digest(entries) != batch.get("objects_digest"):
        # Checked after each object's own checks would name the object; a digest mismatch with every object
        # valid means objects were swapped for other valid ones, which the per-object checks report first.
        check_entries(session, instance, partner, entries, source, first)
        raise FederationError(f"{source}: the objects do not match the batch header's digest (altered or reordered)")
    new = check_entries(session, instance, partner, entries, source, first)
    if entries and not new:
        raise FederationError(
            f"{source}: every entry (seq {first}-{last}) was applied already (last applied from {partner.party}: "
            f"{last_applied_seq(session, partner.party)}); a replay changes nothing, and nothing was stored"
        )
    witnessed = check_checkpoint(session, partner, batch, source)
    check_releases(session, partner, instance.party, batch, witnessed, new, source)
    return CheckedBundle(partner, first, last, new, len(entries) - len(new), witnessed)


def check_entries(
    session: Session, instance: Instance, partner: Partner, entries: list[Any], source: str, first: int
) -> list[dict[str, Any]]:
    """Check feed entries from ``partner`` that should hold seq ``first`` onwards; the ones not applied yet.

    The same checks whichever way the entries came (a bundle file or a TAXII page): each is a signed
    object of the pinned key, from the partner to this instance, in sequence; none leaves a gap after
    what was applied; one applied before must be the very same object (else the feed forked).
    """
    for position, obj in enumerate(entries, start=1):
        expected = first + position - 1
        where = f"{source}: object {position}"
        if not isinstance(obj, dict):
            raise FederationError(f"{where} is not a JSON object")
        where += f" ({obj.get('id', 'no id')})"
        seq = obj.get("x_setu_seq")
        if type(seq) is not int or seq != expected:  # not a bool: True == 1 in Python
            raise FederationError(
                f"{where} has seq {obj.get('x_setu_seq')!r}, expected {expected}: objects reordered or replaced"
            )
        if obj.get("x_setu_from") != partner.party or obj.get("x_setu_to") != instance.party:
            raise FederationError(
                f"{where} is from {obj.get('x_setu_from')!r} to {obj.get('x_setu_to')!r}, "
                f"not from {partner.party} to {instance.party}"
            )
        if not object_signature_ok(obj, partner.public_key):
            raise FederationError(f"{where}: the signature does not verify with {partner.party}'s pinned key (altered)")
        validate(obj, where)
    last = first + len(entries) - 1
    applied = dict(
        session.execute(
            select(AppliedEntry.seq, AppliedEntry.digest).where(
                AppliedEntry.partner == partner.party, AppliedEntry.seq >= first, AppliedEntry.seq <= last
            )
        ).all()
    )
    last_applied = last_applied_seq(session, partner.party)
    if entries and first > last_applied + 1:
        raise FederationError(
            f"{source}: the entries start at seq {first}, but the last applied from {partner.party} is {last_applied}: "
            f"{_missing(last_applied + 1, first - 1)}; ask {partner.party} for a bundle --since {last_applied}"
        )
    new: list[dict[str, Any]] = []
    for obj in entries:
        seq = obj["x_setu_seq"]
        if seq > last_applied:
            new.append(obj)
        elif applied.get(seq) != digest(obj):
            raise FederationError(
                f"{source}: seq {seq} ({obj.get('id')}) differs from the entry applied before: "
                f"{partner.party}'s feed forked or the entry was re-signed; nothing was stored"
            )
    return new


def _missing(first: int, last: int) -> str:
    return f"seq {first} is missing" if first == last else f"seq {first}-{last} are missing"


def last_applied_seq(session: Session, party: str) -> int:
    """The last sequence number applied from ``party``'s feed (0: none)."""
    found = session.scalar(select(func.max(AppliedEntry.seq)).where(AppliedEntry.partner == party))
    return int(found or 0)
