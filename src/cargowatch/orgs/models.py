"""ORM model of an organisation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow

ORG_KINDS = ("CUSTOMS", "PORT_AUTHORITY", "TERMINAL", "CARRIER", "EXPORTER", "HAULIER", "OTHER")


class Organisation(Base):
    """A party that owns records and has users."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # share of the daily targeting queue picked to explore (None: the risk settings' default)
    explore_share: Mapped[float | None] = mapped_column(Float, nullable=True)
