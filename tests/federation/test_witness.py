"""Each instance witnesses the other's audit log: cosignatures come back and verify, a fork is refused and kept,
and every received object must be covered by a release entry proven into the sender's checkpoint."""

from __future__ import annotations

import base64
import copy
import os
from typing import Any

import pytest
from sqlalchemy import func, select

from federation.conftest import SQLITE_ONLY, Link, Side, held
from setu.audit.checkpoints import checkpoint_text
from setu.audit.keys import key_store
from setu.audit.verify import verify_log
from setu.db import transaction
from setu.federation.bundles import BATCH_CONTEXT
from setu.federation.identity import FederationError
from setu.federation.service import link_states
from setu.federation.stix import canonical
from setu.federation.witness import ForkDetected
from setu.models.audit import Checkpoint, Countersignature
from setu.models.federation import WitnessedCheckpoint
from setu.models.registry import RegistrySite


def _sign_header(side: Side, bundle: dict[str, Any]) -> dict[str, Any]:
    with transaction(side.sessions) as session:
        instance = side.instance(session)
    header = bundle["objects"][0]
    header["x_setu_signature"] = instance.sign(BATCH_CONTEXT, canonical(header))
    return bundle


def test_each_side_cosigns_the_others_checkpoints_and_both_logs_verify(small_link: Link) -> None:
    small_link.sync()
    small_link.sync()
    for side, partner in ((small_link.india, "US"), (small_link.us, "IN")):
        with transaction(side.sessions) as session:
            cosigned = session.scalar(
                select(func.count())
                .select_from(Countersignature)
                .join(Checkpoint, Checkpoint.id == Countersignature.checkpoint_id)
                .where(Checkpoint.party == side.party, Countersignature.party == partner)
            )
            assert cosigned and cosigned >= 1
            result = verify_log(session)
            assert result.ok, [str(p) for p in result.problems]
            state = next(s for s in link_states(session) if s.partner == partner)
            assert state.witnessed_size > 0 and state.forks == 0


def test_a_forked_log_is_refused_kept_and_shown(small_link: Link) -> None:
    small_link.sync()
    with transaction(small_link.us.sessions) as session:
        witnessed = session.scalars(select(WitnessedCheckpoint)).one()
        size = witnessed.tree_size
    with transaction(small_link.india.sessions) as session:
        site = session.scalars(select(RegistrySite).where(RegistrySite.name == "HAL Nashik")).one()
        site.region = "changed"
        india = small_link.india.instance(session)
    bundle = small_link.india.export("US", since=held(small_link.us)[1])
    # India's operator, holding India's key, shows the witness another log of the size it cosigned.
    forged_root = os.urandom(32)
    header = bundle["objects"][0]
    header["checkpoint"].update(
        tree_size=size,
        root_hash=forged_root.hex(),
        signature=base64.b64encode(
            key_store().sign(india.key, checkpoint_text("IN", size, forged_root, header["checkpoint"]["issued_at"]))
        ).decode(),
    )
    before = held(small_link.us)
    with pytest.raises(ForkDetected, match=f"two checkpoints of {size} entries with different roots"):
        small_link.us.import_(_sign_header(small_link.india, bundle))
    assert held(small_link.us) == before  # nothing of the bundle
    with transaction(small_link.us.sessions) as session:
        fork = session.scalars(select(WitnessedCheckpoint).where(WitnessedCheckpoint.fork != "")).one()
        assert fork.root_hash == forged_root.hex()
        state = next(s for s in link_states(session) if s.partner == "IN")
        assert state.forks == 1 and state.witnessed_size == size


@SQLITE_ONLY
def test_a_checkpoint_not_consistent_with_the_cosigned_one_is_a_fork(small_link: Link) -> None:
    small_link.sync()
    bundle = small_link.india.export("US", since=held(small_link.us)[1])
    for item in bundle["objects"][0]["consistency"]:
        item["proof"] = [os.urandom(32).hex() for _ in item["proof"]] or [os.urandom(32).hex()]
    with pytest.raises(ForkDetected, match="no valid consistency proof from the"):
        small_link.us.import_(_sign_header(small_link.india, bundle))


@SQLITE_ONLY
def test_an_object_not_covered_by_a_proven_release_entry_is_refused(small_link: Link) -> None:
    bundle = small_link.india.export("US")
    stripped = copy.deepcopy(bundle)
    stripped["objects"][0]["releases"] = []
    with pytest.raises(FederationError, match=r"seq 1 is not covered by a release entry in IN's witnessed log"):
        small_link.us.import_(_sign_header(small_link.india, stripped))
    bent = copy.deepcopy(bundle)
    bent["objects"][0]["releases"][0]["path"][0] = os.urandom(32).hex()
    with pytest.raises(FederationError, match="its inclusion proof does not verify"):
        small_link.us.import_(_sign_header(small_link.india, bent))
    small_link.us.import_(bundle)


@SQLITE_ONLY
def test_a_bundle_with_a_checkpoint_signed_by_another_key_is_refused(small_link: Link) -> None:
    bundle = small_link.india.export("US")
    other = key_store().generate("XX")
    checkpoint = bundle["objects"][0]["checkpoint"]
    text = checkpoint_text(
        "IN", checkpoint["tree_size"], bytes.fromhex(checkpoint["root_hash"]), checkpoint["issued_at"]
    )
    checkpoint["signature"] = base64.b64encode(key_store().sign(other, text)).decode()
    with pytest.raises(FederationError, match="the checkpoint is not signed by IN's pinned key"):
        small_link.us.import_(_sign_header(small_link.india, bundle))


@SQLITE_ONLY
def test_headers_asked_again_reuse_the_checkpoint_until_something_new_is_released(small_link: Link) -> None:
    first = small_link.india.export("US")["objects"][0]["checkpoint"]
    again = small_link.india.export("US")["objects"][0]["checkpoint"]
    assert again == first  # no new signature, no new audit entry per request
    with transaction(small_link.india.sessions) as session:
        session.scalars(select(RegistrySite).where(RegistrySite.name == "HAL Nashik")).one().region = "Nashik"
    after = small_link.india.export("US")["objects"][0]["checkpoint"]
    assert after["tree_size"] > first["tree_size"]
