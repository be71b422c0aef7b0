"""Test fixtures: a fresh store per test, on SQLite or (CARGOWATCH_TEST_POSTGRES_URL) PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cargowatch.config import get_settings
from cargowatch.db.base import Base
from cargowatch.db.engine import dispose_engines, get_engine, make_engine
from cargowatch.db.migrate import upgrade

DATA = Path(__file__).parent / "data"
POSTGRES_ADMIN_URL = os.environ.get("CARGOWATCH_TEST_POSTGRES_URL", "")


def _pg_database(admin_url: str, name: str, *, drop_only: bool = False) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')
    return (
        admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    )


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated store made once per test session: a SQLite file, or a PostgreSQL database."""
    if POSTGRES_ADMIN_URL:
        name = f"cargowatch_test_{os.getpid()}"
        url = _pg_database(POSTGRES_ADMIN_URL, name)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        _pg_database(POSTGRES_ADMIN_URL, name, drop_only=True)
    else:
        path = tmp_path_factory.mktemp("template") / "store.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield str(path)


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def engine(
    store_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The configured store for this test (CLI, API and services all use it)."""
    if POSTGRES_ADMIN_URL:
        url = store_template
    else:
        target = tmp_path / "store.db"
        shutil.copyfile(store_template, target)
        url = f"sqlite:///{target}"
    monkeypatch.setenv("CARGOWATCH_DATABASE_URL", url)
    monkeypatch.setenv("CARGOWATCH_DATA_DIR", str(tmp_path / "data"))  # the session key's home
    monkeypatch.delenv("CARGOWATCH_SECRET_KEY", raising=False)
    monkeypatch.delenv("CARGOWATCH_USER", raising=False)
    # the tests' receivers (webhooks, callbacks, TAXII servers) listen on loopback; the guard
    # itself is tested with this off (tests/security/test_outbound.py)
    monkeypatch.setenv("CARGOWATCH_ALLOW_PRIVATE_CALLBACKS", "true")
    get_settings.cache_clear()
    dispose_engines()
    eng = get_engine()
    yield eng
    if POSTGRES_ADMIN_URL:
        _truncate_all(eng)
    dispose_engines()
    get_settings.cache_clear()


@pytest.fixture
def live(engine: Engine) -> Iterator[str]:
    """The app served on a free local port for the browser."""
    import uvicorn

    from cargowatch.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine=engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
