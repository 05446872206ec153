"""Due dates of action items as an iCalendar (RFC 5545) file, built with the ``icalendar`` package.

Each visible action item is one all-day VEVENT on its due date. Its UID is fixed by the item's
id, so re-importing a later export updates the same event rather than adding a copy. The item's
marking banner opens the DESCRIPTION (and is repeated in ``X-SETU-MARKING``), so information stays
marked once it sits in somebody's calendar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vText
from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.framework.actions import all_actions
from setu.framework.common import action_labels, owner_text
from setu.models.framework import ActionItem
from setu.sharing.markings import LEVELS, MarkingSpec, combine, owner_names
from setu.sharing.policy import Principal

PRODID = "-//Setu//Framework action items//EN"
UID_DOMAIN = "framework.setu"
# VEVENT knows TENTATIVE, CONFIRMED and CANCELLED only (COMPLETED is a VTODO property): a done item
# stays CONFIRMED and its completion date is written in the description and X-SETU-COMPLETED.
EVENT_STATUS = {"open": "CONFIRMED", "in_progress": "CONFIRMED", "done": "CONFIRMED", "cancelled": "CANCELLED"}
STATUS_WORDS = {"open": "open", "in_progress": "in progress", "done": "done", "cancelled": "cancelled"}


@dataclass(frozen=True)
class CalendarItem:
    """What one VEVENT shows of an action item (names already reduced to what the reader may see)."""

    id: int
    title: str
    owner: str
    due_on: date
    status: str
    completed_on: date | None
    body: str
    pillar: str
    banner: str
    notes: str
    updated_at: datetime


@dataclass(frozen=True)
class CalendarExport:
    """An exported calendar: the file, how many items it holds, and the banner of them all."""

    content: bytes
    items: int
    banner: str


def uid(action_id: int) -> str:
    """The stable UID of an action item's event."""
    return f"action-{action_id}@{UID_DOMAIN}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _Text(vText):
    """TEXT escaped by RFC 5545 alone (3.3.11).

    ``vText`` first turns a literal backslash-N in the value into a line break, so a title typed as
    ``C:\\Notes`` would come back from a calendar as two lines. Here every backslash is escaped first.
    """

    def to_ical(self) -> bytes:
        escaped = str(self).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
        return escaped.encode(self.encoding)  # type: ignore[attr-defined]  # set by vText.__new__


def _text(component: Calendar | Event, name: str, value: str) -> None:
    """Add a text property of our own; VALUE=TEXT tells readers to unescape it (``\\,`` back to ``,``)."""
    component.add(name, _Text(value), parameters={"VALUE": "TEXT"})


def event_of(item: CalendarItem) -> Event:
    """One all-day VEVENT for ``item``.

    Parameters
    ----------
    item
        The action item as shown.

    Returns
    -------
    Event
        UID, DTSTAMP (the item's last change), DTSTART/DTEND (the due date, all day), SUMMARY
        (title and owner), DESCRIPTION (marking banner first, then status, body, pillar, notes),
        STATUS, CATEGORIES and the Setu properties ``X-SETU-MARKING``, ``X-SETU-STATUS`` and, once
        done, ``X-SETU-COMPLETED``.
    """
    event = Event()
    event.add("uid", uid(item.id))
    # DTSTAMP of an event published without METHOD is when its information last changed (RFC 5545
    # 3.8.7.2); it also keeps two exports of unchanged items byte-identical.
    event.add("dtstamp", _utc(item.updated_at))
    event.add("dtstart", item.due_on)
    event.add("dtend", item.due_on + timedelta(days=1))
    event.add("summary", _Text(f"{item.title} ({item.owner})"))
    lines = [item.banner, f"Status: {STATUS_WORDS.get(item.status, item.status)}"]
    if item.completed_on is not None:
        lines.append(f"Completed: {item.completed_on.isoformat()}")
    lines.append(f"Owner: {item.owner}")
    if item.body:
        lines.append(f"Body: {item.body}")
    if item.pillar:
        lines.append(f"Pillar: {item.pillar}")
    if item.notes:
        lines.extend(["", item.notes])
    event.add("description", _Text("\n".join(lines)))
    event.add("status", EVENT_STATUS.get(item.status, "CONFIRMED"))
    event.add("categories", ["Setu action item", STATUS_WORDS.get(item.status, item.status)])
    event.add("transp", "TRANSPARENT")
    _text(event, "x-setu-marking", item.banner)
    _text(event, "x-setu-status", item.status)
    if item.completed_on is not None:
        _text(event, "x-setu-completed", item.completed_on.isoformat())
    return event


def build_calendar(items: Sequence[CalendarItem], *, name: str, banner: str) -> Calendar:
    """A calendar of ``items`` whose name and description carry ``banner`` (the most restrictive marking).

    Parameters
    ----------
    items
        The action items.
    name
        The calendar's display name.
    banner
        The banner of the whole file.

    Returns
    -------
    Calendar
        VERSION 2.0, PRODID, X-WR-CALNAME, X-WR-CALDESC and one VEVENT per item.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    _text(calendar, "x-wr-calname", f"{name} [{banner}]")
    _text(calendar, "x-wr-caldesc", f"{banner}\nDue dates of framework action items exported from Setu.")
    _text(calendar, "x-setu-marking", banner)
    for item in items:
        calendar.add_component(event_of(item))
    return calendar


def calendar_items(session: Session, principal: Principal, actions: Sequence[ActionItem]) -> list[CalendarItem]:
    """``actions`` as :class:`CalendarItem`, names of linked records only where ``principal`` sees them."""
    names = action_labels(session, principal, actions)
    specs = {a.marking_id: MarkingSpec.of(a.marking) for a in actions}
    owners = owner_names(session, specs.values())
    return [
        CalendarItem(
            id=a.id,
            title=a.title,
            owner=owner_text(a, names),
            due_on=a.due_on,
            status=a.status,
            completed_on=a.completed_on,
            body=names.bodies.get(a.body_id, "") if a.body_id is not None else "",
            pillar=names.pillars.get(a.pillar_id, "") if a.pillar_id is not None else "",
            banner=specs[a.marking_id].banner(owners),
            notes=a.notes,
            updated_at=a.updated_at,
        )
        for a in actions
    ]


def export_actions(
    session: Session, principal: Principal, *, statuses: Sequence[str] = (), actor_name: str = ""
) -> CalendarExport:
    """The due dates of every action item ``principal`` may see, as an ``.ics`` file (audited).

    Parameters
    ----------
    session
        The caller's session; the audit entry is written in it and the caller commits.
    principal
        The reader; only items visible to them are exported (filtered in SQL).
    statuses
        Only items with these statuses (empty: all, cancelled ones marked CANCELLED).
    actor_name
        The name to audit the export under (operator tools acting as a user).

    Returns
    -------
    CalendarExport
        The file, its item count and its banner.
    """
    actions = all_actions(session, principal, statuses=statuses)
    specs = {a.marking_id: MarkingSpec.of(a.marking) for a in actions}
    combined = combine(specs.values(), principal.party) if specs else None
    banner = combined.banner(owner_names(session, [combined])) if combined is not None else LEVELS[0]
    calendar = build_calendar(calendar_items(session, principal, actions), name="Setu action items", banner=banner)
    record(
        session,
        principal,
        "framework.actions.ics",
        "action",
        "",
        actor_name=actor_name,
        details={"items": len(actions), "statuses": list(statuses), "banner": banner},
    )
    return CalendarExport(calendar.to_ical(), len(actions), banner)
