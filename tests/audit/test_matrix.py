"""The audit log's authorization matrix: every test principal against every read of the log.

Non-auditors are refused every read, each refusal audited as a denial of that read; an auditor reads
their own party's entries and the system's, never the other party's, through every path: entry pages,
the viewer's pages and filter suggestions, checkpoints, their export, proofs and the verification.
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from principals import EVERYONE
from setu.audit import service
from setu.audit.checkpoints import issue_checkpoint
from setu.audit.entries import entry_values, list_entries, recent_entries
from setu.audit.log import integrate, record
from setu.errors import AccessDenied
from setu.models.audit import AuditEntry
from setu.sharing.policy import Principal

READS: dict[str, tuple[str, Callable[[Session, Principal], Any]]] = {
    "entries": ("audit.read", lambda s, p: list_entries(s, p)),
    "system entries": ("audit.read", lambda s, p: list_entries(s, p, scope="system")),
    "viewer": ("audit.read", lambda s, p: recent_entries(s, p)),
    "suggestions": ("audit.read", lambda s, p: entry_values(s, p, "actor")),
    "checkpoints": ("audit.read", lambda s, p: service.list_checkpoints(s, p)),
    "inclusion": ("audit.read", lambda s, p: service.inclusion_proof(s, p, 0)),
    "export": ("audit.checkpoint.export", lambda s, p: service.export_checkpoints(s, p)),
}


@pytest.fixture
def log(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """An entry by every principal, an entry about each party's account, one of no party, a checkpoint."""
    with sessions.begin() as session:
        for principal in EVERYONE:
            record(session, principal, "node.read", "node", f"by-{principal.user_id}")
        for party in ("IN", "US"):
            record(session, None, "user.create", "user", f"{party}-account", party=party, details={"groups": [party]})
        record(session, None, "login", "user", "", decision="deny", actor_name="unknown user")
    with sessions.begin() as session:
        issue_checkpoint(session, "IN")
    return sessions


@pytest.mark.parametrize("principal", EVERYONE, ids=lambda p: f"{p.party}-{sorted(p.roles)[0]}-{p.user_id}")
@pytest.mark.parametrize("read", READS, ids=str)
def test_every_read_of_the_log(log: sessionmaker[Session], principal: Principal, read: str) -> None:
    action, call = READS[read]
    auditor = "auditor" in principal.roles
    with log() as session:
        if not auditor:
            with pytest.raises(AccessDenied):
                call(session, principal)
            integrate(session)
            denial = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
            assert (denial.action, denial.decision, denial.actor_id) == (action, "deny", principal.user_id)
            return
        answer = call(session, principal)
    other = "US" if principal.party == "IN" else "IN"
    if read in ("entries", "system entries"):
        parties = {e["party"] for e in answer.entries}
        assert parties == ({principal.party} if read == "entries" else {""})
    elif read == "viewer":
        rows, _total = answer
        assert rows and {e["party"] for e in rows} == {principal.party}
    else:  # checkpoints and proofs hold hashes and signatures only: both parties' auditors check them
        return
    assert f"{other}-account" not in str(answer) and f"'{other}'" not in str(answer)
