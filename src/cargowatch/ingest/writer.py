"""Bulk writes of canonical events: sqlite3 executemany or PostgreSQL COPY, never ORM objects.

Deduplication is the unique key (org_id, event_key): a row already stored is skipped by
ON CONFLICT DO NOTHING, so a retried batch, file or run stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from cargowatch.ingest.adapters.base import EVENT_FIELDS, EventRow

PREFIX_FIELDS = ("org_id", "retracted", "run_id", "source_file", "source_line")
COLUMNS = PREFIX_FIELDS + EVENT_FIELDS
_COLS = ", ".join(COLUMNS)


class EventWriter:
    """Writes batches of event rows for one organisation and run inside the caller's transaction."""

    def __init__(self, connection: Connection, *, org_id: int, run_id: int | None) -> None:
        self.connection = connection
        self.org_id = org_id
        self.run_id = run_id
        self.dialect = connection.dialect.name
        self._driver: Any = connection.connection.driver_connection
        self._staged = False

    def write(self, rows: Sequence[EventRow], sources: Sequence[tuple[str, int | None]]) -> int:
        """Store rows (each with its (file, line)); returns how many were new."""
        if not rows:
            return 0
        org, run = self.org_id, self.run_id
        full = [
            (org, False, run, src[0], src[1], *row) for row, src in zip(rows, sources, strict=True)
        ]
        if self.dialect == "sqlite":
            return self._write_sqlite(full)
        return self._write_postgres(full)

    def _write_sqlite(self, rows: list[tuple[object, ...]]) -> int:
        marks = ", ".join("?" * len(COLUMNS))
        cur = self._driver.cursor()
        try:
            cur.executemany(
                f"INSERT INTO events ({_COLS}) VALUES ({marks}) "
                "ON CONFLICT (org_id, event_key) DO NOTHING",
                rows,
            )
            return int(cur.rowcount)
        finally:
            cur.close()

    def _write_postgres(self, rows: list[tuple[object, ...]]) -> int:
        with self._driver.cursor() as cur:
            if not self._staged:
                cur.execute("SET LOCAL TIME ZONE 'UTC'")
                cur.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS events_stage AS "
                    f"SELECT {_COLS} FROM events WITH NO DATA"
                )
                self._staged = True
            with cur.copy(f"COPY events_stage ({_COLS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                f"INSERT INTO events ({_COLS}) SELECT {_COLS} FROM events_stage "
                "ON CONFLICT (org_id, event_key) DO NOTHING"
            )
            inserted = int(cur.rowcount)
            cur.execute("TRUNCATE events_stage")
            return inserted

    def write_retractions(self, retractions: Sequence[tuple[str, str | None]]) -> int:
        """Record retractions (event_key, when); returns how many were new."""
        if not retractions:
            return 0
        rows = [(self.org_id, key, at, self.run_id) for key, at in retractions]
        sql = (
            "INSERT INTO retractions (org_id, event_key, retracted_at, run_id) "
            "VALUES ({m}) ON CONFLICT (org_id, event_key) DO NOTHING"
        )
        if self.dialect == "sqlite":
            cur = self._driver.cursor()
            try:
                cur.executemany(sql.format(m="?, ?, ?, ?"), rows)
                return int(cur.rowcount)
            finally:
                cur.close()
        with self._driver.cursor() as cur:
            cur.execute("SET LOCAL TIME ZONE 'UTC'")
            cur.executemany(sql.format(m="%s, %s, %s, %s"), rows)
            return int(cur.rowcount)

    def apply_retractions(self) -> int:
        """Mark every stored event of this organisation that has a retraction; returns how many."""
        flag = "1" if self.dialect == "sqlite" else "TRUE"
        unflag = "0" if self.dialect == "sqlite" else "FALSE"
        sql = (
            f"UPDATE events SET retracted = {flag} WHERE org_id = {{p}} AND retracted = {unflag} "
            "AND event_key IN (SELECT event_key FROM retractions WHERE org_id = {p})"
        )
        if self.dialect == "sqlite":
            cur = self._driver.cursor()
            try:
                cur.execute(sql.format(p="?"), (self.org_id, self.org_id))
                return int(cur.rowcount)
            finally:
                cur.close()
        with self._driver.cursor() as cur:
            cur.execute(sql.replace("{p}", "%(org)s"), {"org": self.org_id})
            return int(cur.rowcount)
