"""ORM model of the canonical event and of retractions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow


class Event(Base):
    """One thing that happened to a container, a shipment or a transport, from any source.

    The table is kept narrow on purpose (bulk loads are bound by the number of columns):
    rarely queried attributes live in `extra` (JSON), vessel and voyage in transport_calls.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("org_id", "event_key", name="uq_events_org_key"),
        Index("ix_events_container_time", "container", "event_time"),
        Index("ix_events_booking", "booking_ref"),
        Index("ix_events_time", "event_time", "id"),  # pages of events, oldest first
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    source_line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw_ref: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    event_key: Mapped[str] = mapped_column(String(500))
    source_format: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(16))
    event_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    classifier: Mapped[str | None] = mapped_column(String(3), nullable=True)
    event_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    container: Mapped[str | None] = mapped_column(String(15), nullable=True)
    iso_type: Mapped[str | None] = mapped_column(String(4), nullable=True)
    empty_indicator: Mapped[str | None] = mapped_column(String(5), nullable=True)
    unlocode: Mapped[str | None] = mapped_column(String(5), nullable=True)
    facility_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    seals: Mapped[str | None] = mapped_column(Text, nullable=True)
    booking_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    bl_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    warnings: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra: Mapped[str | None] = mapped_column(Text, nullable=True)
    transport_call_id: Mapped[int | None] = mapped_column(
        ForeignKey("transport_calls.id"), nullable=True
    )


class TransportCall(Base):
    """A vessel (or train, truck, barge) call that events refer to; stored once per organisation."""

    __tablename__ = "transport_calls"
    __table_args__ = (UniqueConstraint("org_id", "call_key", name="uq_transport_calls_org_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    call_key: Mapped[str] = mapped_column(String(200))
    mode_of_transport: Mapped[str | None] = mapped_column(String(10), nullable=True)
    vessel_imo: Mapped[str | None] = mapped_column(String(10), nullable=True)
    vessel_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    voyage: Mapped[str | None] = mapped_column(String(50), nullable=True)
    service_code: Mapped[str | None] = mapped_column(String(50), nullable=True)


class RawChunk(Base):
    """The raw records of up to CHUNK_SIZE events, zstd-compressed, kept for audit.

    Records are joined with the ASCII record separator (0x1E), which JSON never carries
    unescaped; an event points at its chunk and its index inside it.
    """

    __tablename__ = "raw_chunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(500))
    codec: Mapped[str] = mapped_column(String(8))
    count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class EventVersion(Base):
    """An event as it was before a newer version (a later DCSA 3.0 eventUpdatedDateTime)
    replaced it: the whole row as JSON, kept for audit."""

    __tablename__ = "event_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    row: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Retraction(Base):
    """A DCSA 3.0 retraction; the retracted event is marked, never deleted."""

    __tablename__ = "retractions"
    __table_args__ = (UniqueConstraint("org_id", "event_key", name="uq_retractions_org_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    event_key: Mapped[str] = mapped_column(String(500))
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
