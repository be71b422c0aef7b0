"""API shapes of events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from pydantic import BaseModel

from cargowatch.events.service import EventView


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
    movement_type: str | None
    unlocode: str | None
    facility_code: str | None
    facility_type: str | None
    location_name: str | None
    latitude: float | None
    longitude: float | None
    seals: list[Seal]
    booking_ref: str | None
    bl_number: str | None
    document_type: str | None
    document_id: str | None
    transport_call: str | None
    mode_of_transport: str | None
    vessel_imo: str | None
    vessel_name: str | None
    voyage: str | None
    service_code: str | None
    originator: str | None
    details: dict[str, Any] | None
    warnings: str | None
    retracted: bool
    source_line: int | None

    @classmethod
    def of(cls, view: EventView) -> EventRead:
        """The API shape of a stored event."""
        e, c = view.event, view.call
        extra: dict[str, Any] = msgspec.json.decode(e.extra) if e.extra else {}
        return cls(
            id=e.id, event_key=e.event_key, source_format=e.source_format,
            event_type=e.event_type, event_code=e.event_code, classifier=e.classifier,
            event_time=e.event_time,
            container=e.container, iso_type=e.iso_type, empty_indicator=e.empty_indicator,
            movement_type=extra.get("movement_type"), unlocode=e.unlocode,
            facility_code=e.facility_code, facility_type=extra.get("facility_type"),
            location_name=extra.get("location_name"), latitude=e.latitude, longitude=e.longitude,
            seals=[Seal(**s) for s in msgspec.json.decode(e.seals)] if e.seals else [],
            booking_ref=e.booking_ref, bl_number=e.bl_number,
            document_type=extra.get("document_type"), document_id=extra.get("document_id"),
            transport_call=c.call_key if c else None,
            mode_of_transport=c.mode_of_transport if c else None,
            vessel_imo=c.vessel_imo if c else None, vessel_name=c.vessel_name if c else None,
            voyage=c.voyage if c else None, service_code=c.service_code if c else None,
            originator=extra.get("originator"), details=extra.get("details"),
            warnings=e.warnings, retracted=e.retracted, source_line=e.source_line,
        )  # fmt: skip


class EventDetail(EventRead):
    """One event with the raw record it was read from."""

    source: str | None
    raw: str | None

    @classmethod
    def with_raw(cls, view: EventView, source: str | None, raw: str | None) -> EventDetail:
        """The API shape of a stored event with its source and raw record."""
        return cls(**EventRead.of(view).model_dump(), source=source, raw=raw)
