"""Reading trips, their custody timeline and alerts, through the caller's visibility."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.custody.checks import split_trips, timeline
from cargowatch.custody.inputs import EventRow, load
from cargowatch.custody.models import Alert, Trip
from cargowatch.exceptions import NotFound
from cargowatch.sharing.service import CUSTOMS, CUSTOMS_CODES, visible


def visible_trips(principal: Principal, data_class: str = "events") -> ColumnElement[bool]:
    """Trips of the caller's organisation, and those another organisation's agreements let it
    read (the events they are built of; their scores under `risk`)."""
    return visible(principal, Trip.org_id, Trip.container, data_class)


def trips_of_container(session: Session, *, principal: Principal, container: str) -> list[Trip]:
    """The trips of a container the caller may see, oldest first."""
    principal.require("events:read")
    return list(
        session.scalars(
            select(Trip)
            .where(Trip.container == container.strip().upper(), visible_trips(principal))
            .order_by(Trip.started_at)
        )
    )


def get_trip(
    session: Session, *, principal: Principal, trip_id: int, data_class: str = "events"
) -> Trip:
    """One trip the caller may see (its events; or, with data_class, its scores or alerts)."""
    principal.require("events:read")
    trip = session.scalar(
        select(Trip).where(Trip.id == trip_id, visible_trips(principal, data_class))
    )
    if trip is None:
        raise NotFound(f"no trip {trip_id}")
    return trip


def may_read(session: Session, principal: Principal, trip: Trip, data_class: str) -> bool:
    """Whether the caller reads data_class of a trip (its own, or under an agreement)."""
    if trip.org_id == principal.org_id:
        return True
    return (
        session.scalar(
            select(Trip.id).where(Trip.id == trip.id, visible_trips(principal, data_class))
        )
        is not None
    )


def trip_alerts(session: Session, *, principal: Principal, trip_id: int) -> list[Alert]:
    """A trip's alerts, most severe first (none of another organisation's trip without an
    agreement naming alerts)."""
    trip = get_trip(session, principal=principal, trip_id=trip_id)
    if not may_read(session, principal, trip, "alerts"):
        return []
    return list(
        session.scalars(
            select(Alert).where(Alert.trip_id == trip.id).order_by(Alert.severity.desc(), Alert.at)
        )
    )


def trip_events(session: Session, trip: Trip, principal: Principal | None = None) -> list[EventRow]:
    """The events a trip was built from, in order; for a caller of another organisation
    without an agreement naming customs selections, without those."""
    inputs = load(session, trip.org_id, containers=[trip.container])
    for booking, rows in split_trips(inputs.events.get(trip.container, [])):
        if (booking or None) == trip.booking_ref:
            if principal is not None and not may_read(session, principal, trip, CUSTOMS):
                return [e for e in rows if e.code not in CUSTOMS_CODES]
            return rows
    return []


def trip_timeline(session: Session, *, principal: Principal, trip_id: int) -> list[dict[str, Any]]:
    """Who held the container, where and under which seals, interval by interval."""
    trip = get_trip(session, principal=principal, trip_id=trip_id)
    return timeline(trip_events(session, trip, principal))


def alerts(
    session: Session,
    *,
    principal: Principal,
    type: str | None = None,
    min_severity: int = 1,
    limit: int = 100,
) -> list[tuple[Alert, Trip]]:
    """The caller's organisation's newest alerts, filtered."""
    principal.require("events:read")
    query = (
        select(Alert, Trip)
        .join(Trip, Trip.id == Alert.trip_id)
        .where(Alert.org_id == principal.org_id, Alert.severity >= min_severity)
    )
    if type:
        query = query.where(Alert.type == type)
    return [(a, t) for a, t in session.execute(query.order_by(Alert.at.desc()).limit(limit))]


def evidence(alert: Alert) -> dict[str, Any]:
    """An alert's evidence as data."""
    value: dict[str, Any] = msgspec.json.decode(alert.evidence)
    return value
