"""ORM model of a TAXII collection this store pulls from, and how far it has read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow


class TaxiiPull(Base):
    """A partner's TAXII collection an organisation pulls: the newest date_added read, so the
    next pull asks only for what came after (added_after)."""

    __tablename__ = "taxii_pulls"
    __table_args__ = (UniqueConstraint("org_id", "api_root", "collection_id",
                                       name="uq_taxii_pull"),)  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    api_root: Mapped[str] = mapped_column(String(500))
    collection_id: Mapped[str] = mapped_column(String(100))
    last_added: Mapped[str] = mapped_column(String(40), default="")  # TAXII timestamp
    objects: Mapped[int] = mapped_column(Integer, default=0)  # read over all pulls
    bulletins: Mapped[int] = mapped_column(Integer, default=0)  # taken in over all pulls
    pulled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # a scheduled pull: every so many minutes, as the user who scheduled it, with the
    # credentials sealed (basic: user and password; bearer: a token)
    every_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    run_as: Mapped[str | None] = mapped_column(String(64), nullable=True)
    auth_kind: Mapped[str] = mapped_column(String(8), default="none", server_default="none")
    auth_user: Mapped[str | None] = mapped_column(String(200), nullable=True)
    auth_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
