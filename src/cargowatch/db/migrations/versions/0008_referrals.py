"""referrals

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("spoc_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_deliveries_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_org", ["org_id", "created_at"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("client_ref", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("observed_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("place", sa.String(length=5), nullable=True),
        sa.Column("containers", sa.Text(), nullable=False),
        sa.Column("bookings", sa.Text(), nullable=False),
        sa.Column("bl_numbers", sa.Text(), nullable=False),
        sa.Column("seals", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_referrals_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("org_id", "client_ref", name="uq_referrals_client_ref"),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_created", ["created_at"], unique=False)

    op.create_table(
        "spocs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("opens", sa.String(length=5), nullable=False),
        sa.Column("closes", sa.String(length=5), nullable=False),
        sa.Column("weekdays", sa.String(length=20), nullable=False),
        sa.Column("holidays", sa.Text(), nullable=False),
        sa.Column("urgent_minutes", sa.Integer(), nullable=False),
        sa.Column("routine_minutes", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("backup_email", sa.String(length=200), nullable=True),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("feedback_review", sa.Boolean(), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_spocs_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spocs")),
        sa.UniqueConstraint("org_id", "name", name="uq_spocs_name"),
    )
    op.create_table(
        "referral_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("customs_org_id", sa.Integer(), nullable=False),
        sa.Column("spoc_id", sa.Integer(), nullable=True),
        sa.Column("routed_by", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("due_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sla_due_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalation", sa.Integer(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("updated_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customs_org_id"],
            ["organisations.id"],
            name=op.f("fk_referral_copies_customs_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_copies_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spoc_id"], ["spocs.id"], name=op.f("fk_referral_copies_spoc_id_spocs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_copies")),
        sa.UniqueConstraint("referral_id", "customs_org_id", name="uq_referral_copies_org"),
    )
    with op.batch_alter_table("referral_copies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referral_copies_inbox", ["customs_org_id", "state", "due_at"], unique=False
        )

    op.create_table(
        "referral_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("hold_until", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["referral_copies.id"],
            name=op.f("fk_referral_feedback_copy_id_referral_copies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_feedback")),
    )
    with op.batch_alter_table("referral_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_feedback_copy_id"), ["copy_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referral_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_feedback_copy_id"))

    op.drop_table("referral_feedback")
    with op.batch_alter_table("referral_copies", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_copies_inbox")

    op.drop_table("referral_copies")
    op.drop_table("spocs")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_created")

    op.drop_table("referrals")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_org")

    op.drop_table("deliveries")
