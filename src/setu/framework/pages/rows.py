"""What the framework pages show of records: action item rows, linked names, the marking form's choices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from setu.framework.common import action_labels, days_overdue, is_overdue, owner_text
from setu.framework.forms import MarkingForm
from setu.models.framework import ActionItem
from setu.sharing.markings import LEVELS
from setu.sharing.requested import release_parties
from setu.web.shell import Page

ICS_URL = "/api/v1/framework/actions.ics"
"""The API's calendar export; the session cookie authenticates it, so the page links to it directly."""
STATUS_WORDS = {"open": "open", "in_progress": "in progress", "done": "done", "cancelled": "cancelled"}
OVERVIEW_MEETINGS = 100
"""Most recent meetings listed under their bodies on the overview."""


def name_of(names: Mapping[int, str], pk: int | None) -> str | None:
    """A linked record's name, or None when there is no link or the reader may not see its target."""
    return names.get(pk) if pk is not None else None


def action_rows(page: Page, actions: Sequence[ActionItem], today: date) -> list[dict[str, Any]]:
    """Action items as the tables show them: linked names only where visible, each item labelled."""
    names = action_labels(page.session, page.principal, actions)
    rows = []
    for action in actions:
        late = is_overdue(action.status, action.due_on, today)
        rows.append(
            {
                "record": action,
                "status": STATUS_WORDS.get(action.status, action.status),
                "owner": owner_text(action, names),
                "body": name_of(names.bodies, action.body_id),
                "pillar": name_of(names.pillars, action.pillar_id),
                "meeting": name_of(names.meetings, action.meeting_id),
                "decision": name_of(names.decisions, action.decision_id),
                "overdue": late,
                "days": days_overdue(action.due_on, today) if late else 0,
                "marking": page.label(action),
            }
        )
    return rows


def marking_choices(page: Page, form: MarkingForm) -> dict[str, Any]:
    """The classifications the writer holds and the parties records can be released to."""
    return {
        "levels": [name for level, name in LEVELS.items() if level <= page.principal.clearance],
        "parties": release_parties(page.session),
        "marking_form": form,
        "own_party": page.principal.party,
    }
