"""Scheduled TAXII pulls: an interval, the user it runs as, sealed credentials, the next pull
and the last error.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("taxii_pulls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("every_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("run_as", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("auth_kind", sa.String(length=8), nullable=False, server_default="none")
        )
        batch_op.add_column(sa.Column("auth_user", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("auth_sealed", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("next_pull_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("taxii_pulls", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("failures")
        batch_op.drop_column("next_pull_at")
        batch_op.drop_column("auth_sealed")
        batch_op.drop_column("auth_user")
        batch_op.drop_column("auth_kind")
        batch_op.drop_column("run_as")
        batch_op.drop_column("every_minutes")
