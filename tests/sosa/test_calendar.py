"""Working-day arithmetic: hand cases around Indian and U.S. holidays, weekends and year ends, and properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from setu.sosa.calendar import (
    CalendarError,
    WorkingCalendar,
    add_working_days,
    is_working_day,
    working_days_between,
)

IN = WorkingCalendar.of("IN")
US = WorkingCalendar.of("US")
NONE = WorkingCalendar.of("")


@pytest.mark.parametrize(
    ("calendar", "start", "n", "expected", "why"),
    [
        # DX (10) received the Friday before Diwali (Mon 20 Oct 2025): Diwali does not count.
        (IN, date(2025, 10, 17), 10, date(2025, 11, 3), "Diwali 2025"),
        # The same day on the U.S. calendar: no holiday that week.
        (US, date(2025, 10, 17), 10, date(2025, 10, 31), "no U.S. holiday"),
        # Delay confirmation (5) from that Friday: Diwali skipped in India only.
        (IN, date(2025, 10, 17), 5, date(2025, 10, 27), "Diwali 2025, delay"),
        (US, date(2025, 10, 17), 5, date(2025, 10, 24), "plain week"),
        # Republic Day 2026 falls on a Monday: a long weekend.
        (IN, date(2026, 1, 23), 5, date(2026, 2, 2), "Republic Day long weekend"),
        # Republic Day 2025 falls on a Sunday: nothing extra is lost.
        (IN, date(2025, 1, 24), 1, date(2025, 1, 27), "Republic Day on a Sunday"),
        # DO (15) received the day before U.S. Thanksgiving 2025.
        (US, date(2025, 11, 26), 15, date(2025, 12, 18), "Thanksgiving"),
        # DX (10) across U.S. Christmas and New Year into 2026.
        (US, date(2025, 12, 19), 10, date(2026, 1, 6), "Christmas and New Year"),
        # DO (15) across the Indian year end: Christmas off, 1 January worked.
        (IN, date(2025, 12, 24), 15, date(2026, 1, 15), "Indian year end"),
        # Independence Day 2026 is a Saturday, observed Friday 3 July.
        (US, date(2026, 7, 2), 1, date(2026, 7, 6), "observed holiday"),
        # Receipt on a Saturday: counting starts on Monday.
        (US, date(2025, 11, 29), 1, date(2025, 12, 1), "weekend receipt"),
        # Receipt on a holiday (Christmas 2024, a Wednesday) does not count either.
        (US, date(2024, 12, 25), 1, date(2024, 12, 26), "holiday receipt"),
        # Leap year end: 31 Dec 2024 (Tue) + 2, New Year's Day off.
        (US, date(2024, 12, 31), 2, date(2025, 1, 3), "leap year end"),
        (NONE, date(2025, 12, 24), 3, date(2025, 12, 29), "weekends only"),
        (US, date(2025, 12, 19), 0, date(2025, 12, 19), "zero days"),
    ],
)
def test_add_working_days_hand_cases(calendar: WorkingCalendar, start: date, n: int, expected: date, why: str) -> None:
    assert add_working_days(start, n, calendar) == expected, why
    assert working_days_between(start, expected, calendar) == n, why


def test_holidays_and_weekends_are_not_working_days() -> None:
    assert not IN.is_working_day(date(2025, 10, 20))  # Diwali
    assert not IN.is_working_day(date(2026, 1, 26))  # Republic Day
    assert IN.is_working_day(date(2026, 1, 1))  # not a national holiday in India
    assert not US.is_working_day(date(2025, 11, 27))  # Thanksgiving
    assert not US.is_working_day(date(2026, 1, 1))
    assert US.is_working_day(date(2025, 11, 28))  # the day after Thanksgiving is not federal
    assert not US.is_working_day(date(2025, 12, 27))  # Saturday
    assert IN.holiday(date(2025, 10, 20)) == "Diwali"


def test_admin_closures_and_openings() -> None:
    # Federal offices closed on 24 and 26 December 2025 by order: an admin adds them.
    closed = WorkingCalendar.of("US", [(date(2025, 12, 24), False), (date(2025, 12, 26), False)])
    assert add_working_days(date(2025, 12, 19), 10, closed) == date(2026, 1, 8)
    # A Saturday worked counts.
    opened = WorkingCalendar.of("US", [(date(2025, 12, 27), True)])
    assert add_working_days(date(2025, 12, 19), 10, opened) == date(2026, 1, 5)
    assert is_working_day(date(2025, 12, 27), opened)
    # A holiday opened counts too.
    assert WorkingCalendar.of("IN", [(date(2025, 10, 20), True)]).is_working_day(date(2025, 10, 20))


def test_bad_calendars_and_counts_are_refused() -> None:
    with pytest.raises(CalendarError, match="no public-holiday calendar for country 'XX'"):
        WorkingCalendar.of("XX")
    with pytest.raises(CalendarError, match="both closed and opened"):
        WorkingCalendar.of("US", [(date(2025, 1, 2), True), (date(2025, 1, 2), False)])
    with pytest.raises(CalendarError, match="between 0 and"):
        add_working_days(date(2025, 1, 1), -1, US)
    assert working_days_between(date(2025, 12, 18), date(2025, 11, 26), US) == -15


days = st.dates(min_value=date(2019, 1, 1), max_value=date(2031, 12, 31))


@st.composite
def calendars(draw: st.DrawFn) -> WorkingCalendar:
    country = draw(st.sampled_from(["IN", "US", ""]))
    entries = draw(st.dictionaries(days, st.booleans(), max_size=20))
    return WorkingCalendar.of(country, entries.items())


@settings(max_examples=150, deadline=None)
@given(start=days, n=st.integers(min_value=0, max_value=40), calendar=calendars())
def test_add_working_days_properties(start: date, n: int, calendar: WorkingCalendar) -> None:
    due = add_working_days(start, n, calendar)
    following = add_working_days(start, n + 1, calendar)
    # Monotone, and the result is a working day whenever any day is counted.
    assert following > due >= start
    assert is_working_day(following, calendar)
    if n:
        assert is_working_day(due, calendar)
        # Exactly n working days after the start, the last of them on the due day.
        assert working_days_between(start, due - timedelta(days=1), calendar) == n - 1
    assert working_days_between(start, due, calendar) == n
    # Every day strictly between two consecutive deadlines is a non-working day.
    day = due + timedelta(days=1)
    while day < following:
        assert not is_working_day(day, calendar)
        day += timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(a=days, b=days, calendar=calendars())
def test_working_days_between_is_antisymmetric_and_additive(a: date, b: date, calendar: WorkingCalendar) -> None:
    assert working_days_between(a, b, calendar) == -working_days_between(b, a, calendar)
    middle = min(a, b) + (max(a, b) - min(a, b)) / 2
    low, high = min(a, b), max(a, b)
    assert working_days_between(low, high, calendar) == working_days_between(
        low, middle, calendar
    ) + working_days_between(middle, high, calendar)
