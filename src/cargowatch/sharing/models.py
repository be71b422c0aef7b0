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


class SharingGroup(Base):
    """A named set of organisations that share with each other; its steward organisation
    admits and removes members."""

    __tablename__ = "sharing_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    steward_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GroupMember(Base):
    """An organisation admitted to a sharing group."""

    __tablename__ = "sharing_group_members"
    __table_args__ = (UniqueConstraint("group_id", "org_id", name="uq_sharing_group_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_groups.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    admitted_by: Mapped[str] = mapped_column(String(200))
    admitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
