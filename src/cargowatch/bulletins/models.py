"""ORM models of bulletins and their indicators."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow

TLP = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
# how far a bulletin goes: its author's organisation, one sharing group, every organisation
# that shares a group with the author (the community), or every organisation here
DISTRIBUTIONS = ("organisation", "group", "community", "all")
KINDS = ("concealment", "seal-batch", "cloned-containers", "front-company", "route", "other")
# what an indicator names; a seal range has value..value_to
INDICATOR_KINDS = ("container", "seal", "seal-range", "party", "truck", "place", "route")


class Bulletin(Base):
    """A warning about an emerging threat, written by one organisation, under a TLP 2.0
    marking and a distribution; RED goes only to the organisations it names."""

    __tablename__ = "bulletins"
    __table_args__ = (
        UniqueConstraint("org_id", "stix_id", name="uq_bulletin_stix"),
        Index("ix_bulletins_added", "added_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    stix_id: Mapped[str] = mapped_column(String(64))  # report--<uuid>, kept through imports
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32), default="other")
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    distribution: Mapped[str] = mapped_column(String(16), default="group")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_groups.id"), nullable=True, index=True
    )
    author: Mapped[str] = mapped_column(String(200))  # who wrote it (the origin's name)
    author_ref: Mapped[str] = mapped_column(String(64), default="")  # its STIX identity id
    source: Mapped[str] = mapped_column(String(16), default="local")  # local, stix
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # when it came into this store (TAXII's date_added: its collections page by it)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BulletinRecipient(Base):
    """An organisation a bulletin names as a recipient (the only readers of TLP:RED)."""

    __tablename__ = "bulletin_recipients"
    __table_args__ = (UniqueConstraint("bulletin_id", "org_id", name="uq_bulletin_recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(
        ForeignKey("bulletins.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # the recipient organisation that forwarded it onward (None: named by the author)
    via_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)


class Indicator(Base):
    """Something a bulletin says to look for: a container, a seal or seal range, a party, a
    truck plate, a place or a route."""

    __tablename__ = "bulletin_indicators"
    __table_args__ = (Index("ix_bulletin_indicators_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(
        ForeignKey("bulletins.id", ondelete="CASCADE"), index=True
    )
    stix_id: Mapped[str] = mapped_column(String(64))  # indicator--<uuid>
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))
    value_to: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(500), default="")


class Watch(Base):
    """A bulletin an organisation turned into a watchlist: the risk engine matches its
    indicators against the organisation's trips (`watchlist-hit`) while it is watched and
    still readable."""

    __tablename__ = "bulletin_watches"
    __table_args__ = (UniqueConstraint("org_id", "bulletin_id", name="uq_bulletin_watch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    bulletin_id: Mapped[int] = mapped_column(
        ForeignKey("bulletins.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
