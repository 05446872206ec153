"""HTTP endpoints of tear lines: draft stand-ins for a network, read them, release them, withdraw them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy.orm import Session

from setu.deps import AuthDep, Marker, MarkerDep, SessionDep
from setu.errors import NotFound
from setu.models.networks import TearLineRecord
from setu.networks.endpoints import NetworkId, node_out
from setu.networks.schemas import StandInOut, TearLineIn, TearLineOut
from setu.networks.standins import (
    generate,
    get_tear_line,
    release,
    release_marking,
    standins,
    tear_lines,
    withdraw,
)
from setu.schemas import ERROR_RESPONSES, MAX_ID, utc
from setu.sharing.markings import LEVEL_OF
from setu.sharing.policy import Principal

router = APIRouter(prefix="/networks", tags=["networks"], responses=ERROR_RESPONSES)

TearLineId = Annotated[int, Path(ge=1, le=MAX_ID, description="The tear line's id.")]


def tear_line_out(session: Session, principal: Principal, marker: Marker, tear: TearLineRecord) -> TearLineOut:
    """A tear line with its stand-ins, as its reader sees them."""
    spec = release_marking(principal, tear.audience, tear.classification)
    return TearLineOut(
        id=tear.id,
        network_id=tear.network_id,
        audience=tear.audience,
        state="released" if tear.state == "released" else "draft",
        fold="material" if tear.fold == "material" else "twins",
        release_marking=spec.banner(),
        hidden_nodes=tear.hidden_nodes,
        check=dict(tear.check),
        created_at=utc(tear.created_at),
        released_at=utc(tear.released_at) if tear.released_at else None,
        standins=[
            StandInOut(
                node=node_out(marker, s.node),
                covers=s.covers,
                suppliers=s.suppliers,
                customers=s.customers,
                demand=s.demand,
            )
            for s in standins(session, principal, tear)
        ],
        marking=marker.of(tear),
    )


def _of_network(
    session: Session, principal: Principal, network_id: int, tear_line_id: int, action: str
) -> TearLineRecord:
    tear = get_tear_line(session, principal, tear_line_id, action, audit_permit=False)
    if tear.network_id != network_id:
        raise NotFound("tear line", tear_line_id)
    return tear


@router.get("/{network_id}/standins")
def get_tear_lines(auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId) -> list[TearLineOut]:
    """The tear lines of a network you may read: those hiding only nodes you may see."""
    found = tear_lines(session, auth.principal, network_id)
    out = [tear_line_out(session, auth.principal, marker, t) for t in found]
    session.commit()
    return out


@router.post("/{network_id}/standins", status_code=201)
def post_tear_line(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId, body: TearLineIn
) -> TearLineOut:
    """Draft stand-ins for the nodes the audience may not see, and check the audience's figures against yours.

    The draft is marked as the nodes it hides: nobody else sees it or computes with it until you release it.
    A draft for the same audience is replaced; released stand-ins must be withdrawn first (409).
    """
    tear = generate(
        session,
        auth.principal,
        network_id,
        audience=body.audience,
        classification=LEVEL_OF[body.classification],
        fold=body.fold,
    )
    out = tear_line_out(session, auth.principal, marker, tear)
    session.commit()
    return out


@router.post("/{network_id}/standins/{tear_line_id}/release")
def post_release(
    auth: AuthDep, session: SessionDep, marker: MarkerDep, network_id: NetworkId, tear_line_id: TearLineId
) -> TearLineOut:
    """Release a draft: its stand-ins take their release marking, and the audience computes with them."""
    _of_network(session, auth.principal, network_id, tear_line_id, "network.standins.release")
    tear = release(session, auth.principal, tear_line_id)
    out = tear_line_out(session, auth.principal, marker, tear)
    session.commit()
    return out


@router.delete("/{network_id}/standins/{tear_line_id}", status_code=204)
def delete_tear_line(auth: AuthDep, session: SessionDep, network_id: NetworkId, tear_line_id: TearLineId) -> Response:
    """Withdraw a tear line: its stand-ins are deleted here and revoked at the partner at the next publish."""
    _of_network(session, auth.principal, network_id, tear_line_id, "network.standins.withdraw")
    withdraw(session, auth.principal, tear_line_id)
    session.commit()
    return Response(status_code=204)
