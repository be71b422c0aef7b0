"""ORM models of Customs points of contact and the referrals industry sends them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from cargowatch.db.base import Base, UTCDateTime, utcnow

# what was observed: the taxonomy industry chooses from (docs/referrals.md explains each)
CATEGORIES = (
    "seal-anomaly",
    "door-or-tampering",
    "routing-or-dwell",
    "document-or-party",
    "pickup-or-release",
    "suspicious-person",
    "insider-concern",
    "other",
)
URGENCIES = ("routine", "urgent")
TLP = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
# the state of a referral at one Customs organisation, and where it may go from each
STATES = (
    "submitted",
    "acknowledged",
    "under-assessment",
    "actioned",
    "closed",
    "declined",
    "duplicate",
    "withdrawn",
)
ENDED = frozenset({"closed", "declined", "duplicate", "withdrawn"})
MOVES: dict[str, frozenset[str]] = {
    "submitted": frozenset({"acknowledged", "declined", "duplicate", "withdrawn"}),
    "acknowledged": frozenset(
        {"under-assessment", "actioned", "closed", "declined", "duplicate", "withdrawn"}
    ),
    "under-assessment": frozenset({"actioned", "closed", "declined", "duplicate", "withdrawn"}),
    "actioned": frozenset({"closed", "withdrawn"}),
}


class Spoc(Base):
    """A Customs single point of contact: the places it covers, when it works, how long it
    has to acknowledge, who backs it up and how to reach it."""

    __tablename__ = "spocs"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_spocs_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(120))
    # UN/LOCODEs of ports and inland places, or two-letter countries (national), comma-joined
    jurisdiction: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    opens: Mapped[str] = mapped_column(String(5), default="08:00")
    closes: Mapped[str] = mapped_column(String(5), default="18:00")
    weekdays: Mapped[str] = mapped_column(String(20), default="1,2,3,4,5")
    holidays: Mapped[str] = mapped_column(Text, default="")  # YYYY-MM-DD, comma-joined
    urgent_minutes: Mapped[int] = mapped_column(Integer, default=120)  # working time to ack
    routine_minutes: Mapped[int] = mapped_column(Integer, default=600)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    backup_email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # signed notifications are posted here; the signing key is derived, never stored
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # feedback to referrers is released only after a second officer reviewed it
    feedback_review: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Referral(Base):
    """What an industry partner saw and sends to Customs, as it sent it."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("org_id", "client_ref", name="uq_referrals_client_ref"),
        Index("ix_referrals_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the referrer
    client_ref: Mapped[str] = mapped_column(String(100))  # the referrer's own reference
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(10), default="routine")
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER")
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    place: Mapped[str | None] = mapped_column(String(5), nullable=True)  # UN/LOCODE
    containers: Mapped[str] = mapped_column(Text, default="")  # comma-joined
    bookings: Mapped[str] = mapped_column(Text, default="")
    bl_numbers: Mapped[str] = mapped_column(Text, default="")
    seals: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReferralCopy(Base):
    """A referral as one Customs organisation holds it: its point of contact, its state and
    when it must be acknowledged (a transshipment can route one referral to two)."""

    __tablename__ = "referral_copies"
    __table_args__ = (
        UniqueConstraint("referral_id", "customs_org_id", name="uq_referral_copies_org"),
        Index("ix_referral_copies_inbox", "customs_org_id", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    customs_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    spoc_id: Mapped[int | None] = mapped_column(ForeignKey("spocs.id"), nullable=True)
    routed_by: Mapped[str] = mapped_column(String(200))  # why this organisation: which place
    state: Mapped[str] = mapped_column(String(20), default="submitted")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # acknowledgement due (escalated)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # as first due: the SLA
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalation: Mapped[int] = mapped_column(Integer, default=0)  # 0, 1 backup, 2 admins
    merged_into: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


CHANNELS = ("email", "webhook", "app")


class Delivery(Base):
    """One notification to one recipient over one channel, with every attempt's result."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_org", "org_id", "created_at"),
        Index("ix_deliveries_target", "channel", "target", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the recipient's
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(500))  # address, URL or user id
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    referral_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    spoc_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # in-app


# what Customs tells a referrer, from least to most
FEEDBACK_LEVELS = ("received", "action-taken", "outcome", "cannot-disclose-yet")
FEEDBACK_OUTCOMES = ("no-finding", "irregularity", "seizure")


class Feedback(Base):
    """Feedback of a Customs organisation to the referrer, released when its hold date has
    passed (and, where the point of contact asks for it, after a second officer's review)."""

    __tablename__ = "referral_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(
        ForeignKey("referral_copies.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")  # as released (redactions applied)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    needs_review: Mapped[bool] = mapped_column(default=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# what a referral may carry, told by the file's first bytes (never by its name or the sender)
ATTACHMENT_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}


class Attachment(Base):
    """A photo or PDF a referrer sent with its referral, stored as received with its
    SHA-256; the same file twice on one referral is stored once."""

    __tablename__ = "referral_attachments"
    __table_args__ = (UniqueConstraint("referral_id", "sha256", name="uq_referral_attachments"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))  # cleaned, with the extension of its type
    media_type: Mapped[str] = mapped_column(String(40))  # found in its content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    added_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Message(Base):
    """A line of the conversation between one Customs organisation and the referrer about a
    referral: Customs asks, the referrer answers. Another Customs organisation never reads it."""

    __tablename__ = "referral_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    copy_id: Mapped[int] = mapped_column(
        ForeignKey("referral_copies.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the author's
    author: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # question (Customs) or answer (referrer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
