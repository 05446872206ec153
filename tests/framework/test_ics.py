"""The ICS export read back with icalendar: one all-day event per item, stable UIDs, marked descriptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st
from icalendar import Calendar

from setu.framework.ics import CalendarItem, build_calendar, uid

BANNER = "RESTRICTED // REL TO IN, US"


def _item(**changes: object) -> CalendarItem:
    values: dict[str, object] = {
        "id": 7,
        "title": "Map the Stryker supply chain",
        "owner": "OUSD(P) South Asia",
        "due_on": date(2026, 3, 1),
        "status": "in_progress",
        "completed_on": None,
        "body": "Defence Policy Group",
        "pillar": "Supply-chain integration",
        "banner": BANNER,
        "notes": "Line one;\nline two, with a comma.",
        "updated_at": datetime(2026, 2, 1, 9, 30, tzinfo=UTC),
    }
    values.update(changes)
    return CalendarItem(**values)  # type: ignore[arg-type]


def _parse(content: bytes) -> Calendar:
    return Calendar.from_ical(content)


def test_an_item_round_trips_as_an_all_day_event() -> None:
    calendar = _parse(build_calendar([_item()], name="Setu action items", banner=BANNER).to_ical())
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["X-SETU-MARKING"]) == BANNER
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == uid(7) == "action-7@framework.setu"
    assert event.decoded("DTSTART") == date(2026, 3, 1)
    assert event.decoded("DTEND") == date(2026, 3, 2)
    assert event.decoded("DTSTAMP") == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Map the Stryker supply chain (OUSD(P) South Asia)"
    description = str(event["DESCRIPTION"])
    assert description.splitlines()[0] == BANNER
    assert "Status: in progress" in description and "Body: Defence Policy Group" in description
    assert "Pillar: Supply-chain integration" in description
    assert description.endswith("Line one;\nline two, with a comma.")
    assert str(event["STATUS"]) == "CONFIRMED" and str(event["X-SETU-STATUS"]) == "in_progress"
    assert "X-SETU-COMPLETED" not in event


def test_done_and_cancelled_items() -> None:
    done = _item(id=1, status="done", completed_on=date(2026, 2, 20))
    cancelled = _item(id=2, status="cancelled")
    events = _parse(build_calendar([done, cancelled], name="x", banner=BANNER).to_ical()).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [uid(1), uid(2)]
    assert str(events[0]["X-SETU-COMPLETED"]) == "2026-02-20" and "Completed: 2026-02-20" in str(
        events[0]["DESCRIPTION"]
    )
    assert str(events[1]["STATUS"]) == "CANCELLED"


def test_an_unchanged_item_exports_byte_identical() -> None:
    first = build_calendar([_item()], name="x", banner=BANNER).to_ical()
    assert build_calendar([_item()], name="x", banner=BANNER).to_ical() == first


text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


@given(
    title=text.filter(str.strip),
    owner=text,
    notes=text,
    due=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 30)),
    pk=st.integers(1, 2**31 - 1),
)
# A backslash before N is text, not a line break: icalendar's own escaping read it as one.
@example(title="C:\\Notes", owner="\\N", notes="a\\nb \\N", due=date(2026, 1, 1), pk=1)
def test_any_text_survives_the_round_trip(title: str, owner: str, notes: str, due: date, pk: int) -> None:
    item = _item(id=pk, title=title, owner=owner, notes=notes, due_on=due)
    (event,) = _parse(build_calendar([item], name="x", banner=BANNER).to_ical()).walk("VEVENT")
    assert str(event["UID"]) == uid(pk)
    assert str(event["SUMMARY"]) == f"{title} ({owner})"
    assert str(event["DESCRIPTION"]).startswith(BANNER + "\n")
    assert not notes or str(event["DESCRIPTION"]).endswith("\n" + notes)
    assert event.decoded("DTSTART") == due and event.decoded("DTEND") == due + timedelta(days=1)
