"""India's instance releases the demo to the US instance: exactly what the policy admits crosses, receipted."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from clients import TEST_SETTINGS, create_users, csrf_of, sign_in
from federation.conftest import SQLITE_ONLY, Link, seed_own
from federation.picture import received_picture, released_picture
from principals import US_ADMIN, US_ANALYST
from setu.accounts.tokens import issue_token
from setu.api import create_app
from setu.db import transaction
from setu.demo.seed import seed_demo, seed_demo_registry, seed_demo_runs
from setu.models import Organization
from setu.models.base import ReceivedReadOnly
from setu.models.federation import OutboundEntry, Partner, ReceivedObject, SentObject
from setu.models.framework import ActionItem
from setu.models.networks import NodeRecord
from setu.models.registry import RegistrySite
from setu.models.stress import ResultRecord, RunRecord, ScenarioRecord
from setu.registry.mitigation import rank_alternates, what_if
from setu.registry.sources import find_sources
from setu.sharing.markings import LEVEL_OF, MarkingSpec, specs_by_id, store
from setu.sharing.policy import allows, partner_reader

IN_ONLY = MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", frozenset({"IN", "US"}), national_only=True)


@pytest.fixture
def demo_link(link: Link) -> Link:
    seed_demo(link.india.sessions)
    seed_demo_registry(link.india.sessions)
    seed_demo_runs(link.india.sessions)
    return link


def _pictures(link: Link) -> tuple[dict, dict]:
    with transaction(link.india.sessions) as india, transaction(link.us.sessions) as us:
        return released_picture(india, "US"), received_picture(us, "IN")


def test_the_us_instance_holds_exactly_what_india_releases_to_it(demo_link: Link) -> None:
    _to_us, _back = demo_link.sync()
    released, received = _pictures(demo_link)
    assert received == released
    # The demo holds records of every sort the policy keeps back; none of them crossed, and much did.
    assert len(received["node"]) > 100
    with transaction(demo_link.india.sessions) as india:
        reader = partner_reader(india.get_one(Partner, "US"))
        withheld = [
            spec
            for marking_id in india.scalars(select(NodeRecord.marking_id).distinct())
            if not allows(reader, spec := specs_by_id(india, [marking_id])[marking_id])
        ]
    assert any(spec.national_only and spec.origin_party == "IN" for spec in withheld)
    assert any(spec.owners for spec in withheld)
    assert any(spec.groups for spec in withheld)  # ENGINE: not a group the link shares


@SQLITE_ONLY
def test_no_received_record_carries_a_marking_the_partner_party_may_not_read(demo_link: Link) -> None:
    demo_link.sync()
    with transaction(demo_link.us.sessions) as us:
        marking_ids = set(us.scalars(select(ReceivedObject.marking_id)))
        specs = specs_by_id(us, marking_ids).values()
    for spec in specs:
        assert "US" in spec.effective_releases
        assert not (spec.national_only and spec.origin_party != "US")
        assert all(party == "US" for _org, party in spec.owners)
        assert spec.classification <= LEVEL_OF["CONFIDENTIAL"]
        assert not spec.groups


def test_a_shared_group_opens_the_records_that_need_it(demo_link: Link) -> None:
    engine = MarkingSpec(LEVEL_OF["RESTRICTED"], "IN", frozenset({"IN", "US"}), groups=frozenset({"ENGINE"}))
    with transaction(demo_link.us.sessions) as us:
        us.get_one(Partner, "IN").groups = ["ENGINE"]  # both sides agree to share it, or the US refuses it
    with transaction(demo_link.india.sessions) as india:
        india.get_one(Partner, "US").groups = ["ENGINE"]
        node = india.scalars(select(NodeRecord).where(NodeRecord.party == "IN").order_by(NodeRecord.id)).first()
        assert node is not None
        node.marking_id = store(india, engine).id  # an Indian record of the program, India's to release
    demo_link.sync()
    released, received = _pictures(demo_link)
    assert received == released
    assert any(value[2][5] == ("ENGINE",) for value in received["node"])


def test_a_tightened_marking_retracts_the_record_and_the_receipt_comes_back(demo_link: Link) -> None:
    demo_link.sync()
    with transaction(demo_link.india.sessions) as india:
        sent_site = india.scalars(select(SentObject).where(SentObject.kind == "registry_site")).first()
        assert sent_site is not None
        site = india.get_one(RegistrySite, sent_site.local_id)
        site.marking_id = store(india, IN_ONLY).id
        site_id, released_before = site.id, sent_site.stix_id
    to_us, to_india = demo_link.sync()
    assert to_us.retracted >= 1
    assert to_india.receipts == to_us.retracted
    released, received = _pictures(demo_link)
    assert received == released
    with transaction(demo_link.india.sessions) as india:
        sent = india.scalars(
            select(SentObject).where(SentObject.kind == "registry_site", SentObject.local_id == site_id)
        ).one()
        assert sent.stix_id == released_before
        assert sent.revoked and sent.receipt_at is not None
        assert '"x_setu_from":"US"' in sent.receipt.replace(" ", "")
    with transaction(demo_link.us.sessions) as us:
        tomb = us.scalars(select(ReceivedObject).where(ReceivedObject.stix_id == sent.stix_id)).one()
        assert tomb.local_id is None and tomb.retracted_at is not None


@SQLITE_ONLY
def test_a_deleted_network_is_retracted_children_first(demo_link: Link) -> None:
    demo_link.sync()
    with transaction(demo_link.india.sessions) as india:
        sent = india.scalars(select(SentObject).where(SentObject.kind == "node").order_by(SentObject.seq)).first()
        assert sent is not None
        india.delete(india.get_one(NodeRecord, sent.local_id))
    to_us, to_india = demo_link.sync()
    assert to_us.retracted >= 1 and to_india.receipts == to_us.retracted
    released, received = _pictures(demo_link)
    assert received == released


@SQLITE_ONLY
def test_received_records_are_read_only_and_never_sent_on(demo_link: Link) -> None:
    demo_link.sync()
    with pytest.raises(ReceivedReadOnly, match="received from IN"), transaction(demo_link.us.sessions) as us:
        node = us.scalars(select(NodeRecord)).first()
        node.capacity = 0.0
    with pytest.raises(ReceivedReadOnly), transaction(demo_link.us.sessions) as us:
        us.delete(us.scalars(select(RegistrySite)).first())
    demo_link.us.export("IN")
    with transaction(demo_link.us.sessions) as us:
        kinds = set(us.scalars(select(OutboundEntry.kind).where(OutboundEntry.partner == "IN")))
    assert kinds <= {"receipt", "cosignature"}


@SQLITE_ONLY
def test_an_unchanged_feed_sends_nothing_again(demo_link: Link) -> None:
    demo_link.sync()
    to_us, _ = demo_link.sync()
    # Only the witness's traffic: India's cosignature of the US log's newest checkpoint.
    assert (to_us.created, to_us.updated, to_us.retracted) == (0, 0, 0)
    assert to_us.applied == to_us.cosignatures <= 1


def test_what_the_receiver_derived_from_a_retracted_record_goes_with_it(demo_link: Link) -> None:
    """A US analyst's run on India's network named a node India then withdrew: the run and its results go too."""
    from setu.runs.service import execute_run, start_run
    from setu.sharing.policy import Principal

    demo_link.sync()
    analyst = Principal(7, "US", 0, True, 2, roles=frozenset({"analyst"}))
    with transaction(demo_link.us.sessions) as us:
        network_id = us.scalars(select(NodeRecord.network_id)).first()
        run_id = start_run(us, analyst, network_id, "sweep").id
    execute_run(demo_link.us.sessions, run_id, analyst)
    with transaction(demo_link.us.sessions) as us:
        swept = set(us.scalars(select(ResultRecord.scenario_id).where(ResultRecord.run_id == run_id)))
    with transaction(demo_link.india.sessions) as india:
        sent = india.scalars(select(SentObject).where(SentObject.kind == "node", SentObject.revoked.is_(False))).all()
        node = next(
            india.get_one(NodeRecord, s.local_id)
            for s in sent
            if india.get_one(NodeRecord, s.local_id).node_id in swept
        )
        withdrawn = node.node_id
        node.marking_id = store(india, IN_ONLY).id
    to_us, _ = demo_link.sync()
    assert to_us.retracted >= 1
    with transaction(demo_link.us.sessions) as us:
        assert us.get(RunRecord, run_id) is None
        names = " ".join(us.scalars(select(ResultRecord.label))) + " ".join(us.scalars(select(ResultRecord.disrupted)))
        assert withdrawn not in names


def test_registry_sites_india_released_serve_us_source_search_and_mitigation(small_link: Link) -> None:
    """A U.S. analyst on the U.S. instance finds India's released site, ranks it, and re-runs the scenario with it."""
    small_link.sync()
    with transaction(small_link.us.sessions) as session:
        found = {s.site.name: s for s in find_sources(session, US_ANALYST, "m")}
        # GE Lynn is a U.S. firm's site: the U.S. instance's to release, not India's.
        assert "HAL Nashik" in found and not {"HAL Koraput", "BEL Pune", "GE Lynn"} & set(found)
        assert found["HAL Nashik"].site.received_from == "IN"
        scenario = session.scalars(select(ScenarioRecord).where(ScenarioRecord.scenario_id == "S-out")).one()
        assert scenario.received_from == "IN"
        ranked = rank_alternates(session, US_ANALYST, scenario.id)
        assert "HAL Nashik" in {a.source.site.name for a in ranked.alternates}
        nashik = found["HAL Nashik"].capability.id
        effect = what_if(session, US_ANALYST, scenario.id, nashik).effect
        # S (20/week) is out for 10 weeks; Nashik's 4/week of headroom from week 3 cuts what is lost.
        assert effect.material == "m" and effect.capacity == 4.0 and effect.pi_with < effect.pi_without


def test_a_change_to_a_received_record_is_answered_409_naming_its_instance(demo_link: Link) -> None:
    """A U.S. admin updating an action item India shared is told it is India's to change, not given a 500."""
    seed_own(demo_link.us)  # the U.S. instance's own ministry, which its admin belongs to
    demo_link.sync()
    with transaction(demo_link.us.sessions) as session:
        dod = session.scalar(
            select(Organization.id).where(Organization.party_code == "US", Organization.kind == "ministry")
        )
        action = session.scalars(select(ActionItem).where(ActionItem.received_from == "IN")).first()
        assert dod is not None and action is not None
        user = create_users(session, {"us-admin": replace(US_ADMIN, org_id=dod)})["us-admin"]
        token = issue_token(session, user, "api")
        action_id, version, status = action.id, action.version, action.status
        site_id = session.scalar(
            select(RegistrySite.id)
            .join(Organization, Organization.id == RegistrySite.organization_id)
            .where(RegistrySite.received_from == "IN", Organization.party_code == "IN")
        )
        assert site_id is not None
    with TestClient(create_app(demo_link.us.sessions.kw["bind"], settings=TEST_SETTINGS)) as client:
        answer = client.patch(
            f"/api/v1/framework/actions/{action_id}",
            json={"status": "done" if status != "done" else "open", "version": version},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sign_in(client, "us-admin").status_code == 303
        shown = client.get(f"/framework/actions/{action_id}")
        assert (
            "Shared by IN's instance: it is changed there" in shown.text
            and 'data-testid="change-form"' not in shown.text
        )
        # An Indian firm's site India shared: read-only on the U.S. instance.
        page = client.get(f"/registry/sites/{site_id}")
        assert "Shared by IN's instance" in page.text and 'data-testid="edit-site"' not in page.text
        posted = client.post(
            f"/registry/sites/{site_id}/edit",
            data={"csrf": csrf_of(page.text), "name": "Renamed", "country": "IN"},
        )
        assert posted.status_code == 403  # an Indian firm's site is no U.S. admin's to edit, copy or not
    assert answer.status_code == 409, answer.text
    assert "received from IN's instance and is read-only here" in answer.json()["detail"]
    with transaction(demo_link.us.sessions) as session:
        assert session.get_one(ActionItem, action_id).status == status
