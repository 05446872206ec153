"""Offline verification of the whole audit log, from the database or from an export file (:mod:`setu.audit.export`).

Checks, in this order: every entry's fields reproduce its leaf hash; ``seq`` runs 0..n-1 without gaps;
every checkpoint's signature and countersignatures verify with the stored public keys; no checkpoint
covers more entries than the log holds; the log reproduces each checkpoint's root at its size; and each
checkpoint is consistent with the one before it (an RFC 9162 consistency proof); every ``audit.checkpoint``
and ``audit.countersign`` entry matches the row it names and every checkpoint has its entry. The result
lists every problem, the first one naming the first bad entry.

All of that is only as good as what the database holder cannot change. A verifier that trusts nothing
in the database passes two pins: the parties' public keys (``trusted_keys``, from ``setu audit keys
export`` on each party's own instance) and the checkpoints it exported earlier (``held``). Then
re-signing needs a party's private key, and a deleted or rewritten checkpoint, a rewritten log under it,
or a forged tail in place of it no longer matches the auditor's copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy.orm import Session

from setu.audit.checkpoints import signature_digest, verify_signature
from setu.audit.export import CheckpointRecord, EntryRecord, KeyRecord, LogSnapshot, snapshot
from setu.audit.findings import Problem, VerifyResult
from setu.audit.keys import key_id_of
from setu.audit.log import canonical_leaf, integrate
from setu.audit.merkle import HASH_SIZE, MerkleTree, hash_leaf, verify_consistency

__all__ = ["Problem", "VerifyResult", "verify_log", "verify_snapshot"]

_REORDER_SEARCH_LIMIT = 300  # bad entries tried against each other to tell a move from an edit


def _entry_problems(entries: Sequence[EntryRecord]) -> tuple[list[Problem], list[bytes]]:
    """Scan entries in ``seq`` order: leaf hashes, gaps, moves. Also returns the recomputed leaf hashes."""
    problems: list[Problem] = []
    recomputed: list[bytes] = []
    bad: list[int] = []  # positions whose fields do not reproduce their hash
    for position, entry in enumerate(entries):
        try:
            digest = hash_leaf(canonical_leaf(entry.fields))
        except (TypeError, ValueError, KeyError):
            digest = b""
        recomputed.append(digest)
        if len(entry.leaf_hash) != HASH_SIZE or digest != entry.leaf_hash:
            bad.append(position)
    # Which bad entries are moved rather than edited: their fields hash to their stored leaf under another
    # entry's seq. Tried only among the bad ones, which is where a swapped partner must be.
    written_as: dict[int, int] = {}
    candidates = bad[:_REORDER_SEARCH_LIMIT]
    for position in candidates:
        entry = entries[position]
        for other in candidates:
            seq = entries[other].seq
            if other != position and hash_leaf(canonical_leaf({**entry.fields, "seq": seq})) == entry.leaf_hash:
                written_as[position] = seq
                break
    bad_set = set(bad)
    expected = 0
    for position, entry in enumerate(entries):
        seq = entry.seq
        if seq != expected:
            if seq > expected:
                gap = f"entry {expected}" if seq == expected + 1 else f"entries {expected}..{seq - 1}"
                verb = "is" if seq == expected + 1 else "are"
                where = "log starts at" if position == 0 else f"sequence jumps from {expected - 1} to"
                problems.append(Problem("missing", f"{gap} {verb} missing ({where} {seq})", seq=expected))
            else:  # cannot happen with seq as the primary key; an export file could still say so
                problems.append(Problem("order", f"entries out of order at {seq} (after {expected - 1})", seq=seq))
        expected = max(expected, seq + 1)
        if position in bad_set:
            if position in written_as:
                problems.append(
                    Problem(
                        "reordered",
                        f"entries reordered at {seq}: the entry stored as {seq} was written as entry "
                        f"{written_as[position]}",
                        seq=seq,
                    )
                )
            elif len(entry.leaf_hash) != HASH_SIZE:
                problems.append(Problem("hash", f"entry {seq}: stored leaf hash is malformed", seq=seq))
            else:
                problems.append(Problem("hash", f"entry {seq}: fields do not match its leaf hash", seq=seq))
    return problems, recomputed


def _signature_problems(checkpoint: CheckpointRecord, keys: Mapping[str, KeyRecord]) -> list[Problem]:
    problems: list[Problem] = []
    message = checkpoint.signed_text()
    key = keys.get(checkpoint.key_id)
    if key is None:
        problems.append(Problem("key", f"{checkpoint.name}: signed with unknown key {checkpoint.key_id}"))
    elif key.party != checkpoint.party:
        problems.append(
            Problem("key", f"{checkpoint.name}: signed with key {key.key_id} of {key.party}, not of {checkpoint.party}")
        )
    elif not verify_signature(key.public_key, message, checkpoint.signature):
        problems.append(
            Problem(
                "signature",
                f"{checkpoint.name}: signature does not verify with {key.party}'s key {key.key_id}",
            )
        )
    for counter in checkpoint.countersignatures:
        ckey = keys.get(counter.key_id)
        if counter.party == checkpoint.party:
            problems.append(Problem("countersignature", f"{checkpoint.name}: countersigned by its own issuer"))
        elif ckey is None or ckey.party != counter.party:
            problems.append(
                Problem(
                    "countersignature",
                    f"{checkpoint.name}: countersignature of {counter.party} names key {counter.key_id}, "
                    f"not a key of {counter.party}",
                )
            )
        elif not verify_signature(ckey.public_key, message, counter.signature):
            problems.append(
                Problem(
                    "countersignature",
                    f"{checkpoint.name}: countersignature of {counter.party} does not verify with key {ckey.key_id}",
                )
            )
    return [Problem(p.kind, p.message, checkpoint_id=checkpoint.id) for p in problems]


def _witnessed(checkpoint: CheckpointRecord, keys: Mapping[str, KeyRecord]) -> bool:
    """Whether another party countersigned ``checkpoint`` with one of ``keys``: its witness saw this log."""
    message = checkpoint.signed_text()
    for counter in checkpoint.countersignatures:
        key = keys.get(counter.key_id)
        if (
            counter.party != checkpoint.party
            and key is not None
            and key.party == counter.party
            and verify_signature(key.public_key, message, counter.signature)
        ):
            return True
    return False


def _details(entry: EntryRecord) -> dict[str, object]:
    try:
        details = json.loads(str(entry.fields["details"]))
    except ValueError:
        return {}
    return details if isinstance(details, dict) else {}


def _tie_problems(entries: Sequence[EntryRecord], checkpoints: Sequence[CheckpointRecord]) -> list[Problem]:
    """Every checkpoint and countersignature entry against the row it names, and every row against its entry."""
    problems: list[Problem] = []
    by_id = {c.id: c for c in checkpoints}
    issued: set[int] = set()
    countersigned: set[tuple[int, str]] = set()
    for entry in entries:
        action = entry.fields["action"]
        if action not in ("audit.checkpoint", "audit.countersign"):
            continue
        details = _details(entry)
        try:
            checkpoint_id = int(str(entry.fields["object_id"]))
        except ValueError:
            problems.append(Problem("checkpoint-entry", f"entry {entry.seq} names no checkpoint", seq=entry.seq))
            continue
        checkpoint = by_id.get(checkpoint_id)
        what = "issued" if action == "audit.checkpoint" else f"countersigned by {details.get('party')}"
        if checkpoint is None:
            problems.append(
                Problem(
                    "checkpoint-missing",
                    f"checkpoint {checkpoint_id} ({what} in entry {entry.seq}) is missing: its row was deleted",
                    checkpoint_id=checkpoint_id,
                )
            )
            continue
        if action == "audit.checkpoint":
            issued.add(checkpoint_id)
            expected: dict[str, object] = {
                "party": checkpoint.party,
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash.hex(),
                "issued_at": checkpoint.issued_at,
                "key_id": checkpoint.key_id,
                "signature": signature_digest(checkpoint.signature),
            }
            if entry.seq != checkpoint.tree_size:
                expected["seq"] = checkpoint.tree_size
                details["seq"] = entry.seq
        else:
            party = str(details.get("party"))
            counter = next((c for c in checkpoint.countersignatures if c.party == party), None)
            countersigned.add((checkpoint_id, party))
            if counter is None:
                problems.append(
                    Problem(
                        "checkpoint-missing",
                        f"{checkpoint.name}: the countersignature of {party} (entry {entry.seq}) is missing",
                        checkpoint_id=checkpoint_id,
                    )
                )
                continue
            expected = {"key_id": counter.key_id, "signature": signature_digest(counter.signature)}
        # Entries written before a field was recorded lack it; every field present must match.
        differ = sorted(name for name, value in expected.items() if name in details and details[name] != value)
        if differ:
            problems.append(
                Problem(
                    "checkpoint-entry",
                    f"{checkpoint.name} does not match its log entry {entry.seq} ({', '.join(differ)})",
                    checkpoint_id=checkpoint_id,
                )
            )
    size = len(entries)
    for checkpoint in checkpoints:
        if checkpoint.id not in issued and checkpoint.tree_size < size:
            problems.append(
                Problem("checkpoint-entry", f"{checkpoint.name} has no entry in the log", checkpoint_id=checkpoint.id)
            )
        for counter in checkpoint.countersignatures:
            if (checkpoint.id, counter.party) not in countersigned:
                problems.append(
                    Problem(
                        "checkpoint-entry",
                        f"{checkpoint.name}: the countersignature of {counter.party} has no entry in the log",
                        checkpoint_id=checkpoint.id,
                    )
                )
    return problems


def _held_problems(
    held: Sequence[CheckpointRecord],
    stored: Sequence[CheckpointRecord],
    keys: Mapping[str, KeyRecord],
    tree: MerkleTree,
) -> list[Problem]:
    """The auditor's own copies of checkpoints: signed by a pinned key, still in the log, reproduced by it."""
    problems: list[Problem] = []
    by_id = {c.id: c for c in stored}
    for copy in held:
        name = f"{copy.name} (held by the auditor)"
        signed = [p for p in _signature_problems(copy, keys) if p.kind in ("key", "signature")]
        problems += [Problem("held", f"{name}: {p.message.split(': ', 1)[-1]}", checkpoint_id=copy.id) for p in signed]
        found = by_id.get(copy.id)
        if found is None:
            problems.append(Problem("held", f"{name} is missing from the log's checkpoints", checkpoint_id=copy.id))
        elif (found.party, found.tree_size, found.root_hash, found.issued_at, found.signature) != (
            copy.party,
            copy.tree_size,
            copy.root_hash,
            copy.issued_at,
            copy.signature,
        ):
            problems.append(
                Problem("held", f"{name} differs from the log's checkpoint {copy.id}", checkpoint_id=copy.id)
            )
        if copy.tree_size > tree.size:
            problems.append(
                Problem(
                    "held",
                    f"log truncated: {name} but the log has {tree.size} entries",
                    seq=tree.size,
                    checkpoint_id=copy.id,
                )
            )
        elif tree.root(copy.tree_size) != copy.root_hash:
            problems.append(
                Problem(
                    "held",
                    f"{name}: the log does not reproduce its root: an entry in 0..{copy.tree_size - 1} was "
                    "changed, removed or moved",
                    checkpoint_id=copy.id,
                )
            )
    return problems


def verify_snapshot(
    data: LogSnapshot,
    trusted_keys: Iterable[KeyRecord] | None = None,
    held: Sequence[CheckpointRecord] | None = None,
) -> VerifyResult:
    """Verify a log snapshot completely; see the module docstring for what is checked.

    Parameters
    ----------
    data
        Entries, checkpoints and public keys (from :func:`snapshot` or :func:`load_export`).
    trusted_keys
        Public keys obtained out of band. When given, only these keys count: a key in the snapshot that
        differs from the trusted one of the same id, or a signature by a key not trusted, is a problem.
    held
        Checkpoints the auditor exported earlier: each must be signed by a trusted key, still be among
        the log's checkpoints unchanged, and have its root reproduced by the log.

    Returns
    -------
    VerifyResult
        Every problem found, entry problems first in ``seq`` order.
    """
    problems, recomputed = _entry_problems(data.entries)
    # Roots are recomputed from the entries' fields, not from stored hashes: the content is what is signed.
    tree = MerkleTree(h if len(h) == HASH_SIZE else bytes(HASH_SIZE) for h in recomputed)
    n = tree.size

    keys: dict[str, KeyRecord] = {}
    for key in data.keys:
        if key_id_of(key.public_key) != key.key_id:
            problems.append(
                Problem("key", f"signing key {key.key_id} of {key.party}: id does not match its public key")
            )
        keys[key.key_id] = key
    if trusted_keys is not None:
        trusted = {k.key_id: k for k in trusted_keys}
        for key_id, key in keys.items():
            pinned = trusted.get(key_id)
            if pinned is not None and (pinned.public_key != key.public_key or pinned.party != key.party):
                problems.append(Problem("key", f"signing key {key_id} of {key.party} differs from the trusted key"))
        keys = trusted

    checkpoint_problems: list[Problem] = []
    root_ok: dict[int, bool] = {}
    for checkpoint in data.checkpoints:
        checkpoint_problems += _signature_problems(checkpoint, keys)
        if checkpoint.tree_size > n:
            checkpoint_problems.append(
                Problem(
                    "truncated",
                    f"log truncated: {checkpoint.name} but log has {n} entries",
                    seq=n,
                    checkpoint_id=checkpoint.id,
                )
            )
            root_ok[checkpoint.id] = False
            continue
        root_ok[checkpoint.id] = tree.root(checkpoint.tree_size) == checkpoint.root_hash
    for checkpoint in data.checkpoints:
        if checkpoint.tree_size > n or root_ok[checkpoint.id]:
            continue
        # Localise as far as the signatures allow: after the largest smaller checkpoint that still matches.
        since = max(
            (c.tree_size for c in data.checkpoints if root_ok[c.id] and c.tree_size < checkpoint.tree_size),
            default=0,
        )
        checkpoint_problems.append(
            Problem(
                "root",
                f"{checkpoint.name}: root {checkpoint.root_hash.hex()[:16]}… does not match the log's "
                f"{tree.root(checkpoint.tree_size).hex()[:16]}…: an entry in {since}..{checkpoint.tree_size - 1} "
                "was changed, removed or moved",
                checkpoint_id=checkpoint.id,
            )
        )
    # Consecutive checkpoints, in issue order: sizes never shrink, and a consistency proof from the log
    # links the two signed roots (what a party holding only the two checkpoints would check).
    for before, after in zip(data.checkpoints, data.checkpoints[1:], strict=False):
        if after.tree_size < before.tree_size:
            checkpoint_problems.append(
                Problem(
                    "rollback",
                    f"{after.name} was issued after {before.name}: the log was rolled back",
                    checkpoint_id=after.id,
                )
            )
            continue
        if not (root_ok[before.id] and root_ok[after.id]):
            continue  # already reported against the log
        proof = tree.consistency_proof(before.tree_size, after.tree_size)
        if not verify_consistency(before.tree_size, after.tree_size, before.root_hash, after.root_hash, proof):
            checkpoint_problems.append(
                Problem(
                    "consistency",
                    f"{before.name} and {after.name} are not consistent",
                    checkpoint_id=after.id,
                )
            )
    checkpoint_problems += _tie_problems(data.entries, data.checkpoints)
    if held:
        checkpoint_problems += _held_problems(held, data.checkpoints, keys, tree)
    witnessed = max(
        (
            c.tree_size
            for c in [*data.checkpoints, *(held or ())]
            if c.tree_size <= n and tree.root(c.tree_size) == c.root_hash and _witnessed(c, keys)
        ),
        default=0,
    )
    return VerifyResult(
        entries=n,
        checkpoints=len(data.checkpoints),
        root_hash=tree.root(),
        problems=problems + checkpoint_problems,
        countersigned=sum(1 for c in data.checkpoints if c.countersignatures),
        pinned_keys=trusted_keys is not None,
        held_checkpoints=len(held or ()),
        uncovered=n - max((c.tree_size for c in [*data.checkpoints, *(held or ())] if c.tree_size <= n), default=0),
        unwitnessed=n - witnessed,
    )


def verify_log(
    session: Session,
    trusted_keys: Iterable[KeyRecord] | None = None,
    held: Sequence[CheckpointRecord] | None = None,
) -> VerifyResult:
    """Verify the audit log in the database; see :func:`verify_snapshot`.

    Parameters
    ----------
    session
        A session in READ COMMITTED or on SQLite: pending entries are sequenced first in its transaction
        (which holds the log lock to its end), so the log verified holds every entry recorded before.
    trusted_keys
        Public keys obtained out of band, if any.
    held
        Checkpoints the auditor exported earlier, if any.

    Returns
    -------
    VerifyResult
        The findings.
    """
    integrate(session)
    return verify_snapshot(snapshot(session), trusted_keys, held)
