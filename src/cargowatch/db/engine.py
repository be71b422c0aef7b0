"""Engines, sessions and the unit of work; the schema is upgraded on first use of an empty store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cargowatch.config import Settings, get_settings

_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps index pages of bulk loads in memory
    cur.close()


def _private_file(path: Path) -> None:
    """Create a new SQLite store readable by its owner only (folder 0700, file 0600; SQLite
    gives its journal files the database's mode). An existing file keeps its mode."""
    from cargowatch.config import private_folder

    private_folder(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def make_engine(url: str) -> Engine:
    """A new engine for url; SQLite files get WAL mode and their folder is created."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database).expanduser())
        kwargs["connect_args"] = {"check_same_thread": False}
    elif parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        # no server-side prepared statements: a generic plan made while a table was empty (at
        # the start of a load) would keep scanning it whole after it had grown
        kwargs["connect_args"] = {"prepare_threshold": None}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_engine(settings: Settings | None = None, *, upgrade: bool = True) -> Engine:
    """The process-wide engine for the configured store, migrated to the latest schema."""
    settings = settings or get_settings()
    url = settings.database_url
    engine = _engines.get(url)
    if engine is None:
        engine = make_engine(url)
        if upgrade:
            ensure_schema(engine)
        _engines[url] = engine
    return engine


def dispose_engines() -> None:
    """Close every cached engine (tests and long-running commands use this)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def create_missing_indexes(engine: Engine) -> None:
    """Build any index of the models that the store lacks (a bulk load drops some on purpose)."""
    import cargowatch.models  # noqa: F401  (every table on the metadata)
    from cargowatch.db.base import Base

    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            present = {ix["name"] for ix in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in present:
                    index.create(conn)


def refresh_statistics(engine: Engine, tables: tuple[str, ...] = ()) -> None:
    """Tell the planner how the data is spread after a bulk load (both stores; PostgreSQL's
    autovacuum comes too late for the statements that follow the load in the same run): without
    statistics SQLite reads an organisation's whole (org_id, key) index where a container index
    would find a few rows, and PostgreSQL plans a growing table as if it were empty. Sampled, so
    it takes well under a second on a large store."""
    with engine.begin() as conn:
        analyze(conn, tables)
    if engine.dialect.name == "sqlite":
        engine.pool.dispose()  # SQLite reads statistics when a connection opens: reopen them


def analyze(conn: Any, tables: tuple[str, ...] = ()) -> None:
    """ANALYZE (some tables, or all) on the connection's transaction; on PostgreSQL the rows the
    transaction wrote itself are counted, so a long load can refresh its own statistics."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        for table in tables or ("",):
            conn.exec_driver_sql(f"ANALYZE {table}".strip())
        return
    conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}".strip())


def ensure_schema(engine: Engine) -> None:
    """Upgrade an empty store to the latest schema; refuse a store that is behind."""
    from cargowatch.db.migrate import current_revision, head_revision, upgrade

    if not inspect(engine).has_table("alembic_version"):
        upgrade(engine)
        return
    current = current_revision(engine)
    if current != head_revision():
        from cargowatch.exceptions import Conflict

        raise Conflict(
            f"the store is at schema {current}, this cargowatch needs {head_revision()}: "
            "run 'cargowatch db upgrade'"
        )
    create_missing_indexes(engine)  # an interrupted bulk load may have left some out


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to engine that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commits once at the end, rolls back on any error."""
    engine = engine or get_engine()
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
