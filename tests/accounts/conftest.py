"""Accounts fixtures: a fast argon2 hasher, and parties with a ministry and a firm on each side."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts import service
from setu.db import transaction
from setu.models import Organization, Party
from setu.sharing.markings import MarkingSpec, store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
# name -> (party, kind)
ORGS = {
    "Ministry of Defence": ("IN", "ministry"),
    "Bharat Forge": ("IN", "firm"),
    "Department of War": ("US", "ministry"),
    "Acme Castings": ("US", "firm"),
}


@pytest.fixture(autouse=True)
def fast_hasher() -> Iterator[None]:
    """Cheap argon2 parameters for tests; the defaults come back afterwards."""
    service.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    yield
    service.configure_hasher()


@pytest.fixture
def orgs(sessions: sessionmaker[Session]) -> dict[str, int]:
    """India and the US with a ministry and a firm each; organization ids by name."""
    with transaction(sessions) as session:
        public = store(session, MarkingSpec(0, "IN", frozenset({"IN", "US"})))
        session.add_all([Party(code="IN", name="India", holiday_country="IN"), Party(code="US", name="United States")])
        session.flush()
        rows = [Organization(party_code=p, name=n, kind=k, marking=public) for n, (p, k) in ORGS.items()]
        session.add_all(rows)
        session.flush()
        return {row.name: row.id for row in rows}
