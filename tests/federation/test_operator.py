"""The operator view of the links (API and page): admins and auditors of this instance's party only, every count
of what the viewer may read, the next publish's counts, retractions with their receipts, and a fork shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from clients import Api, create_users, sign_in
from federation.conftest import SQLITE_ONLY
from principals import IN_ADMIN, SECRET_SHARED
from setu.accounts.tokens import issue_token
from setu.audit.keys import key_store
from setu.db import transaction
from setu.federation.feed import publish
from setu.federation.identity import this_instance
from setu.federation.partners import add_partner
from setu.models.federation import WitnessedCheckpoint
from setu.models.networks import NodeRecord
from setu.sharing.markings import store

pytestmark = SQLITE_ONLY


@pytest.fixture
def federated(web: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """India's instance of the world network, the US pinned (up to SECRET), the feed published once; an admin."""
    monkeypatch.setenv("SETU_INSTANCE_PARTY", "IN")
    us_key = key_store().generate("US")
    with transaction(web.sessions) as session:
        add_partner(session, local_party="IN", party="US", public_key=us_key.public_key.hex(), max_classification=3)
        # One shared record above the auditor's clearance (CONFIDENTIAL): released, but not theirs to count.
        node = session.scalars(select(NodeRecord).where(NodeRecord.node_id == "T1_1")).one()
        node.marking_id = store(session, SECRET_SHARED).id
        publish(session, this_instance(session, "IN"), "US")
        admin = create_users(session, {"in-admin": IN_ADMIN})["in-admin"]
        web.tokens["in-admin"] = issue_token(session, admin, "api")
    yield web


def _link(api: Api, user: str) -> dict:
    answer = api.get(user, "/api/v1/federation/links")
    assert answer.status_code == 200, answer.text
    assert answer.json()["party"] == "IN"
    (link,) = answer.json()["links"]
    return link


def test_admins_and_auditors_see_each_link_and_counts_only_of_what_they_may_read(federated: Api) -> None:
    admin, auditor = _link(federated, "in-admin"), _link(federated, "auditor")
    assert admin["partner"] == "US" and admin["level"] == "SECRET"
    assert admin["state"]["released"] == auditor["state"]["released"] + 1  # the SECRET node
    assert admin["next_publish"] == {**admin["next_publish"], "sent": 0, "changed": 0, "retracted": 0}


@pytest.mark.parametrize("user", ["in-analyst", "us-analyst", "in-industry"])
def test_anyone_else_is_refused(federated: Api, user: str) -> None:
    assert federated.get(user, "/api/v1/federation/links").status_code == 403


def test_the_preview_counts_what_the_next_publish_sends_and_retractions_await_a_receipt(federated: Api) -> None:
    from principals import IN_ONLY

    with transaction(federated.sessions) as session:
        node = session.scalars(select(NodeRecord).where(NodeRecord.node_id == "T1_1")).one()
        node.marking_id = store(session, IN_ONLY).id
    link = _link(federated, "in-admin")
    assert link["next_publish"]["retracted"] >= 1
    with transaction(federated.sessions) as session:
        publish(session, this_instance(session, "IN"), "US")
    link = _link(federated, "in-admin")
    assert link["next_publish"]["retracted"] == 0
    assert link["state"]["unacknowledged"] >= 1
    assert any(r["kind"] == "node" and r["receipt_at"] is None for r in link["retractions"])


def test_the_page_shows_the_link_and_a_fork_in_an_alert(federated: Api) -> None:
    with transaction(federated.sessions) as session:
        session.add(
            WitnessedCheckpoint(
                partner="US",
                tree_size=12,
                root_hash="ab" * 32,
                issued_at="2026-12-04T00:00:00.000000Z",
                key_id="0" * 16,
                signature="",
                fork="two checkpoints of 12 entries with different roots",
            )
        )
    client = federated.client
    assert sign_in(client, "auditor").status_code == 303
    page = client.get("/federation")
    assert page.status_code == 200
    assert "Next publish" in page.text and "US's audit log forked." in page.text
    assert "two checkpoints of 12 entries with different roots" in page.text
    assert sign_in(client, "in-analyst").status_code == 303
    assert client.get("/federation").status_code == 403


def test_a_single_instance_deployment_says_so(web: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SETU_INSTANCE_PARTY", raising=False)
    answer = web.get("auditor", "/api/v1/federation/links")
    assert answer.status_code == 200 and answer.json() == {"party": "", "links": []}
    assert sign_in(web.client, "auditor").status_code == 303
    assert "single-instance deployment" in web.client.get("/federation").text


def test_viewing_the_links_creates_no_signing_key(web: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page view is a read: it never makes the instance's key (only an export or a listener signs)."""
    from setu.models.audit import SigningKey

    monkeypatch.setenv("SETU_INSTANCE_PARTY", "IN")
    with transaction(web.sessions) as session:
        us_key = key_store().generate("US")
        add_partner(session, local_party="IN", party="US", public_key=us_key.public_key.hex())
        before = session.scalars(select(SigningKey.key_id).where(SigningKey.party == "IN")).all()
    assert web.get("auditor", "/api/v1/federation/links").json()["links"][0]["next_publish"]["sent"] > 0
    with transaction(web.sessions) as session:
        assert session.scalars(select(SigningKey.key_id).where(SigningKey.party == "IN")).all() == before
    assert key_store().keys("IN") == []
