"""A hostile partner: the U.S. operator appends objects of its own making to its feed to India.

Each is signed with the U.S. instance's key and logged as a release (``log_releases``), so it passes every
signature, sequence and witness check; what India refuses it for is its content. India must not let the
partner add records to its own (a node to India's network, a capability at India's site), speak for
India (an organization or calendar entry of India's), or choose a marking India should not hold under
(India's origin, above the link, a group the link does not share, not released to India). Each refusal
names the object, the property and what was expected, and stores nothing of the batch.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Date, Float, Integer, func, select

from federation.conftest import SQLITE_ONLY, Link, held
from principals import US_GE
from setu.db import transaction
from setu.federation.feed import append, lock_partner, next_seq
from setu.federation.identity import FederationError
from setu.federation.kinds import BY_NAME
from setu.federation.stix import marking_content
from setu.federation.witness import log_releases
from setu.models.base import utcnow
from setu.models.federation import SentObject
from setu.models.framework import Pillar
from setu.models.parties import Organization
from setu.models.sosa import CalendarEntry
from setu.sharing.markings import MarkingSpec, store
from setu.sosa.party_calendars import calendar_for

PUBLIC_US = MarkingSpec(0, "US", frozenset({"IN", "US"}))
"""A marking the U.S. may send India: its own, unclassified, released to both."""

Forged = tuple[str, str, str, dict[str, Any]]
"""An object the U.S. operator appends: (kind, STIX type, STIX id, content without its marking)."""


def _new_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def _forge(link: Link, objects: list[Forged], marking: dict[str, Any] | None = None) -> None:
    """Append ``objects`` to the U.S. feed to India under one marking definition (``PUBLIC_US``'s by default)."""
    with transaction(link.us.sessions) as session:
        us = link.us.instance(session)
        lock_partner(session, "IN")
        local = store(session, PUBLIC_US).id  # the feed row's own bookkeeping; the content is what crosses
        definition = _new_id("marking-definition")
        entries = [("marking", "marking-definition", definition, marking or marking_content(PUBLIC_US, {}))]
        entries += [
            (kind, stix_type, stix_id, {**content, "object_marking_refs": [definition]})
            for kind, stix_type, stix_id, content in objects
        ]
        for kind, stix_type, stix_id, content in entries:
            append(
                session,
                us,
                "IN",
                seq=next_seq(session, "IN"),
                kind=kind,
                stix_type=stix_type,
                stix_id=stix_id,
                marking_id=local,
                content=content,
                created=utcnow(),
            )
            session.flush()
        log_releases(session, us)  # logged and witnessed like any release: only the content is the operator's


def _refused(link: Link, match: str) -> None:
    """India refuses the U.S. feed with ``match`` in the error, and holds what it held before."""
    before = held(link.india), _partners(link)
    with pytest.raises(FederationError, match=match):
        link.india.import_(link.us.export("IN", since=0))
    assert (held(link.india), _partners(link)) == before


def _partners(link: Link) -> tuple[int, ...]:
    """Organizations, calendar entries and pillars on India's instance: what a refused object must not add."""
    with transaction(link.india.sessions) as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Organization, CalendarEntry, Pillar)
        )


def _sent(link: Link, kind: str) -> list[str]:
    """The STIX ids India sent the U.S. of ``kind``: what the U.S. may name of India's."""
    with transaction(link.india.sessions) as session:
        return list(session.scalars(select(SentObject.stix_id).where(SentObject.kind == kind).order_by(SentObject.seq)))


# -- references: a partner's record never joins or hangs off one of ours ---------------------------------------
def _content(kind: str, **given: Any) -> dict[str, Any]:
    """Every property a record of ``kind`` must have, with plain values, then ``given``."""
    declared = BY_NAME[kind]
    columns = declared.model.__table__.columns
    plain: dict[type, Any] = {Float: 1.0, Integer: 1, Boolean: False, JSON: [], Date: "2031-03-04"}
    content = {
        prop: next((value for sort, value in plain.items() if isinstance(columns[column].type, sort)), "X")
        for column, prop in declared.fields.items()
        if not columns[column].nullable
    }
    return content | given


def _into_our_records(case: str, link: Link) -> list[Forged]:
    network, nodes, site = _sent(link, "network")[0], _sent(link, "node"), _sent(link, "registry_site")[0]
    theirs = _new_id("x-setu-network")
    return {
        "node-in-our-network": [("node", "x-setu-node", _new_id("x-setu-node"), _content("node", network_ref=network))],
        "edge-between-our-nodes": [
            ("network", "x-setu-network", theirs, _content("network")),
            (
                "supply",
                "x-setu-supply",
                _new_id("x-setu-supply"),
                _content("supply", network_ref=theirs, supplier_ref=nodes[0], customer_ref=nodes[1]),
            ),
        ],
        "scenario-on-our-network": [
            ("scenario", "x-setu-scenario", _new_id("x-setu-scenario"), _content("scenario", network_ref=network))
        ],
        "capability-at-our-site": [
            ("capability", "x-setu-capability", _new_id("x-setu-capability"), _content("capability", site_ref=site))
        ],
        "site-of-our-firm": [
            (
                "registry_site",
                "x-setu-registry-site",
                _new_id("x-setu-registry-site"),
                _content("registry_site", organization_ref=_sent(link, "organization")[0]),
            )
        ],
    }[case]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("case", "error"),
    [
        (
            "node-in-our-network",
            r"x-setu-node--\S+ \(seq \d+\) refers in network_ref to x-setu-network--\S+, "
            r"which is IN's own \(network\)",
        ),
        ("edge-between-our-nodes", r"refers in supplier_ref to x-setu-node--\S+, which is IN's own \(node\)"),
        ("scenario-on-our-network", r"refers in network_ref to x-setu-network--\S+, which is IN's own \(network\)"),
        (
            "capability-at-our-site",
            r"refers in site_ref to x-setu-registry-site--\S+, which is IN's own \(registry_site\)",
        ),
        ("site-of-our-firm", r"refers in organization_ref to identity--\S+, which is IN's own \(organization\)"),
    ],
)
def test_a_partner_cannot_add_records_to_ours(small_link: Link, case: str, error: str) -> None:
    small_link.sync()  # the U.S. holds India's network, nodes, sites and organizations, and may name them
    _forge(small_link, _into_our_records(case, small_link))
    _refused(small_link, error + r": a record of US's cannot join or hang off a record of IN's")


# -- parties: only the sender speaks for itself ---------------------------------------------------------------
@SQLITE_ONLY
@pytest.mark.parametrize(
    ("kind", "stix_type", "content", "error"),
    [
        pytest.param(
            "calendar_entry",
            "x-setu-calendar-entry",
            {"party": "IN", "working": False},
            r"x-setu-calendar-entry--\S+ \(seq \d+\): property party is IN, expected the sender US",
            id="indias-calendar",
        ),
        pytest.param(
            "organization",
            "identity",
            {"name": "Ministry of Railways", "x_setu_party": "IN", "identity_class": "organization"},
            r"identity--\S+ \(seq \d+\): property x_setu_party is IN, expected the sender US",
            id="an-indian-organization",
        ),
    ],
)
def test_a_partner_cannot_speak_for_india(
    parties: Link, kind: str, stix_type: str, content: dict[str, Any], error: str
) -> None:
    _forge(parties, [(kind, stix_type, _new_id(stix_type), _content(kind, **content))])
    _refused(parties, error)


def _pillar() -> list[Forged]:
    return [("pillar", "x-setu-pillar", _new_id("x-setu-pillar"), _content("pillar", code="X"))]


@SQLITE_ONLY
def test_a_partner_cannot_make_an_indian_organization_by_naming_it_an_owner(parties: Link) -> None:
    spec = MarkingSpec(0, "US", frozenset({"IN", "US"}), owners=frozenset({(10**6, "IN")}))
    _forge(parties, _pillar(), marking_content(spec, {10**6: ("IN", "An invented Indian firm", "firm")}))
    _refused(parties, r"the Setu marking is refused: owner 'An invented Indian firm' of IN is not an organization")


@SQLITE_ONLY
def test_a_calendar_entry_of_india_received_from_the_us_is_not_indias_calendar(parties: Link) -> None:
    """One an instance applied before such entries were refused still holds does not count either."""
    day = date(2031, 3, 4)  # a Tuesday, no Indian holiday
    with transaction(parties.india.sessions) as session:
        marking = store(session, PUBLIC_US)
        session.add(
            CalendarEntry(
                party_code="IN",
                day=day,
                name="closed",
                working=False,
                created_by=0,
                marking_id=marking.id,
                received_from="US",
            )
        )
    with transaction(parties.india.sessions) as session:
        assert calendar_for(session, "IN").is_working_day(day)


# -- markings: what India holds is what the link carries --------------------------------------------------------
@SQLITE_ONLY
@pytest.mark.parametrize(
    ("spec", "error"),
    [
        pytest.param(
            MarkingSpec(1, "IN", frozenset({"IN", "US"})),
            r"origin_party is IN, expected the sender US",
            id="india-origin",
        ),
        pytest.param(
            MarkingSpec(3, "US", frozenset({"IN", "US"})),
            r"classification SECRET is above the link's accreditation CONFIDENTIAL",
            id="above-the-link",
        ),
        pytest.param(
            MarkingSpec(0, "US", frozenset({"IN", "US"}), national_only=True),
            r"national_only is set, expected false: US's national-only records never leave it",
            id="national-only",
        ),
        pytest.param(
            MarkingSpec(0, "US", frozenset({"US"})), r"releases US, expected IN among them", id="not-released"
        ),
        pytest.param(
            MarkingSpec(0, "US", frozenset({"IN", "US"}), groups=frozenset({"ZZZ"})),
            r"groups ZZZ are not shared on the link \(shared: none\)",
            id="unshared-group",
        ),
        pytest.param(
            MarkingSpec(0, "US", frozenset({"IN", "US"}), owners=frozenset({(US_GE, "US")})),
            r"owners of US, expected only organizations of IN",
            id="proprietary-to-a-us-firm",
        ),
        pytest.param(
            MarkingSpec(3, "IN", frozenset({"IN"}), national_only=True, groups=frozenset({"ZZZ"})),
            r"origin_party is IN, expected the sender US; national_only is set, expected false: .*; "
            r"classification SECRET is above .*; groups ZZZ are not shared",
            id="every-part-at-once",
        ),
    ],
)
def test_a_partner_cannot_choose_a_marking_the_link_does_not_carry(
    parties: Link, spec: MarkingSpec, error: str
) -> None:
    _forge(parties, _pillar(), marking_content(spec, {US_GE: ("US", "GE Aerospace", "firm")}))
    _refused(parties, r"marking-definition--\S+ \(seq \d+\): the Setu marking is refused: " + error)


@SQLITE_ONLY
def test_a_marking_india_sent_may_mark_only_a_transition_of_indias_request(parties: Link) -> None:
    """India's marking comes back on the holder's transition of India's request (tests/federation/test_requests.py);
    on anything else it is the U.S. claiming India's marking authority."""
    ours = MarkingSpec(0, "IN", frozenset({"IN", "US"}))  # the marking of India's ministry, sent to the U.S.
    assert _sent(parties, "marking")
    _forge(parties, _pillar(), marking_content(ours, {}))
    _refused(
        parties, r"x-setu-pillar--\S+ \(seq \d+\): marked with a marking of IN's origin, expected one of the sender"
    )


@SQLITE_ONLY
def test_the_partners_own_record_under_its_own_marking_is_received(parties: Link) -> None:
    """The control: the same forged path, with a record the U.S. may send, is applied."""
    _forge(parties, _pillar())
    report = parties.india.import_(parties.us.export("IN", since=0))
    assert report.created == 1
    with transaction(parties.india.sessions) as session:
        assert session.scalars(select(Pillar.received_from).where(Pillar.code == "X")).one() == "US"
