"""score history, saved queue filters, search and queue indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_score_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("trip_id", sa.Integer(), nullable=False),
        sa.Column("at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("score_before", sa.Float(), nullable=False),
        sa.Column("score_after", sa.Float(), nullable=False),
        sa.Column("model_before", sa.Integer(), nullable=True),
        sa.Column("model_after", sa.Integer(), nullable=True),
        sa.Column("added", sa.Text(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.Column("cause", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_risk_score_changes_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"],
            ["trips.id"],
            name=op.f("fk_risk_score_changes_trip_id_trips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_score_changes")),
    )
    with op.batch_alter_table("risk_score_changes", schema=None) as batch_op:
        batch_op.create_index("ix_risk_score_changes_trip", ["trip_id", "at"], unique=False)

    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_saved_filters_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_filters_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_filters_name"),
    )
    with op.batch_alter_table("manifest", schema=None) as batch_op:
        batch_op.create_index("ix_manifest_bl_number", ["bl_number"], unique=False)
        batch_op.create_index("ix_manifest_consignee_id", ["consignee_id"], unique=False)
        batch_op.create_index("ix_manifest_forwarder_id", ["forwarder_id"], unique=False)
        batch_op.create_index("ix_manifest_shipper_id", ["shipper_id"], unique=False)

    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finding_keys", sa.Text(), nullable=True))
        batch_op.create_index("ix_risk_assessments_rank", ["score", "trip_id"], unique=False)
        batch_op.create_index(
            "ix_risk_assessments_uncertainty", ["uncertainty", "trip_id"], unique=False
        )
        batch_op.create_index("ix_risk_assessments_trip", ["trip_id"], unique=False)

    with op.batch_alter_table("trips", schema=None) as batch_op:
        batch_op.drop_index("ix_trips_container")
        batch_op.create_index("ix_trips_container", ["container", "org_id"], unique=False)
        batch_op.create_index("ix_trips_booking", ["booking_ref"], unique=False)
        batch_op.create_index("ix_trips_started", ["started_at"], unique=False)
        batch_op.create_index("ix_trips_org_started", ["org_id", "started_at"], unique=False)
        batch_op.create_index("ix_trips_route", ["origin", "destination"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trips", schema=None) as batch_op:
        batch_op.drop_index("ix_trips_route")
        batch_op.drop_index("ix_trips_org_started")
        batch_op.drop_index("ix_trips_started")
        batch_op.drop_index("ix_trips_booking")
        batch_op.drop_index("ix_trips_container")
        batch_op.create_index("ix_trips_container", ["container"], unique=False)

    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_assessments_trip")
        batch_op.drop_index("ix_risk_assessments_uncertainty")
        batch_op.drop_index("ix_risk_assessments_rank")
        batch_op.drop_column("finding_keys")

    with op.batch_alter_table("manifest", schema=None) as batch_op:
        batch_op.drop_index("ix_manifest_shipper_id")
        batch_op.drop_index("ix_manifest_forwarder_id")
        batch_op.drop_index("ix_manifest_consignee_id")
        batch_op.drop_index("ix_manifest_bl_number")

    op.drop_table("saved_filters")
    with op.batch_alter_table("risk_score_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_score_changes_trip")

    op.drop_table("risk_score_changes")
