"""Bulk writes by the driver's fast path, stored once by a key (insert, or update when changed)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from cargowatch.db.base import UTCDateTime, sqlite_timestamp

CHUNK = 50_000


def bulk_write(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    key: Sequence[str],
    update: bool,
    volatile: Sequence[str] = (),
) -> int:
    """Write rows into table inside the session's transaction; returns how many rows were new
    or changed. A row whose key is stored already is skipped, or (update=True) replaces the
    stored one when any column differs; volatile columns (the run that wrote it) do not count
    as a difference."""
    driver: Any = session.connection().connection.driver_connection
    dialect = session.get_bind().dialect.name
    others = [c for c in columns if c not in key]
    cols = ", ".join(columns)
    keys = ", ".join(key)
    name = table.name
    if update and others:
        differs = " OR ".join(
            f"{name}.{c} IS {'NOT' if dialect == 'sqlite' else 'DISTINCT FROM'} excluded.{c}"
            for c in others
            if c not in volatile
        )
        sets = ", ".join(f"{c} = excluded.{c}" for c in others)
        conflict = f"ON CONFLICT ({keys}) DO UPDATE SET {sets} WHERE {differs}"
    else:
        conflict = f"ON CONFLICT ({keys}) DO NOTHING"
    written = 0
    iterator = iter(rows)
    if dialect == "sqlite":
        sql = f"INSERT INTO {name} ({cols}) VALUES ({', '.join('?' * len(columns))}) {conflict}"
        return _executemany(driver, sql, iterator)
    stage = f"stage_{name}"
    with driver.cursor() as cur:
        cur.execute("SET LOCAL TIME ZONE 'UTC'")
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {cols} FROM {name} "
                    "WITH NO DATA")  # fmt: skip
        while chunk := list(islice(iterator, CHUNK)):
            with cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
            # the last of several rows with one key wins, as it does on SQLite
            cur.execute(
                f"INSERT INTO {name} ({cols}) SELECT DISTINCT ON ({keys}) {cols} FROM {stage} "
                f"ORDER BY {keys}, ctid DESC {conflict}"
            )
            written += int(cur.rowcount)
            cur.execute(f"TRUNCATE {stage}")
    return written


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> int:
    """Append rows that have no key to meet (derived rows a caller has just deleted), by
    executemany on SQLite and COPY on PostgreSQL; returns how many. Aware datetimes in
    UTCDateTime columns are written as SQLite keeps them (naive UTC text)."""
    driver: Any = session.connection().connection.driver_connection
    dialect = session.get_bind().dialect.name
    cols = ", ".join(columns)
    written = 0
    iterator = iter(rows)
    if dialect == "sqlite":
        sql = f"INSERT INTO {table.name} ({cols}) VALUES ({', '.join('?' * len(columns))})"
        times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, UTCDateTime)]
        return _executemany(driver, sql, _sqlite_times(iterator, times) if times else iterator)
    with driver.cursor() as cur:
        cur.execute("SET LOCAL TIME ZONE 'UTC'")
        with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
            for row in iterator:
                copy.write_row(row)
                written += 1
    return written


def _sqlite_times(rows: Iterator[Sequence[object]], times: list[int]) -> Iterator[Sequence[object]]:
    """rows with the datetimes at the given places as SQLite's UTCDateTime text."""
    for row in rows:
        if any(isinstance(row[i], datetime) for i in times):
            out = list(row)
            for i in times:
                value = out[i]
                if isinstance(value, datetime):
                    out[i] = sqlite_timestamp(value)
            yield out
        else:
            yield row


def _executemany(driver: Any, sql: str, rows: Iterator[Sequence[object]]) -> int:
    """SQLite's executemany over chunks of rows; returns the rows written."""
    written = 0
    cur = driver.cursor()
    try:
        while chunk := list(islice(rows, CHUNK)):
            cur.executemany(sql, chunk)
            written += int(cur.rowcount)
    finally:
        cur.close()
    return written
