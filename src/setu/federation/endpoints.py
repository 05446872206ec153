"""HTTP endpoint of federation: the state of every link, for this instance's admins and auditors."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from setu.deps import AuthDep, SessionDep
from setu.federation.operator import operator_view
from setu.federation.schemas import LinksOut
from setu.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/federation", tags=["federation"], responses=ERROR_RESPONSES)


@router.get("/links")
def get_links(auth: AuthDep, session: SessionDep) -> LinksOut:
    """Each partner's link: feed sent and applied, records each way, retractions and receipts, the witness, the
    next publish's counts. Counts are of the records you may read. Admins and auditors of this instance only."""
    view = operator_view(session, auth.principal)
    out = LinksOut.model_validate({"party": view.party, "links": [asdict(link) for link in view.links]})
    session.commit()
    return out
