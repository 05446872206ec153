"""Private signing keys leave the database: each is written to its party's key folder, then the column goes.

Before this revision a party's private checkpoint key could sit in ``audit_signing_keys.private_key``
(the default when ``SETU_KEY_DIR`` was unset), readable by whoever held the database. The upgrade
writes each such key to ``$SETU_KEY_DIR/<PARTY>/<key_id>.pem`` (folder 0700, file 0600, see
:mod:`setu.audit.keys`) and drops the column. It refuses, changing nothing, when a PKCS#11 token is
configured (a key cannot be imported there by a migration) or a key cannot be written. A key that sat
in the database must be taken as known to its administrators: rotate it (``setu audit keys new``) and
give the auditors the new public key (docs/security.md). The downgrade restores an empty column only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 23:10:00
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _export_keys() -> None:
    from setu.audit.keys import PKCS11_MODULE_ENV, FileKeyStore, default_key_dir

    rows = op.get_bind().execute(
        sa.text("SELECT key_id, party, private_key FROM audit_signing_keys WHERE private_key IS NOT NULL")
    )
    keys = [(str(r[0]), str(r[1]), bytes(r[2])) for r in rows]
    if not keys:
        return
    if os.environ.get(PKCS11_MODULE_ENV, "").strip():
        raise RuntimeError(
            f"{len(keys)} private signing keys are stored in the database; unset {PKCS11_MODULE_ENV} for this "
            "upgrade so that they are moved to key files (SETU_KEY_DIR), then rotate them onto the token"
        )
    store = FileKeyStore(default_key_dir())
    for key_id, party, raw in keys:
        if (store.folder(party) / f"{key_id}.pem").exists():
            continue  # moved by an earlier, interrupted upgrade
        held = store.write(party, Ed25519PrivateKey.from_private_bytes(raw))
        if held.key_id != key_id:
            raise RuntimeError(f"the stored private key of {key_id} does not match its id ({held.key_id})")
    print(f"moved {len(keys)} private signing keys from the database to {store.root}; rotate them (docs/security.md)")


def upgrade() -> None:
    _export_keys()
    with op.batch_alter_table("audit_signing_keys", schema=None) as batch_op:
        batch_op.drop_column("private_key")


def downgrade() -> None:
    with op.batch_alter_table("audit_signing_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private_key", sa.LargeBinary(length=32), nullable=True))
