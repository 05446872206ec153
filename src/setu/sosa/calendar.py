"""Working days of one party: weekends, its country's public holidays and the days its admins add or open.

The DPAS clocks run in working days: a supplier accepts or rejects a rated order "within 15 working
days after receipt of a DO rated order and within 10 working days of receipt of a DX rated order"
(15 CFR 700.13(d)(1)), and confirms a notified delay in writing "within five working days"
(15 CFR 700.13(d)(2)). Neither the regulation nor the SoSA defines a working day, so Setu uses:

- a working day is Monday to Friday, not a public holiday of the party's country (the ``holidays``
  package's national list, ``holidays.country_holidays``), and not a day an admin closed; an admin
  may also open a day (a weekend or holiday worked), which then counts;
- "within n working days after receipt": the day of receipt does not count, whatever day it is; the
  deadline is the n-th working day after it, and an answer given on that day is in time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays

MAX_WORKING_DAYS = 3660
"""The most working days one computation may count (about 14 years): more is a mistake, not a deadline."""
WEEKEND = (5, 6)
"""Saturday and Sunday (``date.weekday()``)."""


class CalendarError(ValueError):
    """A calendar asked for something it cannot answer: an unknown country, a count out of range."""


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> dict[date, str]:
    """The public holidays of ``country`` in ``year``, computed once per pair (the package is slow to build)."""
    try:
        found = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        raise CalendarError(f"no public-holiday calendar for country {country!r}") from None
    return dict(found.items())


def known_country(country: str) -> bool:
    """Whether the ``holidays`` package has a calendar for ISO country ``country``.

    Parameters
    ----------
    country
        An ISO 3166-1 alpha-2 code.

    Returns
    -------
    bool
        True if public holidays can be computed for it.
    """
    return country.upper() in holidays.list_supported_countries()


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """The working days of one party.

    Attributes
    ----------
    country
        ISO country whose public holidays are non-working ("" for none: weekends only).
    closed
        Days an admin made non-working (a closure, a holiday the package lacks).
    opened
        Days an admin made working although they fall on a weekend or public holiday.
    """

    country: str = ""
    closed: frozenset[date] = field(default_factory=frozenset)
    opened: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.country and not known_country(self.country):
            raise CalendarError(f"no public-holiday calendar for country {self.country!r}")
        both = self.closed & self.opened
        if both:
            raise CalendarError(f"a day cannot be both closed and opened: {min(both).isoformat()}")

    @classmethod
    def of(cls, country: str, entries: Iterable[tuple[date, bool]] = ()) -> WorkingCalendar:
        """A calendar from a country and admin entries ``(day, working)``.

        Parameters
        ----------
        country
            ISO country of the public holidays ("" for none).
        entries
            Each admin entry: the day and whether it is made working (True) or non-working (False).

        Returns
        -------
        WorkingCalendar
            The calendar.
        """
        entries = list(entries)
        return cls(
            country=country.upper(),
            closed=frozenset(day for day, working in entries if not working),
            opened=frozenset(day for day, working in entries if working),
        )

    def holiday(self, day: date) -> str | None:
        """The name of the public holiday on ``day``, if any (admin entries aside)."""
        if not self.country:
            return None
        return _public_holidays(self.country, day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day (see the module's definition)."""
        return is_working_day(day, self)


def is_working_day(day: date, calendar: WorkingCalendar) -> bool:
    """Whether ``day`` is a working day on ``calendar``.

    Parameters
    ----------
    day
        The day.
    calendar
        The party's calendar.

    Returns
    -------
    bool
        False on weekends, public holidays and closed days, unless an admin opened the day.
    """
    if day in calendar.opened:
        return True
    if day in calendar.closed or day.weekday() in WEEKEND:
        return False
    return calendar.holiday(day) is None


def _check_count(n: int) -> None:
    if not 0 <= n <= MAX_WORKING_DAYS:
        raise CalendarError(f"a count of working days must be between 0 and {MAX_WORKING_DAYS}, got {n}")


def add_working_days(start: date, n: int, calendar: WorkingCalendar) -> date:
    """The ``n``-th working day after ``start``: the deadline of "within n working days after receipt".

    The day of receipt ``start`` never counts, whether or not it is a working day (15 CFR 700.13(d)
    counts "after receipt"); a response on the returned day is in time.

    Parameters
    ----------
    start
        The day of receipt (or of the notice a clock starts from).
    n
        Working days allowed, 0 to :data:`MAX_WORKING_DAYS`; 0 gives ``start`` itself.
    calendar
        The responding party's calendar.

    Returns
    -------
    date
        The deadline; for ``n >= 1`` always a working day.

    Raises
    ------
    CalendarError
        If ``n`` is out of range.
    """
    _check_count(n)
    day = start
    left = n
    while left:
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            left -= 1
    return day


def working_days_between(start: date, end: date, calendar: WorkingCalendar) -> int:
    """How many working days lie after ``start`` up to and including ``end`` (negative if ``end`` is earlier).

    The inverse of :func:`add_working_days`: ``working_days_between(d, add_working_days(d, n, c), c) == n``.

    Parameters
    ----------
    start
        The first day, not counted.
    end
        The last day, counted.
    calendar
        The party's calendar.

    Returns
    -------
    int
        The count; ``-working_days_between(end, start)`` when ``end < start``.

    Raises
    ------
    CalendarError
        If the two days are more than about 14 years apart.
    """
    if end < start:
        return -working_days_between(end, start, calendar)
    if (end - start).days > MAX_WORKING_DAYS * 7 // 5 + 400:
        raise CalendarError(f"{start.isoformat()} and {end.isoformat()} are too far apart to count working days")
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            count += 1
    return count
