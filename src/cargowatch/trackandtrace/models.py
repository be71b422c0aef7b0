"""ORM model of a DCSA Track & Trace event subscription: a partner's callback that receives
the events it may read as they arrive, signed with the secret it shared."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow


class EventSubscription(Base):
    """One subscription: whose (org_id, created_by: the user whose reading rights it carries),
    where to (callback_url), its filters (DCSA 2.2 subscription body fields, as JSON), the
    secret that signs its notifications (encrypted at rest with the installation's key), and
    how far delivery got (cursor: the last event id delivered)."""

    __tablename__ = "event_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(36), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    callback_url: Mapped[str] = mapped_column(Text)
    filters: Mapped[str] = mapped_column(Text, default="{}")
    secret_enc: Mapped[str] = mapped_column(Text)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
