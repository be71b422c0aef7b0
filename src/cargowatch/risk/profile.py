"""A trip's risk profile in one place: who ships and receives it (with each party's age and
history), what it carries, on which vessel, the seals declared against those seen, and the trips
related to it by consignee, truck or seal series. Read from the caller's own registers only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Trip, TripSeal
from cargowatch.custody.service import get_trip, visible_trips
from cargowatch.registers.specs import TABLES

ROLES = (("shipper_id", "Shipper"), ("consignee_id", "Consignee"), ("notify_id", "Notify party"),
         ("forwarder_id", "Forwarder"))  # fmt: skip
RELATED = 8


@dataclass
class PartyLine:
    """One party of the trip with what the registers say of it."""

    role: str
    party_id: str
    name: str | None = None
    country: str | None = None
    registered_on: date | None = None
    age_days: int | None = None
    trips: int = 0
    seized: int = 0


@dataclass
class Profile:
    """Everything the profile section shows."""

    manifest: dict[str, Any] | None = None
    parties: list[PartyLine] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    related: list[tuple[str, int, str, str]] = field(default_factory=list)  # why, id, box, when


def profile(session: Session, *, principal: Principal, trip_id: int) -> Profile:
    """The profile of a trip the caller may see (its own registers only)."""
    trip = get_trip(session, principal=principal, trip_id=trip_id)
    out = Profile()
    m, p, ins, rel = (
        TABLES["manifest"],
        TABLES["parties"],
        TABLES["inspections"],
        TABLES["releases"],
    )
    own = principal.org_id
    line = session.execute(
        select(m).where(
            m.c.org_id == own,
            m.c.container == trip.container,
            m.c.booking_ref == (trip.booking_ref or ""),
        )
    ).first()
    out.observed = sorted(set(session.scalars(
        select(TripSeal.seal).where(TripSeal.trip_id == trip.id)
    )))  # fmt: skip
    if line is not None:
        row = dict(line._mapping)
        out.manifest = row
        out.declared = sorted(s for s in (row.get("declared_seals") or "").split(";") if s)
        ref = trip.started_at.date() if trip.started_at else date.today()
        for column, role in ROLES:
            pid = row.get(column)
            if not pid:
                continue
            party = session.execute(
                select(p.c.name, p.c.country, p.c.registered_on).where(
                    p.c.org_id == own, p.c.party_id == pid
                )
            ).first()
            booked = select(m.c.container).where(m.c.org_id == own, m.c[column] == pid)
            trips = int(session.scalar(select(func.count()).select_from(booked.subquery())) or 0)
            seized = int(session.scalar(
                select(func.count()).select_from(ins).where(
                    ins.c.org_id == own, ins.c.result == "SEIZURE",
                    ins.c.container.in_(booked.scalar_subquery()))
            ) or 0)  # fmt: skip
            registered = party.registered_on if party is not None else None
            if isinstance(registered, str):
                registered = date.fromisoformat(registered[:10])
            out.parties.append(PartyLine(
                role, pid, party.name if party else None, party.country if party else None,
                registered, (ref - registered).days if registered else None, trips, seized,
            ))  # fmt: skip
        consignee = row.get("consignee_id")
        if consignee:
            boxes = select(m.c.container).where(m.c.org_id == own, m.c.consignee_id == consignee)
            _related_boxes(session, principal, out, trip, "same consignee", boxes)
    trucks = [t for t in session.scalars(
        select(rel.c.truck_plate).where(rel.c.org_id == own, rel.c.container == trip.container,
                                        rel.c.truck_plate.is_not(None)).distinct()
    ) if t]  # fmt: skip
    if trucks:
        boxes = select(rel.c.container).where(rel.c.org_id == own, rel.c.truck_plate.in_(trucks))
        _related_boxes(session, principal, out, trip, f"truck {', '.join(trucks[:3])}", boxes)
    series = sorted({s[:-3] for s in out.observed if len(s) >= 7})
    if series:
        holders = select(TripSeal.trip_id).where(
            TripSeal.org_id == trip.org_id,
            or_(*(TripSeal.seal.like(f"{prefix}%") for prefix in series[:5])),
        )
        for tid, box, start in session.execute(
            select(Trip.id, Trip.container, Trip.started_at)
            .where(visible_trips(principal), Trip.id.in_(holders), Trip.id != trip.id)
            .order_by(Trip.started_at.desc()).limit(RELATED)
        ):  # fmt: skip
            out.related.append(("seal series", tid, box, f"{start:%Y-%m-%d}" if start else ""))
    return out


def _related_boxes(session: Session, principal: Principal, out: Profile, trip: Trip, why: str,
                   boxes: Any) -> None:  # fmt: skip
    for tid, box, start in session.execute(
        select(Trip.id, Trip.container, Trip.started_at)
        .where(visible_trips(principal), Trip.container.in_(boxes), Trip.id != trip.id)
        .order_by(Trip.started_at.desc()).limit(RELATED)
    ):  # fmt: skip
        out.related.append((why, tid, box, f"{start:%Y-%m-%d}" if start else ""))
