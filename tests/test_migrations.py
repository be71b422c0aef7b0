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


def test_shares_become_agreements(tmp_path: Path) -> None:
    """A store made before agreements keeps every share as an agreement that opens the same."""
    from sqlalchemy import text

    from cargowatch.db.migrate import upgrade

    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(old, "0013")
    with old.begin() as conn:
        for i, slug in enumerate(("carrier", "customs", "terminal"), start=1):
            conn.execute(text("INSERT INTO organisations (id, slug, name, kind, created_at) "
                              "VALUES (:i, :s, :s, 'OTHER', '2026-01-01 00:00:00')"),
                         {"i": i, "s": slug})  # fmt: skip
        shares = [
            (1, 2, "container", "MSKU1234565"),
            (1, 3, "all-events", ""),
            (1, 2, "personal-data", "analyst"),
            (1, 2, "personal-data", "viewer"),
        ]
        for owner, grantee, scope, value in shares:
            conn.execute(text("INSERT INTO shares (owner_org_id, grantee_org_id, scope, value, "
                              "created_at) VALUES (:o, :g, :s, :v, '2026-02-01 00:00:00')"),
                         {"o": owner, "g": grantee, "s": scope, "v": value})  # fmt: skip
    upgrade(old)
    with old.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.grantee_org_id, a.personal_roles, group_concat(c.data_class), "
            "(SELECT group_concat(kind || ':' || value) FROM agreement_scopes s "
            " WHERE s.agreement_id = a.id) FROM sharing_agreements a "
            "JOIN agreement_classes c ON c.agreement_id = a.id GROUP BY a.id ORDER BY a.id"
        )).all()  # fmt: skip
        keys = conn.execute(text("SELECT pseudonym_key FROM sharing_agreements")).scalars().all()
    assert [(g, r, ",".join(sorted(c.split(","))), s) for g, r, c, s in rows] == [
        (2, "", "alerts,events,risk,telemetry", "container:MSKU1234565"),
        (3, "", "alerts,events,risk,telemetry", None),
        (2, "analyst,viewer", "personal-data", None),
    ]
    assert len(set(keys)) == 3 and all(len(k) == 64 for k in keys)
    assert "shares" not in inspect(old).get_table_names()
    old.dispose()
