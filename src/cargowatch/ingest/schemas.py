"""API shapes of ingest runs and quarantine."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from cargowatch.ingest.models import IngestRun, QuarantineRecord


class RunRead(BaseModel):
    """An ingest run and its counts."""

    id: int
    source: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    read: int
    stored: int
    duplicates: int
    quarantined: int
    retracted: int
    warnings: int

    @classmethod
    def of(cls, run: IngestRun) -> RunRead:
        """The API shape of a run."""
        return cls(
            id=run.id, source=run.source, status=run.status, started_at=run.started_at,
            finished_at=run.finished_at, read=run.read, stored=run.stored,
            duplicates=run.duplicates, quarantined=run.quarantined, retracted=run.retracted,
            warnings=run.warnings,
        )  # fmt: skip


class QuarantineRead(BaseModel):
    """A quarantined record without its raw content."""

    id: int
    run_id: int | None
    source: str
    location: str
    format: str
    field: str
    reason: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, rec: QuarantineRecord) -> QuarantineRead:
        """The API shape of a quarantined record."""
        return cls(
            id=rec.id, run_id=rec.run_id, source=rec.source, location=rec.location,
            format=rec.format, field=rec.field, reason=rec.reason, status=rec.status,
            created_at=rec.created_at,
        )  # fmt: skip


class QuarantineDetail(QuarantineRead):
    """A quarantined record with its raw content."""

    raw: str


class QuarantinePage(BaseModel):
    """A page of quarantined records."""

    total: int
    items: list[QuarantineRead]


class IngestResult(BaseModel):
    """What an ingest call did, with the reasons of what it quarantined."""

    run: RunRead
    notes: list[str]
    quarantined: list[QuarantineRead]


class ReplayRequest(BaseModel):
    """Which quarantined records to replay (all open ones when ids is empty)."""

    ids: list[int] = []
