"""A transaction's audit entries are written together when it commits: none lost, none kept from a rollback.

Entries are not inserted one by one as they are recorded but in one statement at the commit
(:func:`setu.audit.log.write_recorded`). What that must not change: every entry of a committed
transaction reaches the log, in the order recorded; a rolled-back transaction leaves none; a savepoint
rolled back inside it drops only its own entries; a reader of the log inside the transaction sees them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import pending_count, record
from setu.audit.sequencer import integrate_pending
from setu.models.audit import AuditEntry, AuditPending
from setu.sharing.policy import Principal

READER = Principal(user_id=7, party="IN", org_id=1, org_is_government=True, clearance=2)


def logged(sessions: sessionmaker[Session]) -> list[str]:
    integrate_pending(sessions)
    with sessions() as session:
        return list(session.scalars(select(AuditEntry.object_id).order_by(AuditEntry.seq)))


def test_every_entry_of_a_committed_transaction_reaches_the_log_in_the_order_recorded(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        for index in range(12):
            record(session, READER, "node.read", "node", f"n{index}")
        assert pending_count(session) == 12  # a reader inside the transaction sees its own entries
    with sessions.begin() as session:
        record(session, READER, "node.read", "node", "after")
    assert logged(sessions) == [f"n{index}" for index in range(12)] + ["after"]


def test_a_rolled_back_transaction_leaves_no_entry_and_the_next_one_starts_clean(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        record(session, READER, "node.read", "node", "rolled back")
        session.rollback()
        record(session, READER, "node.read", "node", "kept")
        session.commit()
        record(session, READER, "node.read", "node", "never committed")
    assert logged(sessions) == ["kept"]
    with sessions() as session:
        assert session.scalar(select(AuditPending.id)) is None


def test_a_savepoint_rolled_back_drops_only_its_own_entries(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record(session, READER, "node.read", "node", "before")
        try:
            with session.begin_nested():
                record(session, READER, "standins.generate", "network", "inside")
                raise RuntimeError("the savepoint's write failed")
        except RuntimeError:
            pass
        record(session, READER, "node.read", "node", "after")
    assert logged(sessions) == ["before", "after"]


def test_a_denial_committed_after_a_rollback_is_kept(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        record(session, READER, "network.read", "network", "1")
        session.rollback()  # the request failed
        record(session, READER, "network.read", "network", "2", decision="deny")
        session.commit()
    assert logged(sessions) == ["2"]


def test_a_transaction_that_records_thousands_of_entries_commits_them_all(sessions: sessionmaker[Session]) -> None:
    """More entries than one statement may carry parameters for (SQLite: 32,766; PostgreSQL: 65,535)."""
    with sessions.begin() as session:
        for index in range(7_000):
            record(session, READER, "node.read", "node", f"n{index}")
    assert logged(sessions) == [f"n{index}" for index in range(7_000)]
