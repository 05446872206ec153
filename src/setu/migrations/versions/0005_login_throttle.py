"""Login throttles (failures per account and per source) and paired tokens of one login.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 23:00:00
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttles_window_end"), ["window_end"], unique=False)
    # Rebuilding auth_tokens on SQLite reflects users, whose lower(username) index SQLite cannot reflect;
    # the index is not touched, so the warning would only alarm whoever runs the upgrade.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
            batch_op.add_column(sa.Column("pair_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f("ix_auth_tokens_pair_id"), ["pair_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f("fk_auth_tokens_pair_id_auth_tokens"),
                "auth_tokens",
                ["pair_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    with op.batch_alter_table("auth_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_auth_tokens_pair_id_auth_tokens"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_auth_tokens_pair_id"))
        batch_op.drop_column("pair_id")
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttles_window_end"))
    op.drop_table("login_throttles")
