"""web sessions, sign-in attempt counters, the audit hash chain, jobs, event versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import cargowatch.db.base
from cargowatch.audit.chain import GENESIS, row_digest

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_why", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "sign_in_attempts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.Float(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_attempts")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("locked_until", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_jobs_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_due", ["status", "run_after"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "uq_jobs_waiting_key", ["key"], unique=True,
            sqlite_where=sa.text("status = 'queued' AND key IS NOT NULL"),
            postgresql_where=sa.text("status = 'queued' AND key IS NOT NULL"),
        )  # fmt: skip
    op.create_table(
        "event_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("row", sa.Text(), nullable=False),
        sa.Column("replaced_at", cargowatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_event_versions_event_id_events"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_event_versions_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_versions")),
    )  # fmt: skip
    with op.batch_alter_table("event_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_versions_event_id"), ["event_id"], unique=False)
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=100), nullable=True))
    # plain ALTERs (no batch copy): the audit log keeps its rows and its append-only triggers
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(length=64), nullable=True))
    _chain_existing()
    op.create_index("uq_audit_log_prev_hash", "audit_log", ["prev_hash"], unique=True)


def _chain_existing() -> None:
    """Chain the rows written before the chain existed, in id order (the append-only trigger
    is lifted for this one statement set and put back)."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    rows = bind.execute(
        sa.text(
            "SELECT id, ts, actor, actor_org_id, actor_user_id, action, entity_type, entity_id, "
            "before, after FROM audit_log ORDER BY id"
        )
    ).all()
    prev = GENESIS
    for row in rows:
        ts = row.ts if isinstance(row.ts, datetime) else datetime.fromisoformat(str(row.ts))
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
        digest = row_digest(
            prev_hash=prev, ts=ts, actor=row.actor, actor_org_id=row.actor_org_id,
            actor_user_id=row.actor_user_id, action=row.action, entity_type=row.entity_type,
            entity_id=row.entity_id, before=row.before, after=row.after,
        )  # fmt: skip
        bind.execute(
            sa.text("UPDATE audit_log SET prev_hash = :p, row_hash = :h WHERE id = :id"),
            {"p": prev, "h": digest, "id": row.id},
        )
        prev = digest
    if sqlite:
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    else:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def downgrade() -> None:
    op.drop_index("uq_audit_log_prev_hash", table_name="audit_log")
    op.execute("ALTER TABLE audit_log DROP COLUMN row_hash")  # no batch copy: keeps triggers
    op.execute("ALTER TABLE audit_log DROP COLUMN prev_hash")
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.drop_column("worker")
    op.drop_table("event_versions")
    op.drop_table("jobs")
    op.drop_table("sign_in_attempts")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
    op.drop_table("web_sessions")
