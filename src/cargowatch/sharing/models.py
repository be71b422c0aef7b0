"""ORM model of a share: an owner lets a grantee read some of its records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow

SHARE_SCOPES = ("container", "all-events", "personal-data")


class Share(Base):
    """owner_org lets grantee_org read its events of one container (or all of them)."""

    __tablename__ = "shares"
    __table_args__ = (UniqueConstraint("owner_org_id", "grantee_org_id", "scope", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    grantee_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    scope: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
