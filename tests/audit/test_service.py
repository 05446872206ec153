"""What auditors are served from the audit log: checkpoints, proofs that verify independently, entry pages;
everyone else is refused, and the refusal is audited."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_ANALYST, IN_AUDITOR, US_ADMIN, US_AUDITOR
from setu.audit import service
from setu.audit.checkpoints import countersign, issue_checkpoint
from setu.audit.entries import entry_values, list_entries, recent_entries
from setu.audit.log import AuditError
from setu.audit.sequencer import integrate_pending
from setu.errors import AccessDenied
from setu.models.audit import AuditEntry
from setu.sharing.policy import Principal

from .test_log import ANALYST_US, append, entries
from .test_merkle import ref_verify_consistency, ref_verify_inclusion


def test_served_proofs_verify_with_the_independent_checker(sessions: sessionmaker[Session]) -> None:
    service.clear_cache()
    append(sessions, 9)
    with sessions.begin() as session:
        first = issue_checkpoint(session, "IN").id
    append(sessions, 13, ANALYST_US)
    with sessions.begin() as session:
        second = issue_checkpoint(session, "US").id
        countersign(session, first, "US")
    append(sessions, 3)
    with sessions() as session:
        old = service.get_checkpoint(session, IN_AUDITOR, first)
        new = service.latest_checkpoint(session, IN_AUDITOR)
        assert old is not None and new is not None
        assert new.id == second and service.latest_checkpoint(session, IN_AUDITOR, "IN") == old
        assert [c.id for c in service.list_checkpoints(session, IN_AUDITOR)] == [first, second]
        assert [c.party for c in old.countersignatures] == ["US"]
        # The served checkpoint carries what a client needs to check the signature itself.
        Ed25519PublicKey.from_public_bytes(new.public_key).verify(new.signature, new.signed_text.encode())
        for seq in range(new.tree_size):
            proof = service.inclusion_proof(session, IN_AUDITOR, seq, new.tree_size)
            assert proof.root_hash == new.root_hash
            assert ref_verify_inclusion(seq, new.tree_size, proof.leaf_hash, list(proof.path), new.root_hash)
        consistency = service.consistency_proof(session, IN_AUDITOR, old.tree_size, new.tree_size)
        assert (consistency.first_root, consistency.second_root) == (old.root_hash, new.root_hash)
        assert ref_verify_consistency(
            old.tree_size, new.tree_size, old.root_hash, new.root_hash, list(consistency.path)
        )
        whole = service.consistency_proof(session, IN_AUDITOR, new.tree_size)
        assert whole.second == new.tree_size + 5  # 3 appended, plus the checkpoint's and countersignature's
        latest = service.inclusion_proof(session, IN_AUDITOR, whole.second - 1)
        leaf = session.scalars(select(AuditEntry.leaf_hash).where(AuditEntry.seq == whole.second - 1)).one()
        assert latest.leaf_hash == leaf
        assert ref_verify_inclusion(whole.second - 1, whole.second, leaf, list(latest.path), whole.second_root)
        assert json.loads(json.dumps(proof.to_dict()))["root_hash"] == new.root_hash.hex()
        with pytest.raises(AuditError):
            service.inclusion_proof(session, IN_AUDITOR, 5, 5)
        with pytest.raises(AuditError):
            service.consistency_proof(session, IN_AUDITOR, 3, whole.second + 1)
        session.commit()  # what the reads sequenced
    # The cached tree grows with the log.
    append(sessions, 2)
    with sessions() as session:
        grown = service.consistency_proof(session, IN_AUDITOR, whole.second)
        assert grown.second == whole.second + 2
        assert ref_verify_consistency(
            whole.second, grown.second, whole.second_root, grown.second_root, list(grown.path)
        )


def test_proofs_refuse_a_log_with_gaps(sessions: sessionmaker[Session]) -> None:
    service.clear_cache()
    append(sessions, 5)
    integrate_pending(sessions)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
    with sessions() as session, pytest.raises(AuditError, match="gaps"):
        service.inclusion_proof(session, IN_AUDITOR, 0)


def test_entry_pages(sessions: sessionmaker[Session]) -> None:
    append(sessions, 7)
    append(sessions, 3, ANALYST_US)
    stored = entries(sessions)  # before the reads below: their session holds the log lock to its end
    with sessions() as session:
        page = list_entries(session, IN_AUDITOR, limit=4)
        assert [e["seq"] for e in page.entries] == [0, 1, 2, 3]
        assert page.next_start == 4 and page.tree_size == 10
        seen = []
        start: int | None = 0
        while start is not None:
            page = list_entries(session, IN_AUDITOR, start=start, limit=3)
            seen += [e["seq"] for e in page.entries]
            start = page.next_start
        assert seen == list(range(7))  # India's entries only: the log's read filter, not the caller, decides
        assert list_entries(session, IN_AUDITOR, scope="system").entries == ()
        with pytest.raises(AuditError, match="scope"):
            list_entries(session, IN_AUDITOR, scope="US")
        us = list_entries(session, US_AUDITOR)
        assert [e["seq"] for e in us.entries] == [7, 8, 9] and us.next_start is None
        row = us.entries[0]
        assert row["leaf_hash"] == stored[7].leaf_hash.hex()
        assert row["at"].endswith("Z")


@pytest.mark.parametrize("reader", [IN_ANALYST, US_ADMIN], ids=["analyst", "admin"])
def test_only_auditors_are_served_and_every_refusal_is_audited(
    sessions: sessionmaker[Session], reader: Principal
) -> None:
    append(sessions, 3)
    with sessions.begin() as session:
        issue_checkpoint(session, "IN")
    reads = [
        lambda s, p: service.latest_checkpoint(s, p),
        lambda s, p: service.get_checkpoint(s, p, 1),
        lambda s, p: service.list_checkpoints(s, p),
        lambda s, p: service.inclusion_proof(s, p, 0),
        lambda s, p: service.consistency_proof(s, p, 1),
        lambda s, p: list_entries(s, p),
        lambda s, p: recent_entries(s, p),
        lambda s, p: entry_values(s, p, "action"),
    ]
    for read in reads:
        with sessions() as session, pytest.raises(AccessDenied, match="requires role auditor"):
            read(session, reader)
    integrate_pending(sessions)
    with sessions() as session:
        denied = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "audit.read", AuditEntry.decision == "deny")
        ).all()
        assert len(denied) == len(reads)
        assert {entry.actor_id for entry in denied} == {reader.user_id}
        assert service.latest_checkpoint(session, IN_AUDITOR) is not None


def test_verifying_for_an_auditor_is_audited_and_refused_to_others(sessions: sessionmaker[Session]) -> None:
    append(sessions, 4)
    with sessions() as session, sessions() as snapshot, pytest.raises(AccessDenied):
        service.verify_for_auditor(session, IN_ANALYST, snapshot)
    with sessions() as session, sessions() as snapshot:
        result = service.verify_for_auditor(session, IN_AUDITOR, snapshot)
        assert result.ok and result.entries == 5  # the four appended and the refusal
        session.commit()
    integrate_pending(sessions)
    with sessions() as session:
        done = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.verify")).one()
        assert done.actor_id == IN_AUDITOR.user_id and json.loads(done.details)["ok"] is True
