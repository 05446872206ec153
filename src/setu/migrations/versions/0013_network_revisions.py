"""A revision per network, changed by triggers whenever any of its records changes (:mod:`setu.models.revisions`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from setu.models.revisions import REVISED_TABLES, trigger_statements

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "network_revisions",
        sa.Column("network_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("network_id"),
    )
    dialect = op.get_bind().dialect.name
    # The triggers as this release defines them; a later change to them is a migration of its own.
    for statement in trigger_statements(dialect):
        op.execute(statement)
    fresh = "random()" if dialect == "sqlite" else "(random() * 9.2e18 - 4.6e18)::bigint"
    op.execute(f"INSERT INTO network_revisions (network_id, revision) SELECT id, {fresh} FROM networks")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    on_table = dialect != "sqlite"  # PostgreSQL names a trigger within its table
    for table in REVISED_TABLES:
        for event_name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_revise_{event_name}" + (f" ON {table}" if on_table else ""))
    if dialect == "postgresql":
        for name in ("inserted", "deleted", "updated"):
            op.execute(f"DROP FUNCTION IF EXISTS setu_revise_{name}()")
    op.drop_table("network_revisions")
