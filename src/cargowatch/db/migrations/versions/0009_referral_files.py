"""referral attachments, threads and in-app notifications read

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_attachments_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_attachments")),
        sa.UniqueConstraint("referral_id", "sha256", name="uq_referral_attachments"),
    )
    with op.batch_alter_table("referral_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_attachments_referral_id"), ["referral_id"], unique=False
        )

    op.create_table(
        "referral_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["referral_copies.id"],
            name=op.f("fk_referral_messages_copy_id_referral_copies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_referral_messages_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_messages")),
    )
    with op.batch_alter_table("referral_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_messages_copy_id"), ["copy_id"], unique=False)

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("read_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_deliveries_target", ["channel", "target", "read_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_target")
        batch_op.drop_column("read_at")

    with op.batch_alter_table("referral_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_messages_copy_id"))

    op.drop_table("referral_messages")
    with op.batch_alter_table("referral_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_attachments_referral_id"))

    op.drop_table("referral_attachments")
