"""Sharing groups (a steward admits members), bulletins on emerging threats with their
recipients, indicators and watches, and the TAXII collections an organisation pulls.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sharing_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("steward_org_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["steward_org_id"],
            ["organisations.id"],
            name=op.f("fk_sharing_groups_steward_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_groups")),
        sa.UniqueConstraint("slug", name=op.f("uq_sharing_groups_slug")),
    )
    with op.batch_alter_table("sharing_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_groups_steward_org_id"), ["steward_org_id"], unique=False
        )

    op.create_table(
        "taxii_pulls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("api_root", sa.String(length=500), nullable=False),
        sa.Column("collection_id", sa.String(length=100), nullable=False),
        sa.Column("last_added", sa.String(length=40), nullable=False),
        sa.Column("objects", sa.Integer(), nullable=False),
        sa.Column("bulletins", sa.Integer(), nullable=False),
        sa.Column("pulled_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_taxii_pulls_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taxii_pulls")),
        sa.UniqueConstraint("org_id", "api_root", "collection_id", name="uq_taxii_pull"),
    )
    with op.batch_alter_table("taxii_pulls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_taxii_pulls_org_id"), ["org_id"], unique=False)

    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("stix_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("distribution", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_ref", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["sharing_groups.id"], name=op.f("fk_bulletins_group_id_sharing_groups")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_bulletins_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletins")),
        sa.UniqueConstraint("org_id", "stix_id", name="uq_bulletin_stix"),
    )
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.create_index("ix_bulletins_added", ["added_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulletins_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bulletins_org_id"), ["org_id"], unique=False)

    op.create_table(
        "sharing_group_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("admitted_by", sa.String(length=200), nullable=False),
        sa.Column("admitted_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["sharing_groups.id"],
            name=op.f("fk_sharing_group_members_group_id_sharing_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_sharing_group_members_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_group_members")),
        sa.UniqueConstraint("group_id", "org_id", name="uq_sharing_group_member"),
    )
    with op.batch_alter_table("sharing_group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_group_members_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_group_members_org_id"), ["org_id"], unique=False
        )

    op.create_table(
        "bulletin_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("stix_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("value_to", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["bulletins.id"],
            name=op.f("fk_bulletin_indicators_bulletin_id_bulletins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin_indicators")),
    )
    with op.batch_alter_table("bulletin_indicators", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bulletin_indicators_bulletin_id"), ["bulletin_id"], unique=False
        )
        batch_op.create_index("ix_bulletin_indicators_value", ["kind", "value"], unique=False)

    op.create_table(
        "bulletin_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("via_org_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["bulletins.id"],
            name=op.f("fk_bulletin_recipients_bulletin_id_bulletins"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_bulletin_recipients_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["via_org_id"],
            ["organisations.id"],
            name=op.f("fk_bulletin_recipients_via_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin_recipients")),
        sa.UniqueConstraint("bulletin_id", "org_id", name="uq_bulletin_recipient"),
    )
    with op.batch_alter_table("bulletin_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bulletin_recipients_bulletin_id"), ["bulletin_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bulletin_recipients_org_id"), ["org_id"], unique=False)

    op.create_table(
        "bulletin_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bulletin_id"],
            ["bulletins.id"],
            name=op.f("fk_bulletin_watches_bulletin_id_bulletins"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_bulletin_watches_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin_watches")),
        sa.UniqueConstraint("org_id", "bulletin_id", name="uq_bulletin_watch"),
    )
    with op.batch_alter_table("bulletin_watches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bulletin_watches_bulletin_id"), ["bulletin_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bulletin_watches_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bulletin_watches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletin_watches_org_id"))
        batch_op.drop_index(batch_op.f("ix_bulletin_watches_bulletin_id"))

    op.drop_table("bulletin_watches")
    with op.batch_alter_table("bulletin_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletin_recipients_org_id"))
        batch_op.drop_index(batch_op.f("ix_bulletin_recipients_bulletin_id"))

    op.drop_table("bulletin_recipients")
    with op.batch_alter_table("bulletin_indicators", schema=None) as batch_op:
        batch_op.drop_index("ix_bulletin_indicators_value")
        batch_op.drop_index(batch_op.f("ix_bulletin_indicators_bulletin_id"))

    op.drop_table("bulletin_indicators")
    with op.batch_alter_table("sharing_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_group_members_org_id"))
        batch_op.drop_index(batch_op.f("ix_sharing_group_members_group_id"))

    op.drop_table("sharing_group_members")
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletins_org_id"))
        batch_op.drop_index(batch_op.f("ix_bulletins_group_id"))
        batch_op.drop_index("ix_bulletins_added")

    op.drop_table("bulletins")
    with op.batch_alter_table("taxii_pulls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taxii_pulls_org_id"))

    op.drop_table("taxii_pulls")
    with op.batch_alter_table("sharing_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_groups_steward_org_id"))

    op.drop_table("sharing_groups")
