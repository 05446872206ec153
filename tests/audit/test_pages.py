"""The audit viewer: auditors only (refusals audited), their party's entries, checkpoints, and verify."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, create_users, csrf_of, sign_in
from networks.world import US_ONLY_NODES
from principals import US_AUDITOR
from setu.audit.checkpoints import countersign, issue_checkpoint
from setu.audit.sequencer import integrate_pending
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.web.shell import PAGE_SIZE


def seqs(html: str) -> list[int]:
    """The entries listed on a page, in order."""
    return [int(seq) for seq in re.findall(r'<tr data-seq="(\d+)">', html)]


def entries_of(sessions: sessionmaker[Session], **where: object) -> list[AuditEntry]:
    integrate_pending(sessions)
    with sessions() as session:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return list(session.scalars(query))


def activity(web: Api) -> int:
    """Both analysts read their network; returns the network's id."""
    sign_in(web.client, "us-analyst")
    found = re.search(r'href="/networks/(\d+)"', web.client.get("/").text)
    assert found
    network_id = int(found.group(1))
    web.client.get(f"/networks/{network_id}/nodes/{US_ONLY_NODES[0]}")
    sign_in(web.client, "in-analyst")
    web.client.get(f"/networks/{network_id}")
    return network_id


def test_an_auditor_sees_entries_and_signed_checkpoints(web: Api) -> None:
    activity(web)
    with transaction(web.sessions) as session:
        issued = issue_checkpoint(session, "IN")
        countersign(session, issued.id, "US")
        tree_size, root = issued.tree_size, bytes(issued.root_hash).hex()
    sign_in(web.client, "auditor")
    own = [e.seq for e in entries_of(web.sessions, party="IN")]
    page = web.client.get("/audit")
    assert page.status_code == 200
    html = page.text
    listed = seqs(html)
    assert listed == sorted(own, reverse=True)[:PAGE_SIZE]  # newest first, one page
    assert f"Entries 1 to {len(listed)} of {len(own)}, newest first" in html
    assert "(in-analyst)" in html and "<td>network.read</td>" in html
    checkpoints = html[html.index('data-testid="checkpoints"') :]
    assert f"<td>{tree_size}</td>" in checkpoints and root in checkpoints
    assert checkpoints.count('<span class="status-ok">verifies</span>') == 2  # the signature and the US one
    assert "US: <span" in checkpoints
    assert 'data-testid="banner"' in html and 'action="/audit/verify"' in html and 'name="csrf"' in html
    # The view is itself audited, after it was read.
    reads = entries_of(web.sessions, action="audit.read", object_id="viewer")
    assert [(e.actor_id, e.decision) for e in reads] == [(web.principals["auditor"].user_id, "permit")]
    assert reads[0].seq > max(listed)


def test_everyone_else_gets_403_and_the_refusal_is_logged(web: Api) -> None:
    for user in ("in-analyst", "us-industry"):
        sign_in(web.client, user)
        page = web.client.get("/audit")
        assert page.status_code == 403 and "auditors only" in page.text
        main = page.text.split("<main", 1)[1].split("</main>", 1)[0]  # the page's own content, not its print frame
        assert "<table" not in main
        token = csrf_of(web.client.get("/").text)
        answer = web.client.post("/audit/verify", data={"csrf": token})
        assert answer.status_code == 403
        denials = entries_of(web.sessions, action="audit.read", actor_id=web.principals[user].user_id)
        assert [e.decision for e in denials] == ["deny", "deny"]
        assert all('"requires": ["auditor"]' in e.details for e in denials)
    assert not entries_of(web.sessions, action="audit.verify")
    assert 'href="/audit"' not in web.client.get("/").text  # no link to it for them
    web.client.cookies.clear()
    assert web.client.get("/audit", follow_redirects=False).headers["location"] == "/accounts/login"


def verify(web: Api) -> str:
    token = csrf_of(web.client.get("/audit").text)
    answer = web.client.post("/audit/verify", data={"csrf": token})
    assert answer.status_code == 200, answer.text
    found = re.search(r'data-testid="verify-summary">([^<]*)<', answer.text)
    assert found, "no verification result"
    return found.group(1)


def test_verify_says_intact_then_names_the_tampered_entry(web: Api) -> None:
    activity(web)
    with transaction(web.sessions) as session:
        issue_checkpoint(session, "IN")
    sign_in(web.client, "auditor")
    size = len(entries_of(web.sessions)) + 1  # the viewer's own read comes before the verification
    summary = verify(web)
    assert summary.startswith(f"{size} entries and 1 checkpoint (0 countersigned) checked")
    done = entries_of(web.sessions, action="audit.verify")
    assert len(done) == 1 and '"ok": true' in done[0].details
    with transaction(web.sessions) as session:
        session.execute(text("UPDATE audit_entries SET object_id = 'N999' WHERE seq = 3"))
    summary = verify(web)
    assert summary == "entry 3: fields do not match its leaf hash"
    later = entries_of(web.sessions, action="audit.verify")[-1]
    assert '"ok": false' in later.details and '"first_bad_seq": 3' in later.details
    # A rewritten leaf hash still breaks the checkpoint's root: the page says where.
    with transaction(web.sessions) as session:
        session.execute(text("UPDATE audit_entries SET leaf_hash = :h WHERE seq = 3"), {"h": b"\x01" * 32})
    page = web.client.post("/audit/verify", data={"csrf": csrf_of(web.client.get("/audit").text)}).text
    assert "Log tampered with" in page and "entry 3" in page and "checkpoint 1 of IN" in page


def test_a_forged_verify_is_refused(web: Api) -> None:
    sign_in(web.client, "auditor")
    for token in ("0" * 64, ""):
        answer = web.client.post("/audit/verify", data={"csrf": token})
        assert answer.status_code == 403 and "did not come from Setu" in answer.text
    assert not entries_of(web.sessions, action="audit.verify")


@pytest.fixture
def us_auditor(web: Api) -> str:
    with transaction(web.sessions) as session:
        create_users(session, {"us-auditor": US_AUDITOR})
    return "us-auditor"


def test_an_auditor_sees_only_their_partys_entries(web: Api, us_auditor: str) -> None:
    activity(web)
    web.client.post("/accounts/login", data={"username": "nobody", "password": "wrong password"})
    us_seqs = {e.seq for e in entries_of(web.sessions, party="US")}
    in_seqs = {e.seq for e in entries_of(web.sessions, party="IN")}
    assert us_seqs and in_seqs
    # US users by name (entries about US accounts written by the system are US entries too, named "system").
    us_actors = {e.actor for e in entries_of(web.sessions, party="US") if e.actor_id is not None}
    sign_in(web.client, "auditor")
    html = web.client.get("/audit", params={"actor": "us-analyst"}).text
    assert not seqs(html) and "No entries found" in html  # a US user's entries are not the IN auditor's
    seen: set[int] = set()
    page = 1
    while True:
        html = web.client.get("/audit", params={"page": page}).text
        suggested = set(re.findall(r'<option value="([^"]*)">', html))
        assert suggested and not suggested & us_actors  # no US actor among the filter suggestions
        seen |= set(seqs(html))
        if 'rel="next"' not in html:
            break
        page += 1
    assert seen and not seen & us_seqs
    assert seen == {e.seq for e in entries_of(web.sessions, party="IN") if e.seq <= max(seen)}
    system = web.client.get("/audit", params={"scope": "system", "action": "login"}).text
    rows = re.findall(r'<tr data-seq="\d+">\s*<td>\d+</td>\s*<td>[^<]*</td>\s*<td>([^<]*)', system)
    assert rows == ["unknown user"]  # the name typed is never stored: it may be a password
    # The US auditor sees the US side and none of India's.
    sign_in(web.client, us_auditor)
    html = web.client.get("/audit").text
    assert seqs(html) and set(seqs(html)) <= {e.seq for e in entries_of(web.sessions, party="US")}
    assert not set(seqs(html)) & in_seqs


def test_filters_and_pages(web: Api) -> None:
    sign_in(web.client, "in-analyst")
    for _ in range(PAGE_SIZE + 2):
        web.client.get("/networks")
    analyst = web.principals["in-analyst"].user_id
    sign_in(web.client, "auditor")
    html = web.client.get("/audit", params={"actor": "in-analyst"}).text
    theirs = [e.seq for e in entries_of(web.sessions, actor_id=analyst)]
    assert seqs(html) == sorted(theirs, reverse=True)[:PAGE_SIZE] and len(theirs) > PAGE_SIZE
    assert 'rel="next"' in html and "actor=in-analyst" in html
    older = web.client.get("/audit", params={"actor": "in-analyst", "page": 2}).text
    assert seqs(older) == sorted(theirs, reverse=True)[PAGE_SIZE : 2 * PAGE_SIZE]
    assert 'rel="prev"' in older and 'value="in-analyst"' in older
    logins = web.client.get("/audit", params={"action": "login", "decision": "permit"}).text
    expected = [e.seq for e in entries_of(web.sessions, party="IN", action="login", decision="permit")]
    assert seqs(logins) == sorted(expected, reverse=True) and expected
    by_type = web.client.get("/audit", params={"object_type": "network", "actor": "in-analyst"}).text
    network_reads = [e.seq for e in entries_of(web.sessions, actor_id=analyst, object_type="network")]
    assert seqs(by_type) == sorted(network_reads, reverse=True)[:PAGE_SIZE]
    nothing = web.client.get("/audit", params={"action": "x" * 500, "scope": "bogus", "decision": "maybe"})
    assert nothing.status_code == 200 and "No entries found" in nothing.text
