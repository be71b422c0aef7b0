"""Figures for the dashboard: what is tracked, alerted, targeted, inspected and ingested, and
how it moved week by week; every figure through the caller's visibility."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Alert, Trip
from cargowatch.custody.service import visible_trips
from cargowatch.ingest.models import IngestRun, QuarantineRecord
from cargowatch.registers.specs import TABLES
from cargowatch.risk.models import Assessment
from cargowatch.risk.service import inspection_of_trip

WEEKS_SHOWN = 26
TARGET_SCORE = 50.0  # a score at or above which a trip counts as a target on the dashboard


@dataclass
class Overview:
    """The dashboard's figures."""

    trips: int = 0
    containers: int = 0
    scored: int = 0
    targets: int = 0
    inspections: int = 0
    seizures: int = 0
    runs: int = 0
    stored: int = 0
    quarantine_open: int = 0
    alerts_by_type: list[tuple[str, int]] = field(default_factory=list)
    weekly: list[dict[str, Any]] = field(default_factory=list)  # week, trips, alerts, seizures


def _weekly(times: list[Any], name: str) -> pl.DataFrame:
    values = [t if t is None or t.tzinfo else t.replace(tzinfo=UTC) for t in times]
    frame = pl.DataFrame({"t": pl.Series(values, dtype=pl.Datetime("us", "UTC"))}).drop_nulls()
    return frame.group_by(pl.col("t").dt.truncate("1w").alias("week")).agg(pl.len().alias(name))


def overview(session: Session, *, principal: Principal) -> Overview:
    """Every figure of the dashboard for the caller."""
    principal.require("events:read")
    seen = visible_trips(principal)
    out = Overview()
    out.trips, out.containers = session.execute(
        select(func.count(), func.count(func.distinct(Trip.container))).where(seen)
    ).one()
    out.scored = int(
        session.scalar(
            select(func.count())
            .select_from(Trip)
            .join(Assessment, Assessment.trip_id == Trip.id)
            .where(seen)
        )
        or 0
    )
    out.targets = int(
        session.scalar(
            select(func.count())
            .select_from(Trip)
            .join(Assessment, Assessment.trip_id == Trip.id)
            .where(seen, Assessment.score >= TARGET_SCORE)
        )
        or 0
    )
    out.alerts_by_type = [
        (kind, int(n))
        for kind, n in session.execute(
            select(Alert.type, func.count())
            .join(Trip, Trip.id == Alert.trip_id)
            .where(seen)
            .group_by(Alert.type)
            .order_by(func.count().desc())
        )
    ]
    ins = TABLES["inspections"]  # inspections of the trips the caller sees
    out.inspections, seizures = session.execute(
        select(
            func.count(func.distinct(ins.c.id)),
            func.count(func.distinct(ins.c.id)).filter(ins.c.result == "SEIZURE"),
        )
        .select_from(Trip)
        .join(ins, inspection_of_trip(principal))
        .where(seen)
    ).one()
    out.seizures = int(seizures or 0)
    out.runs, stored = session.execute(
        select(func.count(), func.sum(IngestRun.stored)).where(IngestRun.org_id == principal.org_id)
    ).one()
    out.stored = int(stored or 0)
    out.quarantine_open = int(
        session.scalar(
            select(func.count()).where(
                QuarantineRecord.org_id == principal.org_id, QuarantineRecord.status == "open"
            )
        )
        or 0
    )
    trips = _weekly(list(session.scalars(select(Trip.started_at).where(seen))), "trips")
    alerts = _weekly(
        list(
            session.scalars(
                select(Alert.at)
                .join(Trip, Trip.id == Alert.trip_id)
                .where(seen, Alert.severity >= 4)
            )
        ),
        "alerts",
    )
    seized = _weekly(
        list(
            session.scalars(
                select(ins.c.ts)
                .select_from(Trip)
                .join(ins, inspection_of_trip(principal))
                .where(seen, ins.c.result == "SEIZURE")
            )
        ),
        "seizures",
    )
    weeks = trips.join(alerts, on="week", how="full", coalesce=True).join(
        seized, on="week", how="full", coalesce=True
    )
    if weeks.height:  # the half year up to the newest week with trips
        newest = trips["week"].max() if trips.height else weeks["week"].max()
        weeks = weeks.filter(
            pl.col("week") > pl.lit(newest) - pl.duration(weeks=WEEKS_SHOWN),
            pl.col("week") <= pl.lit(newest),
        )
    out.weekly = weeks.fill_null(0).sort("week").to_dicts()
    return out


def now() -> datetime:
    """The time pages show as 'as of'."""
    return datetime.now(UTC)
