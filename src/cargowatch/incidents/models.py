"""ORM model of the seizure database: one incident per seizure, with what was found, how it
was hidden, the modus operandi and whether an insider was involved."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)  # STIX: who reported
    author_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # its identity id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


TLP = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
# the parts of an analysis built from the store; the others are written by people
BUILT = ("windows", "access", "siblings")
SECTION_KINDS = (*BUILT, "summary", "findings", "root-causes", "note")
AUDIENCES = ("owner", "participants", "named")


class Participant(Base):
    """An organisation invited to an incident's post-incident analysis."""

    __tablename__ = "incident_participants"
    __table_args__ = (UniqueConstraint("incident_id", "org_id", name="uq_incident_participant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    invited_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Section(Base):
    """A section of an incident's analysis with its TLP 2.0 marking and who may read it: the
    owner's organisation only, every participant, or named organisations. The built sections
    (windows, access, siblings) keep their marking here and their content in the store."""

    __tablename__ = "incident_sections"
    __table_args__ = (Index("ix_incident_sections", "incident_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    audience: Mapped[str] = mapped_column(String(16), default="owner")
    named: Mapped[str] = mapped_column(Text, default="")  # organisation ids, comma-joined
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Action(Base):
    """An action decided after an incident (or a meeting), with its owner and due date; it
    shows on the owner's dashboard until done."""

    __tablename__ = "incident_actions"
    __table_args__ = (Index("ix_incident_actions_owner", "owner_org_id", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=True, index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), nullable=True, index=True
    )
    text: Mapped[str] = mapped_column(Text)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    owner_user: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a username
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    status: Mapped[str] = mapped_column(String(8), default="open")  # open, done
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


ITEM_KINDS = ("agenda", "minutes", "decision")
REF_TYPES = ("incident", "referral", "pattern")


class Meeting(Base):
    """A coordination meeting of partner organisations: its agenda (incidents, referrals,
    emerging patterns), minutes and decisions, each item under a TLP marking; its actions
    are incident actions that name the meeting."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_org", "org_id", "held_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # who convenes it
    title: Mapped[str] = mapped_column(String(200))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MeetingMember(Base):
    """An organisation taking part in a meeting."""

    __tablename__ = "meeting_members"
    __table_args__ = (UniqueConstraint("meeting_id", "org_id", name="uq_meeting_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)


class MeetingItem(Base):
    """An agenda item, a paragraph of minutes or a decision, with its marking and what it is
    about (an incident, a referral, an emerging pattern)."""

    __tablename__ = "meeting_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    ref_type: Mapped[str | None] = mapped_column(String(10), nullable=True)
    ref_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
