"""Quarantine: bad records kept with where they came from and why, whatever the format. One
module below the adapters and the domains that read files (ingest, registers, telemetry)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import IO

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.db.base import utcnow
from cargowatch.ingest.adapters.base import RecordError, SourceRecord
from cargowatch.ingest.models import QuarantineRecord

UNKNOWN_KEEP = 1024 * 1024  # bytes of an unreadable remainder kept in quarantine


def clean_text(value: str) -> str:
    """Text a store can hold (PostgreSQL refuses NUL characters)."""
    return value.replace("\x00", "\ufffd")


def quarantine_rows(
    principal: Principal, run_id: int | None, source: str, fmt: str
) -> Callable[[SourceRecord, RecordError], dict[str, object]]:
    def row(record: SourceRecord, err: RecordError) -> dict[str, object]:
        digest = hashlib.sha256(f"{source}\x1f{record.location}\x1f".encode() + record.raw)
        return {
            "fingerprint": digest.hexdigest(),
            "org_id": principal.org_id,
            "run_id": run_id,
            "source": clean_text(source)[:500],
            "location": clean_text(record.location)[:100],
            "format": fmt,
            "field": clean_text(err.field)[:200],
            "reason": clean_text(err.reason),
            "raw": record.raw.decode("utf-8", "replace").replace("\x00", "\ufffd"),
            "status": "open",
            "created_at": utcnow(),
        }

    return row


def unreadable(exc: BaseException) -> RecordError:
    """A RecordError for a record whose decoding failed in a way no adapter foresaw."""
    if isinstance(exc, UnicodeDecodeError):
        return RecordError("", f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at "
                               f"offset {exc.start} of the record")  # fmt: skip
    if isinstance(exc, RecursionError):
        return RecordError("", "nested too deeply to read")
    return RecordError("", f"unreadable record ({type(exc).__name__}: {str(exc)[:300]})")


def guarded(records: Iterator[SourceRecord], stream: IO[bytes]) -> Iterator[SourceRecord]:
    """The records of a reader; when the reader itself fails (bad bytes, a broken document),
    what it had not yet read becomes one last record carrying the reason."""
    it = iter(records)
    last = "start"
    while True:
        try:
            record = next(it)
        except StopIteration:
            return
        except Exception as exc:
            rest = stream.read(UNKNOWN_KEEP)
            yield SourceRecord(f"after {last}", None, rest, error=unreadable(exc).reason)
            return
        last = record.location
        if record.error is None and (b"\x00" in record.raw or b"\\u0000" in record.raw):
            record.error = "a NUL character (U+0000), which no field may hold"
        yield record


def quarantine_records(session: Session, rows: list[dict[str, object]]) -> None:
    """Keep bad records; one already kept from the same place with the same content is skipped."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(QuarantineRecord).on_conflict_do_nothing(), rows)
    else:
        session.execute(sqlite_insert(QuarantineRecord).on_conflict_do_nothing(), rows)


quarantine = quarantine_records
