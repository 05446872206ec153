"""What the framework pages' forms post: the fields as typed, parsed into ids and dates, with a message per field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Form

from setu.errors import InputError, MarkingError, NotFound, Problem
from setu.schemas import MAX_ID
from setu.sharing.markings import LEVEL_OF, MarkingSpec
from setu.sharing.requested import requested_marking
from setu.web.shell import Page

Id = Annotated[str, Form(max_length=12)]
Day = Annotated[str, Form(max_length=32)]
Status = Annotated[str, Form(max_length=32)]
Owner = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=300)]
LongText = Annotated[str, Form(max_length=20000)]


def record_id(value: int) -> bool:
    """Whether a path id can name a stored record (larger ones would overflow the database's integers)."""
    return 1 <= value <= MAX_ID


def optional_id(name: str, text: str, problems: list[Problem]) -> int | None:
    """The id chosen in field ``name``, or None when left empty; anything else is a problem of that field."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit() and len(text) <= 10 and record_id(int(text)):
        return int(text)
    problems.append(Problem(name, f"expected a choice from the list, got {text!r}"))
    return None


def parse_day(name: str, text: str, problems: list[Problem], required: bool = True) -> date | None:
    """The date entered in field ``name`` (YYYY-MM-DD), or None with a problem when it is not one."""
    text = text.strip()
    if not text:
        if required:
            problems.append(Problem(name, "enter a date"))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Problem(name, f"expected a date YYYY-MM-DD, got {text!r}"))
        return None


def field_errors(problems: Sequence[Problem]) -> dict[str, list[str]]:
    """Problems by form field (``body.due_on`` is the field ``due_on``)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        name = problem.where.removeprefix("body.").split(".")[0] or "form"
        errors.setdefault(name, []).append(problem.message)
    return errors


def refusal(exc: Exception) -> tuple[list[Problem], int]:
    """The problems to show for a refused write, and the status that goes with them."""
    if isinstance(exc, InputError):
        return exc.problems, 422
    if isinstance(exc, MarkingError):
        return [Problem("classification", str(exc))], 403
    if isinstance(exc, NotFound):
        # A hidden link reads like a missing one; the form names the field it came from.
        return [Problem(f"{exc.kind}_id", f"{exc}: choose one from the list")], 422
    raise exc


# --- marking fields -----------------------------------------------------------------------------------


@dataclass(slots=True)
class MarkingForm:
    """The marking fields of a form: classification, the parties released to, national only."""

    classification: str = "RESTRICTED"
    releases: list[str] = field(default_factory=list)
    national_only: bool = False

    def spec(self, page: Page) -> MarkingSpec:
        """The marking asked for, checked like an upload's (the writer's party is its origin).

        Raises
        ------
        InputError
            An unknown classification or party.
        """
        if self.classification not in LEVEL_OF:
            raise InputError(f"choose a classification, got {self.classification!r}", "classification")
        return requested_marking(
            page.session,
            page.principal,
            classification=self.classification,
            releases=self.releases or None,
            national_only=self.national_only,
            groups=None,
            owners=None,
        )


def posted_marking(
    classification: Annotated[str, Form(max_length=16)] = "",
    releases: Annotated[list[str] | None, Form(max_length=8)] = None,
    national_only: Annotated[str, Form(max_length=8)] = "",
) -> MarkingForm:
    """The marking fields of a posted form, as chosen."""
    return MarkingForm(classification, releases or [], national_only == "on")


PostedMarking = Annotated[MarkingForm, Depends(posted_marking)]


# --- meetings and decisions ---------------------------------------------------------------------------


@dataclass(slots=True)
class MeetingForm:
    """What a writer entered on the meeting form."""

    body_id: str = ""
    held_on: str = ""
    title: str = ""
    location: str = ""
    summary: str = ""
    marking: MarkingForm = field(default_factory=MarkingForm)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def body_and_day(self) -> tuple[int, date]:
        """The body that met and the day it met.

        Raises
        ------
        InputError
            No body chosen, or no valid date, each naming its field.
        """
        problems: list[Problem] = []
        body = optional_id("body_id", self.body_id, problems)
        day = parse_day("held_on", self.held_on, problems)
        if body is None and not problems:
            problems.append(Problem("body_id", "choose the body that met"))
        if problems or body is None or day is None:
            raise InputError(problems)
        return body, day


def posted_meeting(
    marking: PostedMarking,
    body_id: Id = "",
    held_on: Day = "",
    title: Text = "",
    location: Annotated[str, Form(max_length=200)] = "",
    summary: LongText = "",
) -> MeetingForm:
    """The fields of a posted meeting form, as typed."""
    return MeetingForm(body_id, held_on, title, location, summary, marking)


@dataclass(slots=True)
class DecisionForm:
    """What a writer entered on a meeting's decision form."""

    text: str = ""
    marking: MarkingForm = field(default_factory=MarkingForm)


def posted_decision(marking: PostedMarking, text: LongText = "") -> DecisionForm:
    """The fields of a posted decision form, as typed."""
    return DecisionForm(text, marking)


# --- action items -------------------------------------------------------------------------------------


@dataclass(slots=True)
class ActionForm:
    """What a writer entered on the new action form."""

    title: str = ""
    due_on: str = ""
    status: str = "open"
    body_id: str = ""
    pillar_id: str = ""
    meeting_id: str = ""
    decision_id: str = ""
    owner: str = ""
    notes: str = ""
    marking: MarkingForm = field(default_factory=MarkingForm)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def links_and_due(self) -> tuple[dict[str, int | None], date]:
        """The chosen body, pillar, meeting and decision ids by field name, and the due date.

        Raises
        ------
        InputError
            A link that is no choice from the list, or no valid due date, each naming its field.
        """
        problems: list[Problem] = []
        links = {
            name: optional_id(name, value, problems)
            for name, value in (
                ("body_id", self.body_id),
                ("pillar_id", self.pillar_id),
                ("meeting_id", self.meeting_id),
                ("decision_id", self.decision_id),
            )
        }
        day = parse_day("due_on", self.due_on, problems)
        if problems or day is None:
            raise InputError(problems)
        return links, day


def posted_action(
    marking: PostedMarking,
    title: Text = "",
    due_on: Day = "",
    status: Status = "open",
    body_id: Id = "",
    pillar_id: Id = "",
    meeting_id: Id = "",
    decision_id: Id = "",
    owner: Owner = "",
    notes: LongText = "",
) -> ActionForm:
    """The fields of a posted new action form, as typed."""
    return ActionForm(title, due_on, status, body_id, pillar_id, meeting_id, decision_id, owner, notes, marking)


@dataclass(slots=True)
class ChangeForm:
    """What a writer entered on an action item's change form, with the version the page was loaded at."""

    version: str = ""
    status: str = ""
    due_on: str = ""
    title: str = ""
    owner: str = ""
    notes: str = ""

    def entered(self) -> dict[str, str]:
        """The changeable fields as typed, to show the form again."""
        return {
            "status": self.status,
            "due_on": self.due_on,
            "title": self.title,
            "owner": self.owner,
            "notes": self.notes,
        }

    def parsed(self, problems: list[Problem]) -> tuple[int, date | None]:
        """The version and the new due date (None: unchanged); what does not parse is added to ``problems``."""
        day = parse_day("due_on", self.due_on, problems, required=False)
        if not (self.version.isdigit() and len(self.version) <= 10):
            problems.append(Problem("version", f"expected the version the page was loaded at, got {self.version!r}"))
            return 0, day
        return int(self.version), day

    def changes(self) -> dict[str, Any]:
        """The texts and status for the service: status None when not chosen, texts trimmed."""
        return {
            "status": self.status or None,
            "title": self.title.strip(),
            "owner": self.owner.strip(),
            "notes": self.notes.strip(),
        }


def posted_change(
    version: Annotated[str, Form(max_length=12)] = "",
    status: Status = "",
    due_on: Day = "",
    title: Text = "",
    owner: Owner = "",
    notes: LongText = "",
) -> ChangeForm:
    """The fields of a posted change form, as typed."""
    return ChangeForm(version, status, due_on, title, owner, notes)
