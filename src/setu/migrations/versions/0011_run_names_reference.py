"""Runs have names; a network version's reference sweep per reader's view, found by the view's digest; runs
record their view's baseline shortfall and results their baseline loss.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stress_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("reference", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("view_digest", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("baseline", sa.JSON(), nullable=True))
        batch_op.create_index("ix_stress_runs_reference", ["network_id", "reference", "view_digest"], unique=False)
    with op.batch_alter_table("stress_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("baseline_loss", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("tts_relative", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("tts_relative_infinite", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("stress_results", schema=None) as batch_op:
        batch_op.drop_column("tts_relative_infinite")
        batch_op.drop_column("tts_relative")
        batch_op.drop_column("baseline_loss")
    with op.batch_alter_table("stress_runs", schema=None) as batch_op:
        batch_op.drop_column("baseline")
        batch_op.drop_index("ix_stress_runs_reference")
        batch_op.drop_column("view_digest")
        batch_op.drop_column("reference")
        batch_op.drop_column("name")
