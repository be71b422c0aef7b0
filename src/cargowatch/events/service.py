"""Reading canonical events, always through the caller's visibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.events.models import Event, RawChunk, TransportCall
from cargowatch.exceptions import NotFound
from cargowatch.ingest.writer import raw_record, split_raw_ref
from cargowatch.sharing.service import CUSTOMS_CODES, record_use, visible_events

# Customs selections are need-to-know: insiders leak which boxes will be scanned.
SENSITIVE_CODES = CUSTOMS_CODES


@dataclass(frozen=True, slots=True)
class EventView:
    """An event with its transport call, as services hand them out."""

    event: Event
    call: TransportCall | None


def audit_sensitive(session: Session, principal: Principal, events: list[Event]) -> None:
    """Audit the customs selections read, and the use of other organisations' agreements."""
    record_use(session, principal, (e.org_id for e in events), "events", len(events))
    hits = sorted({e.container or "" for e in events if e.event_code in SENSITIVE_CODES})
    for container in hits:
        audit.record(
            session, actor=principal, action="events.read-customs", entity_type="container",
            entity_id=container or "-",
        )  # fmt: skip


def list_events(
    session: Session,
    *,
    principal: Principal,
    container: str | None = None,
    booking_ref: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_retracted: bool = True,
    limit: int = 1000,
    offset: int = 0,
) -> list[EventView]:
    """Events the caller may see, oldest first, filtered; customs selections read are audited."""
    principal.require("events:read")
    query = (
        select(Event, TransportCall)
        .outerjoin(TransportCall, TransportCall.id == Event.transport_call_id)
        .where(visible_events(principal))
    )
    if container:
        query = query.where(Event.container == container.strip().upper())
    if booking_ref:
        query = query.where(Event.booking_ref == booking_ref)
    if event_type:
        query = query.where(Event.event_type == event_type.upper())
    if since:
        query = query.where(Event.event_time >= since)
    if until:
        query = query.where(Event.event_time < until)
    if not include_retracted:
        query = query.where(Event.retracted.is_(False))
    query = query.order_by(Event.event_time, Event.id).limit(limit).offset(offset)
    views = [EventView(event, call) for event, call in session.execute(query)]
    audit_sensitive(session, principal, [v.event for v in views])
    return views


def get_event(
    session: Session, *, principal: Principal, event_id: int
) -> tuple[EventView, str | None, str | None]:
    """One event the caller may see, with the source it came from and its raw record."""
    principal.require("events:read")
    row = session.execute(
        select(Event, TransportCall)
        .outerjoin(TransportCall, TransportCall.id == Event.transport_call_id)
        .where(Event.id == event_id, visible_events(principal))
    ).first()
    if row is None:
        raise NotFound(f"no event {event_id}")
    event, call = row
    audit_sensitive(session, principal, [event])
    source = raw = None
    if event.raw_ref is not None:
        chunk_id, index = split_raw_ref(event.raw_ref)
        chunk = session.get(RawChunk, chunk_id)
        if chunk is not None:
            source = chunk.source
            raw = raw_record(chunk.data, chunk.codec, index).decode("utf-8", "replace")
    return EventView(event, call), source, raw
