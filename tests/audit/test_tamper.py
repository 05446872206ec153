"""The audit trail against someone who holds the database: every rewrite is caught with the auditor's pinned inputs.

The auditor holds what the database holder cannot change: the parties' public keys (``setu audit keys
export``, read from the key store, not from the database) and the checkpoints exported earlier
(``setu audit checkpoint export``). Each attack below rewrites the database as consistently as the
public formats allow; ``setu audit verify --keys --checkpoint`` and the web check with the same files
uploaded must both call it tampered. SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from audit import attacker
from clients import Api, csrf_of, sign_in
from setu.audit.checkpoints import countersign, issue_checkpoint
from setu.audit.cli import audit_app
from setu.audit.log import AuditError, record
from setu.audit.sequencer import integrate_pending
from setu.db import transaction
from setu.models.audit import AuditEntry


@dataclass(frozen=True)
class Pins:
    """What the auditor holds: the public keys and the checkpoints exported at two moments."""

    keys: Path
    early: Path  # exported after the first checkpoint
    late: Path  # exported after the second
    first: int  # checkpoint ids
    second: int
    edited: int  # an entry only the second checkpoint covers


def cli(web: Api, *args: str) -> tuple[int, str]:
    url = web.sessions.kw["bind"].url.render_as_string(hide_password=False)
    run = CliRunner().invoke(audit_app, list(args), env={"SETU_DATABASE_URL": url, "COLUMNS": "300"})
    return run.exit_code, run.output


def reads(web: Api, user: str, count: int) -> None:
    with transaction(web.sessions) as session:
        for i in range(count):
            record(session, web.principals[user], "node.read", "node", f"N{i}")


@pytest.fixture
def pins(web: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pins:
    # The configuration the review found: SETU_KEY_DIR unset (the default).
    monkeypatch.delenv("SETU_KEY_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    reads(web, "in-analyst", 12)
    with transaction(web.sessions) as session:
        first = issue_checkpoint(session, "IN").id
    with transaction(web.sessions) as session:
        countersign(session, first, "US")
    early = tmp_path / "held-early.json"
    assert cli(web, "checkpoint", "export", str(early))[0] == 0
    reads(web, "us-analyst", 15)
    integrate_pending(web.sessions)
    with web.sessions() as session:
        edited = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    with transaction(web.sessions) as session:
        second = issue_checkpoint(session, "US").id
    with transaction(web.sessions) as session:
        countersign(session, second, "IN")
    reads(web, "in-analyst", 5)
    late = tmp_path / "held-late.json"
    assert cli(web, "checkpoint", "export", str(late))[0] == 0
    keys = tmp_path / "pinned-keys.json"
    code, output = cli(web, "keys", "export", str(keys))
    assert code == 0, output
    return Pins(keys, early, late, first, second, edited)


def web_check(web: Api, keys: Path | None, held: Path | None) -> str:
    """The web page's verification with the pinned files uploaded; the page's text."""
    sign_in(web.client, "auditor")
    files = {}
    if keys is not None:
        files["keys"] = ("keys.json", keys.read_bytes(), "application/json")
    if held is not None:
        files["checkpoint"] = ("checkpoint.json", held.read_bytes(), "application/json")
    token = csrf_of(web.client.get("/audit").text)
    answer = web.client.post("/audit/verify", data={"csrf": token}, files=files or None)
    assert answer.status_code == 200, answer.text
    return answer.text


def summary(page: str) -> str:
    found = re.search(r'data-testid="verify-summary">([^<]*)<', page)
    assert found, "no verification result"
    return found.group(1)


def assert_caught(web: Api, pins: Pins, held: Path) -> None:
    code, output = cli(web, "verify", "--keys", str(pins.keys), "--checkpoint", str(held))
    assert code == 1, output
    assert "TAMPERED" in output
    page = web_check(web, pins.keys, held)
    assert "Log tampered with" in page, summary(page)


def test_an_untouched_log_verifies_against_the_pins(web: Api, pins: Pins) -> None:
    for held in (pins.early, pins.late):
        code, output = cli(web, "verify", "--keys", str(pins.keys), "--checkpoint", str(held))
        assert code == 0, output
        assert "entries after the newest checkpoint; checked against pinned keys" in " ".join(output.split())
        page = web_check(web, pins.keys, held)
        assert "Log intact" in page, summary(page)
        assert 'data-testid="verify-pinned"' in page
    # Without pins the page says what the result is worth.
    page = web_check(web, None, None)
    assert "Log intact" in page
    assert "only against data the database holder controls" in page


def test_the_database_holds_no_private_key(web: Api, pins: Pins) -> None:
    with web.sessions() as session:
        assert attacker.private_keys_in_database(session) == {}


def own_keys() -> dict[str, Ed25519PrivateKey]:
    return {"IN": Ed25519PrivateKey.generate(), "US": Ed25519PrivateKey.generate()}


def resign_with_database_keys(session: Session, pins: Pins) -> Path:
    # The genuine keys where the database gives them away; the attacker's own where it does not.
    keys = {**own_keys(), **attacker.private_keys_in_database(session)}
    attacker.edit_entry(session, pins.edited, "FORGED")
    attacker.resign(session, keys)
    return pins.early


def swap_keys(session: Session, pins: Pins) -> Path:
    keys = own_keys()
    attacker.swap_keys(session, keys)
    attacker.edit_entry(session, pins.edited, "FORGED")
    attacker.resign(session, keys)
    return pins.early


def delete_checkpoints(session: Session, pins: Pins) -> Path:
    attacker.edit_entry(session, pins.edited, "FORGED")
    attacker.delete_checkpoints(session, pins.second)
    attacker.rehash(session)
    return pins.early


def delete_checkpoints_and_their_entries(session: Session, pins: Pins) -> Path:
    attacker.edit_entry(session, pins.edited, "FORGED")
    attacker.delete_checkpoints(session, pins.second)
    attacker.delete_checkpoint_entries(session, pins.second)
    attacker.rehash(session)
    return pins.late


def forge_a_tail(session: Session, pins: Pins) -> Path:
    size = int(
        session.execute(text("SELECT tree_size FROM audit_checkpoints WHERE id = :i"), {"i": pins.second}).one()[0]
    )
    attacker.delete_checkpoints(session, pins.second)
    attacker.truncate(session, size - 3)
    attacker.append_forged(session, 20)
    return pins.late


ATTACKS: list[Callable[[Session, Pins], Path]] = [
    resign_with_database_keys,
    swap_keys,
    delete_checkpoints,
    delete_checkpoints_and_their_entries,
    forge_a_tail,
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.__name__ for a in ATTACKS])
def test_an_attack_is_caught_with_pinned_inputs(web: Api, pins: Pins, attack: Callable[[Session, Pins], Path]) -> None:
    with transaction(web.sessions) as session:
        held = attack(session, pins)
    assert_caught(web, pins, held)


def test_deleted_checkpoints_are_caught_without_pins(web: Api, pins: Pins) -> None:
    # Every audit.checkpoint entry names its checkpoint: deleting the row leaves the entry pointing at nothing.
    with transaction(web.sessions) as session:
        attacker.delete_checkpoints(session, pins.second)
    code, output = cli(web, "verify")
    assert code == 1 and "TAMPERED" in output
    assert f"checkpoint {pins.second}" in " ".join(output.split())


def test_the_forgeries_are_self_consistent(web: Api, pins: Pins) -> None:
    # The attacks above are caught by the pins, not by a slip of the attacker's: the database on its own
    # verifies after a rewrite with swapped keys, and only the pinned inputs tell.
    with transaction(web.sessions) as session:
        attacker.rehash(session)
    assert cli(web, "verify")[0] == 0
    with transaction(web.sessions) as session:
        swap_keys(session, pins)
    code, output = cli(web, "verify")
    assert code == 0, output
    assert "verified only against data the database holder controls" in " ".join(output.split())
    page = web_check(web, None, None)
    assert "Log intact" in page and 'data-testid="verify-unpinned"' in page
    assert cli(web, "verify", "--keys", str(pins.keys))[0] == 1


def test_auditors_download_the_checkpoints_to_hold(web: Api, pins: Pins, tmp_path: Path) -> None:
    api = web.get("auditor", "/api/v1/audit/checkpoints/export")
    assert api.status_code == 200
    assert [c["id"] for c in api.json()["checkpoints"]] == [pins.first, pins.second]
    sign_in(web.client, "auditor")
    page = web.client.get("/audit/checkpoints.json")
    assert page.status_code == 200 and "attachment" in page.headers["content-disposition"]
    held = tmp_path / "downloaded.json"
    held.write_bytes(page.content)
    assert cli(web, "verify", "--keys", str(pins.keys), "--checkpoint", str(held))[0] == 0
    integrate_pending(web.sessions)
    with web.sessions() as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.checkpoint.export")).all()
        assert len([e for e in exports if e.actor_id is not None]) == 2  # both downloads audited
    assert web.get("in-analyst", "/api/v1/audit/checkpoints/export").status_code == 403
    sign_in(web.client, "in-analyst")
    assert web.client.get("/audit/checkpoints.json").status_code == 403


def test_the_web_check_uses_pins_configured_on_the_server(
    web: Api, pins: Pins, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETU_AUDIT_PINNED_KEYS", str(pins.keys))
    monkeypatch.setenv("SETU_AUDIT_PINNED_CHECKPOINTS", str(pins.late))
    page = web_check(web, None, None)
    assert "Log intact" in page and 'data-testid="verify-pinned"' in page
    assert 'data-testid="verify-uncovered"' in page
    with transaction(web.sessions) as session:
        swap_keys(session, pins)
    page = web_check(web, None, None)
    assert "Log tampered with" in page, summary(page)


def test_an_instance_refuses_to_sign_over_a_rewritten_log(web: Api, pins: Pins) -> None:
    # The rewrite and the checkpoints that would show it are gone from the database; the next honest
    # checkpoint must not launder it: each instance remembers, beside its key, what it signed.
    with transaction(web.sessions) as session:
        attacker.edit_entry(session, pins.edited, "FORGED")
        attacker.delete_checkpoints(session, pins.first, pins.second)
        attacker.delete_checkpoint_entries(session, pins.first, pins.second)
        attacker.rehash(session)
    for party in ("US", "IN"):
        with transaction(web.sessions) as session, pytest.raises(AuditError, match=r"rewritten|truncated"):
            issue_checkpoint(session, party)
    code, output = cli(web, "checkpoint", "--party", "IN")
    assert code == 2 and "refusing to sign" in " ".join(output.split())


def test_a_party_countersigns_only_what_a_pinned_key_signed(web: Api, pins: Pins) -> None:
    # Someone with the database swaps IN's public key and signs a checkpoint of their own as IN.
    keys = own_keys()
    with transaction(web.sessions) as session:
        attacker.swap_keys(session, {"IN": keys["IN"]})
        attacker.resign(session, {**keys, "US": keys["US"]})
        session.execute(text("DELETE FROM audit_countersignatures WHERE checkpoint_id = :i"), {"i": pins.first})
    code, output = cli(web, "countersign", "--party", "US", str(pins.first), "--keys", str(pins.keys))
    assert code == 2 and "not a pinned key of IN" in " ".join(output.split())


def test_a_fork_shown_to_the_own_auditors_passes_the_pins_but_not_the_partners_witness(
    web: Api, pins: Pins, tmp_path: Path
) -> None:
    """India's operator holds India's key too: it rewrites what followed the auditors' early checkpoint.

    It edits an entry, drops the checkpoint the US issued over it (which it cannot re-sign), clears its
    own instance's memory of what it signed, and signs the rewritten log as India. The auditors' pinned
    keys and early checkpoint cannot tell; what they can ask is how much of the log the partner's witness
    countersigned, which no fork can carry.
    """
    honest = cli(web, "verify", "--keys", str(pins.keys), "--checkpoint", str(pins.early), "--max-unwitnessed", "10")
    assert honest[0] == 0, honest[1]
    with transaction(web.sessions) as session:
        attacker.edit_entry(session, pins.edited, "FORGED")
        attacker.delete_checkpoints(session, pins.second)
        attacker.delete_checkpoint_entries(session, pins.second)
        attacker.rehash(session)
    for remembered in (tmp_path / "data-home").rglob("last-signed-*.json"):
        remembered.unlink()
    with transaction(web.sessions) as session:
        issue_checkpoint(session, "IN")
    reads(web, "in-analyst", 3)
    pinned = ("verify", "--keys", str(pins.keys), "--checkpoint", str(pins.early))
    code, output = cli(web, *pinned)
    assert code == 0, output  # what the pins alone can say
    code, output = cli(web, *pinned, "--max-unwitnessed", "10")
    assert code == 1, output
    assert "NOT WITNESSED" in output and "the newest checkpoint another party countersigned" in " ".join(output.split())
    code, output = cli(web, "verify", "--max-unwitnessed", "10")
    assert code == 2 and "needs --keys" in output
    page = web_check(web, pins.keys, pins.early)  # the web check shows the same figure
    shown = re.search(r'data-testid="verify-unwitnessed">(\d+) entries', page)
    assert "Log intact" in page and shown is not None and int(shown.group(1)) > 10
