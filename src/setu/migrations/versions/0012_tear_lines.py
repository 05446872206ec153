"""Tear lines (stand-ins in place of the nodes a partner may not see); nodes' coordinates; networks' units.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "network_tear_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=8), nullable=False),
        sa.Column("classification", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fold", sa.String(length=16), nullable=False),
        sa.Column("hidden_nodes", sa.Integer(), nullable=False),
        sa.Column("standins", sa.Integer(), nullable=False),
        sa.Column("check", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("marking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["marking_id"], ["markings.id"]),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_network_tear_lines_network_id", "network_tear_lines", ["network_id"])
    op.create_index("ix_network_tear_lines_marking_id", "network_tear_lines", ["marking_id"])
    op.create_table(
        "network_tear_line_covers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("tear_line_id", sa.Integer(), nullable=False),
        sa.Column("standin_id", sa.Integer(), nullable=False),
        sa.Column("covered_id", sa.Integer(), nullable=False),
        sa.Column("marking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["covered_id"], ["network_nodes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["marking_id"], ["markings.id"]),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["standin_id"], ["network_nodes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tear_line_id"], ["network_tear_lines.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("covered_id"),
    )
    op.create_index("ix_network_tear_line_covers_network_id", "network_tear_line_covers", ["network_id"])
    op.create_index("ix_network_tear_line_covers_tear_line_id", "network_tear_line_covers", ["tear_line_id"])
    op.create_index("ix_network_tear_line_covers_marking_id", "network_tear_line_covers", ["marking_id"])
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_unit", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("weight_unit", sa.String(length=60), nullable=False, server_default=""))
    with op.batch_alter_table("network_nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    for table in ("network_nodes", "network_site_capacities"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("tear_line_id", sa.Integer(), nullable=True))
            batch_op.create_index(f"ix_{table}_tear_line_id", ["tear_line_id"], unique=False)
            batch_op.create_foreign_key(
                f"fk_{table}_tear_line_id", "network_tear_lines", ["tear_line_id"], ["id"], ondelete="CASCADE"
            )


def downgrade() -> None:
    for table in ("network_site_capacities", "network_nodes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_tear_line_id", type_="foreignkey")
            batch_op.drop_index(f"ix_{table}_tear_line_id")
            batch_op.drop_column("tear_line_id")
    with op.batch_alter_table("network_nodes", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_column("weight_unit")
        batch_op.drop_column("time_unit")
    op.drop_table("network_tear_line_covers")
    op.drop_table("network_tear_lines")
