"""Sharing agreements replace shares: an owner lets an organisation or a sharing group read
some classes of its data (events, documents, telemetry, alerts, risk, customs selections,
personal data), for a purpose under a legal basis, in a scope (containers, ports, lanes), for
a term; each with its own pseudonym key. Every share becomes an agreement: a container share
one scoped to its container, an all-events share one without scope (both with the classes a
share always opened: events, telemetry, alerts, risk), personal-data shares one personal-data
agreement per owner and grantee with their roles.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sharing_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("grantee_org_id", sa.Integer(), nullable=True),
        sa.Column("grantee_group_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("personal_roles", sa.String(length=200), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("valid_from", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pseudonym_key", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["grantee_group_id"],
            ["sharing_groups.id"],
            name=op.f("fk_sharing_agreements_grantee_group_id_sharing_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grantee_org_id"],
            ["organisations.id"],
            name=op.f("fk_sharing_agreements_grantee_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organisations.id"],
            name=op.f("fk_sharing_agreements_owner_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_agreements")),
    )
    with op.batch_alter_table("sharing_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_agreements_grantee_group_id"), ["grantee_group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_agreements_grantee_org_id"), ["grantee_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sharing_agreements_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "agreement_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("data_class", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["sharing_agreements.id"],
            name=op.f("fk_agreement_classes_agreement_id_sharing_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_classes")),
        sa.UniqueConstraint("agreement_id", "data_class", name="uq_agreement_class"),
    )
    with op.batch_alter_table("agreement_classes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_classes_agreement_id"), ["agreement_id"], unique=False
        )

    op.create_table(
        "agreement_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=20), nullable=False),
        sa.Column("value2", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["sharing_agreements.id"],
            name=op.f("fk_agreement_scopes_agreement_id_sharing_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_scopes")),
        sa.UniqueConstraint("agreement_id", "kind", "value", "value2", name="uq_agreement_scope"),
    )
    with op.batch_alter_table("agreement_scopes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_scopes_agreement_id"), ["agreement_id"], unique=False
        )

    _shares_to_agreements()
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shares_grantee_org_id"))
        batch_op.drop_index(batch_op.f("ix_shares_owner_org_id"))

    op.drop_table("shares")


def downgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.INTEGER(), nullable=False),
        sa.Column("owner_org_id", sa.INTEGER(), nullable=False),
        sa.Column("grantee_org_id", sa.INTEGER(), nullable=False),
        sa.Column("scope", sa.VARCHAR(length=32), nullable=False),
        sa.Column("value", sa.VARCHAR(length=200), nullable=False),
        sa.Column("created_at", sa.DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grantee_org_id"],
            ["organisations.id"],
            name=op.f("fk_shares_grantee_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organisations.id"],
            name=op.f("fk_shares_owner_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
        sa.UniqueConstraint(
            "owner_org_id", "grantee_org_id", "scope", "value", name=op.f("uq_shares_owner_org_id")
        ),
    )
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shares_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shares_grantee_org_id"), ["grantee_org_id"], unique=False
        )

    with op.batch_alter_table("agreement_scopes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_scopes_agreement_id"))

    op.drop_table("agreement_scopes")
    with op.batch_alter_table("agreement_classes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_classes_agreement_id"))

    op.drop_table("agreement_classes")
    with op.batch_alter_table("sharing_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_agreements_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_sharing_agreements_grantee_org_id"))
        batch_op.drop_index(batch_op.f("ix_sharing_agreements_grantee_group_id"))

    op.drop_table("sharing_agreements")


SHARE_CLASSES = ("events", "telemetry", "alerts", "risk")


def _shares_to_agreements() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    shares = sa.Table("shares", meta, autoload_with=bind)
    agreements = sa.Table("sharing_agreements", meta, autoload_with=bind)
    classes = sa.Table("agreement_classes", meta, autoload_with=bind)
    scopes = sa.Table("agreement_scopes", meta, autoload_with=bind)
    rows = bind.execute(sa.select(shares).order_by(shares.c.id)).mappings().all()
    personal: dict[tuple[int, int], list[str]] = {}
    started: dict[tuple[int, int], datetime] = {}
    now = datetime.now(UTC)

    def stamp(at: datetime | None) -> datetime:
        at = (at or now) if (at or now).tzinfo else (at or now).replace(tzinfo=UTC)
        at = at.astimezone(UTC)  # stored as UTCDateTime stores it: naive UTC text on SQLite
        return at.replace(tzinfo=None) if bind.dialect.name == "sqlite" else at

    def add(owner: int, grantee: int, purpose: str, roles: str, since: datetime | None) -> int:
        made = bind.execute(agreements.insert().values(
            owner_org_id=owner, grantee_org_id=grantee, purpose=purpose,
            legal_basis="the owner's consent (share made before agreements)",
            personal_roles=roles, tlp="AMBER", valid_from=stamp(since),
            pseudonym_key=secrets.token_hex(32), created_by="migration 0014",
            created_at=stamp(now),
        )).inserted_primary_key  # fmt: skip
        assert made is not None
        return int(made[0])

    for r in rows:
        key = (r["owner_org_id"], r["grantee_org_id"])
        if r["scope"] == "personal-data":
            personal.setdefault(key, []).append(r["value"])
            started.setdefault(key, r["created_at"])
            continue
        boxed = r["scope"] == "container"
        what = f"container {r['value']}" if boxed else "all events"
        new_id = add(*key, f"Share of {what}", "", r["created_at"])
        bind.execute(classes.insert(), [{"agreement_id": new_id, "data_class": c}
                                        for c in SHARE_CLASSES])  # fmt: skip
        if boxed:
            bind.execute(scopes.insert().values(agreement_id=new_id, kind="container",
                                                value=r["value"][:20], value2=""))  # fmt: skip
    for key, roles in personal.items():
        new_id = add(*key, "Personal data for joint analysis", ",".join(sorted(set(roles))),
                     started[key])  # fmt: skip
        bind.execute(classes.insert().values(agreement_id=new_id, data_class="personal-data"))
