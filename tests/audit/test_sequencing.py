"""Entries recorded pending and sequenced in batches: none lost, none twice, no gap, and no wait on a log lock.

Every test runs on SQLite and PostgreSQL. Faults are real: threads committing at once, a process killed
between committing its entries and sequencing them (or in the middle of sequencing), two sequencers
racing, a transaction held open while another commits.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.checkpoints import issue_checkpoint
from setu.audit.log import integrate, pending_count, record, write_recorded
from setu.audit.sequencer import Sequencer, SequencerSettings, integrate_pending
from setu.audit.verify import verify_log
from setu.models.audit import AuditEntry, AuditPending
from setu.models.base import utcnow
from setu.sharing.policy import Principal

ANALYST = Principal(user_id=7, party="IN", org_id=1, org_is_government=True, clearance=2)


def log_rows(sessions: sessionmaker[Session]) -> list[AuditEntry]:
    """The log as stored, without sequencing first (these tests decide when that happens)."""
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def waiting(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return pending_count(session)


def assert_log_intact(sessions: sessionmaker[Session], size: int) -> list[AuditEntry]:
    stored = log_rows(sessions)
    assert [e.seq for e in stored] == list(range(size))
    with sessions() as session:
        result = verify_log(session)
    assert result.ok, result.problems
    return stored


def test_concurrent_audited_transactions_are_sequenced_without_gap_or_duplicate(
    sessions: sessionmaker[Session],
) -> None:
    threads, per_thread = 6, 12
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with sessions.begin() as session:
                    record(session, ANALYST, "node.read", "node", f"{k}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert log_rows(sessions) == []  # recorded, durable, not yet sequenced
    assert waiting(sessions) == threads * per_thread
    assert integrate_pending(sessions, batch=10) == threads * per_thread
    stored = assert_log_intact(sessions, threads * per_thread)
    assert len({e.object_id for e in stored}) == threads * per_thread
    assert waiting(sessions) == 0


def test_a_rolled_back_transaction_leaves_no_entry(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record(session, ANALYST, "node.read", "node", "kept")
    with pytest.raises(RuntimeError), sessions.begin() as session:
        record(session, ANALYST, "network.import", "network", "failed")
        raise RuntimeError("the import failed")
    assert waiting(sessions) == 1
    integrate_pending(sessions)
    assert [e.object_id for e in assert_log_intact(sessions, 1)] == ["kept"]


def test_a_sequencing_that_rolls_back_moves_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for i in range(4):
            record(session, ANALYST, "node.read", "node", i)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        assert integrate(session) == 4
        raise RuntimeError("the sequencer's database went away before its commit")
    assert (log_rows(sessions), waiting(sessions)) == ([], 4)
    integrate_pending(sessions)
    assert_log_intact(sessions, 4)


DIES = textwrap.dedent(
    """
    import os, sys
    from setu.audit.log import integrate, record
    from setu.db import make_engine, session_factory

    sessions = session_factory(make_engine(sys.argv[1]))
    with sessions.begin() as session:
        for i in range(5):
            record(session, None, "node.read", "node", f"dead-{i}", actor_name="worker")
    if sys.argv[2] == "while-sequencing":
        session = sessions()
        session.begin()
        integrate(session)
        session.flush()
    os._exit(9)  # killed: no commit, no cleanup, no sequencer turn
    """
)


@pytest.mark.parametrize("when", ["before-sequencing", "while-sequencing"])
def test_entries_of_a_process_that_died_are_sequenced_later(sessions: sessionmaker[Session], when: str) -> None:
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    died = subprocess.run([sys.executable, "-c", DIES, url, when], capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stderr
    assert (log_rows(sessions), waiting(sessions)) == ([], 5)  # committed entries survive the process
    assert integrate_pending(sessions) == 5
    stored = assert_log_intact(sessions, 5)
    assert [e.object_id for e in stored] == [f"dead-{i}" for i in range(5)]


def test_two_sequencers_at_once_sequence_each_entry_once(sessions: sessionmaker[Session]) -> None:
    writers, per_writer = 3, 20
    stop = threading.Event()
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for i in range(per_writer):
                with sessions.begin() as session:
                    record(session, ANALYST, "node.read", "node", f"{k}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def sequence() -> None:
        try:
            while not stop.is_set():
                integrate_pending(sessions, batch=7)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    sequencers = [threading.Thread(target=sequence) for _ in range(2)]
    workers = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for thread in sequencers + workers:
        thread.start()
    for worker in workers:
        worker.join()
    stop.set()
    for sequencer in sequencers:
        sequencer.join()
    assert not errors, errors
    integrate_pending(sessions)
    stored = assert_log_intact(sessions, writers * per_writer)
    assert sorted(e.object_id for e in stored) == sorted(f"{k}-{i}" for k in range(writers) for i in range(per_writer))


def test_an_audited_transaction_does_not_wait_for_another_open_one(sessions: sessionmaker[Session]) -> None:
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    holder = sessions()
    holder.begin()
    record(holder, ANALYST, "network.import", "network", "slow")
    write_recorded(holder)  # written (entries are otherwise written at the commit): its transaction is open
    committed = threading.Event()

    def other() -> None:
        with sessions.begin() as session:
            record(session, ANALYST, "node.read", "node", "quick")
        committed.set()

    thread = threading.Thread(target=other)
    thread.start()
    try:
        if postgres:
            # Before: record() took the log's table lock, held until the slow transaction ended.
            assert committed.wait(5), "an audited commit waited for another audited transaction"
            # Nor does the sequencer wait: it sequences what is committed, the open one comes later.
            assert integrate_pending(sessions) == 1
        else:
            # SQLite admits one writer at a time, audited or not: the second waits for the first.
            assert not committed.wait(0.5)
    finally:
        holder.commit()
        holder.close()
        thread.join(30)
    assert committed.is_set()
    integrate_pending(sessions)
    stored = assert_log_intact(sessions, 2)
    # The log's order is the order of commits as the sequencer saw them.
    assert [e.object_id for e in stored] == (["quick", "slow"] if postgres else ["slow", "quick"])


def test_timestamps_are_of_the_event_and_need_not_rise_with_seq(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record(session, ANALYST, "node.read", "node", "late")
    with sessions.begin() as session:
        record(session, ANALYST, "node.read", "node", "early")
        write_recorded(session)
        # An event whose transaction began earlier commits later (PostgreSQL): its time is earlier.
        session.execute(
            text("UPDATE audit_pending SET at = :at WHERE object_id = 'early'"), {"at": utcnow() - timedelta(hours=1)}
        )
    integrate_pending(sessions)
    late, early = assert_log_intact(sessions, 2)
    assert early.at < late.at and early.seq > late.seq


def test_the_sequencer_thread_integrates_on_its_interval_and_at_a_full_batch(sessions: sessionmaker[Session]) -> None:
    ticking = Sequencer(sessions, SequencerSettings(interval_ms=50, batch=1000))
    ticking.start()
    try:
        with sessions.begin() as session:
            record(session, ANALYST, "node.read", "node", "ticked")
        deadline = time.monotonic() + 10
        while waiting(sessions) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [e.object_id for e in log_rows(sessions)] == ["ticked"]
    finally:
        ticking.stop()
    # An interval far longer than the test: only a full batch recorded in this process wakes it.
    batched = Sequencer(sessions, SequencerSettings(interval_ms=600_000, batch=5))
    batched.start()
    try:
        with sessions.begin() as session:
            for i in range(5):
                record(session, ANALYST, "node.read", "node", f"batch-{i}")
        deadline = time.monotonic() + 10
        while waiting(sessions) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting(sessions) == 0
    finally:
        batched.stop()
    assert_log_intact(sessions, 6)


def test_stopping_the_sequencer_sequences_what_is_pending(sessions: sessionmaker[Session]) -> None:
    sequencer = Sequencer(sessions, SequencerSettings(interval_ms=600_000, batch=1000))
    sequencer.start()
    with sessions.begin() as session:
        record(session, ANALYST, "node.read", "node", "at-shutdown")
    sequencer.stop()
    assert [e.object_id for e in log_rows(sessions)] == ["at-shutdown"]


def test_a_forged_pending_row_lands_after_the_newest_checkpoint_never_under_it(
    sessions: sessionmaker[Session],
) -> None:
    """The attacker with database access: a row written into audit_pending is sequenced like any other.

    That was already so for a row appended to audit_entries: entries after the newest checkpoint are
    protected by nothing until the next one (docs/audit.md). What the pending table must not allow is
    a forgery placed under a signed checkpoint: whatever its time, a forged row gets the next seq.
    """
    with sessions.begin() as session:
        for i in range(3):
            record(session, ANALYST, "node.read", "node", i)
    with sessions.begin() as session:
        checkpoint = issue_checkpoint(session, "IN")
        covered = checkpoint.tree_size
    with sessions.begin() as session:
        session.add(
            AuditPending(
                at=utcnow() - timedelta(days=30),
                actor="user 7",
                party="IN",
                action="network.export",
                object_type="network",
                object_id="forged",
                decision="permit",
                details="{}",
            )
        )
    integrate_pending(sessions)
    stored = assert_log_intact(sessions, covered + 2)  # the checkpoint's own entry, then the forgery
    forged = next(e for e in stored if e.object_id == "forged")
    assert forged.seq > covered


def test_setu_audit_sequence_sequences_from_cron(sessions: sessionmaker[Session]) -> None:
    from typer.testing import CliRunner

    from setu.audit.cli import audit_app

    with sessions.begin() as session:
        for i in range(3):
            record(session, ANALYST, "node.read", "node", i)
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    run = CliRunner().invoke(audit_app, ["sequence"], env={"SETU_DATABASE_URL": url})
    assert (run.exit_code, run.output.strip()) == (0, "sequenced 3 pending entries")
    assert_log_intact(sessions, 3)
    assert waiting(sessions) == 0
