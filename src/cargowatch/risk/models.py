"""ORM models of risk assessments (with their findings) and the trained models."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cargowatch.db.base import Base, UTCDateTime


class Assessment(Base):
    """The current risk score of one trip, with the parts it is fused from."""

    __tablename__ = "risk_assessments"
    __table_args__ = (
        UniqueConstraint("org_id", "trip_id", name="uq_risk_assessments_trip"),
        Index("ix_risk_assessments_score", "org_id", "score"),
        # the queue walks scores from the top (whoever owns the trip) and stops at a page
        Index("ix_risk_assessments_rank", "score", "trip_id"),
        Index("ix_risk_assessments_uncertainty", "uncertainty", "trip_id"),
        Index("ix_risk_assessments_trip", "trip_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)  # 0..100
    rules: Mapped[float] = mapped_column(Float)  # 0..1, the rules' fused contribution
    anomaly: Mapped[float] = mapped_column(Float)  # 0..1, rank of the anomaly score on its lane
    learned: Mapped[float | None] = mapped_column(Float, nullable=True)  # model probability
    # how little the outcomes so far say about this trip's findings (exploration picks by it)
    uncertainty: Mapped[float | None] = mapped_column(Float, nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # JSON: every finding, best first (rule, family, rule_version, score, reason, evidence);
    # the first few are the reasons the queue shows. One row per trip keeps a million-trip
    # scoring run to a million rows written.
    findings: Mapped[str] = mapped_column(Text)
    # the names of the findings that added points, sorted and comma-joined: what a rescoring
    # compares to say which findings came and went
    finding_keys: Mapped[str | None] = mapped_column(Text, nullable=True)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScoreChange(Base):
    """A trip's score moved (by half a point or more) or its findings changed: from what, to
    what, when and why (the run's cause, a new model, findings that came or went)."""

    __tablename__ = "risk_score_changes"
    __table_args__ = (Index("ix_risk_score_changes_trip", "trip_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    score_before: Mapped[float] = mapped_column(Float)
    score_after: Mapped[float] = mapped_column(Float)
    model_before: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    added: Mapped[str] = mapped_column(Text, default="")  # finding names, comma-joined
    removed: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(String(300))  # what started the rescoring


class SavedFilter(Base):
    """A queue view a user named and keeps: the filters as the queue's query string."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_filters_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RiskModel(Base):
    """A trained model (anomaly and, with enough outcomes, supervised), versioned per org."""

    __tablename__ = "risk_models"
    __table_args__ = (UniqueConstraint("org_id", "version", name="uq_risk_models_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    version: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trained_by: Mapped[str] = mapped_column(String(200))
    features: Mapped[str] = mapped_column(Text)  # JSON list of feature names, in order
    metrics: Mapped[str] = mapped_column(Text)  # JSON: trips, outcomes, positives, fit scores
    blob: Mapped[bytes] = mapped_column(LargeBinary)  # joblib dump of the fitted estimators


class QueuePick(Base):
    """A trip the targeting queue put forward on a day, how, and with what chance: outcomes
    of inspections it led to are weighted by the inverse of that chance when a model learns."""

    __tablename__ = "queue_picks"
    __table_args__ = (
        UniqueConstraint("org_id", "trip_id", "day", name="uq_queue_picks_day"),
        Index("ix_queue_picks_trip", "trip_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    how: Mapped[str] = mapped_column(String(32))  # score, explore-random, explore-uncertain
    propensity: Mapped[float] = mapped_column(Float)  # chance the trip was picked that day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
