"""Tampering with the log through raw SQL, and `setu audit verify` catching each change (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from setu.audit.checkpoints import checkpoint_text, countersign, issue_checkpoint
from setu.audit.cli import audit_app
from setu.audit.export import load_export, snapshot, write_export
from setu.audit.keys import key_id_of
from setu.audit.log import canonical_leaf, leaf_data, leaf_hash, record
from setu.audit.sequencer import integrate_pending
from setu.audit.verify import VerifyResult, verify_log, verify_snapshot
from setu.models.audit import AuditEntry, Checkpoint, SigningKey
from setu.models.base import utcnow
from setu.sharing.policy import Principal

ANALYST_IN = Principal(user_id=7, party="IN", org_id=1, org_is_government=True, clearance=2)
ANALYST_US = Principal(user_id=8, party="US", org_id=2, org_is_government=True, clearance=2)


@dataclass(frozen=True)
class Log:
    """The log every test starts from: 46 entries, checkpoints at 16 (IN) and 39 (US), each countersigned."""

    first: int  # checkpoint ids
    second: int
    first_size: int
    second_size: int
    size: int


def append(session: Session, count: int, actor: Principal) -> None:
    for i in range(count):
        record(session, actor, "node.read", "node", f"N{i}", details={"i": i})


@pytest.fixture
def log(sessions: sessionmaker[Session]) -> Log:
    with sessions.begin() as session:
        append(session, 15, ANALYST_IN)  # 0..14
    with sessions.begin() as session:
        first = issue_checkpoint(session, "IN")  # key entry 15; covers 0..15; its own entry is 16
    with sessions.begin() as session:
        countersign(session, first.id, "US")  # key entry 17, countersignature 18
    with sessions.begin() as session:
        append(session, 20, ANALYST_US)  # 19..38
    with sessions.begin() as session:
        second = issue_checkpoint(session, "US")  # covers 0..38; its entry is 39
    with sessions.begin() as session:
        countersign(session, second.id, "IN")  # 40
        append(session, 5, ANALYST_IN)  # 41..45
    integrate_pending(sessions)  # all 46 in the log, where the tampering below finds them
    built = Log(first.id, second.id, first.tree_size, second.tree_size, 46)
    assert (built.first_size, built.second_size) == (16, 39)
    return built


def verify(sessions: sessionmaker[Session]) -> VerifyResult:
    with sessions() as session:
        return verify_log(session)


def key_of(sessions: sessionmaker[Session], party: str) -> str:
    with sessions() as session:
        return session.scalars(select(SigningKey.key_id).where(SigningKey.party == party)).one()


def tamper(sessions: sessionmaker[Session], *statements: str, **params: object) -> None:
    with sessions.begin() as session:
        for statement in statements:
            session.execute(text(statement), params)


def test_an_untouched_log_verifies(sessions: sessionmaker[Session], log: Log) -> None:
    result = verify(sessions)
    assert result.ok, result.problems
    assert (result.entries, result.checkpoints, result.countersigned) == (46, 2, 2)
    assert result.first is None and result.first_bad_seq is None
    assert "intact" in result.summary()


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE audit_entries SET object_id = 'N999' WHERE seq = 12",
        "UPDATE audit_entries SET decision = 'deny' WHERE seq = 12",
        "UPDATE audit_entries SET actor = 'user 9', actor_id = 9 WHERE seq = 12",
        "UPDATE audit_entries SET details = '{\"i\": 13}' WHERE seq = 12",
        "UPDATE audit_entries SET action = 'node.update' WHERE seq = 12",
        "UPDATE audit_entries SET party = 'US' WHERE seq = 12",
        "UPDATE audit_entries SET leaf_hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 11) WHERE seq = 12",
    ],
)
def test_a_changed_entry_is_named(sessions: sessionmaker[Session], log: Log, change: str) -> None:
    tamper(sessions, change)
    result = verify(sessions)
    assert not result.ok
    assert result.first_bad_seq == 12
    assert result.problems[0].message == "entry 12: fields do not match its leaf hash"


def test_a_changed_timestamp_is_named(sessions: sessionmaker[Session], log: Log) -> None:
    with sessions() as session:
        at = session.scalars(select(AuditEntry.at).where(AuditEntry.seq == 30)).one()
    tamper(sessions, "UPDATE audit_entries SET at = :at WHERE seq = 30", at=at.replace(year=at.year - 1))
    result = verify(sessions)
    assert result.problems[0].message == "entry 30: fields do not match its leaf hash"
    # The recomputed tree no longer gives the US checkpoint's root; entries up to 15 are vouched for.
    assert any(p.kind == "root" and "in 16..38" in p.message for p in result.problems)


def test_a_rehashed_change_is_caught_by_the_checkpoints(sessions: sessionmaker[Session], log: Log) -> None:
    # An attacker who knows the leaf format recomputes the hash too: only the signed roots catch it.
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == 20)).one()
        entry.object_id = "N999"
        forged = leaf_hash(leaf_data(entry))
        session.rollback()
    tamper(sessions, "UPDATE audit_entries SET object_id = 'N999', leaf_hash = :h WHERE seq = 20", h=forged)
    result = verify(sessions)
    assert not result.ok
    assert result.problems[0].kind == "root"
    assert result.problems[0].message.startswith(f"checkpoint {log.second} of US at size 39: root ")
    assert "an entry in 16..38 was changed, removed or moved" in result.problems[0].message
    assert [p.kind for p in result.problems] == ["root"]


def test_a_deleted_entry_is_named(sessions: sessionmaker[Session], log: Log) -> None:
    tamper(sessions, "DELETE FROM audit_entries WHERE seq = 17")
    result = verify(sessions)
    assert result.problems[0].message == "entry 17 is missing (sequence jumps from 16 to 18)"
    assert result.first_bad_seq == 17


def test_deleted_runs_and_a_missing_start(sessions: sessionmaker[Session], log: Log) -> None:
    tamper(sessions, "DELETE FROM audit_entries WHERE seq IN (0, 1, 20, 21, 22)")
    result = verify(sessions)
    assert [p.message for p in result.problems[:2]] == [
        "entries 0..1 are missing (log starts at 2)",
        "entries 20..22 are missing (sequence jumps from 19 to 23)",
    ]


def test_reordered_entries_are_named(sessions: sessionmaker[Session], log: Log) -> None:
    tamper(
        sessions,
        "UPDATE audit_entries SET seq = -1 WHERE seq = 12",
        "UPDATE audit_entries SET seq = 12 WHERE seq = 13",
        "UPDATE audit_entries SET seq = 13 WHERE seq = -1",
    )
    result = verify(sessions)
    assert result.first_bad_seq == 12
    assert result.problems[0].message == "entries reordered at 12: the entry stored as 12 was written as entry 13"
    assert result.problems[1].message == "entries reordered at 13: the entry stored as 13 was written as entry 12"


def test_truncation_under_a_checkpoint_is_named(sessions: sessionmaker[Session], log: Log) -> None:
    tamper(sessions, "DELETE FROM audit_entries WHERE seq >= 35")
    result = verify(sessions)
    assert (
        result.problems[0].message == f"log truncated: checkpoint {log.second} of US at size 39 but log has 35 entries"
    )
    assert result.first_bad_seq == 35


def test_truncation_past_the_newest_checkpoint_is_not_detectable(sessions: sessionmaker[Session], log: Log) -> None:
    # What no checkpoint covers yet is only as safe as the next checkpoint: issue them often.
    tamper(sessions, "DELETE FROM audit_entries WHERE seq >= 41")
    assert verify(sessions).ok


def test_a_changed_checkpoint_root_is_caught(sessions: sessionmaker[Session], log: Log) -> None:
    tamper(sessions, "UPDATE audit_checkpoints SET root_hash = :root WHERE id = :id", root=b"\x42" * 32, id=log.first)
    result = verify(sessions)
    kinds = [(p.kind, p.checkpoint_id) for p in result.problems]
    assert kinds == [
        ("signature", log.first),
        ("countersignature", log.first),
        ("root", log.first),
        ("checkpoint-entry", log.first),  # the log entry of the checkpoint recorded the real root
    ]
    expected = (
        f"checkpoint {log.first} of IN at size 16: signature does not verify with IN's key {key_of(sessions, 'IN')}"
    )
    assert result.problems[0].message == expected


def test_a_forged_signature_is_caught(sessions: sessionmaker[Session], log: Log) -> None:
    with sessions() as session:
        checkpoint = session.get_one(Checkpoint, log.second)
        message = checkpoint_text("US", checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at)
    forged = Ed25519PrivateKey.generate().sign(message)
    tamper(sessions, "UPDATE audit_checkpoints SET signature = :s WHERE id = :id", s=forged, id=log.second)
    result = verify(sessions)
    assert [p.kind for p in result.problems] == ["signature", "checkpoint-entry"]
    assert result.problems[0].message.startswith(f"checkpoint {log.second} of US at size 39: signature does not verify")
    assert (
        result.problems[1].message
        == f"checkpoint {log.second} of US at size 39 does not match its log entry 39 (signature)"
    )


def test_a_forged_countersignature_is_caught(sessions: sessionmaker[Session], log: Log) -> None:
    tamper(
        sessions,
        "UPDATE audit_countersignatures SET signature = :s WHERE checkpoint_id = :id",
        s=b"\0" * 64,
        id=log.first,
    )
    result = verify(sessions)
    assert [p.message for p in result.problems] == [
        f"checkpoint {log.first} of IN at size 16: countersignature of US does not verify with key "
        f"{key_of(sessions, 'US')}",
        f"checkpoint {log.first} of IN at size 16 does not match its log entry 18 (signature)",
    ]


def test_a_deleted_signing_key_is_caught(sessions: sessionmaker[Session], log: Log) -> None:
    tamper(sessions, "DELETE FROM audit_signing_keys WHERE party = 'US'")
    result = verify(sessions)
    assert {p.kind for p in result.problems} == {"key", "countersignature"}


def test_a_replaced_key_is_caught_against_trusted_keys(sessions: sessionmaker[Session], log: Log) -> None:
    with sessions() as session:
        trusted = snapshot(session).keys
        checkpoint = session.get_one(Checkpoint, log.first)
        message = checkpoint_text("IN", checkpoint.tree_size, checkpoint.root_hash, checkpoint.issued_at)
        other = session.get_one(Checkpoint, log.second)
        other_message = checkpoint_text("US", other.tree_size, other.root_hash, other.issued_at)
    # Someone with the database but not IN's private key swaps in their own key and re-signs all IN signed.
    theirs = Ed25519PrivateKey.generate()
    public = theirs.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    tamper(
        sessions,
        "UPDATE audit_signing_keys SET public_key = :pub, key_id = :kid WHERE party = 'IN'",
        "UPDATE audit_checkpoints SET signature = :sig, key_id = :kid WHERE id = :id",
        "UPDATE audit_countersignatures SET signature = :csig, key_id = :kid WHERE checkpoint_id = :other",
        pub=public,
        kid=key_id_of(public),
        sig=theirs.sign(message),
        csig=theirs.sign(other_message),
        id=log.first,
        other=log.second,
    )
    with sessions() as session:
        data = snapshot(session)
    # The signatures hold on their own (the root is unchanged), but the checkpoints' log entries recorded
    # the real keys and signatures ...
    alone = verify_snapshot(data)
    assert {p.kind for p in alone.problems} == {"checkpoint-entry"}
    # ... and the keys the parties exchanged earlier do not sign them.
    result = verify_snapshot(data, trusted)
    assert [(p.kind, p.checkpoint_id) for p in result.problems][:2] == [
        ("key", log.first),
        ("countersignature", log.second),
    ]
    assert "signed with unknown key" in result.problems[0].message


def test_export_verifies_offline_and_catches_edits(sessions: sessionmaker[Session], log: Log, tmp_path: Path) -> None:
    path = tmp_path / "audit.json"
    with sessions() as session:
        write_export(session, path)
    document = json.loads(path.read_text())
    assert set(document) == {"format", "entries", "checkpoints", "keys"}
    assert all("private" not in key for key in map(str, document["keys"]))
    assert verify_snapshot(load_export(path)).ok
    document["entries"][12]["object_id"] = "N999"
    path.write_text(json.dumps(document))
    result = verify_snapshot(load_export(path))
    assert result.problems[0].message == "entry 12: fields do not match its leaf hash"


def test_cli_verify_checkpoint_countersign_export(
    sessions: sessionmaker[Session], engine: Engine, log: Log, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETU_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    run = runner.invoke(audit_app, ["verify"])
    assert run.exit_code == 0, run.output
    assert "intact" in run.output and "46 entries" in run.output

    run = runner.invoke(audit_app, ["checkpoint", "--party", "IN"])
    assert run.exit_code == 0, run.output
    assert "size 46" in run.output
    run = runner.invoke(audit_app, ["countersign", "--party", "US"])
    assert run.exit_code == 0, run.output
    run = runner.invoke(audit_app, ["countersign", "--party", "US"])
    assert run.exit_code == 2 and "already countersigned" in run.output

    export = tmp_path / "audit.json"
    run = runner.invoke(audit_app, ["export", str(export)])
    assert run.exit_code == 0, run.output
    run = runner.invoke(audit_app, ["verify", "--file", str(export), "--keys", str(export)])
    assert run.exit_code == 0, run.output

    tamper(sessions, "UPDATE audit_entries SET object_id = 'N999' WHERE seq = 17")
    run = runner.invoke(audit_app, ["verify"])
    assert run.exit_code == 1
    shown = " ".join(run.output.split())  # Rich wraps to the terminal width
    assert "TAMPERED" in shown and "entry 17: fields do not match its leaf hash" in shown


def test_setu_audit_verify_as_a_process(sessions: sessionmaker[Session], engine: Engine, log: Log) -> None:
    env = {**os.environ, "SETU_DATABASE_URL": engine.url.render_as_string(hide_password=False), "COLUMNS": "200"}

    def setu_verify() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "setu", "audit", "verify"]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

    intact = setu_verify()
    assert intact.returncode == 0, intact.stdout + intact.stderr
    tamper(sessions, "DELETE FROM audit_entries WHERE seq = 17")
    broken = setu_verify()
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "entry 17 is missing (sequence jumps from 16 to 18)" in broken.stdout


def test_cli_reports_a_missing_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETU_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    run = CliRunner().invoke(audit_app, ["verify"])
    assert run.exit_code == 2 and "error" in run.output


def test_a_large_log_verifies(sessions: sessionmaker[Session]) -> None:
    size = 20_000
    start = utcnow()
    rows = []
    for seq in range(size):
        fields = {
            "seq": seq,
            "at": start,
            "actor_id": 7,
            "actor": "user 7",
            "party": "IN",
            "action": "node.read",
            "object_type": "node",
            "object_id": f"N{seq}",
            "decision": "permit",
            "details": "{}",
        }
        canonical = {**fields, "at": start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        rows.append({**fields, "leaf_hash": leaf_hash(canonical_leaf(canonical))})
    with sessions.begin() as session:
        session.execute(insert(AuditEntry), rows)
    with sessions.begin() as session:
        issue_checkpoint(session, "IN")
    result = verify(sessions)
    assert result.ok and result.entries == size + 2
