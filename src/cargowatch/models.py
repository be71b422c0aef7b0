"""Imports every domain's ORM models so that metadata and migrations see all tables."""

from cargowatch.audit.models import AuditEntry
from cargowatch.auth.models import ApiToken, SignInAttempt, User, WebSession
from cargowatch.bulletins.models import Bulletin, BulletinRecipient, Indicator, Watch
from cargowatch.cases.models import Case, CaseEntry
from cargowatch.custody.models import Alert, Trip, TripSeal
from cargowatch.documents.models import DocumentEquipment, TransportDocument
from cargowatch.events.models import Event, EventVersion, RawChunk, Retraction, TransportCall
from cargowatch.incidents.models import (
    Action,
    Incident,
    Meeting,
    MeetingItem,
    MeetingMember,
    Participant,
    Section,
)
from cargowatch.ingest.models import IngestRun, QuarantineRecord
from cargowatch.jobs.models import Job
from cargowatch.orgs.models import Organisation
from cargowatch.referrals.models import (
    Attachment,
    Delivery,
    Feedback,
    Message,
    Referral,
    ReferralCopy,
    Spoc,
)
from cargowatch.registers.specs import TABLES as REGISTER_TABLES
from cargowatch.risk.models import Assessment, RiskModel
from cargowatch.sharing.models import (
    Agreement,
    AgreementClass,
    AgreementScope,
    GroupMember,
    SharingGroup,
)
from cargowatch.taxii.models import TaxiiPull
from cargowatch.telemetry.models import Reading
from cargowatch.trackandtrace.models import EventSubscription

__all__ = [
    "REGISTER_TABLES",
    "Action",
    "Agreement",
    "AgreementClass",
    "AgreementScope",
    "Alert",
    "ApiToken",
    "Assessment",
    "Attachment",
    "AuditEntry",
    "Bulletin",
    "BulletinRecipient",
    "Case",
    "CaseEntry",
    "Delivery",
    "DocumentEquipment",
    "Event",
    "EventSubscription",
    "EventVersion",
    "Feedback",
    "GroupMember",
    "Incident",
    "Indicator",
    "IngestRun",
    "Job",
    "Meeting",
    "MeetingItem",
    "MeetingMember",
    "Message",
    "Organisation",
    "Participant",
    "QuarantineRecord",
    "RawChunk",
    "Reading",
    "Referral",
    "ReferralCopy",
    "Retraction",
    "RiskModel",
    "Section",
    "SharingGroup",
    "SignInAttempt",
    "Spoc",
    "TaxiiPull",
    "TransportCall",
    "TransportDocument",
    "Trip",
    "TripSeal",
    "User",
    "Watch",
    "WebSession",
]
