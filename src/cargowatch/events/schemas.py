"""API shapes of events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from pydantic import BaseModel

from cargowatch.events.models import Event


class Seal(BaseModel):
    """A seal seen on the container door."""

    number: str
    source: str | None = None
    type: str | None = None


class EventRead(BaseModel):
    """One canonical event."""

    id: int
    event_key: str
    source_format: str
    event_type: str
    event_code: str | None
    classifier: str | None
    event_time: datetime | None
    container: str | None
    iso_type: str | None
    empty_indicator: str | None
    unlocode: str | None
    facility_code: str | None
    location_name: str | None
    latitude: float | None
    longitude: float | None
    seals: list[Seal]
    booking_ref: str | None
    bl_number: str | None
    transport_call_ref: str | None
    mode_of_transport: str | None
    vessel_imo: str | None
    vessel_name: str | None
    voyage: str | None
    details: dict[str, Any] | None
    warnings: str | None
    retracted: bool
    run_id: int | None
    source_line: int | None

    @classmethod
    def of(cls, event: Event) -> EventRead:
        """The API shape of a stored event."""
        return cls(
            id=event.id, event_key=event.event_key, source_format=event.source_format,
            event_type=event.event_type, event_code=event.event_code,
            classifier=event.classifier, event_time=event.event_time,
            container=event.container, iso_type=event.iso_type,
            empty_indicator=event.empty_indicator, unlocode=event.unlocode,
            facility_code=event.facility_code, location_name=event.location_name,
            latitude=event.latitude, longitude=event.longitude,
            seals=[Seal(**s) for s in msgspec.json.decode(event.seals)] if event.seals else [],
            booking_ref=event.booking_ref, bl_number=event.bl_number,
            transport_call_ref=event.transport_call_ref,
            mode_of_transport=event.mode_of_transport, vessel_imo=event.vessel_imo,
            vessel_name=event.vessel_name, voyage=event.voyage,
            details=msgspec.json.decode(event.details) if event.details else None,
            warnings=event.warnings, retracted=event.retracted,
            run_id=event.run_id, source_line=event.source_line,
        )  # fmt: skip


class EventDetail(EventRead):
    """One event with the raw record it was read from."""

    source: str | None
    raw: str | None

    @classmethod
    def with_raw(cls, event: Event, source: str | None, raw: str | None) -> EventDetail:
        """The API shape of a stored event with its source and raw record."""
        return cls(**EventRead.of(event).model_dump(), source=source, raw=raw)
