"""Appending to the audit log, signed checkpoints and countersigning (what auditors are served: test_service)."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.checkpoints import checkpoint_text, countersign, issue_checkpoint, signing_key
from setu.audit.log import AuditError, record
from setu.audit.sequencer import integrate_pending
from setu.audit.verify import verify_log
from setu.models.audit import AuditEntry, Checkpoint, SigningKey
from setu.sharing.policy import Principal

from .test_merkle import ref_mth

ANALYST_IN = Principal(user_id=7, party="IN", org_id=1, org_is_government=True, clearance=2)
ANALYST_US = Principal(user_id=8, party="US", org_id=2, org_is_government=True, clearance=2)


def append(sessions: sessionmaker[Session], count: int, actor: Principal | None = ANALYST_IN) -> None:
    with sessions.begin() as session:
        for i in range(count):
            record(session, actor, "node.read", "node", i, details={"i": i})


def entries(sessions: sessionmaker[Session]) -> list[AuditEntry]:
    """The log, after sequencing what is pending (as every reader does)."""
    integrate_pending(sessions)
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_record_appends_gap_free_leaves_of_canonical_json(sessions: sessionmaker[Session]) -> None:
    append(sessions, 3)
    with sessions.begin() as session:
        record(session, ANALYST_US, "network.export", "network", 12, decision="deny", details={"why": "releases"})
        record(session, None, "maintenance", actor_name="scheduler")
    stored = entries(sessions)
    assert [e.seq for e in stored] == [0, 1, 2, 3, 4]
    deny = stored[3]
    assert (deny.actor, deny.party, deny.action, deny.decision, deny.object_id) == (
        "user 8",
        "US",
        "network.export",
        "deny",
        "12",
    )
    assert (stored[4].actor, stored[4].actor_id, stored[4].party) == ("scheduler", None, "")
    # The leaf, rebuilt here from the stored row (after the database's round trip of the timestamp).
    for entry in stored:
        # SQLite hands timestamps back naive (they were written in UTC); PostgreSQL in its session zone.
        moment = entry.at if entry.at.tzinfo is not None else entry.at.replace(tzinfo=UTC)
        body = {
            "seq": entry.seq,
            "at": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor_id": entry.actor_id,
            "actor": entry.actor,
            "party": entry.party,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "decision": entry.decision,
            "details": entry.details,
            "v": 1,
        }
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        assert entry.leaf_hash == hashlib.sha256(b"\x00" + data).digest()
    assert json.loads(deny.details) == {"why": "releases"}


def test_entry_commits_or_vanishes_with_its_change(sessions: sessionmaker[Session]) -> None:
    append(sessions, 2)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        record(session, ANALYST_IN, "network.import")
        raise RuntimeError("the import failed")
    append(sessions, 1)
    assert [e.seq for e in entries(sessions)] == [0, 1, 2]
    assert entries(sessions)[2].action == "node.read"


def test_record_rejects_unknown_decisions_and_cuts_long_values(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        with pytest.raises(ValueError, match="decision"):
            record(session, ANALYST_IN, "node.read", decision="maybe")
        entry = record(session, ANALYST_IN, "x" * 100, "t" * 100, "o" * 300, actor_name="a" * 300)
    assert (len(entry.action), len(entry.object_type), len(entry.object_id), len(entry.actor)) == (64, 64, 200, 200)
    with sessions() as session:
        assert verify_log(session).ok


@pytest.mark.parametrize("threads", [4])
def test_concurrent_appends_are_gap_free(sessions: sessionmaker[Session], threads: int) -> None:
    per_thread = 15
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with sessions.begin() as session:
                    # Half the transactions read first, as request handlers do, before they append.
                    if i % 2:
                        session.scalar(select(func.count()).select_from(AuditEntry))
                    record(session, ANALYST_IN, "node.read", "node", f"{k}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    stored = entries(sessions)
    assert [e.seq for e in stored] == list(range(threads * per_thread))
    assert len({e.object_id for e in stored}) == threads * per_thread
    with sessions() as session:
        assert verify_log(session).ok


def test_checkpoint_is_signed_countersigned_and_audited(sessions: sessionmaker[Session]) -> None:
    append(sessions, 5)
    with sessions.begin() as session:
        checkpoint = issue_checkpoint(session, "IN", actor=ANALYST_IN)
        checkpoint_id = checkpoint.id
    with sessions() as session:
        checkpoint = session.get_one(Checkpoint, checkpoint_id)
        key = session.scalars(select(SigningKey).where(SigningKey.party == "IN")).one()
        leaves = [bytes(h) for h in session.scalars(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))]
        # Five entries and the key's creation; the checkpoint's own entry comes after it.
        assert checkpoint.tree_size == 6
        assert checkpoint.root_hash == ref_mth(leaves[:6])
        assert len(leaves) == 7
        assert key.key_id == hashlib.sha256(key.public_key).hexdigest()[:16]
        message = checkpoint_text("IN", 6, checkpoint.root_hash, checkpoint.issued_at)
        assert message.decode().splitlines()[:4] == ["setu-audit-checkpoint", "IN", "6", checkpoint.root_hash.hex()]
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(checkpoint.signature, message)
    with sessions.begin() as session, pytest.raises(AuditError, match="own"):
        countersign(session, checkpoint_id, "IN")
    with sessions.begin() as session:
        counter = countersign(session, checkpoint_id, "US", actor=ANALYST_US)
        us_key = signing_key(session, "US", create=False)
        Ed25519PublicKey.from_public_bytes(us_key.public_key).verify(counter.signature, message)
    with sessions.begin() as session, pytest.raises(AuditError, match="already"):
        countersign(session, checkpoint_id, "US")
    actions = [e.action for e in entries(sessions)]
    assert actions[5:] == ["audit.key.create", "audit.checkpoint", "audit.key.create", "audit.countersign"]
    with sessions() as session:
        result = verify_log(session)
    assert result.ok, result.problems
    assert (result.checkpoints, result.countersigned) == (1, 1)


def test_issuing_refuses_a_rewritten_log(sessions: sessionmaker[Session]) -> None:
    append(sessions, 4)
    with sessions.begin() as session:
        issue_checkpoint(session, "IN")
    with sessions.begin() as session:
        session.execute(text("UPDATE audit_entries SET leaf_hash = :h WHERE seq = 2"), {"h": b"\x11" * 32})
    with sessions.begin() as session, pytest.raises(AuditError, match="no longer reproduces"):
        issue_checkpoint(session, "US")
    with sessions.begin() as session, pytest.raises(AuditError, match="does not reproduce"):
        countersign(session, 1, "US")


def test_party_codes_are_checked(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session, pytest.raises(AuditError, match="party code"):
        issue_checkpoint(session, "../x")
