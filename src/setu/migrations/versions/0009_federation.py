"""Federation: partners, the outbound feed, what was received, and received_from on the records that may cross.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 14:17:11.486766
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "federation_applied",
        sa.Column("partner", sa.String(length=8), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stix_id", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner", "seq", name=op.f("pk_federation_applied")),
    )
    op.create_table(
        "federation_partners",
        sa.Column("party", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("tls_certificate", sa.Text(), nullable=False),
        sa.Column("max_classification", sa.Integer(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("party", name=op.f("pk_federation_partners")),
    )
    op.create_table(
        "federation_witnessed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=8), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.String(length=40), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("consistency", sa.Text(), nullable=False),
        sa.Column("cosignature", sa.String(length=100), nullable=False),
        sa.Column("fork", sa.Text(), nullable=False),
        sa.Column("witnessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_witnessed")),
    )
    with op.batch_alter_table("federation_witnessed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_witnessed_partner"), ["partner"], unique=False)

    op.create_table(
        "federation_stix_ids",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("local_id", sa.Integer(), nullable=False),
        sa.Column("stix_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("kind", "local_id", name=op.f("pk_federation_stix_ids")),
        sa.UniqueConstraint("stix_id", name=op.f("uq_federation_stix_ids_stix_id")),
    )
    op.create_table(
        "federation_outbound",
        sa.Column("partner", sa.String(length=8), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stix_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("marking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["marking_id"], ["markings.id"], name=op.f("fk_federation_outbound_marking_id_markings")
        ),
        sa.PrimaryKeyConstraint("partner", "seq", name=op.f("pk_federation_outbound")),
    )
    with op.batch_alter_table("federation_outbound", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_outbound_marking_id"), ["marking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_federation_outbound_stix_id"), ["stix_id"], unique=False)

    op.create_table(
        "federation_received",
        sa.Column("partner", sa.String(length=8), nullable=False),
        sa.Column("stix_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("local_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("marking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["marking_id"], ["markings.id"], name=op.f("fk_federation_received_marking_id_markings")
        ),
        sa.PrimaryKeyConstraint("partner", "stix_id", name=op.f("pk_federation_received")),
    )
    with op.batch_alter_table("federation_received", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_received_marking_id"), ["marking_id"], unique=False)
        batch_op.create_index("ix_federation_received_local", ["kind", "local_id"], unique=False)

    op.create_table(
        "federation_sent",
        sa.Column("partner", sa.String(length=8), nullable=False),
        sa.Column("stix_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("local_id", sa.Integer(), nullable=False),
        sa.Column("content_digest", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("first_sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("marking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["marking_id"], ["markings.id"], name=op.f("fk_federation_sent_marking_id_markings")),
        sa.PrimaryKeyConstraint("partner", "stix_id", name=op.f("pk_federation_sent")),
    )
    with op.batch_alter_table("federation_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_sent_marking_id"), ["marking_id"], unique=False)

    with op.batch_alter_table("network_bom", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_network_bom_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("network_nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_network_nodes_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("network_products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_network_products_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("network_site_capacities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_network_site_capacities_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("network_supplies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_network_supplies_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_networks_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_organizations_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("registry_sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_registry_sites_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("scenarios", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_scenarios_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("stress_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_stress_runs_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("stress_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_stress_results_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("framework_pillars", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_framework_pillars_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("framework_bodies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_framework_bodies_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("framework_meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_framework_meetings_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("framework_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_framework_decisions_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("framework_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_framework_actions_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("framework_projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_framework_projects_received_from"), ["received_from"], unique=False)

    with op.batch_alter_table("site_capabilities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_from", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_site_capabilities_received_from"), ["received_from"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("framework_pillars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_framework_pillars_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("framework_bodies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_framework_bodies_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("framework_meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_framework_meetings_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("framework_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_framework_decisions_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("framework_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_framework_actions_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("framework_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_framework_projects_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("scenarios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenarios_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("stress_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stress_runs_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("stress_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stress_results_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("site_capabilities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_capabilities_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("registry_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_sites_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organizations_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_networks_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("network_supplies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_supplies_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("network_site_capacities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_site_capacities_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("network_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_products_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("network_nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_nodes_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("network_bom", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_bom_received_from"))
        batch_op.drop_column("received_from")

    with op.batch_alter_table("federation_sent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_sent_marking_id"))

    op.drop_table("federation_sent")
    with op.batch_alter_table("federation_received", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_received_marking_id"))

    op.drop_table("federation_received")
    with op.batch_alter_table("federation_outbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_outbound_stix_id"))
        batch_op.drop_index(batch_op.f("ix_federation_outbound_marking_id"))

    op.drop_table("federation_outbound")
    op.drop_table("federation_stix_ids")
    op.drop_table("federation_witnessed")
    op.drop_table("federation_partners")
    op.drop_table("federation_applied")
