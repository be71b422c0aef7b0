"""Migrations create exactly the schema the models describe, and upgrade an empty store."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from cargowatch.db.base import Base
from cargowatch.db.engine import ensure_schema, make_engine
from cargowatch.db.migrate import current_revision, head_revision


def test_migrated_store_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_empty_file_is_upgraded_on_first_use(tmp_path: Path) -> None:
    fresh = make_engine(f"sqlite:///{tmp_path / 'sub' / 'new.db'}")
    ensure_schema(fresh)
    assert current_revision(fresh) == head_revision()
    assert {"events", "audit_log", "quarantine"} <= set(inspect(fresh).get_table_names())
    with fresh.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    fresh.dispose()
