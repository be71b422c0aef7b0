"""HTTP routes of trips, their timeline and their alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cargowatch.api import IdPath, PrincipalDep, SessionDep
from cargowatch.custody import service
from cargowatch.custody.models import Alert, Trip

router = APIRouter(prefix="/api/v1", tags=["custody"])


class TripRead(BaseModel):
    """A container trip."""

    id: int
    trip_key: str
    container: str
    booking_ref: str | None
    started_at: datetime | None
    ended_at: datetime | None
    origin: str | None
    destination: str | None
    events: int
    stripped: bool
    alerts: int

    @classmethod
    def of(cls, t: Trip) -> TripRead:
        """The API shape of a trip."""
        return cls.model_validate(t, from_attributes=True)


class Interval(BaseModel):
    """Who held the container, where, from when until when, under which seals."""

    kind: str
    custodian: str
    place: str | None
    start: datetime
    end: datetime | None
    seals: list[str]
    events: list[int]


class AlertRead(BaseModel):
    """A custody alert with its proof."""

    id: int
    type: str
    severity: int
    at: datetime | None
    place: str | None
    explanation: str
    evidence: dict[str, Any]
    rule_version: int

    @classmethod
    def of(cls, a: Alert) -> AlertRead:
        """The API shape of an alert."""
        return cls(
            id=a.id,
            type=a.type,
            severity=a.severity,
            at=a.at,
            place=a.place,
            explanation=a.explanation,
            evidence=service.evidence(a),
            rule_version=a.rule_version,
        )


@router.get("/containers/{container}/trips", response_model=list[TripRead])
def container_trips(container: str, session: SessionDep, principal: PrincipalDep) -> list[TripRead]:
    """The trips of a container, oldest first."""
    return [
        TripRead.of(t)
        for t in service.trips_of_container(session, principal=principal, container=container)
    ]


@router.get("/trips/{trip_id}", response_model=TripRead)
def trip(trip_id: IdPath, session: SessionDep, principal: PrincipalDep) -> TripRead:
    """One trip."""
    return TripRead.of(service.get_trip(session, principal=principal, trip_id=trip_id))


@router.get("/trips/{trip_id}/timeline", response_model=list[Interval])
def trip_timeline(trip_id: IdPath, session: SessionDep, principal: PrincipalDep) -> list[Interval]:
    """The custody timeline of a trip."""
    return [
        Interval(
            kind=iv["kind"],
            custodian=iv["custodian"],
            place=iv["place"],
            start=iv["from"],
            end=iv["until"],
            seals=list(iv["seals"]),
            events=iv["events"],
        )
        for iv in service.trip_timeline(session, principal=principal, trip_id=trip_id)
    ]


@router.get("/trips/{trip_id}/alerts", response_model=list[AlertRead])
def trip_alerts(trip_id: IdPath, session: SessionDep, principal: PrincipalDep) -> list[AlertRead]:
    """A trip's alerts, most severe first."""
    return [
        AlertRead.of(a) for a in service.trip_alerts(session, principal=principal, trip_id=trip_id)
    ]


class AlertWithTrip(AlertRead):
    """An alert with the trip it belongs to."""

    trip_id: int
    trip_key: str


@router.get("/alerts", response_model=list[AlertWithTrip])
def alerts(
    session: SessionDep,
    principal: PrincipalDep,
    type: str | None = None,
    min_severity: Annotated[int, Query(ge=1, le=5)] = 3,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertWithTrip]:
    """The caller's organisation's newest custody alerts."""
    return [
        AlertWithTrip(**AlertRead.of(a).model_dump(), trip_id=t.id, trip_key=t.trip_key)
        for a, t in service.alerts(
            session, principal=principal, type=type, min_severity=min_severity, limit=limit
        )
    ]
