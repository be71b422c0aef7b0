"""ORM models of trips and custody alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime


class Trip(Base):
    """One container trip (empty pick-up or stuffing to stripping or empty return), keyed by
    container and booking."""

    __tablename__ = "trips"
    __table_args__ = (
        UniqueConstraint("org_id", "trip_key", name="uq_trips_key"),
        Index("ix_trips_container", "container", "org_id"),  # by org: distinct boxes counted
        Index("ix_trips_booking", "booking_ref"),
        Index("ix_trips_started", "started_at"),
        Index("ix_trips_org_started", "org_id", "started_at"),
        Index("ix_trips_route", "origin", "destination"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    trip_key: Mapped[str] = mapped_column(String(200))
    container: Mapped[str] = mapped_column(String(15))
    booking_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    origin: Mapped[str | None] = mapped_column(String(5), nullable=True)
    destination: Mapped[str | None] = mapped_column(String(5), nullable=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
    stripped: Mapped[bool] = mapped_column(Boolean, default=False)
    # carried cargo (some laden move): only such trips with a booking are targets; an empty
    # repositioning leg stays in custody but cannot carry contraband to a consignee
    laden: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    # where the container stood and how long the inland legs took, for risk features:
    # JSON [[role, facility, from, until, first event id, last event id], ...]
    stays: Mapped[str | None] = mapped_column(Text, nullable=True)
    inland_hours: Mapped[float | None] = mapped_column(Float, nullable=True)  # stuffing->gate-in
    delivery_hours: Mapped[float | None] = mapped_column(Float, nullable=True)  # gate-out->strip


class Alert(Base):
    """Something in a trip's custody a person should look at, with the proof."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_trip", "trip_id"), Index("ix_alerts_type", "type"))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer)  # 1 (note) .. 5 (act now)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    place: Mapped[str | None] = mapped_column(String(100), nullable=True)
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)  # JSON: event ids, readings, release rows, seals
    rule_version: Mapped[int] = mapped_column(Integer, default=1)


class TripSeal(Base):
    """A seal number seen on a trip (not a customs seal), to find the same seal on two trips."""

    __tablename__ = "trip_seals"
    __table_args__ = (
        Index("ix_trip_seals_seal", "org_id", "seal"),
        Index("ix_trip_seals_trip", "trip_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    seal: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(Integer)  # the first event that shows it on this trip
