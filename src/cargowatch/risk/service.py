"""Reading scores and targets, and recording inspection outcomes, through the caller's rights."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Alert, Trip
from cargowatch.custody.service import get_trip, visible_trips
from cargowatch.db.base import sqlite_timestamp
from cargowatch.db.bulk import bulk_write
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.registers.specs import REGISTERS, TABLES
from cargowatch.risk.models import Assessment
from cargowatch.risk.settings import risk_settings

INSPECTIONS = TABLES["inspections"]
MANIFEST = TABLES["manifest"]


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
        out = asdict(self)
        for name in ("started_at", "ended_at"):
            out[name] = out[name].isoformat() if out[name] else None
        return out


def inspection_of_trip(principal: Principal) -> ColumnElement[bool]:
    """An inspection row that belongs to a trip: recorded by the trip's organisation or by the
    caller (Customs inspecting a carrier's shared trip), on its container and booking (or
    within its dates when the inspection names no booking)."""
    i = INSPECTIONS
    return and_(
        or_(i.c.org_id == Trip.org_id, i.c.org_id == principal.org_id),
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


def _inspected(principal: Principal) -> ColumnElement[bool]:
    """Whether a trip's container was inspected during or soon after the trip."""
    return exists().where(inspection_of_trip(principal))


ORDERS = {
    "score": "highest score first",
    "newest": "newest trip first",
    "container": "by container",
}


def queue(
    session: Session,
    *,
    principal: Principal,
    budget: float | None = None,
    limit: int | None = None,
    offset: int = 0,
    port: str | None = None,
    lane: str | None = None,
    carrier: str | None = None,
    alert_type: str | None = None,
    min_score: float | None = None,
    include_inspected: bool = False,
    order: str = "score",
) -> tuple[list[Target], int]:
    """A page of the caller's targeting queue and how many trips the filters leave.

    budget: the top share of those trips; port: loaded or discharged there; lane: origin and
    destination countries as 'EC>BE'; carrier: the manifest's carrier code; alert_type: trips
    with such a custody alert."""
    principal.require("events:read")
    if budget is not None and not 0 < budget <= 1:
        raise InvalidInput(f"budget must be a share between 0 and 1, got {budget}")
    if order not in ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    query = (
        select(
            Trip, Assessment.score, Assessment.findings, _inspected(principal).label("inspected")
        )
        .join(Assessment, Assessment.trip_id == Trip.id)
        .where(visible_trips(principal))
    )
    if port:
        code = port.strip().upper()
        query = query.where(or_(Trip.origin == code, Trip.destination == code))
    if lane:
        origin, _, destination = lane.strip().upper().partition(">")
        if origin:
            query = query.where(Trip.origin.like(f"{origin[:2]}%"))
        if destination:
            query = query.where(Trip.destination.like(f"{destination[:2]}%"))
    if carrier:
        m = MANIFEST
        query = query.where(
            exists().where(
                m.c.org_id == Trip.org_id,
                m.c.container == Trip.container,
                m.c.booking_ref == Trip.booking_ref,
                m.c.carrier_code == carrier.strip().upper(),
            )
        )
    if alert_type:
        query = query.where(
            exists().where(Alert.trip_id == Trip.id, Alert.type == alert_type.strip())
        )
    if min_score is not None:
        query = query.where(Assessment.score >= min_score)
    if not include_inspected:
        query = query.where(~_inspected(principal))
    total = int(
        session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )
    if budget is not None:
        total = min(total, math.ceil(budget * total))
        limit = total if limit is None else min(limit, total)
    if order == "newest":
        query = query.order_by(Trip.started_at.desc(), Trip.id)
    elif order == "container":
        query = query.order_by(Trip.container, Trip.started_at)
    else:
        query = query.order_by(Assessment.score.desc(), Trip.id)
    if budget is not None:  # the budget is the top share by score, whatever the order shown
        best = query.order_by(None).order_by(Assessment.score.desc(), Trip.id).limit(total)
        ids = [row[0].id for row in session.execute(best)]
        query = query.where(Trip.id.in_(ids))
    kept = risk_settings().reasons_kept  # the strongest findings are the reasons shown
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(int(limit))
    rows = [
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
            msgspec.json.decode(findings)[:kept],
        )
        for trip, score, findings, was_inspected in session.execute(query)
    ]
    return rows, total


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
    rows, _ = queue(
        session,
        principal=principal,
        budget=budget,
        limit=limit,
        port=port,
        min_score=min_score,
        include_inspected=include_inspected,
    )
    return rows


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
    """Store the outcome of inspecting the container of a trip the caller may see, under the
    caller's organisation, once (a retry with the same reference stores nothing new); returns
    the stored row with the trip's organisation (owner_org_id)."""
    principal.require("events:write")
    trip = get_trip(session, principal=principal, trip_id=trip_id)
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
    written = dict(row)
    if session.get_bind().dialect.name == "sqlite":  # the bulk path writes SQLite's text form
        written["ts"] = sqlite_timestamp(when)
    new = bulk_write(
        session,
        INSPECTIONS,
        list(written),
        [tuple(written.values())],
        key=("org_id", "ts", "container", "method", "reference"),
        update=False,
    )
    return {
        **row,
        "ts": when.isoformat(),
        "trip_id": trip.id,
        "owner_org_id": trip.org_id,
        "new": bool(new),
    }


def performance(session: Session, *, principal: Principal) -> dict[str, Any]:
    """How targeting has done on the trips inspected so far: hit rates by score band."""
    principal.require("events:read")
    i = INSPECTIONS
    rows = session.execute(
        select(Assessment.score, i.c.result)
        .join(Trip, Trip.id == Assessment.trip_id)
        .join(i, inspection_of_trip(principal))
        .where(visible_trips(principal))
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
