"""Bundles tampered with on the way (a flipped byte, reordered, replayed, truncated, re-signed, for another partner,
with a gap, or rewriting history) are refused with a precise error, and the receiving database is left unchanged."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from federation.conftest import SQLITE_ONLY, Link, Side, held, pin
from setu.audit.keys import key_store
from setu.db import transaction
from setu.federation.bundles import BATCH_CONTEXT
from setu.federation.identity import FederationError, Instance
from setu.federation.stix import OBJECT_CONTEXT, canonical
from setu.models.federation import Partner
from setu.models.networks import NodeRecord
from setu.models.registry import RegistrySite

Bundle = dict[str, Any]


def _refused(side: Side, data: Bundle | bytes, match: str) -> None:
    before = held(side)
    with pytest.raises(FederationError, match=match):
        side.import_(data)
    assert held(side) == before


def _resign(bundle: Bundle, instance: Instance) -> Bundle:
    """Every object and the header signed again by ``instance``: what an attacker holding that key could send."""
    for obj in bundle["objects"][1:]:
        obj["x_setu_signature"] = instance.sign(OBJECT_CONTEXT, canonical(obj))
    from setu.federation.bundles import objects_digest

    header = bundle["objects"][0]
    header["objects_digest"] = objects_digest(bundle["objects"][1:])
    header["x_setu_signature"] = instance.sign(BATCH_CONTEXT, canonical(header))
    return bundle


def _first_object(bundle: Bundle, stix_type: str) -> int:
    return next(i for i, obj in enumerate(bundle["objects"]) if obj["type"] == stix_type)


TAMPERING: dict[str, tuple[Callable[[Bundle], Bundle | bytes], str]] = {
    "a changed value": (
        lambda b: (b["objects"][_first_object(b, "x-setu-node")].update(capacity=1e6), b)[1],
        r"object \d+ \(x-setu-node--.*\): the signature does not verify",
    ),
    "a flipped byte": (
        lambda b: json.dumps(b).replace('"HAL Nashik"', '"HAL Nashiq"', 1).encode(),
        r"the signature does not verify",
    ),
    "a byte that breaks the JSON": (
        lambda b: json.dumps(b).encode()[:-2] + b"]",
        r"not JSON at line 1, column \d+",
    ),
    "two objects swapped": (
        lambda b: (b["objects"].insert(2, b["objects"].pop(3)), b)[1],
        r"object 2 .* has seq 3, expected 2: objects reordered",
    ),
    "the last object dropped": (
        lambda b: (b["objects"].pop(), b)[1],
        r"the batch header lists \d+ objects .* the file holds \d+: the bundle was truncated",
    ),
    "an object dropped and the count fixed, unsigned": (
        lambda b: (b["objects"].pop(), b["objects"][0].update(count=b["objects"][0]["count"] - 1), b)[2],
        r"the batch header is not signed by IN's pinned key",
    ),
    "not a bundle": (lambda b: b"[1, 2]", r"not a STIX bundle"),
}


@SQLITE_ONLY
@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_tampered_bundle_is_refused_and_nothing_is_stored(small_link: Link, case: str) -> None:
    tamper, message = TAMPERING[case]
    bundle = small_link.india.export("US")
    _refused(small_link.us, tamper(copy.deepcopy(bundle)), message)
    report = small_link.us.import_(bundle)  # the untouched bundle still applies in full
    assert report.applied == len(bundle["objects"]) - 1


def test_a_replayed_bundle_changes_nothing(small_link: Link) -> None:
    bundle = small_link.india.export("US")
    small_link.us.import_(bundle)
    _refused(small_link.us, bundle, r"every entry \(seq 1-\d+\) was applied already .* nothing was stored")


@SQLITE_ONLY
def test_an_overlapping_bundle_applies_only_what_is_new(small_link: Link) -> None:
    first = small_link.india.export("US")
    small_link.us.import_(first)
    with transaction(small_link.india.sessions) as session:
        session.scalars(select(RegistrySite).where(RegistrySite.name == "HAL Nashik")).one().region = "Nashik"
    again = small_link.india.export("US", since=0)
    report = small_link.us.import_(again)
    assert report.applied == 1 and report.updated == 1


@SQLITE_ONLY
def test_a_bundle_signed_by_another_key_is_refused(small_link: Link) -> None:
    bundle = small_link.india.export("US")
    forger = Instance("IN", key_store().generate("XX"))
    forged = _resign(copy.deepcopy(bundle), forger)
    _refused(small_link.us, forged, r"the batch header is not signed by IN's pinned key \([0-9a-f ]+\)")


@SQLITE_ONLY
def test_a_bundle_for_another_partner_is_refused(small_link: Link) -> None:
    japan = Side("JP", small_link.us.sessions)  # JP's key, pinned on India's side; the bundle then reaches the US
    pin(small_link.india, japan)
    bundle = small_link.india.export("JP")
    _refused(small_link.us, bundle, r"the bundle is for 'JP', not for this instance \(US\)")


def test_a_gap_stops_the_import(small_link: Link) -> None:
    small_link.us.import_(small_link.india.export("US"))
    with transaction(small_link.india.sessions) as session:
        for site in session.scalars(select(RegistrySite)):
            site.region = site.region + " (updated)"
        for node in session.scalars(select(NodeRecord)):  # more than one entry: the bundle after a gap holds some
            node.name = node.name + " (updated)"
    last = held(small_link.us)[1]
    _refused(
        small_link.us,
        small_link.india.export("US", since=last + 1),
        rf"entries start at seq {last + 2}, but the last applied from IN is {last}: seq {last + 1} is missing",
    )


def test_history_rewritten_by_the_sender_is_refused_as_a_fork(small_link: Link) -> None:
    bundle = small_link.india.export("US")
    small_link.us.import_(bundle)
    rewritten = copy.deepcopy(bundle)
    rewritten["objects"][_first_object(rewritten, "x-setu-node")]["capacity"] = 1e6
    with transaction(small_link.india.sessions) as session:
        india = small_link.india.instance(session)
    _refused(small_link.us, _resign(rewritten, india), r"seq \d+ \(x-setu-node--.*\) differs from the entry applied")


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("stix_type", "change", "message"),
    [
        ("x-setu-node", {"name": "x" * 301}, r"property name: 301 characters, more than the 300 allowed"),
        ("x-setu-node", {"capacity": "a lot"}, r"property capacity: expected a number, got str"),
        ("x-setu-node", {"node_id": None}, r"property node_id: a value is required"),
        ("identity", {"x_setu_party": "not a party"}, r"property x_setu_party: 11 characters, more than the 8"),
        ("identity", {"x_setu_party": "in"}, r"party code 'in' is not 1-8 capital letters"),
        ("marking-definition", {"extensions": None}, r"without the Setu marking extension"),
    ],
)
def test_a_partner_publishing_malformed_records_gets_a_precise_refusal(
    small_link: Link, stix_type: str, change: dict[str, Any], message: str
) -> None:
    """The partner itself is the attacker: its own log says it released these objects (a modified Setu, say).

    Checked where the entries are applied, after the signature and witness checks a bundle passes: the batch
    is refused with the object and the property, and nothing is stored.
    """
    from setu.federation.receive import apply_entries

    bundle = small_link.india.export("US")
    entries = bundle["objects"][1:]
    obj = entries[_first_object(bundle, stix_type) - 1]
    for key, value in change.items():
        if value is None:
            obj.pop(key)
        else:
            obj[key] = value
    before = held(small_link.us)
    with pytest.raises(FederationError, match=message), transaction(small_link.us.sessions) as session:
        partner = session.get_one(Partner, "IN")
        apply_entries(session, small_link.us.instance(session), partner, entries)
    assert held(small_link.us) == before
