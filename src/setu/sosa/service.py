"""The SoSA services in one place, for endpoints, pages, the CLI and the demo; each is defined in its section's module.

- :mod:`setu.sosa.common`: the editable fields, today, refusals audited, the row lock and the version check;
- :mod:`setu.sosa.party_calendars`: each party's working-day calendar and its admins' entries;
- :mod:`setu.sosa.links`: links to networks, nodes, scenarios, firms and sites, and the marking against theirs;
- :mod:`setu.sosa.drafts`: drafting a request and editing a draft;
- :mod:`setu.sosa.transitions`: taking an action, with its deadlines, event and audit entry;
- :mod:`setu.sosa.federated`: where an action is taken when each party runs its own instance;
- :mod:`setu.sosa.reads`: requests, their history and who acted, and the firms a request may go to.

Every read filters by marking in SQL (through :mod:`setu.sharing.read`); a request a user may not see is
answered exactly as a missing one. Every write happens in the caller's transaction together with its
audit entry (and, for a transition, its :class:`~setu.models.sosa.RequestEvent`), and the caller commits.
"""

from __future__ import annotations

from setu.errors import NotFound
from setu.sosa.common import EDITABLE, RequestConflict, today_utc
from setu.sosa.drafts import create_request, may_draft, update_draft
from setu.sosa.federated import held_elsewhere
from setu.sosa.party_calendars import (
    add_calendar_entry,
    calendar_for,
    list_calendar_entries,
    may_keep_calendar,
    remove_calendar_entry,
)
from setu.sosa.reads import (
    actions_for,
    actor_names,
    get_request,
    is_overdue,
    list_requests,
    network_name,
    overdue_condition,
    overdue_requests,
    request_history,
    supplier_firms,
)
from setu.sosa.transitions import transition
from setu.sosa.workflow import WorkflowError

__all__ = [
    "EDITABLE",
    "NotFound",
    "RequestConflict",
    "WorkflowError",
    "actions_for",
    "actor_names",
    "add_calendar_entry",
    "calendar_for",
    "create_request",
    "get_request",
    "held_elsewhere",
    "is_overdue",
    "list_calendar_entries",
    "list_requests",
    "may_draft",
    "may_keep_calendar",
    "network_name",
    "overdue_condition",
    "overdue_requests",
    "remove_calendar_entry",
    "request_history",
    "supplier_firms",
    "today_utc",
    "transition",
    "update_draft",
]
