"""Pages of events for the DCSA Track & Trace API: the caller's visible events, filtered as
DCSA's query parameters say, oldest first, cursor-paged by (event time, id) so a page costs
the same however deep it lies."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.events.models import Event, TransportCall
from cargowatch.events.service import audit_sensitive
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.sharing.service import visible_events
from cargowatch.trackandtrace.serialize import row_id, served_in_22, v22, v30

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EVENT_TYPES = {"2": ("SHIPMENT", "TRANSPORT", "EQUIPMENT"),
               "3": ("SHIPMENT", "TRANSPORT", "EQUIPMENT", "IOT", "REEFER")}  # fmt: skip
OPERATORS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "="}
# DCSA 2.2 filters on the event or its transport call: parameter -> column
EQUALS_22: dict[str, Any] = {
    "carrierBookingReference": Event.booking_ref,
    "bookingReference": Event.booking_ref,
    "transportDocumentReference": Event.bl_number,
    "transportDocumentID": Event.bl_number,
    "equipmentReference": Event.container,
    "UNLocationCode": Event.unlocode,
    "transportCallID": TransportCall.call_key,
    "vesselIMONumber": TransportCall.vessel_imo,
    "carrierVoyageNumber": TransportCall.voyage,
    "exportVoyageNumber": TransportCall.voyage,
    "carrierServiceCode": TransportCall.service_code,
}
CODES_22 = {"shipmentEventTypeCode": "SHIPMENT", "transportEventTypeCode": "TRANSPORT",
            "equipmentEventTypeCode": "EQUIPMENT"}  # fmt: skip
EQUALS_30: dict[str, Any] = {
    "carrierBookingReference": Event.booking_ref,
    "transportDocumentReference": Event.bl_number,
    "equipmentReference": Event.container,
}


@dataclass
class Query:
    """What a page asks for: the version, its filters as given, the page size, where it
    starts (after this event time and id)."""

    version: str
    filters: dict[str, str] = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT
    after: tuple[datetime, int] | None = None


def _list(value: str, name: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    items = [v.strip().upper().replace("\x00", "") for v in value.split(",") if v.strip()]
    if allowed is not None:
        wrong = [v for v in items if v not in allowed]
        if wrong:
            raise InvalidInput(f"{name}: {', '.join(wrong)} not one of {', '.join(allowed)}")
    return items


def _when(value: str, name: str) -> datetime:
    try:  # RFC 3339: T or t, Z or z
        stamp = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: expected an ISO 8601 date-time, got {value!r}") from None
    if stamp.tzinfo is None:
        raise InvalidInput(f"{name}: the date-time needs an offset (Z or +hh:mm)")
    return stamp


def _compare(column: Any, op: str, value: datetime) -> ColumnElement[bool]:
    clause: ColumnElement[bool] = {">=": column >= value, ">": column > value,
                                   "<=": column <= value, "<": column < value,
                                   "=": column == value}[op]  # fmt: skip
    return clause


def parse(version: str, params: dict[str, str], limit: str | None) -> Query:
    """Check a request's parameters (400 naming the one that is wrong) into a query."""
    q = Query(version=version, filters={})
    if limit is not None:
        try:
            q.limit = int(limit)
        except ValueError:
            raise InvalidInput(f"limit: expected a whole number, got {limit!r}") from None
        if q.limit < 1:
            raise InvalidInput(f"limit: expected 1 or more, got {q.limit}")
        q.limit = min(q.limit, MAX_LIMIT)  # a bigger page is served at the most we serve
    known = _known(version)
    for name, value in params.items():
        base = name.split(":", 1)[0]
        if base not in known:
            continue  # parameters we do not know are ignored, as DCSA's servers do
        if len(value) > 200:
            raise InvalidInput(f"{name}: at most 200 characters")
        q.filters[name] = value
    where(q)  # every filter checked now, not when the page is read
    return q


def _known(version: str) -> set[str]:
    if version == "2":
        return {*EQUALS_22, *CODES_22, "eventType", "documentTypeCode", "eventCreatedDateTime",
                "sort"}  # fmt: skip
    return {*EQUALS_30, "eventTypes", "eventUpdatedDateTimeMin", "eventUpdatedDateTimeMax"}


def where(q: Query) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a query's filters."""
    out: list[ColumnElement[bool]] = [Event.event_time.is_not(None)]
    equals = EQUALS_22 if q.version == "2" else EQUALS_30
    for name, value in q.filters.items():
        base, _, op = name.partition(":")
        if base in equals and "\x00" in value:
            out.append(Event.id < 0)  # nothing stored holds a NUL: nothing matches
        elif base in equals:
            column = equals[base]
            out.append(column == (value.strip().upper() if base == "equipmentReference"
                                  else value.strip()))  # fmt: skip
        elif base in ("eventType", "eventTypes"):
            # 2.2 lists the types; 3.0 takes any (one it does not know matches nothing)
            kinds = _list(value, base, EVENT_TYPES[q.version] if q.version == "2" else None)
            if kinds:  # an empty list asks for every type
                out.append(Event.event_type.in_(kinds))
        elif base in CODES_22:
            codes = _list(value, base)
            if codes:
                out.append(and_(Event.event_type == CODES_22[base], Event.event_code.in_(codes)))
        elif base == "documentTypeCode" and (kinds := _list(value, base)):
            clauses = [Event.booking_ref.is_not(None)] if "BKG" in kinds else []
            clauses += [Event.bl_number.is_not(None)] if "TRD" in kinds else []
            out.append(or_(*clauses) if clauses else Event.id < 0)
        elif base == "eventCreatedDateTime":
            if op and op.lower() not in OPERATORS:
                raise InvalidInput(f"{name}: operators are {', '.join(OPERATORS)}")
            out.append(_compare(Event.event_time, OPERATORS[op.lower() or "eq"],
                                _when(value, name)))  # fmt: skip
        elif base == "eventUpdatedDateTimeMin":
            out.append(Event.event_time >= _when(value, base))
        elif base == "eventUpdatedDateTimeMax":
            out.append(Event.event_time <= _when(value, base))
        elif base == "sort":
            _check_sort(value)
    if q.version == "2":
        out += [served_in_22(), Event.retracted.is_(False)]
    return out


def _check_sort(value: str) -> None:
    """Events are served oldest first: the only order asked for may be that one."""
    for item in (f.strip() for f in value.split(",") if f.strip()):
        key, _, direction = item.partition(":")
        if key not in ("eventDateTime", "eventCreatedDateTime") or direction.upper() not in (
            "",
            "ASC",
        ):
            raise InvalidInput(
                "sort: events are served oldest first (eventDateTime:ASC or "
                "eventCreatedDateTime:ASC)"
            )


def encode_cursor(q: Query, last: tuple[datetime, int]) -> str:
    """An opaque cursor: the query's filters and size, and the last event served."""
    body = {"v": q.version, "f": q.filters, "l": q.limit, "t": last[0].isoformat(), "i": last[1]}
    return base64.urlsafe_b64encode(msgspec.json.encode(body)).decode().rstrip("=")


def decode_cursor(version: str, cursor: str) -> Query:
    """The query a cursor continues (400 when it is not one of ours, or of another version)."""
    try:
        raw = base64.urlsafe_b64decode(cursor.strip() + "=" * (-len(cursor.strip()) % 4))
        body = msgspec.json.decode(raw)
        q = Query(version=str(body["v"]), filters={str(k): str(v) for k, v in body["f"].items()},
                  limit=int(body["l"]),
                  after=(datetime.fromisoformat(body["t"]), int(body["i"])))  # fmt: skip
    except (binascii.Error, msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise InvalidInput("cursor: not a cursor this server gave") from None
    if q.version != version or not 1 <= q.limit <= MAX_LIMIT:
        raise InvalidInput("cursor: not a cursor of this version of the API")
    where(q)
    return q


@dataclass
class Page:
    """Events as DCSA writes them, and the cursor of the next page (None on the last)."""

    events: list[dict[str, Any]]
    next_cursor: str | None


def page(session: Session, *, principal: Principal, q: Query) -> Page:
    """One page of the caller's visible events; customs selections read are audited."""
    principal.require("events:read")
    stmt = (
        select(Event, TransportCall)
        .outerjoin(TransportCall, TransportCall.id == Event.transport_call_id)
        .where(visible_events(principal), *where(q))
    )
    if q.after is not None:
        t, i = q.after
        stmt = stmt.where(or_(Event.event_time > t, and_(Event.event_time == t, Event.id > i)))
    rows = session.execute(stmt.order_by(Event.event_time, Event.id).limit(q.limit + 1)).all()
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    audit_sensitive(session, principal, [e for e, _ in rows])
    write = v22 if q.version == "2" else v30
    events = [x for x in (write(e, c) for e, c in rows) if x is not None]
    last = rows[-1][0] if rows else None
    cursor = None
    if more and last is not None and last.event_time is not None:
        cursor = encode_cursor(q, (last.event_time, last.id))
    return Page(events, cursor)


def one(session: Session, *, principal: Principal, event_id: str) -> dict[str, Any]:
    """One event by its DCSA eventID, in 2.2."""
    principal.require("events:read")
    rid = row_id(event_id)
    found = None
    if rid is not None:
        found = session.execute(
            select(Event, TransportCall)
            .outerjoin(TransportCall, TransportCall.id == Event.transport_call_id)
            .where(Event.id == rid, visible_events(principal), served_in_22())
        ).first()
    if found is None:
        raise NotFound(f"no event {event_id}")
    audit_sensitive(session, principal, [found[0]])
    body = v22(found[0], found[1])
    if body is None:
        raise NotFound(f"no event {event_id} in DCSA 2.2")
    return body
