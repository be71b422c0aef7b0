"""laden trips, exploration share, queue picks, assessment uncertainty

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("trip_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_queue_picks_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"], ["trips.id"], name=op.f("fk_queue_picks_trip_id_trips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_picks")),
        sa.UniqueConstraint("org_id", "trip_id", "day", name="uq_queue_picks_day"),
    )
    with op.batch_alter_table("queue_picks", schema=None) as batch_op:
        batch_op.create_index("ix_queue_picks_trip", ["trip_id"], unique=False)
    with op.batch_alter_table("trips", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("laden", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("explore_share", sa.Float(), nullable=True))
    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uncertainty", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        batch_op.drop_column("uncertainty")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("explore_share")
    with op.batch_alter_table("trips", schema=None) as batch_op:
        batch_op.drop_column("laden")
    with op.batch_alter_table("queue_picks", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_picks_trip")
    op.drop_table("queue_picks")
