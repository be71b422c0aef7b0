"""Figures for the dashboard: what is tracked, alerted, targeted, inspected and ingested, and
how it moved week by week; every figure through the caller's visibility."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
from cargowatch.sharing.models import Agreement
from cargowatch.sharing.service import has_scoped, whole_owners

WEEKS_SHOWN = 26
TARGET_SCORE = 50.0  # a score at or above which a trip counts as a target on the dashboard
FRESH_SECONDS = 30.0  # how long the figures over every trip are reused before counted again
_kept: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


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
    as_of: datetime | None = None  # when the figures over every trip were counted


def _weekly(rows: Any, name: str) -> pl.DataFrame:
    """(day, count) rows as counts per week (weeks start on Monday)."""
    days = [
        (d if isinstance(d, date) else date.fromisoformat(str(d)[:10]), int(n))
        for d, n in rows
        if d is not None
    ]
    frame = pl.DataFrame(days, schema={"day": pl.Date, name: pl.Int64}, orient="row")
    return frame.group_by(pl.col("day").dt.truncate("1w").alias("week")).agg(pl.col(name).sum())


def overview(session: Session, *, principal: Principal) -> Overview:
    """Every figure of the dashboard for the caller. The figures over every trip (trips,
    containers, scores, targets, alerts, trips and alerts per week) are counted at most every
    FRESH_SECONDS per organisation, and again at once when an inspection, a share, a trip, an
    alert or a score is added; the others are counted each time."""
    principal.require("events:read")
    seen = visible_trips(principal)
    out = Overview()
    ins = TABLES["inspections"]
    bind = session.get_bind()
    stamp = (  # what a new inspection, share, trip, alert or score changes (each one index step)
        principal.org_id,
        id(bind),
        str(bind.engine.url),
        *(
            int(session.scalar(select(func.max(column))) or 0)
            for column in (ins.c.id, Agreement.id, Trip.id, Alert.id, Assessment.id)
        ),
        int(session.scalar(select(func.count(Agreement.revoked_at))) or 0),
    )
    with _lock:
        hit = _kept.get(stamp)
    if hit is None or time.monotonic() - hit[0] > FRESH_SECONDS:
        heavy = _over_every_trip(session, principal)
        with _lock:
            for key in [k for k in _kept if k[:3] == stamp[:3]]:
                del _kept[key]
            _kept[stamp] = (time.monotonic(), heavy)
    else:
        heavy = hit[1]
    out.trips, out.containers, out.scored = heavy["trips"], heavy["containers"], heavy["scored"]
    out.targets, out.alerts_by_type = heavy["targets"], heavy["alerts_by_type"]
    out.as_of = heavy["as_of"]
    inspected = (  # inspections of the trips the caller sees (few: drive by them)
        select(ins.c.id, ins.c.ts, ins.c.result)
        .select_from(ins)
        .join(Trip, Trip.container == ins.c.container)
        .where(inspection_of_trip(principal), seen)
        .distinct()
        .subquery()
    )
    out.inspections, seizures = session.execute(
        select(func.count(), func.count().filter(inspected.c.result == "SEIZURE"))
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
    day = func.date(inspected.c.ts)
    seized = _weekly(
        session.execute(
            select(day, func.count()).where(inspected.c.result == "SEIZURE").group_by(day)
        ),
        "seizures",
    )
    trips, alerts = heavy["weekly_trips"], heavy["weekly_alerts"]
    weeks = trips.join(alerts, on="week", how="full", coalesce=True).join(
        seized, on="week", how="full", coalesce=True
    )
    if weeks.height:  # the half year up to the newest busy week (stray old or future records
        # such as sample messages do not move the window)
        busy = (
            trips.filter(pl.col("trips") >= 0.05 * pl.col("trips").max()) if trips.height else weeks
        )
        newest = busy["week"].max()
        weeks = weeks.filter(
            pl.col("week") > pl.lit(newest) - pl.duration(weeks=WEEKS_SHOWN),
            pl.col("week") <= pl.lit(newest),
        )
    out.weekly = weeks.fill_null(0).sort("week").to_dicts()
    return out


def _over_every_trip(session: Session, principal: Principal) -> dict[str, Any]:
    """The figures that read every trip the caller sees. When no container alone was shared
    with the caller, whole organisations are what it sees, and each figure reads one index
    by organisation; otherwise every row is tested for visibility."""
    from cargowatch.risk.service import queue

    if any(has_scoped(session, principal, c) for c in ("events", "alerts", "risk")):
        seen = visible_trips(principal)
        seen_alerts = Alert.trip_id.in_(
            select(Trip.id).where(visible_trips(principal, "alerts")).scalar_subquery()
        )
        scored_where = Assessment.trip_id.in_(
            select(Trip.id).where(visible_trips(principal, "risk")).scalar_subquery()
        )
    else:  # each class read whole: one index by organisation per figure

        def owners(data_class: str) -> list[int]:
            found = session.scalars(whole_owners(principal.org_id, data_class))
            return [principal.org_id, *found]

        seen = Trip.org_id.in_(owners("events"))
        seen_alerts = Alert.org_id.in_(owners("alerts"))
        scored_where = Assessment.org_id.in_(owners("risk"))
    trips = int(session.scalar(select(func.count()).select_from(Trip).where(seen)) or 0)
    containers = int(
        session.scalar(select(func.count(func.distinct(Trip.container))).where(seen)) or 0
    )
    scored = int(
        session.scalar(select(func.count()).select_from(Assessment).where(scored_where)) or 0
    )
    # the tile opens the queue at that score: count what the queue will show (trips that can be
    # targets, not yet inspected), so both say the same number
    targets = queue(session, principal=principal, min_score=TARGET_SCORE, limit=1, explore=0)[1]
    alerts_by_type = [
        (kind, int(n))
        for kind, n in session.execute(
            select(Alert.type, func.count())
            .where(seen_alerts)
            .group_by(Alert.type)
            .order_by(func.count().desc())
        )
    ]
    # counted per day by the store, weeks made here: a few hundred rows, not every trip
    day = func.date(Trip.started_at)
    weekly_trips = _weekly(
        session.execute(select(day, func.count()).where(seen).group_by(day)), "trips"
    )
    day = func.date(Alert.at)
    weekly_alerts = _weekly(
        session.execute(
            select(day, func.count()).where(seen_alerts, Alert.severity >= 4).group_by(day)
        ),
        "alerts",
    )
    return {
        "trips": trips, "containers": containers, "scored": scored, "targets": targets,
        "alerts_by_type": alerts_by_type, "weekly_trips": weekly_trips,
        "weekly_alerts": weekly_alerts, "as_of": datetime.now(UTC),
    }  # fmt: skip


def forget() -> None:
    """Count every figure afresh on the next visit (all organisations)."""
    with _lock:
        _kept.clear()


def now() -> datetime:
    """The time pages show as 'as of'."""
    return datetime.now(UTC)
