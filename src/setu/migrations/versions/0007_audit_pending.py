"""Audit entries sequenced in batches: a pending table written in each event's transaction, without a lock.

``record()`` inserts into ``audit_pending``; the sequencer moves rows into ``audit_entries`` under the
log lock, giving each its ``seq`` and leaf hash. A database upgraded from 0006 has no pending rows.
The downgrade refuses while rows are pending (they would be lost); integrate them first
(``setu audit sequence``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("party", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
    )


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM audit_pending")).scalar_one()
    if waiting:
        raise RuntimeError(
            f"{waiting} audit entries are pending; run `setu audit sequence` before downgrading, or they are lost"
        )
    op.drop_table("audit_pending")
