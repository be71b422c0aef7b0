"""What a custody build reads: a range or a batch of containers' events, what was declared for
them (manifest, eBL), their smart-container readings, releases and inspections, the sites where
a container may be opened, and the parties' roles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.documents.models import DocumentEquipment, TransportDocument
from cargowatch.registers.specs import TABLES


@dataclass(slots=True)
class EventRow:
    """The parts of an event custody needs."""

    id: int
    container: str
    type: str
    code: str | None
    time: datetime
    booking: str | None
    locode: str | None
    facility: str | None
    seals: tuple[str, ...]
    seal_sources: tuple[str | None, ...]
    empty: bool
    iso: str | None
    lat: float | None
    lon: float | None
    vessel: str | None
    warnings: str | None


class ReadingRow(NamedTuple):
    """The parts of a smart-container reading custody needs."""

    id: int
    container: str
    ts: datetime
    latitude: float | None
    longitude: float | None
    door: str | None
    light_lux: float | None
    shock_g: float | None
    eseal_status: str | None


@dataclass
class Site:
    """A place where containers may be opened (from sites.csv), as a geofence."""

    site_id: str
    kind: str
    lat: float
    lon: float
    radius_m: float
    authorised: frozenset[str]


@dataclass
class Inputs:
    """Everything a build reads, for some containers of one organisation."""

    events: dict[str, list[EventRow]]
    declared: dict[tuple[str, str], set[str]]
    consignee: dict[tuple[str, str], str]
    readings: dict[str, list[Any]]
    releases: dict[str, list[Any]]
    inspections: dict[str, list[datetime]]
    sites: list[Site]
    parties: dict[str, str]  # party id -> role, from the parties register


BY_TIME = attrgetter("time", "id")


def _utc(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives text, PostgreSQL a datetime)."""
    if isinstance(value, str):  # stored as naive UTC text; one parse, no replace() (8x cheaper)
        return datetime.fromisoformat(value + "+00:00")
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def load(
    session: Session,
    org_id: int,
    *,
    containers: Sequence[str] | None = None,
    span: tuple[str, str] | None = None,
) -> Inputs:
    """Read what a build needs for some containers (at most a few hundred) or for every
    container in a range (first, last), inclusive."""
    # The driver's own cursor: this read is the bulk of a build, and SQLAlchemy's per-value
    # result processing would double it. Times come back as text from SQLite.
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    # '+' keeps SQLite from reading the organisation's whole (org_id, key) index for every
    # range: the (container, time) index is the selective one here
    org = "+" if sqlite else ""
    if containers is not None:
        where = f" AND container IN ({', '.join([mark] * len(containers))})" if containers else ""
        where = where or " AND container IS NULL"
        where_params: list[object] = list(containers)
    elif span is not None:
        where, where_params = f" AND container BETWEEN {mark} AND {mark}", list(span)
    else:
        raise ValueError("load needs containers or a span")
    sql = (
        "SELECT e.id, e.container, e.event_type, e.event_code, e.event_time, e.booking_ref, "
        "e.unlocode, e.facility_code, e.seals, e.empty_indicator, e.iso_type, e.latitude, "
        "e.longitude, tc.vessel_name, tc.voyage, e.warnings FROM events e "
        "LEFT JOIN transport_calls tc ON tc.id = e.transport_call_id "
        f"WHERE {org}e.org_id = {mark} AND e.retracted = {'0' if sqlite else 'FALSE'} "
        "AND e.container IS NOT NULL AND e.event_time IS NOT NULL AND e.classifier = 'ACT'"
        + where.replace("container", "e.container")
    )
    params: list[object] = [org_id, *where_params]
    events: dict[str, list[EventRow]] = defaultdict(list)
    decode = msgspec.json.decode
    parse = datetime.fromisoformat  # SQLite gives naive UTC text: '+00:00' makes it aware
    new = tuple.__new__
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor()
    try:
        cursor.execute(sql, params)
        for (
            id_,
            box,
            etype,
            code,
            when,
            booking,
            locode,
            facility,
            seals_json,
            empty,
            iso,
            lat,
            lon,
            vessel,
            voyage,
            warnings,
        ) in cursor.fetchall():
            seals = decode(seals_json) if seals_json else ()
            events[box].append(
                EventRow(
                    id_,
                    box,
                    etype,
                    code,
                    parse(when + "+00:00") if sqlite else _utc(when),
                    booking,
                    locode,
                    facility,
                    tuple(x["number"] for x in seals),
                    tuple(x.get("source") for x in seals),
                    empty == "EMPTY",
                    iso,
                    lat,
                    lon,
                    f"{vessel or ''} {voyage or ''}".strip() or None,
                    warnings,
                )
            )
    finally:
        cursor.close()
    for rows in events.values():
        rows.sort(key=BY_TIME)
    boxes = set(events)

    def only(column: Any) -> Any:
        if span is not None:
            return column.between(*span)
        return column.in_(sorted(boxes))

    declared: dict[tuple[str, str], set[str]] = defaultdict(set)
    consignee: dict[tuple[str, str], str] = {}
    manifest = TABLES["manifest"]
    for m in session.execute(
        select(manifest).where(manifest.c.org_id == org_id, only(manifest.c.container))
    ):
        if m.container in boxes:
            declared[(m.container, m.booking_ref)].update(
                s for s in (m.declared_seals or "").split(";") if s
            )
            if m.consignee_id:
                consignee[(m.container, m.booking_ref)] = m.consignee_id
    for bookings, box, seals in session.execute(
        select(
            TransportDocument.booking_refs,
            DocumentEquipment.container,
            DocumentEquipment.declared_seals,
        )
        .join(DocumentEquipment, DocumentEquipment.document_id == TransportDocument.id)
        .where(TransportDocument.org_id == org_id, only(DocumentEquipment.container))
    ):
        if box in boxes:
            for booking in (bookings or "").split(";"):
                declared[(box, booking)].update(x for x in (seals or "").split(";") if x)
    readings: dict[str, list[Any]] = defaultdict(list)
    cursor = driver.cursor()
    try:
        cursor.execute(
            "SELECT id, container, ts, latitude, longitude, door, light_lux, shock_g, "
            f"eseal_status FROM telemetry WHERE {org}org_id = {mark}{where} "
            "ORDER BY container, ts",
            params,
        )
        for row in cursor.fetchall():
            if row[1] in boxes:
                when = parse(row[2] + "+00:00") if sqlite else _utc(row[2])
                # tuple.__new__ skips the named tuple's Python-level constructor (270,000 a
                # 10,000-trip build)
                readings[row[1]].append(new(ReadingRow, (row[0], row[1], when, *row[3:])))
    finally:
        cursor.close()
    releases: dict[str, list[Any]] = defaultdict(list)
    rel = TABLES["releases"]
    for row in session.execute(
        select(rel).where(rel.c.org_id == org_id, only(rel.c.container)).order_by(rel.c.ts)
    ):
        if row.container in boxes:
            releases[row.container].append(row)
    inspections: dict[str, list[datetime]] = defaultdict(list)
    ins = TABLES["inspections"]
    for row in session.execute(
        select(ins.c.container, ins.c.ts).where(ins.c.org_id == org_id, only(ins.c.container))
    ):
        if row.container in boxes:
            inspections[row.container].append(row.ts)
    site_table = TABLES["sites"]
    sites = [
        Site(
            s.site_id,
            s.kind or "",
            s.latitude,
            s.longitude,
            s.radius_m or 500,
            frozenset((s.authorised_for or "").split(";")),
        )
        for s in session.execute(select(site_table).where(site_table.c.org_id == org_id))
        if s.latitude is not None and s.longitude is not None
    ]
    p = TABLES["parties"]
    roles = {
        party_id: (role or "").upper()
        for party_id, role in session.execute(
            select(p.c.party_id, p.c.role).where(p.c.org_id == org_id)
        )
    }
    return Inputs(events, declared, consignee, readings, releases, inspections, sites, roles)
