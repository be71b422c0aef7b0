"""ORM model of the seizure database: one incident per seizure, with what was found, how it
was hidden, the modus operandi and whether an insider was involved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow

# where the load was hidden (docs/incidents.md); the input files' IN_CARGO is "in the load"
CONCEALMENTS = ("RIP_ON_RIP_OFF", "STRUCTURAL", "REEFER_UNIT", "PARASITIC", "IN_CARGO", "OTHER")
INSIDER = ("none", "suspected", "confirmed")
MOS = (
    "rip_on_rip_off",
    "seal_switch",
    "inland_contamination",
    "transshipment_tamper",
    "release_fraud",
    "front_company",
    "cloned_container",
    "other",
)


class Incident(Base):
    """A seizure: from an inspection recorded with result SEIZURE, or entered by hand."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("org_id", "source", "source_ref", name="uq_incidents_source"),
        Index("ix_incidents_found", "org_id", "found_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # who recorded it
    source: Mapped[str] = mapped_column(String(16))  # inspection, manual
    source_ref: Mapped[str] = mapped_column(String(100))  # the inspection row, or a reference
    trip_id: Mapped[int | None] = mapped_column(
        ForeignKey("trips.id", ondelete="SET NULL"), nullable=True, index=True
    )
    container: Mapped[str] = mapped_column(String(15))
    booking_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locode: Mapped[str | None] = mapped_column(String(5), nullable=True)
    substance: Mapped[str | None] = mapped_column(String(100), nullable=True)
    quantity_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    concealment: Mapped[str | None] = mapped_column(String(20), nullable=True)
    mo: Mapped[str | None] = mapped_column(String(32), nullable=True)
    insider: Mapped[str] = mapped_column(String(10), default="none")
    insider_role: Mapped[str | None] = mapped_column(String(100), nullable=True)
    pol: Mapped[str | None] = mapped_column(String(5), nullable=True)
    pod: Mapped[str | None] = mapped_column(String(5), nullable=True)
    carrier_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
