"""Attacks on a request's marking: a desk officer lowering what was marked cannot, the authority can and is audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_ADMIN, IN_DESK
from setu.audit.log import integrate
from setu.db import transaction
from setu.errors import MarkingError
from setu.models.audit import AuditEntry
from setu.models.sosa import PriorityRequest
from setu.sharing.markings import MarkingSpec
from setu.sosa import service
from sosa.world import DRAFT, build

BOTH = frozenset({"IN", "US"})
CONFIDENTIAL = MarkingSpec(2, "IN", BOTH)
RESTRICTED = MarkingSpec(1, "IN", BOTH)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> dict[str, int]:
    with transaction(sessions) as session:
        return build(session)


def entries(session: Session, action: str, decision: str) -> list[AuditEntry]:
    integrate(session)  # sequence what is pending, as every reader of the log does
    query = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.decision == decision)
    return list(session.scalars(query))


def test_only_the_marking_authority_lowers_a_requests_marking(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    with transaction(sessions) as session:
        request_id = service.create_request(session, IN_ADMIN, "US", DRAFT, marking=CONFIDENTIAL).id
    # The desk officer may edit the draft, and raise its marking, but not lower what the admin marked.
    with sessions() as session, pytest.raises(MarkingError, match="lower"):
        service.update_draft(session, IN_DESK, request_id, {"quantity": 1.0}, 1, marking=RESTRICTED)
    with sessions() as session:
        request = session.get_one(PriorityRequest, request_id)
        assert (MarkingSpec.of(request.marking), request.quantity, request.version) == (CONFIDENTIAL, 40.0, 1)
        (denied,) = entries(session, "sosa.edit", "deny")
        assert json.loads(denied.details)["new"] == RESTRICTED.banner()
    with transaction(sessions) as session:
        service.update_draft(session, IN_ADMIN, request_id, {}, 1, marking=RESTRICTED)
    with sessions() as session:
        assert MarkingSpec.of(session.get_one(PriorityRequest, request_id).marking) == RESTRICTED
        (release,) = entries(session, "sosa.release", "permit")
        assert json.loads(release.details) == {"old": CONFIDENTIAL.banner(), "new": RESTRICTED.banner()}
    with transaction(sessions) as session:
        service.update_draft(session, IN_DESK, request_id, {}, 2, marking=CONFIDENTIAL)  # raising is the desk's
    with sessions() as session:
        assert MarkingSpec.of(session.get_one(PriorityRequest, request_id).marking) == CONFIDENTIAL
