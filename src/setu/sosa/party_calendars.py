"""Each party's working-day calendar as stored: its country's holidays and the days its admins closed or opened."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import AccessDenied, InputError
from setu.models.parties import Party
from setu.models.sosa import CalendarEntry
from setu.sharing.markings import MarkingSpec, store
from setu.sharing.policy import Principal
from setu.sharing.read import count_unfiltered, fetch_visible, readable, unfiltered
from setu.sosa.calendar import WorkingCalendar, known_country
from setu.sosa.common import _party


def calendar_for(session: Session, party_code: str) -> WorkingCalendar:
    """The working-day calendar of ``party_code``: its country's public holidays and its admins' entries.

    The country is the party's ``holiday_country``, or its own code when that is empty and names a
    country the ``holidays`` package knows. Entries are read without a marking filter: deadlines are
    computed for everyone alike, and calendar entries are stored releasable to every party anyway. An
    entry counts only if the party's own admins kept it: made here, or received from the party's instance
    (never one a partner instance sent about another party).

    Parameters
    ----------
    session
        The session to read in.
    party_code
        The party.

    Returns
    -------
    WorkingCalendar
        The calendar.
    """
    party = session.get(Party, party_code)
    country = (party.holiday_country if party is not None else "") or ""
    if not country and known_country(party_code):
        country = party_code
    # Not a user's read: deadlines count the same calendar for everyone (and entries are released to all parties).
    # Only the party's own admins keep its calendar: an entry here, or one received from the party's own instance.
    entries = session.execute(
        unfiltered(CalendarEntry.day, CalendarEntry.working).where(
            CalendarEntry.party_code == party_code,
            or_(CalendarEntry.received_from.is_(None), CalendarEntry.received_from == party_code),
        )
    ).all()
    return WorkingCalendar.of(country, [(day, working) for day, working in entries])


def list_calendar_entries(
    session: Session, principal: Principal, party_code: str, *, year: int | None = None
) -> list[CalendarEntry]:
    """The visible calendar entries of a party, by day (optionally of one year).

    Raises
    ------
    setu.errors.InputError
        If there is no such party.
    """
    party = _party(party_code, session)
    conditions = [CalendarEntry.party_code == party.code]
    if year is not None:
        conditions += [CalendarEntry.day >= date(year, 1, 1), CalendarEntry.day <= date(year, 12, 31)]
    rows = session.scalars(readable(principal, CalendarEntry).where(*conditions).order_by(CalendarEntry.day)).all()
    record(session, principal, "calendar.read", "party", party.code, details={"entries": len(rows)})
    return list(rows)


def may_keep_calendar(principal: Principal, party: str) -> bool:
    """Whether ``principal`` may change ``party``'s calendar: an admin of that party (what the writes below check)."""
    return "admin" in principal.roles and principal.party == party


def _require_party_admin(session: Session, principal: Principal, action: str, party: str) -> None:
    if not may_keep_calendar(principal, party):
        error = AccessDenied(f"only an admin of party {party} may change its calendar")
        record(session, principal, action, "party", party, decision="deny", details={"reason": "role"})
        session.commit()
        raise error


def add_calendar_entry(
    session: Session, principal: Principal, party_code: str, day: date, *, name: str = "", working: bool = False
) -> CalendarEntry:
    """Add a day to a party's calendar: non-working (a closure) or, with ``working``, a working one.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        An admin of that party.
    party_code
        The party.
    day
        The day.
    name
        What it is (e.g. "Ministry closed").
    working
        True to make a weekend or holiday a working day; False to make a day non-working.

    Returns
    -------
    CalendarEntry
        The stored entry (releasable to every party: the other side's deadlines depend on it).

    Raises
    ------
    AccessDenied
        If the user is not an admin of the party (audited).
    setu.errors.InputError
        If there is no such party, or the party already has an entry that day.
    """
    party = _party(party_code, session)
    _require_party_admin(session, principal, "calendar.add", party.code)
    if len(name) > 200:
        raise InputError(f"at most 200 characters, got {len(name)}", "name")
    # A uniqueness check before the write: an entry the admin could not see would still take the day.
    taken = count_unfiltered(session, CalendarEntry, CalendarEntry.party_code == party.code, CalendarEntry.day == day)
    if taken:
        raise InputError(
            f"party {party.code} already has a calendar entry on {day.isoformat()}; remove it first", "day"
        )
    everyone = frozenset(session.scalars(select(Party.code)))
    entry = CalendarEntry(
        party_code=party.code,
        day=day,
        name=name.strip(),
        working=working,
        created_by=principal.user_id,
        marking_id=store(session, MarkingSpec(0, party.code, everyone)).id,
    )
    session.add(entry)
    session.flush()
    record(
        session,
        principal,
        "calendar.add",
        "calendar_entry",
        entry.id,
        details={"party": party.code, "day": day.isoformat(), "working": working, "name": entry.name},
    )
    return entry


def remove_calendar_entry(session: Session, principal: Principal, party_code: str, entry_id: int) -> None:
    """Remove one entry from a party's calendar (an admin of that party; audited).

    Raises
    ------
    AccessDenied
        If the user is not an admin of the party.
    NotFound
        If the party has no such entry the user may see.
    """
    party = _party(party_code, session)
    _require_party_admin(session, principal, "calendar.remove", party.code)
    entry = fetch_visible(
        session,
        principal,
        CalendarEntry,
        [CalendarEntry.id == entry_id, CalendarEntry.party_code == party.code],
        action="calendar.remove",
        kind="calendar entry",
        key=entry_id,
        audit_permit=False,
    )
    details = {"party": party.code, "day": entry.day.isoformat(), "working": entry.working, "name": entry.name}
    session.delete(entry)
    session.flush()
    record(session, principal, "calendar.remove", "calendar_entry", entry_id, details=details)
