"""Ingest services: format detection, streaming a source into the store, quarantine.

These functions take a session and never commit; ingest/flows.py decides the transactions.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import cargowatch.ingest.adapters.dcsa_tnt
import cargowatch.ingest.adapters.edifact  # noqa: F401
from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.db.base import utcnow
from cargowatch.documents import service as documents
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.ingest.adapters.base import (
    ADAPTERS,
    EVENT_FIELDS,
    Adapter,
    EventRow,
    RecordError,
    Retract,
    SourceRecord,
)
from cargowatch.ingest.models import IngestRun, QuarantineRecord
from cargowatch.ingest.quarantine import (
    UNKNOWN_KEEP,
    guarded,
    quarantine_records,
    quarantine_rows,
    unreadable,
)
from cargowatch.ingest.records import json_records
from cargowatch.ingest.writer import EventWriter
from cargowatch.registers import service as registers
from cargowatch.registers.specs import REGISTERS, Register
from cargowatch.telemetry import service as telemetry

WARNINGS_INDEX = EVENT_FIELDS.index("warnings")
HEAD_BYTES = 64 * 1024
Progress = Callable[[int], None]


@dataclass
class Counts:
    """What an ingest run (or one source of it) did."""

    read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    retracted: int = 0
    warnings: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        """Add other's figures to these."""
        self.read += other.read
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.retracted += other.retracted
        self.warnings += other.warnings
        self.notes.extend(other.notes)

    def as_dict(self) -> dict[str, int]:
        """The figures without the notes."""
        return {
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "retracted": self.retracted,
            "warnings": self.warnings,
        }


def known_formats() -> list[str]:
    """Every format name --format accepts."""
    names: list[str] = [f"csv-{name}" for name in REGISTERS] + ["telemetry", "dcsa-ebl-3.0"]
    for name, adapter in ADAPTERS:
        names.append(name)
        names.extend(adapter.formats)
    return names


def adapter_for(fmt: str) -> Adapter:
    """The adapter that reads fmt (a family name or one of its specific formats)."""
    for name, adapter in ADAPTERS:
        if fmt == name or fmt in adapter.formats:
            return adapter
    raise InvalidInput(f"unknown format {fmt!r}; known: {', '.join(known_formats())}")


def detect(head: bytes, forced: str | None = None) -> tuple[Adapter, str] | None:
    """The adapter and format for a source starting with head, or None if nobody knows it."""
    if forced:
        return adapter_for(forced), forced
    for _name, adapter in ADAPTERS:
        fmt = adapter.sniff(head)
        if fmt:
            return adapter, fmt
    return None


def _register(head: bytes, fmt: str | None) -> tuple[Register | None, str | None]:
    if fmt is None:
        return registers.detect(head)
    name = fmt.removeprefix("csv-")
    if name not in REGISTERS:
        raise InvalidInput(f"unknown format {fmt!r}; known: {', '.join(known_formats())}")
    header = set(registers.header_of(head))
    missing = [c for c in REGISTERS[name].columns if c not in header]
    if missing:  # forced, but the file is not that register (or not a CSV at all)
        return None, f"read as {fmt} but its header lacks columns: {', '.join(missing)}"
    return REGISTERS[name], None


def check_format(fmt: str) -> None:
    """InvalidInput unless fmt is a format cargowatch reads."""
    if fmt not in known_formats():
        raise InvalidInput(f"unknown format {fmt!r}; known: {', '.join(known_formats())}")


def start_run(
    session: Session, *, principal: Principal, source: str, status: str = "running"
) -> IngestRun:
    """A new ingest run owned by the caller's organisation."""
    principal.require("events:write")
    from cargowatch.jobs.service import worker_id

    run = IngestRun(
        org_id=principal.org_id,
        user_id=principal.user_id,
        source=source[:10000],
        status=status,
        worker=worker_id() if status == "running" else None,
    )
    session.add(run)
    session.flush()
    return run


def ingest_stream(
    session: Session,
    *,
    principal: Principal,
    run_id: int | None,
    stream: IO[bytes],
    source: str,
    fmt: str | None = None,
    batch_size: int = 20_000,
    progress: Progress | None = None,
    keep: Callable[[Session, list[dict[str, object]]], None] | None = None,
) -> Counts:
    """Read one source into the store: good records stored once, bad ones quarantined (or
    handed to keep, as replay does). The one format dispatch: ingest and replay both use it."""
    quarantine = keep or quarantine_records
    principal.require("events:write")
    counts = Counts()
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    if fmt is None or fmt.startswith("csv-"):
        register, problem = _register(head, fmt)
        if register is not None:
            read, stored, dup, failed, notes = registers.ingest_csv(
                session, principal=principal, run_id=run_id, stream=stream, source=source,
                register=register, quarantine=quarantine, progress=progress,
            )  # fmt: skip
            return Counts(read=read, stored=stored, duplicates=dup, quarantined=failed, notes=notes)
        if problem is not None:
            make = quarantine_rows(principal, run_id, source, "csv")
            kept = stream.read(UNKNOWN_KEEP)
            quarantine(session, [make(SourceRecord("header", 1, kept), RecordError("", problem))])
            return Counts(read=1, quarantined=1)
    if fmt == "dcsa-ebl-3.0" or (fmt is None and documents.sniff(head)):
        make = quarantine_rows(principal, run_id, source, "dcsa-ebl-3.0")
        read, stored, dup, failed = documents.ingest_documents(
            session, principal=principal, run_id=run_id, records=guarded(json_records(stream, ()), stream),  # noqa: E501
            quarantine=lambda bad: quarantine(session, [make(r, e) for r, e in bad]),
        )  # fmt: skip
        return Counts(read=read, stored=stored, duplicates=dup, quarantined=failed)
    if fmt == "telemetry" or (fmt is None and telemetry.sniff(head)):
        make = quarantine_rows(principal, run_id, source, "telemetry")
        read, stored, dup, failed = telemetry.ingest_messages(
            session, principal=principal, run_id=run_id, records=guarded(json_records(stream, ()), stream),  # noqa: E501
            quarantine=lambda bad: quarantine(session, [make(r, e) for r, e in bad]),
            batch_size=batch_size, progress=progress,
        )  # fmt: skip
        return Counts(read=read, stored=stored, duplicates=dup, quarantined=failed)
    found = detect(head, fmt)
    if found is None:
        kept = stream.read(UNKNOWN_KEEP)
        err = RecordError(
            "", "format not recognised: expected DCSA Track & Trace 2.2 or 3.0 JSON or NDJSON, "
            "DCSA eBL 3.0 transport documents, a CODECO, COARRI or IFTSTA interchange, "
            "a register CSV (parties, sites, "
            "manifest, persons, access, releases, inspections), or smart-container telemetry "
            "NDJSON; use --format to force one",
        )  # fmt: skip
        make = quarantine_rows(principal, run_id, source, "unknown")
        quarantine(session, [make(SourceRecord("file", None, kept), err)])
        counts.read = counts.quarantined = 1
        return counts
    adapter, chosen = found
    strict = fmt is not None
    writer = EventWriter(session.connection(), org_id=principal.org_id, run_id=run_id)
    make = quarantine_rows(principal, run_id, source, chosen)
    rows: list[EventRow] = []
    lines: list[int | None] = []
    raws: list[bytes] = []
    bad: list[dict[str, object]] = []
    retractions: list[tuple[str, str | None]] = []
    convert = adapter.convert
    first = True
    consumed = 0

    def flush() -> None:
        if rows:
            stored = writer.write(rows, lines, raws, source)
            counts.stored += stored
            counts.duplicates += len(rows) - stored
            counts.warnings += sum(1 for r in rows if r[WARNINGS_INDEX] is not None)
            rows.clear()
            lines.clear()
            raws.clear()
        if bad:
            quarantine(session, bad)
            bad.clear()
        if retractions:
            counts.retracted += writer.write_retractions(retractions)
            retractions.clear()

    for record in guarded(adapter.records(stream, chosen), stream):
        counts.read += 1
        consumed += len(record.raw) + 1
        if first:
            first = False
            try:
                unknown = adapter.note_unknown_fields(record, chosen)
            except Exception:  # a note only: the record itself is judged below
                unknown = []
            if unknown:
                counts.notes.append(
                    f"{source}: ignored fields not in the format: {', '.join(unknown)}"
                )
        try:
            if record.error is not None:
                raise RecordError("", record.error)
            out = convert(record, chosen, strict)
        except RecordError as err:
            bad.append(make(record, err))
            counts.quarantined += 1
            continue
        except Exception as exc:  # a record must never stop the run: it is kept, with why
            bad.append(make(record, unreadable(exc)))
            counts.quarantined += 1
            continue
        if isinstance(out, Retract):
            retractions.append((out.event_key, out.at))
        elif isinstance(out, list):  # one record, several events: count the events
            counts.read += len(out) - 1
            rows.extend(out)
            lines.extend([record.line] * len(out))
            raws.extend([record.raw] * len(out))
        else:
            rows.append(out)
            lines.append(record.line)
            raws.append(record.raw)
        if len(rows) >= batch_size:
            flush()
            if progress is not None:
                progress(consumed)
                consumed = 0
    flush()
    if progress is not None:
        progress(consumed)
    if counts.warnings:
        counts.notes.append(
            f"{source}: {counts.warnings} events stored with warnings (see 'cargowatch events')"
        )
    return counts


def apply_retractions(session: Session, *, principal: Principal) -> int:
    """Mark retracted every stored event of the caller's organisation named by a retraction."""
    writer = EventWriter(session.connection(), org_id=principal.org_id, run_id=None)
    return writer.apply_retractions()


def finish_run(
    session: Session, *, principal: Principal, run: IngestRun, counts: Counts, status: str
) -> IngestRun:
    """Store a run's figures and audit it."""
    run.read, run.stored, run.duplicates = counts.read, counts.stored, counts.duplicates
    run.quarantined, run.retracted, run.warnings = (
        counts.quarantined,
        counts.retracted,
        counts.warnings,
    )
    run.status = status
    run.finished_at = utcnow()
    session.add(run)
    audit.record(
        session, actor=principal, action="ingest.run", entity_type="ingest_run", entity_id=run.id,
        after={"source": run.source[:500], "status": status, **counts.as_dict()},
    )  # fmt: skip
    return run


def close_orphans(session: Session, *, org_id: int) -> int:
    """Close as failed the organisation's runs still 'running' whose process is gone (killed):
    what they committed stays, a new run reads the rest. Audited; returns how many."""
    from cargowatch.jobs.service import is_dead

    orphans = [
        r for r in session.scalars(
            select(IngestRun).where(IngestRun.org_id == org_id, IngestRun.status == "running")
        )
        if r.worker and is_dead(r.worker)
    ]  # fmt: skip
    for run in orphans:
        run.status, run.finished_at = "failed", utcnow()
        audit.record(
            session, actor=f"worker:{run.worker}", action="ingest.run", entity_type="ingest_run",
            entity_id=run.id, after={"status": "failed", "why": "its process ended before it did"},
        )  # fmt: skip
    return len(orphans)


def list_runs(session: Session, *, principal: Principal, limit: int = 50) -> list[IngestRun]:
    """The caller's organisation's newest ingest runs."""
    principal.require("quarantine:read")
    return list(
        session.scalars(
            select(IngestRun)
            .where(IngestRun.org_id == principal.org_id)
            .order_by(IngestRun.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- quarantine


def list_quarantine(
    session: Session,
    *,
    principal: Principal,
    status: str | None = "open",
    run_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[QuarantineRecord], int]:
    """A page of the caller's organisation's quarantined records, and how many there are."""
    principal.require("quarantine:read")
    query = select(QuarantineRecord).where(QuarantineRecord.org_id == principal.org_id)
    if status and status != "all":
        query = query.where(QuarantineRecord.status == status)
    if run_id is not None:
        query = query.where(QuarantineRecord.run_id == run_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(QuarantineRecord.id).limit(limit).offset(offset))
    return list(page), total


def get_quarantined(session: Session, *, principal: Principal, record_id: int) -> QuarantineRecord:
    """One quarantined record with its raw content (the read is audited)."""
    principal.require("quarantine:read")
    rec = session.get(QuarantineRecord, record_id)
    if rec is None or rec.org_id != principal.org_id:
        raise NotFound(f"no quarantined record {record_id}")
    audit.record(
        session, actor=principal, action="quarantine.read", entity_type="quarantine",
        entity_id=record_id,
    )  # fmt: skip
    return rec


def fix_quarantined(
    session: Session, *, principal: Principal, record_id: int, raw: bytes
) -> QuarantineRecord:
    """Replace a quarantined record's content with a corrected one (audited), still open."""
    principal.require("quarantine:write")
    rec = session.get(QuarantineRecord, record_id)
    if rec is None or rec.org_id != principal.org_id:
        raise NotFound(f"no quarantined record {record_id}")
    before = {"raw": rec.raw[:1000]}
    rec.raw = raw.decode("utf-8", "replace")
    audit.record(
        session, actor=principal, action="quarantine.fix", entity_type="quarantine",
        entity_id=record_id, before=before, after={"raw": rec.raw[:1000]},
    )  # fmt: skip
    return rec


def replay(
    session: Session, *, principal: Principal, run_id: int | None, ids: Iterable[int] | None
) -> Counts:
    """Try open quarantined records again (all of them when ids is None)."""
    principal.require("quarantine:write")
    query = select(QuarantineRecord).where(
        QuarantineRecord.org_id == principal.org_id, QuarantineRecord.status == "open"
    )
    if ids is not None:
        wanted = list(ids)
        query = query.where(QuarantineRecord.id.in_(wanted))
    counts = Counts()
    for rec in session.scalars(query.order_by(QuarantineRecord.id)).all():
        sub = _replay_one(session, principal=principal, run_id=run_id, rec=rec)
        counts.add(sub)
    return counts


def _replay_one(
    session: Session, *, principal: Principal, run_id: int | None, rec: QuarantineRecord
) -> Counts:
    """Read a quarantined record again through the same dispatch as ingest, in its own
    savepoint; still bad, it stays open with the new reason."""
    fmt = None if rec.format in ("unknown", "csv") else rec.format
    still: list[dict[str, object]] = []
    with session.begin_nested():
        counts = ingest_stream(
            session, principal=principal, run_id=run_id, stream=io.BytesIO(rec.raw.encode()),
            source=rec.source, fmt=fmt, keep=lambda _s, rows: still.extend(rows),
        )  # fmt: skip
    if still:
        rec.field, rec.reason = str(still[0]["field"])[:200], str(still[0]["reason"])
        counts.quarantined = 1
        return counts
    rec.status, rec.resolved_at, rec.resolved_run_id = "replayed", utcnow(), run_id
    audit.record(
        session, actor=principal, action="quarantine.replay", entity_type="quarantine",
        entity_id=rec.id, after={"stored": counts.stored, "read": counts.read},
    )  # fmt: skip
    return counts


def discard_quarantined(session: Session, *, principal: Principal, record_id: int) -> None:
    """Mark a quarantined record as not to be stored (kept for the record, audited)."""
    principal.require("quarantine:write")
    rec = session.get(QuarantineRecord, record_id)
    if rec is None or rec.org_id != principal.org_id:
        raise NotFound(f"no quarantined record {record_id}")
    rec.status, rec.resolved_at = "discarded", utcnow()
    audit.record(
        session, actor=principal, action="quarantine.discard", entity_type="quarantine",
        entity_id=record_id,
    )  # fmt: skip
