"""The audit log is no side channel: it is marked data the read filter applies to, and keeps no secret typed by mistake.

From the attacker's side: an auditor of one party reading the log for the other party's accounts,
clearances, groups and failed logins; an auditor telling a hidden record from a missing one by the
denial's reason; a password typed into the username box, looked for anywhere in the log; a denied
export recorded as a plain read. SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clients import PASSWORD, Api, create_users, sign_in
from networks.world import IN_ONLY_NODES
from principals import US_AUDITOR
from setu.accounts.users import create_user
from setu.audit.sequencer import integrate_pending
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.models.networks import NetworkRecord


def entries(sessions: sessionmaker[Session], **where: object) -> list[AuditEntry]:
    integrate_pending(sessions)
    with sessions() as session:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return list(session.scalars(query))


def network_id(web: Api) -> int:
    with web.sessions() as session:
        return int(session.scalars(select(NetworkRecord.id)).first() or 0)


def test_a_denial_says_the_same_for_hidden_and_missing(web: Api) -> None:
    nid = network_id(web)
    hidden = web.get("us-analyst", f"/api/v1/networks/{nid}/nodes/{IN_ONLY_NODES[0]}")
    missing = web.get("us-analyst", f"/api/v1/networks/{nid}/nodes/NO-SUCH-NODE")
    assert hidden.status_code == missing.status_code == 404
    denials = [e for e in entries(web.sessions, decision="deny") if e.object_id in (IN_ONLY_NODES[0], "NO-SUCH-NODE")]
    assert len(denials) == 2
    assert denials[0].details == denials[1].details  # no "not visible" against "missing"
    assert "visible" not in denials[0].details and "missing" not in denials[0].details


@pytest.fixture
def us_side(web: Api) -> str:
    """A US user the operator created (no actor: a system entry), and a failed login of a US user."""
    with transaction(web.sessions) as session:
        create_users(session, {"us-auditor": US_AUDITOR})
        create_user(
            session,
            "us-secret-program",
            PASSWORD,
            party="US",
            organization=4,
            clearance=3,
            roles=["analyst"],
            groups=["F414"],
        )
    web.client.post("/accounts/login", data={"username": "us-analyst", "password": "wrong password!"})
    web.client.cookies.clear()
    return "us-secret-program"


def system_view(web: Api, user: str) -> tuple[str, list[dict[str, object]]]:
    sign_in(web.client, user)
    html = ""
    page = 1
    while True:
        part = web.client.get("/audit", params={"scope": "system", "page": page}).text
        html += part
        if 'rel="next"' not in part:
            break
        page += 1
    api = web.get(user, "/api/v1/audit/entries", params={"scope": "system", "limit": 1000}).json()["entries"]
    return html, api


def test_system_scope_shows_no_account_of_the_other_party(web: Api, us_side: str) -> None:
    us_users = {"us-analyst", "us-industry", "us-auditor", us_side}
    html, api = system_view(web, "auditor")  # India's auditor
    for name in us_users:
        assert name not in html, name
        assert not any(name in str(e) for e in api), name
    assert "F414" not in html and not any("F414" in str(e) for e in api)
    us_ids = {str(u.id) for u in _users(web.sessions, us_users)}
    assert not any(e["object_type"] == "user" and e["object_id"] in us_ids for e in api)
    # The US auditor sees them, as entries of the US.
    sign_in(web.client, "us-auditor")
    answer = web.client.get("/api/v1/audit/entries", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    theirs = answer.json()["entries"]
    assert any(e["action"] == "user.create" and us_side in str(e) for e in theirs)
    assert any(e["action"] == "login" and e["decision"] == "deny" and "us-analyst" in str(e) for e in theirs)


def _users(sessions: sessionmaker[Session], names: set[str]) -> list[object]:
    from setu.models.accounts import User

    with sessions() as session:
        return list(session.scalars(select(User).where(User.username.in_(names))))


def test_a_password_typed_as_username_is_never_stored(web: Api) -> None:
    typed = "Tr0ub4dor&3-horse-staple"
    web.client.post("/accounts/login", data={"username": typed, "password": "whatever it is"})
    web.client.post("/api/v1/accounts/login", json={"username": typed, "password": "whatever it is"})
    stored = entries(web.sessions)
    assert stored
    assert not any(typed in f"{e.actor} {e.object_id} {e.details}" for e in stored)
    failed = [e for e in stored if e.action == "login" and e.decision == "deny"]
    assert failed and all(e.actor == "unknown user" for e in failed)


def test_a_denied_export_is_audited_as_a_denied_export(web: Api) -> None:
    answer = web.get("us-analyst", "/api/v1/runs/987654/export")
    assert answer.status_code == 404
    denials = [e for e in entries(web.sessions, decision="deny") if e.object_id == "987654"]
    assert [e.action for e in denials] == ["results.export"]
    # The checkpoint download refused to a non-auditor is a denied export too.
    assert web.get("in-analyst", "/api/v1/audit/checkpoints/export").status_code == 403
    refused = entries(web.sessions, decision="deny", actor_id=web.principals["in-analyst"].user_id)
    assert [e.action for e in refused] == ["audit.checkpoint.export"]


def test_the_viewer_lists_unknown_users_by_no_name(web: Api) -> None:
    web.client.post("/accounts/login", data={"username": "nobody", "password": "wrong password"})
    sign_in(web.client, "auditor")
    system = web.client.get("/audit", params={"scope": "system", "action": "login"}).text
    rows = re.findall(r'<tr data-seq="\d+">\s*<td>\d+</td>\s*<td>[^<]*</td>\s*<td>([^<]*)', system)
    assert rows == ["unknown user"]
