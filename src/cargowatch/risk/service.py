"""Reading scores and targets, and recording inspection outcomes, through the caller's rights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Trip
from cargowatch.custody.service import get_trip, visible_trips
from cargowatch.db.bulk import bulk_write
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.registers.specs import REGISTERS, TABLES
from cargowatch.risk.models import Assessment

INSPECTIONS = TABLES["inspections"]


@dataclass(frozen=True)
class Target:
    """A trip in the targeting queue, with why."""

    trip_id: int
    container: str
    booking_ref: str | None
    score: float
    origin: str | None
    destination: str | None
    started_at: datetime | None
    ended_at: datetime | None
    inspected: bool
    reasons: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (CLI --format json and the API)."""
        return {
            "trip_id": self.trip_id,
            "container": self.container,
            "booking_ref": self.booking_ref,
            "score": self.score,
            "origin": self.origin,
            "destination": self.destination,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "inspected": self.inspected,
            "reasons": self.reasons,
        }


def _inspected() -> ColumnElement[bool]:
    """Whether a trip's container was inspected during or soon after the trip."""
    i = INSPECTIONS
    return exists().where(
        i.c.org_id == Trip.org_id,
        i.c.container == Trip.container,
        or_(
            i.c.booking_ref == Trip.booking_ref,
            and_(
                func.coalesce(i.c.booking_ref, "") == "",
                i.c.ts >= Trip.started_at,
                i.c.ts <= Trip.ended_at,
            ),
        ),
    )


def targets(
    session: Session,
    *,
    principal: Principal,
    budget: float | None = None,
    limit: int | None = None,
    port: str | None = None,
    min_score: float | None = None,
    include_inspected: bool = False,
) -> list[Target]:
    """The caller's targeting queue, best first: the top share (budget) or number (limit) of
    the scored trips it may see, optionally at one port (origin or destination)."""
    principal.require("events:read")
    if budget is not None and not 0 < budget <= 1:
        raise InvalidInput(f"budget must be a share between 0 and 1, got {budget}")
    inspected = _inspected().label("inspected")
    query = (
        select(Trip, Assessment.score, Assessment.reasons, inspected)
        .join(Assessment, Assessment.trip_id == Trip.id)
        .where(visible_trips(principal))
    )
    if port:
        code = port.strip().upper()
        query = query.where(or_(Trip.origin == code, Trip.destination == code))
    if min_score is not None:
        query = query.where(Assessment.score >= min_score)
    if not include_inspected:
        query = query.where(~_inspected())
    if budget is not None:
        pool = select(func.count()).select_from(query.order_by(None).subquery())
        limit = min(limit or math.inf, math.ceil(budget * int(session.scalar(pool) or 0)))  # type: ignore[assignment]
    query = query.order_by(Assessment.score.desc(), Trip.id)
    if limit is not None:
        query = query.limit(int(limit))
    out = []
    for trip, score, reasons, was_inspected in session.execute(query):
        out.append(
            Target(
                trip.id,
                trip.container,
                trip.booking_ref,
                score,
                trip.origin,
                trip.destination,
                trip.started_at,
                trip.ended_at,
                bool(was_inspected),
                msgspec.json.decode(reasons),
            )
        )
    return out


def assessment(session: Session, *, principal: Principal, trip_id: int) -> dict[str, Any]:
    """A trip's score with every finding (not only the top reasons)."""
    trip = get_trip(session, principal=principal, trip_id=trip_id)
    row = session.scalar(select(Assessment).where(Assessment.trip_id == trip.id))
    if row is None:
        raise NotFound(f"trip {trip_id} has no score yet (run 'cargowatch score')")
    return {
        "trip_id": trip.id,
        "score": row.score,
        "rules": row.rules,
        "anomaly": row.anomaly,
        "learned": row.learned,
        "model_version": row.model_version,
        "scored_at": row.scored_at.isoformat(),
        "findings": msgspec.json.decode(row.findings),
    }


OUTCOME_FIELDS = {f.name: f for f in REGISTERS["inspections"].fields}


def record_outcome(
    session: Session,
    *,
    principal: Principal,
    trip_id: int,
    result: str,
    method: str = "PHYSICAL",
    at: datetime | None = None,
    locode: str | None = None,
    substance: str | None = None,
    quantity_kg: float | None = None,
    concealment: str | None = None,
    insider_suspected: str | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """Store the outcome of inspecting a trip's container, once (a retry with the same
    reference stores nothing new); returns the stored row."""
    principal.require("events:write")
    trip = get_trip(session, principal=principal, trip_id=trip_id)
    if trip.org_id != principal.org_id:
        raise NotFound(f"no trip {trip_id} of your organisation")
    values = {
        "result": result,
        "method": method,
        "concealment": concealment,
        "insider_suspected": insider_suspected,
    }
    for name, value in values.items():
        allowed = OUTCOME_FIELDS[name].values
        if value is not None and allowed and value not in allowed:
            raise InvalidInput(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    when = (at or datetime.now(UTC)).astimezone(UTC)
    when = when.replace(microsecond=0)
    row: dict[str, Any] = {
        "org_id": principal.org_id,
        "ts": when,
        "container": trip.container,
        "booking_ref": trip.booking_ref,
        "locode": locode or trip.destination,
        "authority_party_id": None,
        "method": method,
        "result": result,
        "substance": substance,
        "quantity_kg": quantity_kg,
        "concealment": concealment,
        "insider_suspected": insider_suspected,
        "reference": reference or f"cargowatch-{trip.id}-{when:%Y%m%dT%H%M%S}",
        "run_id": None,
    }
    stored = session.get_bind().dialect.name
    written = dict(row)
    if stored == "sqlite":
        from cargowatch.db.base import sqlite_timestamp

        written["ts"] = sqlite_timestamp(when)
    new = bulk_write(
        session,
        INSPECTIONS,
        list(written),
        [tuple(written.values())],
        key=("org_id", "ts", "container", "method", "reference"),
        update=False,
    )
    return {**row, "ts": when.isoformat(), "trip_id": trip.id, "new": bool(new)}


def performance(session: Session, *, principal: Principal) -> dict[str, Any]:
    """How targeting has done on the trips inspected so far: hit rates by score band."""
    principal.require("events:read")
    i = INSPECTIONS
    rows = session.execute(
        select(Assessment.score, i.c.result)
        .join(Trip, Trip.id == Assessment.trip_id)
        .join(
            i,
            and_(
                i.c.org_id == Trip.org_id,
                i.c.container == Trip.container,
                or_(
                    i.c.booking_ref == Trip.booking_ref,
                    and_(
                        func.coalesce(i.c.booking_ref, "") == "",
                        i.c.ts >= Trip.started_at,
                        i.c.ts <= Trip.ended_at,
                    ),
                ),
            ),
        )
        .where(Trip.org_id == principal.org_id)
    ).all()
    bands = [(80, 101), (60, 80), (40, 60), (20, 40), (0, 20)]
    table = []
    for low, high in bands:
        inside = [r for s, r in rows if low <= s < high]
        seized = sum(1 for r in inside if r == "SEIZURE")
        table.append(
            {
                "band": f"{low}-{min(high, 100)}",
                "inspected": len(inside),
                "seizures": seized,
                "hit_rate": round(seized / len(inside), 4) if inside else None,
            }
        )
    seized = sum(1 for _, r in rows if r == "SEIZURE")
    return {
        "inspected": len(rows),
        "seizures": seized,
        "irregularities": sum(1 for _, r in rows if r == "IRREGULARITY"),
        "hit_rate": round(seized / len(rows), 4) if rows else None,
        "by_score": table,
    }
