"""Bulk writes of canonical events: sqlite3 executemany or PostgreSQL COPY, never ORM objects.

Deduplication is the unique key (org_id, event_key): a row already stored is skipped by
ON CONFLICT DO NOTHING, so a retried batch, file or run stores nothing twice. Raw records go
to raw_chunks, zstd-compressed CHUNK_SIZE at a time, which keeps the event rows small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import zstandard
from sqlalchemy import Connection

from cargowatch.ingest.adapters.base import EVENT_FIELDS, EventRow, TransportCall

PREFIX_FIELDS = ("org_id", "retracted", "source_line", "raw_ref")
COLUMNS = (*PREFIX_FIELDS, *EVENT_FIELDS[:-1], "transport_call_id")
_COLS = ", ".join(COLUMNS)
_TRANSPORT = len(EVENT_FIELDS) - 1
CHUNK_SIZE = 1000
CHUNK_SPAN = 4096  # raw_ref = chunk id * CHUNK_SPAN + index in the chunk
_CALL_COLS = "org_id, call_key, mode_of_transport, vessel_imo, vessel_name, voyage, service_code"
SEPARATOR = b"\x1e"
_compressor = zstandard.ZstdCompressor(level=3)
_decompressor = zstandard.ZstdDecompressor()


def split_raw_ref(raw_ref: int) -> tuple[int, int]:
    """(chunk id, index in the chunk) of an event's raw_ref."""
    return divmod(raw_ref, CHUNK_SPAN)


def raw_record(data: bytes, codec: str, index: int) -> bytes:
    """Record number index of a stored raw chunk."""
    if codec == "zstd":
        data = _decompressor.decompress(data)
    return data.split(SEPARATOR)[index]


class EventWriter:
    """Writes batches of event rows for one organisation and run inside the caller's transaction."""

    def __init__(self, connection: Connection, *, org_id: int, run_id: int | None) -> None:
        self.connection = connection
        self.org_id = org_id
        self.run_id = run_id
        self.dialect = connection.dialect.name
        self._driver: Any = connection.connection.driver_connection
        self._staged = False
        self._calls: dict[str, int] = {}

    def _chunk(self, raws: Sequence[bytes], source: str) -> int:
        data = _compressor.compress(SEPARATOR.join(raws))
        values = (self.org_id, self.run_id, source[:500], "zstd", len(raws), data)
        if self.dialect == "sqlite":
            cur = self._driver.cursor()
            try:
                cur.execute(
                    "INSERT INTO raw_chunks (org_id, run_id, source, codec, count, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )
                return int(cur.lastrowid)
            finally:
                cur.close()
        with self._driver.cursor() as cur:
            cur.execute(
                "INSERT INTO raw_chunks (org_id, run_id, source, codec, count, data) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                values,
            )
            return int(cur.fetchone()[0])

    def _resolve_calls(self, rows: Sequence[EventRow]) -> dict[str, int]:
        """Ids of the transport calls rows refer to, stored once per organisation."""
        calls = self._calls
        new: dict[str, TransportCall] = {}
        for row in rows:
            call = cast("TransportCall | None", row[_TRANSPORT])
            if call is not None and call[0] not in calls:
                new[call[0]] = call
        if not new:
            return calls
        values = [(self.org_id, *call) for call in new.values()]
        keys = list(new)
        mark = "?" if self.dialect == "sqlite" else "%s"
        insert = (
            f"INSERT INTO transport_calls ({_CALL_COLS}) VALUES ({', '.join([mark] * 7)}) "
            "ON CONFLICT (org_id, call_key) DO NOTHING"
        )
        cur = self._driver.cursor()
        try:
            cur.executemany(insert, values)
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                cur.execute(
                    f"SELECT call_key, id FROM transport_calls WHERE org_id = {mark} "
                    f"AND call_key IN ({', '.join([mark] * len(part))})",
                    (self.org_id, *part),
                )
                calls.update((k, int(i)) for k, i in cur.fetchall())
        finally:
            cur.close()
        return calls

    def write(
        self,
        rows: Sequence[EventRow],
        lines: Sequence[int | None],
        raws: Sequence[bytes],
        source: str,
    ) -> int:
        """Store rows, each with its source line and raw record; returns how many were new."""
        if not rows:
            return 0
        org = self.org_id
        calls = self._resolve_calls(rows)
        last = _TRANSPORT
        full: list[tuple[object, ...]] = []
        append = full.append
        for start in range(0, len(rows), CHUNK_SIZE):
            stop = start + CHUNK_SIZE
            base = self._chunk(raws[start:stop], source) * CHUNK_SPAN
            for index, (row, line) in enumerate(
                zip(rows[start:stop], lines[start:stop], strict=True)
            ):
                call = cast("TransportCall | None", row[last])
                append((org, False, line, base + index, *row[:last],
                        calls[call[0]] if call is not None else None))  # fmt: skip
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
        flag, unflag = ("1", "0") if self.dialect == "sqlite" else ("TRUE", "FALSE")
        mark = "?" if self.dialect == "sqlite" else "%s"
        sql = (
            f"UPDATE events SET retracted = {flag} WHERE org_id = {mark} "
            f"AND retracted = {unflag} AND event_key IN "
            f"(SELECT event_key FROM retractions WHERE org_id = {mark})"
        )
        if self.dialect == "sqlite":
            cur = self._driver.cursor()
            try:
                cur.execute(sql, (self.org_id, self.org_id))
                return int(cur.rowcount)
            finally:
                cur.close()
        with self._driver.cursor() as cur:
            cur.execute(sql, (self.org_id, self.org_id))
            return int(cur.rowcount)
