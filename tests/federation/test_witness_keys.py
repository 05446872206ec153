"""A cosignature of our checkpoint names the key that made it: the partner's pinned key, and no other.

The partner's operator signs with its real key but is free to write anything beside the signature. A key
id that is not the pinned key's would be stored with the countersignature and hashed into its audit entry,
and ``setu audit verify`` would then call this instance's own log tampered, for good. Such a cosignature is
refused with nothing of it stored; an honest one is stored under the pinned key's id.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from federation.conftest import SQLITE_ONLY, Link, held
from setu.audit.checkpoints import checkpoint_text, issue_checkpoint
from setu.audit.keys import key_id_of, key_store
from setu.audit.verify import verify_log
from setu.db import transaction
from setu.federation.bundles import last_applied_seq
from setu.federation.feed import append, next_seq
from setu.federation.identity import FederationError, this_instance
from setu.federation.partners import get_partner
from setu.federation.witness import COSIGNATURE_TYPE, log_releases
from setu.models.audit import AuditEntry, Countersignature
from setu.models.base import utcnow
from setu.sharing.markings import MarkingSpec, store


def _us_cosigns_a_checkpoint_of_india(link: Link, **overrides: Any) -> int:
    """India issues a checkpoint; the US signs it with its own (pinned) key and appends the cosignature to its feed
    to India with ``overrides`` beside the signature, as a hostile operator may. The checkpoint's id."""
    with transaction(link.india.sessions) as session:
        checkpoint = issue_checkpoint(session, "IN", actor_name="test")
        text = checkpoint_text("IN", checkpoint.tree_size, bytes(checkpoint.root_hash), checkpoint.issued_at)
        content = {
            "checkpoint_party": "IN",
            "tree_size": checkpoint.tree_size,
            "root_hash": bytes(checkpoint.root_hash).hex(),
            "issued_at": text.decode().split("\n")[4],
        }
        checkpoint_id = checkpoint.id
    with transaction(link.us.sessions) as session:
        us = this_instance(session, "US")
        signature = base64.b64encode(key_store().sign(us.key, text)).decode()
        marking = store(session, MarkingSpec(0, "US", frozenset({"IN", "US"})))
        append(
            session,
            us,
            "IN",
            seq=next_seq(session, "IN"),
            kind="cosignature",
            stix_type=COSIGNATURE_TYPE,
            stix_id=f"{COSIGNATURE_TYPE}--{uuid.uuid4()}",
            marking_id=marking.id,
            content={**content, "key_id": us.key.key_id, "cosignature": signature, **overrides},
            created=utcnow(),
        )
        log_releases(session, us)
    return checkpoint_id


def _send_us_to_india(link: Link) -> None:
    with transaction(link.india.sessions) as session:
        since = last_applied_seq(session, "US")
    link.india.import_(link.us.export("IN", since=since))


def _countersignatures(link: Link, checkpoint_id: int) -> list[tuple[str, str]]:
    with transaction(link.india.sessions) as session:
        return [
            (row.party, row.key_id)
            for row in session.scalars(select(Countersignature).where(Countersignature.checkpoint_id == checkpoint_id))
        ]


def _verifies(link: Link) -> None:
    with transaction(link.india.sessions) as session:
        result = verify_log(session)
        assert result.ok, [str(problem) for problem in result.problems]


@SQLITE_ONLY
@pytest.mark.parametrize("key_id", ["0123456789abcdef", "", 12345])
def test_a_cosignature_naming_a_key_other_than_the_pinned_one_is_refused(parties: Link, key_id: Any) -> None:
    _verifies(parties)
    checkpoint_id = _us_cosigns_a_checkpoint_of_india(parties, key_id=key_id)
    before = held(parties.india)
    with transaction(parties.india.sessions) as session:
        applied = last_applied_seq(session, "US")
    with pytest.raises(FederationError, match=r"names key .*, not US's pinned key [0-9a-f]{16}"):
        _send_us_to_india(parties)
    assert held(parties.india) == before
    assert _countersignatures(parties, checkpoint_id) == []
    with transaction(parties.india.sessions) as session:
        assert last_applied_seq(session, "US") == applied
        countersigned = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "audit.countersign", AuditEntry.object_id == str(checkpoint_id)
            )
        ).all()
        assert countersigned == []
    _verifies(parties)


@SQLITE_ONLY
def test_an_honest_cosignature_is_stored_under_the_pinned_keys_id_and_verifies(parties: Link) -> None:
    checkpoint_id = _us_cosigns_a_checkpoint_of_india(parties)
    _send_us_to_india(parties)
    with transaction(parties.india.sessions) as session:
        pinned = key_id_of(bytes.fromhex(get_partner(session, "US").public_key))
    assert _countersignatures(parties, checkpoint_id) == [("US", pinned)]
    _verifies(parties)


@SQLITE_ONLY
@pytest.mark.parametrize(
    "overrides",
    [{"root_hash": "not hex"}, {"cosignature": "not base64!"}, {"tree_size": "many"}],
    ids=["root_hash", "cosignature", "tree_size"],
)
def test_a_malformed_cosignature_is_refused_with_nothing_stored(parties: Link, overrides: dict[str, Any]) -> None:
    checkpoint_id = _us_cosigns_a_checkpoint_of_india(parties, **overrides)
    before = held(parties.india)
    with pytest.raises(FederationError, match="cosignature"):
        _send_us_to_india(parties)
    assert held(parties.india) == before
    assert _countersignatures(parties, checkpoint_id) == []
    _verifies(parties)
