"""ORM model of one device reading."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime


class Reading(Base):
    """A smart-container device message: position, door, light, shock, temperature, e-seal."""

    __tablename__ = "telemetry"
    __table_args__ = (
        UniqueConstraint("org_id", "device_id", "ts", name="uq_telemetry_device_ts"),
        Index("ix_telemetry_container_ts", "container", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    device_id: Mapped[str] = mapped_column(String(100))
    container: Mapped[str] = mapped_column(String(15))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    door: Mapped[str | None] = mapped_column(String(6), nullable=True)
    light_lux: Mapped[float | None] = mapped_column(Float, nullable=True)
    shock_g: Mapped[float | None] = mapped_column(Float, nullable=True)
    temperature_c: Mapped[float | None] = mapped_column(Float, nullable=True)
    eseal_id: Mapped[str | None] = mapped_column(String(50), nullable=True)
    eseal_status: Mapped[str | None] = mapped_column(String(6), nullable=True)
    warnings: Mapped[str | None] = mapped_column(String(200), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
