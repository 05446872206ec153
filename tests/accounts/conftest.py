"""Accounts fixtures: India and the US with a ministry and a firm each (helpers: tests/accounts/world.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from setu.db import transaction
from setu.models import Organization, Party
from setu.sharing.markings import MarkingSpec, store

from .world import ORGS


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
