"""What every request operation shares: the editable fields, today, refusals audited, the row lock and version check.

A transition locks the request's row (``SELECT ... FOR UPDATE`` on PostgreSQL) and checks the version the
user loaded, so of two users acting on one request at once exactly one succeeds and the other is told it
changed under them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from setu.accounts.errors import AccountError
from setu.accounts.lookups import get_party
from setu.audit.log import record
from setu.errors import Conflict, InputError, SetuError
from setu.models.parties import Party
from setu.models.sosa import PriorityRequest
from setu.sharing.policy import Principal
from setu.sharing.read import deny, readable
from setu.sosa.workflow import Actor, Parties

EDITABLE = (
    "title",
    "rating",
    "program",
    "program_symbol",
    "quantity",
    "unit",
    "delivery_date",
    "justification",
    "authorized_signer",
    "supplier_organization_id",
    "supplier_site",
    "network_id",
    "item_node_id",
    "scenario_pk",
)
"""Fields of a draft its requesting party may set."""


class RequestConflict(Conflict):
    """Someone else changed the request between the user loading it and acting on it (answered 409)."""


def today_utc() -> date:
    """Today's date in UTC: the day deadlines are counted from when no day is given."""
    return datetime.now(UTC).date()


def _actor(principal: Principal) -> Actor:
    return Actor(principal.party, principal.org_id, principal.roles)


def _parties(request: PriorityRequest) -> Parties:
    return Parties(request.requesting_party, request.supplier_party, request.supplier_organization_id)


def _refuse(session: Session, principal: Principal, action: str, request_id: object, error: SetuError) -> SetuError:
    """Audit a refused write, commit the entry (the caller rolls back), and return ``error`` to raise."""
    record(
        session,
        principal,
        action,
        "request",
        str(request_id),
        decision="deny",
        details={"reason": type(error).__name__, "message": str(error)[:500]},
    )
    session.commit()
    return error


def _party(code: str, session: Session, where: str = "party") -> Party:
    try:
        return get_party(session, code)
    except AccountError as exc:
        raise InputError(str(exc), where) from None


def _locked(session: Session, principal: Principal, request_id: int, action: str) -> PriorityRequest:
    """The visible request, its row locked until the transaction ends (PostgreSQL; SQLite serializes writers)."""
    row: PriorityRequest | None = session.scalars(
        readable(principal, PriorityRequest)
        .where(PriorityRequest.id == request_id)
        .with_for_update(of=PriorityRequest)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise deny(session, principal, action, "request", request_id)
    return row


def _check_version(
    session: Session, principal: Principal, request: PriorityRequest, expected: int, action: str
) -> None:
    if request.version != expected:
        error = RequestConflict(
            f"request {request.reference} was changed by someone else since you loaded it "
            f"(you had version {expected}, it is now version {request.version} in state {request.state}); "
            "reload it and try again"
        )
        raise _refuse(session, principal, action, request.id, error)


def _flush(session: Session, request: PriorityRequest) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise RequestConflict(
            f"request {request.reference} was changed by someone else since you loaded it; reload it and try again"
        ) from None
