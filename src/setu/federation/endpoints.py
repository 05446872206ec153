"""HTTP endpoint of federation: the state of every link, for this instance's admins and auditors."""

from __future__ import annotations

from fastapi import APIRouter

from setu.deps import AuthDep, SessionDep
from setu.federation.operator import OperatorView, operator_view
from setu.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/federation", tags=["federation"], responses=ERROR_RESPONSES)


@router.get("/links")
def get_links(auth: AuthDep, session: SessionDep) -> OperatorView:
    """Each partner's link: feed sent and applied, records each way, retractions and receipts, the witness, the
    next publish's counts. Counts are of the records you may read. Admins and auditors of this instance only;
    ``party`` is empty (and there are no links) on a single-instance deployment."""
    view = operator_view(session, auth.principal)
    session.commit()
    return view
