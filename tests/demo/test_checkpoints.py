"""The demo's log starts signed: a checkpoint of each party over the seed, countersigned by the other."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.log import AuditError
from setu.audit.verify import verify_log
from setu.demo.checkpoints import seed_demo_checkpoints
from setu.demo.seed import seed_demo


def test_the_demo_issues_and_countersigns_checkpoints(sessions: sessionmaker[Session]) -> None:
    seed_demo(sessions)
    issued = seed_demo_checkpoints(sessions)
    assert len(issued) == 2
    with sessions() as session:
        result = verify_log(session)
    assert result.ok, result.problems
    assert (result.checkpoints, result.countersigned) == (2, 2)


def test_a_new_demo_database_at_the_same_url_is_signed_afresh(tmp_path: Path) -> None:
    # What this host signed in the previous demo database is no log of the new one (a re-seed).
    from setu.audit.checkpoints import issue_checkpoint
    from setu.audit.log import record
    from setu.db import create_schema, make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    for _ in range(2):
        (tmp_path / "demo.db").unlink(missing_ok=True)
        engine = make_engine(url)
        create_schema(engine)
        factory = session_factory(engine)
        with factory.begin() as session:
            for i in range(3):
                record(session, None, "node.read", "node", f"N{i}")
        assert len(seed_demo_checkpoints(factory)) == 2
        engine.dispose()
    with pytest.raises(AuditError, match=r"truncated|rewritten"):
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM audit_entries WHERE seq > 2")
        with session_factory(engine).begin() as session:
            issue_checkpoint(session, "IN")
    engine.dispose()
