"""Drafting a request and editing a draft: the requesting party's desk officers, checked links and marking, audited."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from setu.audit.log import record
from setu.errors import AccessDenied, InputError
from setu.models.base import utcnow
from setu.models.sosa import PriorityRequest
from setu.sharing.changes import check_marking_change
from setu.sharing.markings import MarkingSpec, combine, store
from setu.sharing.policy import Principal
from setu.sharing.roles import check_role, has_role
from setu.sosa.common import _actor, _check_version, _flush, _locked, _parties, _party, _refuse, today_utc
from setu.sosa.links import (
    _check_covers,
    _check_links,
    _check_marking,
    _default_marking,
    _link_values,
    _originated,
    _typed,
)
from setu.sosa.workflow import GOVERNMENT_ROLES, TRANSITIONS, WorkflowError, may_act


def may_draft(principal: Principal) -> bool:
    """Whether ``principal`` may draft a request: a desk officer or admin (what :func:`create_request` checks)."""
    return has_role(principal, *GOVERNMENT_ROLES)


def create_request(
    session: Session,
    principal: Principal,
    supplier_party: str,
    values: Mapping[str, Any],
    *,
    marking: MarkingSpec | None = None,
) -> PriorityRequest:
    """Draft a request of the user's party for priority delivery from ``supplier_party``'s industry.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        A desk officer or admin of the requesting party.
    supplier_party
        The other party, whose industry is asked.
    values
        Any of :data:`EDITABLE` (``rating`` defaults to DO).
    marking
        The request's marking (default: releasable to both parties, unclassified or as strict as
        the linked records); the user must be able to read it, and it must be at least as strict as
        every linked record's.

    Returns
    -------
    PriorityRequest
        The draft (flushed, version 1).

    Raises
    ------
    AccessDenied
        If the user is not a desk officer or admin (audited).
    NotFound
        If a linked record is missing or hidden.
    setu.errors.MarkingError
        If the user could not read the marking asked for.
    setu.errors.InputError
        Naming each bad value.
    """
    try:
        check_role(principal, *sorted(GOVERNMENT_ROLES))
    except AccessDenied as exc:
        raise _refuse(session, principal, "sosa.create", "", exc) from None
    supplier = _party(supplier_party, session, "supplier_party").code
    if supplier == principal.party:
        raise InputError(f"a request asks the other party's industry; {supplier} is your own party", "supplier_party")
    typed = _typed(values)
    linked = _check_links(session, principal, {"supplier_party": supplier, **typed}, "sosa.create")
    # Without a marking asked for, the request is as strict as its links and released to both parties.
    spec = marking or _originated(
        combine([_default_marking(principal, supplier), *linked.values()], principal.party), principal.party
    )
    _check_marking(principal, spec)
    _check_covers(spec, linked)
    today = today_utc()
    request = PriorityRequest(
        reference=f"{principal.party}-{today.year}-{secrets.token_hex(4).upper()}",
        requesting_party=principal.party,
        supplier_party=supplier,
        state="DRAFT",
        rating=typed.pop("rating", "DO"),
        created_by=principal.user_id,
        marking_id=store(session, spec).id,
        **typed,
    )
    session.add(request)
    session.flush()
    record(
        session,
        principal,
        "sosa.create",
        "request",
        request.id,
        details={"reference": request.reference, "supplier_party": supplier, "rating": request.rating},
    )
    return request


def update_draft(
    session: Session,
    principal: Principal,
    request_id: int,
    values: Mapping[str, Any],
    expected_version: int,
    *,
    marking: MarkingSpec | None = None,
) -> PriorityRequest:
    """Change a draft: any of :data:`EDITABLE`, and its marking.

    Parameters
    ----------
    session
        The caller's session; the caller commits.
    principal
        A desk officer or admin of the requesting party.
    request_id
        The request.
    values
        The fields to change.
    expected_version
        The version the user loaded.
    marking
        A new marking, if any.

    Returns
    -------
    PriorityRequest
        The draft, its version one higher.

    Raises
    ------
    NotFound
        If the request is missing or hidden.
    RequestConflict
        If it changed since ``expected_version``.
    WorkflowError
        If it is no longer a draft.
    AccessDenied
        If the user may not edit it.
    setu.errors.MarkingError
        If the user could not read the new marking, or it lowers the old one and the user is not its
        authority (an admin of the requesting party's government; audited as denied).
    setu.errors.InputError
        Naming each bad value.
    """
    request = _locked(session, principal, request_id, "sosa.edit")
    _check_version(session, principal, request, expected_version, "sosa.edit")
    if request.state != "DRAFT":
        raise _refuse(
            session,
            principal,
            "sosa.edit",
            request_id,
            WorkflowError(f"only a draft can be edited; request {request.reference} is {request.state}"),
        )
    if not may_act(TRANSITIONS["submit"], _actor(principal), _parties(request)):
        error = AccessDenied(f"only a desk officer or admin of {request.requesting_party} may edit its draft")
        raise _refuse(session, principal, "sosa.edit", request_id, error)
    typed = _typed(values)
    old = MarkingSpec.of(request.marking)
    spec = marking or old
    if marking is not None:
        _check_marking(principal, spec)
        # Lowering a request's marking releases it: its authority's decision alone, audited as sosa.release.
        check_marking_change(session, principal, old, spec, action="sosa.edit", kind="request", key=request_id)
    linked = _check_links(session, principal, _link_values(request) | typed, "sosa.edit")
    _check_covers(spec, linked)
    for name, value in typed.items():
        setattr(request, name, value)
    if marking is not None:
        request.marking_id = store(session, spec).id
    request.updated_at = utcnow()
    _flush(session, request)
    record(
        session,
        principal,
        "sosa.edit",
        "request",
        request.id,
        details={"fields": sorted(typed), "marking": spec.banner() if marking is not None else None},
    )
    return request
