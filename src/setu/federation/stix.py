"""The exchange format: Setu records as STIX 2.1 objects, Setu markings as marking definitions, each object signed.

Setu's record types are new STIX object types (``x-setu-node`` ...) under one published extension
definition (:data:`RECORDS_EXTENSION`); organizations are standard ``identity`` objects. Every object
carries four top-level properties of a second extension (:data:`PROVENANCE_EXTENSION`): the sending and
receiving parties, its sequence number in the sender's feed to that receiver, and the sender's Ed25519
signature over the object's canonical JSON (sorted keys, no spaces, UTF-8) without the signature. A
retraction is the object's next version with ``revoked: true`` and nothing of its content.

A Setu marking crosses as a ``marking-definition`` whose extension holds every part of it; owners go
by value (party, name, kind), as organization ids mean nothing on the other side. A marking that is
plainly "UNCLASSIFIED, released to all parties of the link" also carries TLP:GREEN, for STIX tools that
know only TLP.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from setu.federation.identity import Instance, verify
from setu.sharing.markings import LEVELS, MarkingSpec

RECORDS_EXTENSION = "extension-definition--5f6c2b1e-8a4d-4c3b-9d7e-2a1f0c9b8e71"
"""The extension definition of Setu's record types (``new-sdo``); docs/federation.md publishes it."""
PROVENANCE_EXTENSION = "extension-definition--a3e9d4c2-7b1f-4e6a-8c5d-0f2b9e1a6d34"
"""The extension definition of the provenance properties every crossing object carries."""
MARKING_EXTENSION = "extension-definition--c81d7e5a-2f4b-4a9c-b6e3-9d0a1f7c5b28"
"""The extension definition of a Setu marking inside a ``marking-definition``."""
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
"""TLP 2.0 GREEN (the OASIS TLP 2.0 extension's marking definition)."""

OBJECT_CONTEXT = b"setu/federation/object/v1\n"
PROVENANCE = ("x_setu_from", "x_setu_to", "x_setu_seq", "x_setu_signature")


def timestamp(moment: datetime) -> str:
    """A STIX timestamp (UTC, milliseconds, ``Z``); a naive ``moment`` holds UTC (as SQLite gives them back)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def canonical(obj: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the object without its signature, keys sorted, no spaces, UTF-8."""
    body = {key: value for key, value in obj.items() if key != "x_setu_signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def digest(obj: dict[str, Any]) -> str:
    """SHA-256 of an object's canonical JSON, signature included: what identifies one sent object."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def content_digest(content: dict[str, Any]) -> str:
    """SHA-256 of a record's content (its properties and marking): equal digests, nothing to send."""
    return digest(content)


def extensions_of(stix_type: str) -> dict[str, dict[str, str]]:
    """The ``extensions`` of an object of ``stix_type``: Setu's record types are new SDOs."""
    found = {PROVENANCE_EXTENSION: {"extension_type": "toplevel-property-extension"}}
    if stix_type.startswith("x-setu-"):
        found[RECORDS_EXTENSION] = {"extension_type": "new-sdo"}
    return found


def signed_object(
    instance: Instance,
    *,
    stix_type: str,
    stix_id: str,
    created: datetime,
    modified: datetime,
    content: dict[str, Any],
    to: str,
    seq: int,
    revoked: bool = False,
) -> dict[str, Any]:
    """A complete STIX object of one record, signed by ``instance`` for the partner ``to`` at ``seq``.

    A revoked object carries no content: what is no longer releasable is not sent again.
    """
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": stix_id,
        "created": timestamp(created),
    }
    if stix_type != "marking-definition":  # marking definitions are immutable in STIX: no versions
        obj["modified"] = timestamp(modified)
    if revoked:
        obj["revoked"] = True
    else:
        obj.update(content)
    obj["extensions"] = {**obj.get("extensions", {}), **extensions_of(stix_type)}
    obj.update({"x_setu_from": instance.party, "x_setu_to": to, "x_setu_seq": seq})
    obj["x_setu_signature"] = instance.sign(OBJECT_CONTEXT, canonical(obj))
    return obj


def object_signature_ok(obj: dict[str, Any], public_key_hex: str) -> bool:
    """Whether ``obj`` carries a valid signature of the key ``public_key_hex``."""
    signature = obj.get("x_setu_signature")
    return isinstance(signature, str) and verify(public_key_hex, OBJECT_CONTEXT, canonical(obj), signature)


def marking_content(spec: MarkingSpec, owners: dict[int, tuple[str, str, str]]) -> dict[str, Any]:
    """The content of the ``marking-definition`` of ``spec``; ``owners`` gives each owner's (party, name, kind)."""
    names = {org: name for org, (_party, name, _kind) in owners.items()}
    content: dict[str, Any] = {
        "name": spec.banner(names),
        "extensions": {
            MARKING_EXTENSION: {
                "extension_type": "property-extension",
                "classification": LEVELS[spec.classification],
                "origin_party": spec.origin_party,
                "releases": sorted(spec.releases),
                "national_only": spec.national_only,
                "owners": sorted(
                    (
                        {"party": owners[org][0], "name": owners[org][1], "kind": owners[org][2]}
                        for org, _ in spec.owners
                    ),
                    key=lambda o: (o["party"], o["name"]),
                ),
                "groups": sorted(spec.groups),
            }
        },
    }
    return content


def tlp_refs(spec: MarkingSpec, link_parties: frozenset[str]) -> list[str]:
    """TLP markings that say the same as ``spec`` to a STIX tool that knows only TLP (GREEN, or none)."""
    plain = not spec.national_only and not spec.owners and not spec.groups
    if spec.classification == 0 and plain and link_parties <= spec.releases:
        return [TLP_GREEN]
    return []
