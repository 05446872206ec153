"""Property: an action item is overdue exactly when open or in progress and due before today (SQL and Python agree)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_ANALYST, IN_ONLY, SHARED, US_ANALYST, seed
from setu.db import transaction
from setu.framework.actions import list_actions, overdue
from setu.framework.common import days_overdue, is_overdue
from setu.models.framework import ACTION_STATUSES, ActionItem
from setu.models.parties import Party
from setu.sharing.markings import store

TODAY = date(2026, 3, 16)
items = st.lists(
    st.tuples(st.sampled_from(ACTION_STATUSES), st.integers(-400, 400), st.booleans()), min_size=0, max_size=12
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=items, shift=st.integers(-3, 3))
def test_overdue_is_open_or_in_progress_and_due_before_today(
    sessions: sessionmaker[Session], rows: list[tuple[str, int, bool]], shift: int
) -> None:
    with transaction(sessions) as session:
        # The database lives as long as the test, across examples: seed the parties once.
        if session.get(Party, "IN") is None:
            seed(session)
    today = TODAY + timedelta(days=shift)
    session = sessions()
    try:
        joint, national = store(session, SHARED).id, store(session, IN_ONLY).id
        stored = []
        for status, offset, india_only in rows:
            row = ActionItem(
                title=f"{status} {offset}",
                due_on=TODAY + timedelta(days=offset),
                status=status,
                created_by=1,
                marking_id=national if india_only else joint,
            )
            session.add(row)
            stored.append((row, india_only))
        session.flush()
        for reader in (IN_ANALYST, US_ANALYST):
            seen = [row for row, india_only in stored if reader.party == "IN" or not india_only]
            expected = sorted(
                (row for row in seen if is_overdue(row.status, row.due_on, today)), key=lambda r: (r.due_on, r.id)
            )
            found = overdue(session, reader, today)
            assert [o.action.id for o in found] == [r.id for r in expected]
            assert all(o.days == (today - o.action.due_on).days > 0 for o in found)
            _, total = list_actions(session, reader, overdue_on=today, limit=1)
            assert total == len(expected)
    finally:
        session.rollback()
        session.close()


@given(
    status=st.sampled_from(ACTION_STATUSES),
    due=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
)
def test_the_rule_in_python(status: str, due: date, today: date) -> None:
    late = is_overdue(status, due, today)
    assert late == (status in ("open", "in_progress") and due < today)
    assert days_overdue(due, today) == (max((today - due).days, 0))
    if late:
        assert days_overdue(due, today) >= 1
