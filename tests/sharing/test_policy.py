"""The SQL read filter agrees with the Python rule and with an independent Cedar policy, both ways."""

from __future__ import annotations

import json
from typing import Any

import cedarpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from setu.models import Marking, Organization, Party
from setu.sharing.markings import MarkingSpec, most_restrictive, store
from setu.sharing.policy import Principal, allows, readable_markings

PARTIES = ("IN", "US", "JP")
# (id, party, government?) — ministries and firms on each side.
ORGS = ((1, "IN", True), (2, "IN", False), (3, "US", True), (4, "US", False), (5, "US", False), (6, "JP", True))
GROUPS = ("ENGINE", "RADAR", "MISSILE")

# The oracle: the same rule written independently in Cedar. Cedar has no "for all" over a set, so the
# owner rule reads: every owner is the user's own organization, or (government users) of the user's party.
CEDAR_POLICY = """
permit(principal, action == Action::"read", resource)
when {
  principal.clearance >= resource.classification &&
  resource.releases.contains(principal.party) &&
  (!resource.nationalOnly || resource.origin == principal.party) &&
  principal.groups.containsAll(resource.groups) &&
  ([principal.org].containsAll(resource.ownerOrgs) ||
   (principal.isGov && [principal.party].containsAll(resource.ownerParties)))
};
"""

markings_st = st.builds(
    lambda level, origin, releases, national, owners, groups: MarkingSpec(
        classification=level,
        origin_party=origin,
        releases=frozenset(releases),
        national_only=national,
        owners=frozenset((org, party) for org, party, _ in owners),
        groups=frozenset(groups),
    ),
    st.integers(0, 3),
    st.sampled_from(PARTIES),
    st.sets(st.sampled_from(PARTIES)),
    st.booleans(),
    st.sets(st.sampled_from(ORGS), max_size=2),
    st.sets(st.sampled_from(GROUPS), max_size=2),
)
principals_st = st.builds(
    lambda k, org, clearance, groups: Principal(
        user_id=k, party=org[1], org_id=org[0], org_is_government=org[2], clearance=clearance, groups=frozenset(groups)
    ),
    st.integers(1, 10**6),
    st.sampled_from(ORGS),
    st.integers(0, 3),
    st.sets(st.sampled_from(GROUPS)),
)


def seed_orgs(session: Session) -> None:
    public = store(session, MarkingSpec(0, "IN", frozenset(PARTIES)))
    session.add_all(Party(code=p, name=p, holiday_country=p) for p in PARTIES)
    session.flush()
    session.add_all(
        Organization(id=i, party_code=p, name=f"org {i}", kind="ministry" if gov else "firm", marking=public)
        for i, p, gov in ORGS
    )
    session.flush()


def cedar_decisions(principals: list[Principal], markings: dict[int, MarkingSpec]) -> set[tuple[int, int]]:
    entities: list[dict[str, Any]] = [
        {
            "uid": {"type": "User", "id": str(k)},
            "attrs": {
                "party": p.party,
                "org": p.org_id,
                "isGov": p.org_is_government,
                "clearance": p.clearance,
                "groups": sorted(p.groups),
            },
            "parents": [],
        }
        for k, p in enumerate(principals)
    ]
    entities += [
        {
            "uid": {"type": "Record", "id": str(mid)},
            "attrs": {
                "classification": m.classification,
                "releases": sorted(m.releases),
                "nationalOnly": m.national_only,
                "origin": m.origin_party,
                "ownerOrgs": sorted(org for org, _ in m.owners),
                "ownerParties": sorted({party for _, party in m.owners}),
                "groups": sorted(m.groups),
            },
            "parents": [],
        }
        for mid, m in markings.items()
    ]
    pairs = [(k, mid) for k in range(len(principals)) for mid in markings]
    requests = [
        {"principal": f'User::"{k}"', "action": 'Action::"read"', "resource": f'Record::"{mid}"', "context": {}}
        for k, mid in pairs
    ]
    results = cedarpy.is_authorized_batch(requests, CEDAR_POLICY, json.dumps(entities))
    return {pair for pair, result in zip(pairs, results, strict=True) if result.allowed}


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(markings_st, min_size=50, max_size=50),
    principals=st.lists(principals_st, min_size=25, max_size=25),
)
def test_sql_filter_agrees_with_cedar_and_python(
    sessions: sessionmaker[Session], specs: list[MarkingSpec], principals: list[Principal]
) -> None:
    """50 markings x 25 users = 1,250 pairs per example, 2 examples, on each database (5,000 in all)."""
    with sessions() as session, session.begin():
        if session.get(Party, "IN") is None:
            seed_orgs(session)
        stored = {store(session, spec).id: spec for spec in specs}
    expected_cedar = cedar_decisions(principals, stored)
    with sessions() as session:
        for k, principal in enumerate(principals):
            rows = session.scalars(
                select(Marking.id).where(Marking.id.in_(list(stored)), readable_markings(principal))
            ).all()
            by_sql = set(rows)
            by_python = {mid for mid, spec in stored.items() if allows(principal, spec)}
            by_cedar = {mid for kk, mid in expected_cedar if kk == k}
            assert by_sql == by_python == by_cedar, (principal, by_sql ^ by_cedar)


@settings(max_examples=200, deadline=None)
@given(specs=st.lists(markings_st, min_size=1, max_size=4), principal=principals_st)
def test_most_restrictive_admits_exactly_those_admitted_by_all(specs: list[MarkingSpec], principal: Principal) -> None:
    combined = most_restrictive(specs, origin_party=principal.party)
    assert allows(principal, combined) == all(allows(principal, spec) for spec in specs)


def test_banner_reads_like_a_marking() -> None:
    spec = MarkingSpec(2, "IN", frozenset({"IN", "US"}), owners=frozenset({(2, "IN")}), groups=frozenset({"ENGINE"}))
    assert spec.banner({2: "HAL"}) == "CONFIDENTIAL // REL TO IN, US // PROPRIETARY HAL // NTK ENGINE"
    assert MarkingSpec(1, "US", frozenset({"US", "IN"}), national_only=True).banner() == "RESTRICTED // US ONLY"
