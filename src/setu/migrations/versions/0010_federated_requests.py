"""Federated SoSA requests: requests, their events and party calendar entries may be received from a partner; an ask
awaiting its answer.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sosa_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awaiting", sa.String(length=32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_sosa_requests_received_from"), ["received_from"], unique=False)
    with op.batch_alter_table("sosa_request_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_sosa_request_events_received_from"), ["received_from"], unique=False)
    with op.batch_alter_table("calendar_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_calendar_entries_received_from"), ["received_from"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calendar_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_entries_received_from"))
        batch_op.drop_column("received_from")
    with op.batch_alter_table("sosa_request_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sosa_request_events_received_from"))
        batch_op.drop_column("received_from")
    with op.batch_alter_table("sosa_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sosa_requests_received_from"))
        batch_op.drop_column("received_from")
        batch_op.drop_column("awaiting")
