"""Bulk writes of canonical events: sqlite3 executemany or PostgreSQL COPY, never ORM objects.

Deduplication is the unique key (org_id, event_key): a row already stored is skipped by
ON CONFLICT DO NOTHING, so a retried batch, file or run stores nothing twice. Raw records go
to raw_chunks, zstd-compressed CHUNK_SIZE at a time, which keeps the event rows small.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import zstandard
from sqlalchemy import Connection

from cargowatch.ingest.adapters.base import EVENT_FIELDS, EventRow, TransportCall

PREFIX_FIELDS = ("org_id", "retracted", "source_line", "raw_ref")
COLUMNS = (*PREFIX_FIELDS, *EVENT_FIELDS[:-1], "transport_call_id")
_COLS = ", ".join(COLUMNS)
_TRANSPORT = len(EVENT_FIELDS) - 1
_EXTRA = EVENT_FIELDS.index("extra")
CHUNK_SIZE = 1000
ANALYZE_EVERY = 50_000  # rows written before PostgreSQL's statistics of events are refreshed
CHUNK_SPAN = 4096  # raw_ref = chunk id * CHUNK_SPAN + index in the chunk
_CALL_COLS = "org_id, call_key, mode_of_transport, vessel_imo, vessel_name, voyage, service_code"
SEPARATOR = b"\x1e"
_compressor = zstandard.ZstdCompressor(level=3)
_decompressor = zstandard.ZstdDecompressor()


def _updated(extra: str | None) -> str | None:
    """The DCSA 3.0 update time kept in an event's extra attributes, if any."""
    if not extra or '"updated"' not in extra:
        return None
    value = json.loads(extra).get("updated")
    return str(value) if value else None


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
        self._known_rows: float | None = None  # rows of events the planner knows of
        self._written = 0  # rows this writer added since

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
        if self.dialect == "postgresql":
            self._fresh_statistics()
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
            if self.dialect == "postgresql":  # one indexed lookup by an array of keys
                cur.execute(
                    "SELECT call_key, id FROM transport_calls WHERE org_id = %s "
                    "AND call_key = ANY(%s::varchar[])",
                    (self.org_id, keys),
                )
                calls.update((k, int(i)) for k, i in cur.fetchall())
                return calls
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

    def _existing(self, keys: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        """Stored events of this organisation among keys: id and DCSA 3.0 update time (one
        indexed lookup per batch: an array on PostgreSQL, lists of 500 on SQLite)."""
        found: dict[str, tuple[int, str | None]] = {}
        unique = list(dict.fromkeys(keys))
        cur = self._driver.cursor()
        try:
            if self.dialect == "postgresql":
                self._fresh_statistics()
                cur.execute(
                    "SELECT event_key, id, extra FROM events WHERE org_id = %s "
                    "AND event_key = ANY(%s::varchar[])",
                    (self.org_id, unique),
                )
                rows = cur.fetchall()
            else:
                rows = []
                for start in range(0, len(unique), 500):
                    part = unique[start : start + 500]
                    cur.execute(
                        "SELECT event_key, id, extra FROM events WHERE org_id = ? "
                        f"AND event_key IN ({', '.join(['?'] * len(part))})",
                        (self.org_id, *part),
                    )
                    rows.extend(cur.fetchall())
            for key, event_id, extra in rows:
                found[key] = (int(event_id), _updated(extra))
        finally:
            cur.close()
        return found

    def _fresh_statistics(self) -> None:
        """ANALYZE events whenever this load has doubled what the planner last knew of it: a
        store growing inside one long transaction otherwise keeps the plans of an empty one."""
        with self._driver.cursor() as cur:
            if self._known_rows is None:
                cur.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE relname = 'events'")
                row = cur.fetchone()
                self._known_rows = float(row[0]) if row else 0.0
            if self._written > max(ANALYZE_EVERY, self._known_rows):
                cur.execute("ANALYZE events, transport_calls")
                self._known_rows += self._written
                self._written = 0

    def write(
        self,
        rows: Sequence[EventRow],
        lines: Sequence[int | None],
        raws: Sequence[bytes],
        source: str,
    ) -> int:
        """Store rows, each with its source line and raw record; returns how many were new or
        replaced an older version. Records already stored add nothing (not even their raw
        record); a DCSA 3.0 event whose eventUpdatedDateTime is newer than the stored one's
        replaces it, the old row kept in event_versions."""
        if not rows:
            return 0
        existing = self._existing([cast(str, r[0]) for r in rows])
        keep: list[int] = []
        newer: dict[int, int] = {}  # index in rows -> id of the stored event it replaces
        seen: set[str] = set()
        for i, row in enumerate(rows):
            key = cast(str, row[0])
            if key in seen:
                continue
            seen.add(key)
            if key not in existing:
                keep.append(i)
                continue
            stored_at = existing[key][1]
            incoming = _updated(cast("str | None", row[_EXTRA]))
            if incoming is not None and (stored_at is None or incoming > stored_at):
                keep.append(i)
                newer[i] = existing[key][0]
        if not keep:
            return 0
        org = self.org_id
        picked = [rows[i] for i in keep]
        calls = self._resolve_calls(picked)
        last = _TRANSPORT
        fresh: list[tuple[object, ...]] = []
        replacing: list[tuple[int, tuple[object, ...]]] = []
        for start in range(0, len(keep), CHUNK_SIZE):
            part = keep[start : start + CHUNK_SIZE]
            base = self._chunk([raws[i] for i in part], source) * CHUNK_SPAN
            for index, i in enumerate(part):
                row = rows[i]
                call = cast("TransportCall | None", row[last])
                full = (org, False, lines[i], base + index, *row[:last],
                        calls[call[0]] if call is not None else None)  # fmt: skip
                if i in newer:
                    replacing.append((newer[i], full))
                else:
                    fresh.append(full)
        stored = 0
        if fresh:
            stored += (
                self._write_sqlite(fresh)
                if self.dialect == "sqlite"
                else (self._write_postgres(fresh))
            )
        if replacing:
            stored += self._replace(replacing)
        return stored

    def _replace(self, rows: list[tuple[int, tuple[object, ...]]]) -> int:
        """Keep each stored event's row in event_versions, then overwrite it with its newer
        version (its retraction flag stays)."""
        mark = "?" if self.dialect == "sqlite" else "%s"
        settable = [c for c in COLUMNS if c not in ("org_id", "retracted")]
        cur = self._driver.cursor()
        try:
            if self.dialect == "postgresql":
                cur.execute("SET LOCAL TIME ZONE 'UTC'")
            for event_id, full in rows:
                cur.execute(f"SELECT {_COLS} FROM events WHERE id = {mark}", (event_id,))
                old = cur.fetchone()
                snapshot = {c: (v.isoformat() if hasattr(v, "isoformat") else v)
                            for c, v in zip(COLUMNS, old, strict=True)}  # fmt: skip
                cur.execute(
                    "INSERT INTO event_versions (event_id, org_id, run_id, row, replaced_at) "
                    f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})",
                    (event_id, self.org_id, self.run_id, json.dumps(snapshot, default=str),
                     datetime.now(UTC).replace(tzinfo=None) if self.dialect == "sqlite"
                     else datetime.now(UTC)),
                )  # fmt: skip
                values = dict(zip(COLUMNS, full, strict=True))
                cur.execute(
                    f"UPDATE events SET {', '.join(f'{c} = {mark}' for c in settable)} "
                    f"WHERE id = {mark}",
                    (*(values[c] for c in settable), event_id),
                )
        finally:
            cur.close()
        return len(rows)

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
