"""Meetings of the framework's bodies and the decisions taken at them."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from setu.errors import InputError
from setu.framework.common import (
    check_marking,
    inherited,
    linked,
    listed,
    read_one,
    require_writer,
    text_problems,
    write_record,
)
from setu.models.framework import Body, Decision, Meeting
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal


def create_meeting(
    session: Session,
    principal: Principal,
    *,
    body_id: int,
    held_on: date,
    marking: MarkingSpec,
    title: str = "",
    location: str = "",
    summary: str = "",
) -> Meeting:
    """Record a meeting of a body the writer may see.

    Returns
    -------
    Meeting
        The stored meeting.

    Raises
    ------
    AccessDenied, MarkingError, InputError, NotFound
        As for :func:`create_body`.
    """
    action = "framework.meeting.create"
    require_writer(session, principal, action)
    problems = text_problems({"title": title, "location": location, "summary": summary})
    if problems:
        raise InputError(problems)
    marking = inherited(principal, marking, [linked(session, principal, Body, body_id, action, "body")])
    check_marking(session, principal, marking, action, body_id)
    row = Meeting(body_id=body_id, held_on=held_on, title=title, location=location, summary=summary)
    write_record(
        session, principal, row, marking, action, "meeting", {"body_id": body_id, "held_on": held_on.isoformat()}
    )
    return row


def list_meetings(
    session: Session, principal: Principal, *, body_id: int | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[Meeting], int]:
    """Visible meetings, newest first; ``body_id`` lists one body's."""
    conditions = [Meeting.body_id == body_id] if body_id is not None else []
    return listed(session, principal, Meeting, conditions, [Meeting.held_on.desc(), Meeting.id.desc()], offset, limit)


def get_meeting(session: Session, principal: Principal, meeting_id: int) -> Meeting:
    """One meeting, or :class:`NotFound` (hidden and missing alike; audited)."""
    return read_one(session, principal, Meeting, meeting_id, "meeting")


def create_decision(
    session: Session, principal: Principal, *, meeting_id: int, text: str, marking: MarkingSpec
) -> Decision:
    """Record a decision taken at a meeting the writer may see.

    Returns
    -------
    Decision
        The stored decision.

    Raises
    ------
    AccessDenied, MarkingError, InputError, NotFound
        As for :func:`create_body`.
    """
    action = "framework.decision.create"
    require_writer(session, principal, action)
    problems = text_problems({"text": text}, ("text",))
    if problems:
        raise InputError(problems)
    marking = inherited(principal, marking, [linked(session, principal, Meeting, meeting_id, action, "meeting")])
    check_marking(session, principal, marking, action, meeting_id)
    row = Decision(meeting_id=meeting_id, text=text)
    write_record(session, principal, row, marking, action, "decision", {"meeting_id": meeting_id})
    return row


def list_decisions(
    session: Session, principal: Principal, *, meeting_id: int | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[Decision], int]:
    """Visible decisions in the order recorded; ``meeting_id`` lists one meeting's."""
    conditions = [Decision.meeting_id == meeting_id] if meeting_id is not None else []
    return listed(session, principal, Decision, conditions, [Decision.id], offset, limit)


def get_decision(session: Session, principal: Principal, decision_id: int) -> Decision:
    """One decision, or :class:`NotFound` (hidden and missing alike; audited)."""
    return read_one(session, principal, Decision, decision_id, "decision")
