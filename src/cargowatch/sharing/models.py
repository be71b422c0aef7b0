"""ORM models of sharing: agreements (an owner lets a grantee read some classes of its
records) and sharing groups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow

DATA_CLASSES = (
    "events",  # track-and-trace events, and the trips and custody rebuilt from them
    "documents",  # transport documents (bills of lading, booking confirmations)
    "telemetry",  # smart-container readings
    "alerts",  # custody alerts
    "risk",  # risk findings and scores
    "customs-selections",  # customs selections (CUSS) and inspections (CUSI) among the events
    "incidents",  # seizures as STIX incidents in the agreement's TAXII collection
    "personal-data",  # staff and badge registers, persons in findings and incidents
)
SCOPE_KINDS = ("container", "port", "lane")


class Agreement(Base):
    """owner_org lets a grantee (one organisation, or the members of a sharing group) read some
    classes of its records, for a purpose under a legal basis, within a scope (containers,
    ports, lanes; none: all), from valid_from until valid_until (expiry ends it by itself).

    Personal data of the owner reaches the grantee only when `personal-data` is among the
    classes, and then only its roles named in personal_roles; anywhere else a person is a
    pseudonym keyed by this agreement's pseudonym_key, so two partners' views cannot be
    joined."""

    __tablename__ = "sharing_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    grantee_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True, nullable=True
    )
    grantee_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_groups.id", ondelete="CASCADE"), index=True, nullable=True
    )
    purpose: Mapped[str] = mapped_column(String(500))
    legal_basis: Mapped[str] = mapped_column(String(500))
    personal_roles: Mapped[str] = mapped_column(String(200), default="")
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pseudonym_key: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AgreementClass(Base):
    """One class of data an agreement covers."""

    __tablename__ = "agreement_classes"
    __table_args__ = (UniqueConstraint("agreement_id", "data_class", name="uq_agreement_class"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_agreements.id", ondelete="CASCADE"), index=True
    )
    data_class: Mapped[str] = mapped_column(String(32))


class AgreementScope(Base):
    """One container, port (UN/LOCODE) or lane (origin and destination) an agreement is
    limited to; an agreement without scope rows covers all the owner's records of its
    classes."""

    __tablename__ = "agreement_scopes"
    __table_args__ = (
        UniqueConstraint("agreement_id", "kind", "value", "value2", name="uq_agreement_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("sharing_agreements.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(20))
    value2: Mapped[str] = mapped_column(String(20), default="")


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
