"""Stress runs are a durable queue: worker heartbeats, cancel requests from any process, attempts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stress_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_stress_runs_status_id", ["status", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stress_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_stress_runs_status_id")
        batch_op.drop_column("attempts")
        batch_op.drop_column("cancel_requested")
        batch_op.drop_column("heartbeat_at")
