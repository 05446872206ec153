"""The demo's log starts signed: a checkpoint of each party over the seed, countersigned by the other."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

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
