"""incidents: the seizure database; access read by facility and time

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=False),
        sa.Column("trip_id", sa.Integer(), nullable=True),
        sa.Column("container", sa.String(length=15), nullable=False),
        sa.Column("booking_ref", sa.String(length=100), nullable=True),
        sa.Column("found_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locode", sa.String(length=5), nullable=True),
        sa.Column("substance", sa.String(length=100), nullable=True),
        sa.Column("quantity_kg", sa.Float(), nullable=True),
        sa.Column("concealment", sa.String(length=20), nullable=True),
        sa.Column("mo", sa.String(length=32), nullable=True),
        sa.Column("insider", sa.String(length=10), nullable=False),
        sa.Column("insider_role", sa.String(length=100), nullable=True),
        sa.Column("pol", sa.String(length=5), nullable=True),
        sa.Column("pod", sa.String(length=5), nullable=True),
        sa.Column("carrier_code", sa.String(length=10), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_incidents_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"], ["trips.id"], name=op.f("fk_incidents_trip_id_trips"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("org_id", "source", "source_ref", name="uq_incidents_source"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_found", ["org_id", "found_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_trip_id"), ["trip_id"], unique=False)

    with op.batch_alter_table("access", schema=None) as batch_op:
        batch_op.create_index("ix_access_facility_ts", ["facility", "ts"], unique=False)
        batch_op.create_index("ix_access_badge_id_ts", ["badge_id", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("access", schema=None) as batch_op:
        batch_op.drop_index("ix_access_badge_id_ts")
        batch_op.drop_index("ix_access_facility_ts")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_trip_id"))
        batch_op.drop_index("ix_incidents_found")

    op.drop_table("incidents")
