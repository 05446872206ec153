"""HTTP endpoints of the audit log for auditors: checkpoints, inclusion and consistency proofs, entries."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from setu.audit import service
from setu.audit.entries import list_entries
from setu.audit.log import record
from setu.audit.schemas import (
    CheckpointList,
    CheckpointOut,
    ConsistencyProofOut,
    EntryPageOut,
    InclusionProofOut,
)
from setu.audit.service import MAX_PAGE
from setu.deps import AuthDep, SessionDep
from setu.errors import NotFound
from setu.schemas import ERROR_RESPONSES, MAX_ID, Text
from setu.sharing.policy import Principal

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)

Size = Annotated[int, Query(ge=0, le=MAX_ID)]
Party = Annotated[Text | None, Query(max_length=8, description="Only this party's checkpoints.")]


def _served(session: Session, principal: Principal, what: str, details: dict[str, Any]) -> None:
    """Record that an auditor read ``what`` (after computing it, so the answer covers the log before)."""
    record(session, principal, "audit.read", "audit", what, details=details)
    session.commit()


@router.get("/checkpoints/latest")
def latest_checkpoint(auth: AuthDep, session: SessionDep, party: Party = None) -> CheckpointOut:
    """The newest signed checkpoint (of ``party``), with its countersignatures and public keys (auditors)."""
    found = service.latest_checkpoint(session, auth.principal, party)
    if found is None:
        raise NotFound("checkpoint", "latest")
    out = CheckpointOut.model_validate(found.to_dict())
    _served(session, auth.principal, "checkpoint", {"checkpoint": found.id})
    return out


@router.get("/checkpoints")
def checkpoints(
    auth: AuthDep,
    session: SessionDep,
    party: Party = None,
    start: Annotated[int, Query(ge=0, le=MAX_ID, description="Smallest checkpoint id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> CheckpointList:
    """Checkpoints in issue order from id ``start`` (auditors)."""
    found = service.list_checkpoints(session, auth.principal, party=party, start=start, limit=limit)
    out = CheckpointList(items=[CheckpointOut.model_validate(c.to_dict()) for c in found])
    _served(session, auth.principal, "checkpoints", {"start": start, "count": len(found)})
    return out


@router.get("/checkpoints/export")
def checkpoints_export(auth: AuthDep, session: SessionDep) -> dict[str, Any]:
    """Every signed checkpoint, as the file an auditor keeps for ``setu audit verify --checkpoint`` (auditors)."""
    document = service.export_checkpoints(session, auth.principal)
    session.commit()
    return document


@router.get("/checkpoints/{checkpoint_id}")
def checkpoint(
    auth: AuthDep, session: SessionDep, checkpoint_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> CheckpointOut:
    """One checkpoint (auditors)."""
    found = service.get_checkpoint(session, auth.principal, checkpoint_id)
    if found is None:
        raise NotFound("checkpoint", checkpoint_id)
    out = CheckpointOut.model_validate(found.to_dict())
    _served(session, auth.principal, "checkpoint", {"checkpoint": checkpoint_id})
    return out


@router.get("/proofs/inclusion")
def inclusion_proof(
    auth: AuthDep,
    session: SessionDep,
    seq: Annotated[int, Query(ge=0, le=MAX_ID, description="The entry.")],
    tree_size: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Default: the whole log.")] = None,
) -> InclusionProofOut:
    """RFC 9162 inclusion proof of entry ``seq`` in the tree of ``tree_size`` entries (auditors)."""
    proof = service.inclusion_proof(session, auth.principal, seq, tree_size)
    out = InclusionProofOut.model_validate(proof.to_dict())
    _served(session, auth.principal, "inclusion", {"seq": seq, "tree_size": proof.tree_size})
    return out


@router.get("/proofs/consistency")
def consistency_proof(
    auth: AuthDep,
    session: SessionDep,
    first: Size,
    second: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Default: the whole log.")] = None,
) -> ConsistencyProofOut:
    """RFC 9162 consistency proof between the trees of ``first`` and ``second`` entries (auditors)."""
    proof = service.consistency_proof(session, auth.principal, first, second)
    out = ConsistencyProofOut.model_validate(proof.to_dict())
    _served(session, auth.principal, "consistency", {"first": first, "second": proof.second})
    return out


@router.get("/entries")
def entries(
    auth: AuthDep,
    session: SessionDep,
    start: Annotated[int, Query(ge=0, le=MAX_ID, description="Smallest seq (the last page's next_start).")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    scope: Annotated[
        Literal["party", "system"],
        Query(description="party: entries of your party's users; system: entries with no party (failed logins...)."),
    ] = "party",
    action: Annotated[Text | None, Query(max_length=64)] = None,
    object_type: Annotated[Text | None, Query(max_length=64)] = None,
    object_id: Annotated[Text | None, Query(max_length=200)] = None,
) -> EntryPageOut:
    """A page of log entries with their leaf hashes (auditors; your party's entries, or those of no party)."""
    found = list_entries(
        session,
        auth.principal,
        start=start,
        limit=limit,
        action=action,
        scope=scope,
        object_type=object_type,
        object_id=object_id,
    )
    out = EntryPageOut.model_validate(found.to_dict())
    _served(session, auth.principal, "entries", {"start": start, "scope": scope, "count": len(found.entries)})
    return out
