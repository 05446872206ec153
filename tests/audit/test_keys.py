"""Private signing keys: in per-party key files (0700/0600) or on a PKCS#11 token, never in the database; each
instance signs only as the parties it is configured for; migration 0004 moves old database keys out."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from setu.audit.checkpoints import countersign, held_key, issue_checkpoint
from setu.audit.keys import FileKeyStore, key_id_of, key_store
from setu.audit.log import AuditError, record
from setu.audit.verify import verify_log
from setu.db import drop_schema, make_engine, upgrade

SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def some_entries(sessions: sessionmaker[Session], count: int = 3) -> None:
    with sessions.begin() as session:
        for i in range(count):
            record(session, None, "node.read", "node", f"N{i}")


def test_keys_are_files_per_party_private_to_the_owner(sessions: sessionmaker[Session], key_dir: Path) -> None:
    some_entries(sessions)
    with sessions.begin() as session:
        checkpoint = issue_checkpoint(session, "IN")
    with sessions.begin() as session:
        countersign(session, checkpoint.id, "US")
    for party in ("IN", "US"):
        folder = key_dir / party
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        (key,) = folder.glob("*.pem")
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.suffix == ".pem"
    assert [checkpoint.key_id] == [p.stem for p in (key_dir / "IN").glob("*.pem")]
    # Beside the key: the tree this instance signed, so that it never signs over a rewrite of it.
    (memory,) = (key_dir / "IN").glob("last-signed-*.json")
    assert stat.S_IMODE(memory.stat().st_mode) == 0o600
    with sessions() as session:
        assert verify_log(session).ok
        columns = {c["name"] for c in inspect(session.get_bind()).get_columns("audit_signing_keys")}
    assert columns == {"id", "key_id", "party", "public_key", "created_at"}


def test_a_key_open_to_others_is_refused(sessions: sessionmaker[Session], key_dir: Path) -> None:
    some_entries(sessions)
    with sessions.begin() as session:
        issue_checkpoint(session, "IN")
    (path,) = (key_dir / "IN").glob("*.pem")
    path.chmod(0o644)
    with sessions.begin() as session, pytest.raises(AuditError, match="open to other users"):
        issue_checkpoint(session, "IN")
    path.chmod(0o600)
    (key_dir / "IN").chmod(0o755)
    with sessions.begin() as session, pytest.raises(AuditError, match="open to other users"):
        issue_checkpoint(session, "IN")


def test_an_instance_signs_only_as_its_own_party(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, key_dir: Path
) -> None:
    some_entries(sessions)
    monkeypatch.setenv("SETU_SIGNING_PARTIES", "IN")
    with sessions.begin() as session:
        checkpoint = issue_checkpoint(session, "IN")
    with sessions.begin() as session, pytest.raises(AuditError, match="signs only as IN"):
        issue_checkpoint(session, "US")
    with sessions.begin() as session, pytest.raises(AuditError, match="signs only as IN"):
        countersign(session, checkpoint.id, "US")
    assert not (key_dir / "US").exists()
    # The US instance, with its own key folder, countersigns.
    monkeypatch.setenv("SETU_SIGNING_PARTIES", "US")
    monkeypatch.setenv("SETU_KEY_DIR", str(key_dir.parent / "us-keys"))
    with sessions.begin() as session:
        countersign(session, checkpoint.id, "US")
    with sessions() as session:
        assert verify_log(session).ok


def test_a_public_key_added_to_the_database_is_not_signed_with(sessions: sessionmaker[Session]) -> None:
    # The key that signs comes from the store; a database row the store has no private half of changes nothing.
    some_entries(sessions)
    with sessions.begin() as session:
        held = held_key(session, "IN")
    theirs = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with sessions.begin() as session:
        session.execute(
            text("INSERT INTO audit_signing_keys (key_id, party, public_key, created_at) VALUES (:k, 'IN', :p, :t)"),
            {"k": key_id_of(theirs), "p": theirs, "t": "2030-01-01 00:00:00"},
        )
    with sessions.begin() as session:
        assert issue_checkpoint(session, "IN").key_id == held.key_id
    # A stored public key that no longer matches the held key is refused, not silently trusted.
    with sessions.begin() as session:
        session.execute(
            text("UPDATE audit_signing_keys SET public_key = :p WHERE key_id = :k"), {"p": theirs, "k": held.key_id}
        )
    with sessions.begin() as session, pytest.raises(AuditError, match="differs"):
        issue_checkpoint(session, "IN")


@pytest.fixture
def softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SoftHSM2 token, configured as the key store (skips when SoftHSM2 is not installed)."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2; .ci/run installs it)")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    config = tmp_path / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(config))
    command = ["softhsm2-util", "--init-token", "--free", "--label", "setu", "--pin", "1234", "--so-pin", "5678"]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "SOFTHSM2_CONF": str(config)})
    monkeypatch.setenv("SETU_PKCS11_MODULE", module)
    monkeypatch.setenv("SETU_PKCS11_TOKEN", "setu")
    monkeypatch.setenv("SETU_PKCS11_PIN", "1234")
    return module


def test_keys_on_a_pkcs11_token(sessions: sessionmaker[Session], softhsm: str, key_dir: Path) -> None:
    some_entries(sessions)
    with sessions.begin() as session:
        checkpoint = issue_checkpoint(session, "IN")
    with sessions.begin() as session:
        countersign(session, checkpoint.id, "US")
    with sessions.begin() as session:
        issue_checkpoint(session, "IN")  # the same key, found again on the token
    store = key_store()
    assert "PKCS#11" in store.where
    assert [k.key_id for k in store.keys("IN")] == [checkpoint.key_id]
    with pytest.raises(AuditError, match="already holds"):
        store.generate("IN")
    assert not list(key_dir.rglob("*.pem"))  # no key written to files
    with sessions() as session:
        result = verify_log(session)
    assert result.ok and result.checkpoints == 2 and result.countersigned == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """A database at revision 0003, whose key table still has the private_key column."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        drop_schema(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(engine, "0003")
    return engine


def test_migration_moves_database_keys_to_key_files(old_engine: Engine, key_dir: Path) -> None:
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with old_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_signing_keys (key_id, party, public_key, private_key, created_at) "
                "VALUES (:k, 'IN', :p, :s, CURRENT_TIMESTAMP)"
            ),
            {"k": key_id_of(public), "p": public, "s": raw},
        )
    upgrade(old_engine)
    columns = {c["name"] for c in inspect(old_engine).get_columns("audit_signing_keys")}
    assert "private_key" not in columns
    (held,) = FileKeyStore(key_dir).keys("IN")
    assert held.public_key == public
    assert stat.S_IMODE((key_dir / "IN" / f"{held.key_id}.pem").stat().st_mode) == 0o600
    old_engine.dispose()
