"""The audit endpoints: auditors only; checkpoints, proofs that verify offline, entries of their own party."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from clients import Api
from setu.audit.checkpoints import checkpoint_text, issue_checkpoint, verify_signature
from setu.audit.merkle import verify_consistency, verify_inclusion
from setu.audit.sequencer import integrate_pending
from setu.models.audit import AuditEntry

AUDIT = "/api/v1/audit"


def checkpoint(api: Api, party: str = "IN") -> None:
    with api.sessions() as session, session.begin():
        issue_checkpoint(session, party)


def test_only_auditors_read_the_log(api: Api) -> None:
    checkpoint(api)
    for user in ("in-analyst", "us-analyst", "in-industry", "us-industry"):
        for path in (
            "/checkpoints/latest",
            "/checkpoints",
            "/checkpoints/1",
            "/proofs/inclusion?seq=0",
            "/proofs/consistency?first=1",
            "/entries",
        ):
            answer = api.get(user, AUDIT + path)
            assert answer.status_code == 403, (user, path, answer.text)
            assert answer.json()["detail"].startswith("requires role auditor")
    integrate_pending(api.sessions)
    with api.sessions() as session:
        denied = session.scalar(
            select(func.count()).where(AuditEntry.action == "audit.read", AuditEntry.decision == "deny")
        )
    assert denied == 24


def test_a_checkpoint_and_proofs_verify_offline(api: Api) -> None:
    checkpoint(api)
    latest = api.get("auditor", f"{AUDIT}/checkpoints/latest")
    assert latest.status_code == 200, latest.text
    head = latest.json()
    signed = checkpoint_text(head["party"], head["tree_size"], bytes.fromhex(head["root_hash"]), head["issued_at"])
    assert signed.decode() == head["signed_text"]
    assert verify_signature(bytes.fromhex(head["public_key"]), signed, bytes.fromhex(head["signature"]))
    assert api.get("auditor", f"{AUDIT}/checkpoints/{head['id']}").json() == head
    assert api.get("auditor", f"{AUDIT}/checkpoints", params={"party": "IN"}).json()["items"] == [head]
    assert api.get("auditor", f"{AUDIT}/checkpoints/latest", params={"party": "US"}).status_code == 404

    size = head["tree_size"]
    for seq in (0, size // 2, size - 1):
        proof = api.get("auditor", f"{AUDIT}/proofs/inclusion", params={"seq": seq, "tree_size": size}).json()
        assert proof["root_hash"] == head["root_hash"]
        path = [bytes.fromhex(p) for p in proof["path"]]
        assert verify_inclusion(bytes.fromhex(proof["leaf_hash"]), seq, size, path, bytes.fromhex(head["root_hash"]))
    checkpoint(api)  # the log grew: a later head is consistent with the earlier one
    later = api.get("auditor", f"{AUDIT}/checkpoints/latest").json()
    assert later["tree_size"] > size
    proof = api.get("auditor", f"{AUDIT}/proofs/consistency", params={"first": size, "second": later["tree_size"]})
    body = proof.json()
    assert verify_consistency(
        size,
        later["tree_size"],
        bytes.fromhex(head["root_hash"]),
        bytes.fromhex(later["root_hash"]),
        [bytes.fromhex(p) for p in body["path"]],
    )
    bad = api.get("auditor", f"{AUDIT}/proofs/inclusion", params={"seq": 10**6})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("no entry 1000000 in a tree of size")


def test_entries_are_those_of_the_auditors_party(api: Api) -> None:
    api.get("us-analyst", "/api/v1/networks")  # a US read, audited
    api.get("in-analyst", "/api/v1/networks")  # an Indian one
    api.client.post("/api/v1/accounts/login", json={"username": "nobody", "password": "wrong password"})
    page = api.get("auditor", f"{AUDIT}/entries", params={"limit": 1000}).json()
    assert page["entries"] and {e["party"] for e in page["entries"]} == {"IN"}
    assert page["next_start"] is None and page["tree_size"] >= len(page["entries"])
    assert all(isinstance(json.loads(e["details"]), dict) and len(e["leaf_hash"]) == 64 for e in page["entries"])
    system = api.get("auditor", f"{AUDIT}/entries", params={"scope": "system", "action": "login"}).json()
    assert [e["actor"] for e in system["entries"]] == ["unknown user"]  # the name typed is never kept
    first = api.get("auditor", f"{AUDIT}/entries", params={"limit": 1}).json()
    assert len(first["entries"]) == 1 and first["next_start"] == first["entries"][0]["seq"] + 1
