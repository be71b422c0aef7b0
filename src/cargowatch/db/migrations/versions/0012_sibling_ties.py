"""Indexes for the ties between sibling containers (a vessel call, a collecting truck) and for
pages of events in time order (the DCSA Track & Trace API).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_time", ["event_time", "id"], unique=False)

    with op.batch_alter_table("manifest", schema=None) as batch_op:
        batch_op.create_index(
            "ix_manifest_vessel_imo_voyage", ["vessel_imo", "voyage"], unique=False
        )

    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.create_index("ix_releases_truck_plate_ts", ["truck_plate", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_time")

    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_index("ix_releases_truck_plate_ts")

    with op.batch_alter_table("manifest", schema=None) as batch_op:
        batch_op.drop_index("ix_manifest_vessel_imo_voyage")
