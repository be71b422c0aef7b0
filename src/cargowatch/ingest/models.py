"""ORM models of ingest runs and quarantined records."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow

# a quarantined record is open until replayed or discarded; "all" lists every one
QuarantineStatus = Literal["open", "replayed", "discarded", "all"]


class IngestRun(Base):
    """One ingest call: where it read from and what came of it."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    read: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    retracted: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    # the process running it (host:pid); a run whose process died is closed as failed
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)


class QuarantineRecord(Base):
    """A record that could not be stored, kept with where it came from and why.

    The fingerprint (source, place and content) keeps a retried file from quarantining the same
    record twice.
    """

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("org_id", "fingerprint", name="uq_quarantine_org_print"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"), nullable=True)
    source: Mapped[str] = mapped_column(String(500))
    location: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
