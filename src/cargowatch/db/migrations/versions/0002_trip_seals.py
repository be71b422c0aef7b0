"""trip seals: the seal numbers of each trip, to find a seal used on two trips in any build

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trip_seals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("trip_id", sa.Integer(), nullable=False),
        sa.Column("seal", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_trip_seals_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"], ["trips.id"], name=op.f("fk_trip_seals_trip_id_trips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trip_seals")),
    )
    with op.batch_alter_table("trip_seals", schema=None) as batch_op:
        batch_op.create_index("ix_trip_seals_seal", ["org_id", "seal"], unique=False)
        batch_op.create_index("ix_trip_seals_trip", ["trip_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trip_seals", schema=None) as batch_op:
        batch_op.drop_index("ix_trip_seals_trip")
        batch_op.drop_index("ix_trip_seals_seal")
    op.drop_table("trip_seals")
