"""The audit viewer (auditor role): entries, checkpoints and the verify action."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from setu.accounts.lookups import list_users
from setu.audit import service
from setu.audit.checkpoints import verify_signature
from setu.audit.entries import ENTRY_VALUE_FIELDS, entry_values, recent_entries
from setu.audit.log import record
from setu.audit.verify import VerifyResult
from setu.deps import StateDep
from setu.errors import AccessDenied, InputError
from setu.web.shell import PAGE_SIZE, FormPageDep, Page, PageDep

router = APIRouter(prefix="/audit", include_in_schema=False)

AUDITORS_ONLY = "The audit log is open to auditors only."

CHECKPOINTS_SHOWN = 10
PROBLEMS_SHOWN = 50
DECISIONS = ("permit", "deny")
SCOPES = {"party": "My party's entries", "system": "System entries (no party: failed logins, operator tools)"}
# Column widths of the audit log: a longer filter cannot match anything.
_WIDTHS = {"action": 64, "actor": 200, "object_type": 64}


@dataclass(frozen=True, slots=True)
class EntryFilters:
    """The entry list's filters, as the query string gives them."""

    scope: str = "party"
    action: str = ""
    actor: str = ""
    object_type: str = ""
    decision: str = ""
    page: int = 1

    def query(self, page: int) -> str:
        """The query string of page ``page`` under the same filters."""
        values = {k: v for k, v in asdict(self).items() if v and k != "page"}
        return urlencode({**values, "page": page})


def _time(at: str) -> str:
    """A canonical entry time, to the second, as people read it."""
    return at[:19].replace("T", " ") + " UTC"


def _details(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=1, sort_keys=True)
    except ValueError:
        return text


def _signature_status(public_key: bytes, signed_text: str, signature: bytes) -> str:
    if not public_key:
        return "unknown key"
    return "verifies" if verify_signature(public_key, signed_text.encode("ascii"), signature) else "does not verify"


def _checkpoints(page: Page) -> list[dict[str, Any]]:
    """The newest checkpoints, newest first, each signature checked against its stored public key."""
    latest = service.latest_checkpoint(page.session, page.principal)
    if latest is None:
        return []
    start = max(0, latest.id - CHECKPOINTS_SHOWN + 1)
    views = service.list_checkpoints(page.session, page.principal, start=start, limit=CHECKPOINTS_SHOWN)
    return [
        {
            "id": view.id,
            "party": view.party,
            "tree_size": view.tree_size,
            "root_hash": view.root_hash.hex(),
            "issued_at": _time(view.issued_at),
            "key_id": view.key_id,
            "status": _signature_status(view.public_key, view.signed_text, view.signature),
            "countersignatures": [
                {
                    "party": counter.party,
                    "key_id": counter.key_id,
                    "signed_at": _time(counter.signed_at),
                    "status": _signature_status(counter.public_key, view.signed_text, counter.signature),
                }
                for counter in view.countersignatures
            ],
        }
        for view in reversed(views)
    ]


def _verification(result: VerifyResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "entries": result.entries,
        "checkpoints": result.checkpoints,
        "countersigned": result.countersigned,
        "root_hash": result.root_hash.hex(),
        "first": result.first.message if result.first else "",
        # As the CLI: a checkpoint problem listed first still points at the first bad entry.
        "points_at": result.first_bad_seq if result.first and result.first.seq is None else None,
        "problems": [
            {"seq": p.seq, "checkpoint": p.checkpoint_id, "kind": p.kind, "message": p.message}
            for p in result.problems[:PROBLEMS_SHOWN]
        ],
        "problem_total": len(result.problems),
        "pinned": result.pinned,
        "held": result.held_checkpoints,
        "uncovered": result.uncovered,
        "unwitnessed": result.unwitnessed,
        "trust": result.trust(),
    }


def _render(
    request: Request,
    page: Page,
    filters: EntryFilters,
    *,
    verification: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The viewer: the entries the API lets this auditor see, the newest checkpoints, a verification result.

    The checkpoints are read first: their service refuses anyone but an auditor (audited), before any
    other read for the page.
    """
    session = page.session
    principal = page.principal
    checkpoints = _checkpoints(page)
    usernames = {user.id: user.username for user in list_users(session, principal)}
    ids = {name.casefold(): user_id for user_id, name in usernames.items()}
    actor_id = ids.get(filters.actor.casefold()) if filters.actor else None
    offset = (filters.page - 1) * PAGE_SIZE
    entries, total = recent_entries(
        session,
        principal,
        scope=filters.scope,
        offset=offset,
        limit=PAGE_SIZE,
        action=filters.action or None,
        actor=filters.actor if filters.actor and actor_id is None else None,
        actor_id=actor_id,
        object_type=filters.object_type or None,
        decision=filters.decision or None,
    )
    rows = [
        {
            "seq": entry["seq"],
            "time": _time(entry["at"]),
            "actor": entry["actor"],
            "username": usernames.get(entry["actor_id"], "") if entry["actor_id"] is not None else "",
            "action": entry["action"],
            "object_type": entry["object_type"],
            "object_id": entry["object_id"],
            "decision": entry["decision"],
            "details": _details(entry["details"]),
        }
        for entry in entries
    ]
    suggestions = {field: entry_values(session, principal, field, scope=filters.scope) for field in ENTRY_VALUE_FIELDS}
    # Reading the log is itself audited, after the read, as the API does.
    record(
        session,
        principal,
        "audit.read",
        "audit",
        "viewer",
        details={
            "scope": filters.scope,
            "offset": offset,
            "entries": len(rows),
            "checkpoints": len(checkpoints),
            "filters": {k: v for k, v in asdict(filters).items() if v and k not in ("scope", "page")},
        },
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return page.render(
        request,
        "audit/log.html",
        filters=filters,
        scopes=SCOPES,
        decisions=DECISIONS,
        suggestions=suggestions,
        actor_names=sorted(usernames.values()),
        entries=rows,
        total=total,
        first=offset + 1 if rows else 0,
        last=offset + len(rows),
        page=filters.page,
        pages=pages,
        prev_query=filters.query(filters.page - 1),
        next_query=filters.query(filters.page + 1),
        checkpoints=checkpoints,
        verification=verification,
        pins_configured=bool(os.environ.get(service.PINNED_KEYS_ENV) or os.environ.get(service.PINNED_CHECKPOINTS_ENV)),
    )


@router.get("", response_class=HTMLResponse)
def audit_page(
    request: Request,
    page: PageDep,
    scope: str = "party",
    action: str = "",
    actor: str = "",
    object_type: str = "",
    decision: str = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The audit log for auditors: entries newest first (filtered, paged) and the newest checkpoints."""
    filters = EntryFilters(
        scope=scope if scope in SCOPES else "party",
        action=action.strip()[: _WIDTHS["action"]],
        actor=actor.strip()[: _WIDTHS["actor"]],
        object_type=object_type.strip()[: _WIDTHS["object_type"]],
        decision=decision if decision in DECISIONS else "",
        page=page_number,
    )
    try:
        return _render(request, page, filters)
    except AccessDenied:
        return page.forbidden(request, AUDITORS_ONLY)


MAX_PIN_FILE = 16 * 1024 * 1024  # a checkpoint file grows by ~1 KB a checkpoint


def _read_pin(upload: UploadFile | None) -> bytes | None:
    if upload is None or not upload.filename:
        return None
    content = upload.file.read(MAX_PIN_FILE + 1)
    if len(content) > MAX_PIN_FILE:
        raise InputError(f"{upload.filename} is larger than {MAX_PIN_FILE // (1024 * 1024)} MiB")
    return content or None


@router.post("/verify", response_class=HTMLResponse)
def verify_page(
    request: Request,
    page: FormPageDep,
    state: StateDep,
    keys: Annotated[UploadFile | None, File()] = None,
    checkpoint: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Verify the whole log as ``setu audit verify --keys --checkpoint`` does, and show the result above the viewer.

    The pins are the files the auditor uploads; where one is not uploaded, the file the server's
    settings name (``SETU_AUDIT_PINNED_KEYS``, ``SETU_AUDIT_PINNED_CHECKPOINTS``) if any. The result
    says whether it rests on pins or on the database alone.
    """
    try:
        try:
            pins = service.Pins.parse(_read_pin(keys), _read_pin(checkpoint)).merged(service.Pins.configured())
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise InputError(f"a pinned file could not be read: {exc}") from None
        with state.sessions() as snapshot:
            result = service.verify_for_auditor(page.session, page.principal, snapshot, pins)
        return _render(request, page, EntryFilters(), verification=_verification(result))
    except AccessDenied:
        return page.forbidden(request, AUDITORS_ONLY)


@router.get("/checkpoints.json")
def checkpoints_download(page: PageDep, request: Request) -> Response:
    """Every signed checkpoint, as the file an auditor keeps and uploads at the next check (auditors)."""
    try:
        document = service.export_checkpoints(page.session, page.principal)
    except AccessDenied:
        return page.forbidden(request, AUDITORS_ONLY)
    page.session.commit()
    return JSONResponse(document, headers={"Content-Disposition": 'attachment; filename="setu-checkpoints.json"'})
