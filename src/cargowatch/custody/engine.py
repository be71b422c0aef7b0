"""The custody engine: builds trips from events and raises alerts with their evidence.

Work partitions by container: a build takes the events of some containers (or all of an
organisation's), with what was declared for them (manifest, eBL), their smart-container readings,
their releases and inspections, and the sites where a container may be opened, and replaces the
trips and alerts of those containers. Thresholds are in CustodySettings (docs/custody.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar, cast

import msgspec
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from cargowatch.custody.models import Alert, Trip, TripSeal
from cargowatch.documents.models import DocumentEquipment, TransportDocument
from cargowatch.events.models import Event
from cargowatch.registers.specs import TABLES

RULE_VERSION = 1
T = TypeVar("T")
# Core tables: the ORM bulk insert costs twice as much per row for these plain rows
TRIPS = cast(Table, Trip.__table__)
ALERTS = cast(Table, Alert.__table__)
TRIP_SEALS = cast(Table, TripSeal.__table__)
OPERATIONS = frozenset({"STUF", "STRP", "INSP", "RMVD", "RSEA", "CUSI"})
INSPECTION_CODES = frozenset({"INSP", "RMVD", "CUSI"})
NEUTRAL = frozenset(
    {"CUSS", "CUSI", "CUSR", "INSP", "RMVD", "RSEA", "AVPU", "AVDO", "CROS", "WAYP"}
)


@dataclass(frozen=True)
class CustodySettings:
    """Thresholds of the custody checks (documented in docs/custody.md)."""

    gap_hours: dict[str, float] = field(
        default_factory=lambda: {
            "haulier": 48,
            "shipper": 72,
            "terminal": 240,
            "vessel": 1080,
            "consignee": 120,
            "depot": 1440,
        }
    )
    destination_dwell_hours: float = 96
    quick_pickup_hours: float = 6
    planned_window_hours: float = 3
    light_lux_open: float = 50
    shock_g: float = 3.0
    stop_radius_m: float = 300
    stop_minutes: float = 45
    clone_overlap_hours: float = 12


def custody_settings() -> CustodySettings:
    """The thresholds in force: CARGOWATCH_CUSTODY_SETTINGS (a TOML file) over the defaults."""
    from cargowatch.config import get_settings, settings_file

    return settings_file(CustodySettings, get_settings().custody_settings)


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
class Found:
    """An alert before it is stored."""

    type: str
    severity: int
    at: datetime | None
    place: str | None
    explanation: str
    evidence: dict[str, Any]


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12_742_000 * math.asin(min(1.0, math.sqrt(a)))


def custodian(e: EventRow, before: str) -> tuple[str, str]:
    """(kind, who) holds the container after event e (before: the holder until then)."""
    code = e.code or ""
    place = e.facility or e.locode or "?"
    if code in NEUTRAL or e.type != "EQUIPMENT":
        return before.split(":", 1)[0] if before else "unknown", before.split(":", 1)[-1]
    if code == "GTOT":
        return "haulier", f"haulier from {place}"
    if code == "STUF":
        return "shipper", f"shipper at {place}"
    if code == "GTIN":
        return ("depot", f"depot at {place}") if e.empty else ("terminal", f"terminal {place}")
    if code == "LOAD":
        return "vessel", f"vessel {e.vessel or '?'} from {place}"
    if code == "DISC":
        return "terminal", f"terminal {place}"
    if code in ("STRP", "PICK"):
        return "consignee", f"consignee at {place}"
    if code == "DROP":
        return "consignee", f"consignee at {place}"
    return "unknown", place


def _near(a: str, b: str) -> bool:
    """Whether two seal numbers differ by one character or one swap of neighbours."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if abs(len(a) - len(b)) == 1:
        short, long_ = sorted((a, b), key=len)
        return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))
    return False


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
    return Inputs(events, declared, consignee, readings, releases, inspections, sites)


def _inside(
    sites: Sequence[Site], lat: float, lon: float, uses: frozenset[str] | None
) -> Site | None:
    for site in sites:
        if (uses is None or site.authorised & uses) and metres(lat, lon, site.lat, site.lon) <= (
            site.radius_m
        ):
            return site
    return None


def _trips_of(rows: list[EventRow]) -> list[tuple[str | None, list[EventRow]]]:
    """Split a container's events into trips by booking; events without one join the trip
    whose time span covers them (or the nearest)."""
    by_booking: dict[str, list[EventRow]] = defaultdict(list)
    loose: list[EventRow] = []
    for e in rows:
        (by_booking[e.booking] if e.booking else loose).append(e)
    spans = {b: (rs[0].time, rs[-1].time) for b, rs in by_booking.items()}
    for e in loose:
        best = None
        for b, (start, end) in spans.items():
            distance = (
                timedelta(0)
                if start <= e.time <= end
                else min(abs(e.time - start), abs(e.time - end))
            )
            if best is None or distance < best[0]:
                best = (distance, b)
        if best is not None and best[0] <= timedelta(days=3):
            by_booking[best[1]].append(e)
        else:
            by_booking.setdefault("", []).append(e)
    out: list[tuple[str | None, list[EventRow]]] = []
    for b, rs in by_booking.items():
        rs.sort(key=BY_TIME)
        out.append((b or None, rs))
    return out


def timeline(rows: Sequence[EventRow]) -> list[dict[str, Any]]:
    """Custody intervals of a trip: who held the container, where, under which seals."""
    intervals: list[dict[str, Any]] = []
    holder, seals = "", cast(tuple[str, ...], ())
    for i, e in enumerate(rows):
        kind, who = custodian(e, holder)
        if e.seals:
            seals = e.seals
        elif e.code == "RMVD":
            seals = ()
        until = rows[i + 1].time if i + 1 < len(rows) else None
        current = f"{kind}:{who}"
        if intervals and intervals[-1]["holder"] == current and intervals[-1]["seals"] == seals:
            intervals[-1]["until"] = until
            intervals[-1]["events"].append(e.id)
        else:
            intervals.append(
                {
                    "holder": current,
                    "kind": kind,
                    "custodian": who,
                    "place": e.facility or e.locode,
                    "from": e.time,
                    "until": until,
                    "seals": seals,
                    "events": [e.id],
                }
            )
        holder = current
    return intervals


def check_trip(
    key: tuple[str, str | None], rows: list[EventRow], inputs: Inputs, s: CustodySettings
) -> list[Found]:
    """Every alert of one trip."""
    container, booking = key
    found: list[Found] = []
    found += _seal_ledger(container, booking, rows, inputs)
    found += _gaps(rows, s)
    found += _dwell_and_releases(container, booking, rows, inputs, s)
    found += _openings(container, rows, inputs, s)
    warn = next((e for e in rows if e.warnings), None)
    if warn is not None:
        found.append(
            Found(
                "invalid-container-number",
                1,
                warn.time,
                warn.locode,
                f"{warn.warnings}.",
                {"events": [warn.id]},
            )
        )
    return found


def _seal_ledger(
    container: str, booking: str | None, rows: list[EventRow], inputs: Inputs
) -> list[Found]:
    found: list[Found] = []
    declared = inputs.declared.get((container, booking or ""), set())
    sealed = [e for e in rows if e.seals and not e.empty]
    inspected = sorted(
        [e.time for e in rows if e.code in INSPECTION_CODES] + inputs.inspections.get(container, [])
    )
    if declared and sealed:
        first = sealed[0]
        unknown = [x for x in first.seals if x not in declared]
        if unknown:
            near = [d for d in declared for x in unknown if _near(x, d)]
            if near:
                found.append(
                    Found(
                        "seal-typo",
                        1,
                        first.time,
                        first.facility or first.locode,
                        f"Seal {unknown[0]} seen at {first.code} differs by one "
                        f"character from declared {near[0]}: likely a typing error.",
                        {"events": [first.id], "seals": unknown, "declared": sorted(declared)},
                    )
                )
            else:
                found.append(
                    Found(
                        "seal-mismatch",
                        4,
                        first.time,
                        first.facility or first.locode,
                        f"Seal {', '.join(unknown)} on the door at {first.code} in "
                        f"{first.locode} is not the declared seal "
                        f"{', '.join(sorted(declared))}.",
                        {"events": [first.id], "seals": unknown, "declared": sorted(declared)},
                    )
                )
    for e in rows:  # a seal cut off outside any inspection
        if e.code == "RMVD" and not any(
            abs(t - e.time) <= timedelta(hours=6) for t in inspected if t != e.time
        ):
            found.append(
                Found(
                    "seal-removed",
                    4,
                    e.time,
                    e.facility or e.locode,
                    f"Seal {', '.join(e.seals) or '?'} removed in {e.locode} with no "
                    "inspection recorded around it.",
                    {"events": [e.id]},
                )
            )
    for prev, cur in pairwise(sealed):
        if set(cur.seals) == set(prev.seals):
            continue
        explained = any(prev.time <= t <= cur.time + timedelta(hours=1) for t in inspected) or (
            cur.code == "RSEA" and "CUS" in cur.seal_sources
        )
        if explained:
            continue
        if cur.code == "RSEA":
            found.append(
                Found(
                    "reseal-without-inspection",
                    4,
                    cur.time,
                    cur.facility or cur.locode,
                    f"Resealed with {', '.join(cur.seals)} in {cur.locode} with no "
                    "inspection recorded before it.",
                    {"events": [prev.id, cur.id], "seals": list(cur.seals)},
                )
            )
        else:
            found.append(
                Found(
                    "seal-changed",
                    4,
                    cur.time,
                    cur.facility or cur.locode,
                    f"Seal changed from {', '.join(prev.seals)} ({prev.code} "
                    f"{prev.locode}) to {', '.join(cur.seals)} ({cur.code} {cur.locode}) "
                    "with no inspection in between.",
                    {
                        "events": [prev.id, cur.id],
                        "seals": list(cur.seals),
                        "previous": list(prev.seals),
                    },
                )
            )
    return found


def _gaps(rows: list[EventRow], s: CustodySettings) -> list[Found]:
    found = []
    for iv in timeline(rows):
        if iv["until"] is None:
            continue
        limit = s.gap_hours.get(iv["kind"])
        hours = (iv["until"] - iv["from"]).total_seconds() / 3600
        if limit is not None and hours > limit and iv["kind"] != "terminal":
            found.append(
                Found(
                    "custody-gap",
                    2,
                    iv["from"],
                    iv["place"],
                    f"No one reported the container for {hours / 24:.1f} days while "
                    f"with the {iv['custodian']} (expected within {limit / 24:.0f}).",
                    {"events": iv["events"][-1:]},
                )
            )
    return found


def _dwell_and_releases(
    container: str, booking: str | None, rows: list[EventRow], inputs: Inputs, s: CustodySettings
) -> list[Found]:
    found: list[Found] = []
    discs = [e for e in rows if e.code == "DISC"]
    last_disc = discs[-1] if discs else None
    gate_out = next(
        (
            e
            for e in rows
            if last_disc and e.code == "GTOT" and not e.empty and e.time > last_disc.time
        ),
        None,
    )
    if last_disc and gate_out:
        hours = (gate_out.time - last_disc.time).total_seconds() / 3600
        if hours > s.destination_dwell_hours:
            found.append(
                Found(
                    "long-dwell",
                    2,
                    last_disc.time,
                    last_disc.facility,
                    f"Stayed {hours / 24:.1f} days at {last_disc.facility or last_disc.locode} "
                    "between discharge and gate-out.",
                    {"events": [last_disc.id, gate_out.id]},
                )
            )
    start, end = rows[0].time - timedelta(days=2), rows[-1].time + timedelta(days=10)
    releases = [r for r in inputs.releases.get(container, []) if start <= r.ts <= end]
    picked = None
    consignee = inputs.consignee.get((container, booking or ""))
    authorised_before: set[str] = set()
    for r in releases:
        if r.action == "ISSUED":
            authorised_before.add(r.authorised_party_id or "")
        elif r.action == "MODIFIED" and r.actor_party_id not in (authorised_before | {consignee}):
            found.append(
                Found(
                    "release-modified-by-unusual-actor",
                    3,
                    r.ts,
                    r.release_ref,
                    f"Release {r.release_ref} was changed by {r.actor_party_id}, who "
                    "neither holds the right nor is the consignee.",
                    {"releases": [r.id]},
                )
            )
        elif r.action == "PICKED_UP":
            picked = r
            if (
                r.actor_party_id
                and r.authorised_party_id
                and r.actor_party_id != r.authorised_party_id
            ):
                found.append(
                    Found(
                        "release-collected-by-unauthorised-party",
                        5,
                        r.ts,
                        r.release_ref,
                        f"Collected by {r.actor_party_id} (truck {r.truck_plate or '?'}) "
                        f"though the release right is held by {r.authorised_party_id}.",
                        {"releases": [r.id]},
                    )
                )
            if last_disc and r.ts - last_disc.time < timedelta(hours=s.quick_pickup_hours):
                found.append(
                    Found(
                        "quick-pickup",
                        2,
                        r.ts,
                        r.release_ref,
                        f"Collected {(r.ts - last_disc.time).total_seconds() / 3600:.1f} "
                        "hours after discharge.",
                        {"releases": [r.id], "events": [last_disc.id]},
                    )
                )
        elif r.action == "PICKUP_ATTEMPT" and picked is not None:
            found.append(
                Found(
                    "pickup-attempt-after-collection",
                    5,
                    r.ts,
                    r.release_ref,
                    f"{r.actor_party_id} tried to collect the container after "
                    f"{picked.actor_party_id} had already taken it.",
                    {"releases": [picked.id, r.id]},
                )
            )
    return found


def _openings(
    container: str, rows: list[EventRow], inputs: Inputs, s: CustodySettings
) -> list[Found]:
    found: list[Found] = []
    start, end = rows[0].time - timedelta(hours=12), rows[-1].time + timedelta(hours=12)
    ops = [e.time for e in rows if e.code in OPERATIONS] + inputs.inspections.get(container, [])
    window = timedelta(hours=s.planned_window_hours)
    openings: list[tuple[datetime, float | None, float | None, str, int]] = []
    readings = [r for r in inputs.readings.get(container, []) if start <= r.ts <= end]
    was_sealed = True
    for r in readings:
        opened_seal = r.eseal_status == "OPENED" and was_sealed
        was_sealed = r.eseal_status != "OPENED"
        if r.door == "OPEN" or (r.light_lux or 0) > s.light_lux_open or opened_seal:
            openings.append((r.ts, r.latitude, r.longitude, "telemetry", r.id))
        if (r.shock_g or 0) >= s.shock_g:
            found.append(
                Found("shock", 2, r.ts, None, f"A shock of {r.shock_g} g.", {"telemetry": [r.id]})
            )
    openings += [
        (e.time, e.lat, e.lon, "events", e.id) for e in rows if e.type == "IOT" and e.code == "DRO"
    ]
    openings.sort()
    # an opening where a stuffing or stripping surely took place, though its event is missing
    has_stuf = any(e.code == "STUF" for e in rows)
    has_strp = any(e.code == "STRP" for e in rows)
    delivered = next((e.time for e in reversed(rows) if e.code == "GTOT" and not e.empty), None)
    last: datetime | None = None
    for when, lat, lon, source, ref in openings:
        if last is not None and when - last < timedelta(hours=1):
            continue
        last = when
        planned = any(abs(when - t) <= window for t in ops)
        site = (
            _inside(inputs.sites, lat, lon, frozenset({"STUFFING", "STRIPPING", "INSPECTION"}))
            if lat is not None and lon is not None
            else None
        )
        if site is not None and not planned:
            planned = (not has_stuf and site.kind in ("PACKHOUSE", "FARM")) or (
                not has_strp and delivered is not None and when > delivered
            )
        where = f"{lat:.4f}, {lon:.4f}" if lat is not None and lon is not None else "?"
        # a stuffing or stripping at the shipper's or consignee's own premises, which
        # sites.csv need not list, is planned: only an unplanned opening off site is an alert
        if lat is not None and site is None and not planned:
            found.append(
                Found(
                    "door-opened-outside-site",
                    5,
                    when,
                    where,
                    f"The door was opened at {where}, outside any site where "
                    "containers may be opened.",
                    {source: [ref]},
                )
            )
        elif not planned:
            found.append(
                Found(
                    "door-opened-unplanned",
                    4,
                    when,
                    site.site_id if site else where,
                    f"The door was opened at {site.site_id if site else where} with no "
                    "stuffing, stripping or inspection planned there and then.",
                    {source: [ref]},
                )
            )
    found += _stops(rows, readings, inputs, s)
    return found


def _stops(
    rows: list[EventRow], readings: list[Any], inputs: Inputs, s: CustodySettings
) -> list[Found]:
    """Stationary stops outside any site on the inland legs."""
    legs: list[tuple[datetime, datetime]] = []
    stuf = next((e for e in rows if e.code == "STUF"), None)
    gtin = next((e for e in rows if stuf and e.code == "GTIN" and e.time > stuf.time), None)
    if stuf and gtin:
        legs.append((stuf.time, gtin.time))
    gtot = next((e for e in reversed(rows) if e.code == "GTOT" and not e.empty), None)
    strp = next((e for e in rows if gtot and e.code == "STRP" and e.time > gtot.time), None)
    if gtot and strp:
        legs.append((gtot.time, strp.time))
    found: list[Found] = []
    for a, b in legs:
        points = [r for r in readings if a < r.ts < b and r.latitude is not None]
        i = 0
        while i < len(points):
            j = i
            while (
                j + 1 < len(points)
                and metres(
                    points[i].latitude,
                    points[i].longitude,
                    points[j + 1].latitude,
                    points[j + 1].longitude,
                )
                <= s.stop_radius_m
            ):
                j += 1
            minutes = (points[j].ts - points[i].ts).total_seconds() / 60
            if (
                j > i
                and minutes >= s.stop_minutes
                and _inside(inputs.sites, points[i].latitude, points[i].longitude, None) is None
            ):
                found.append(
                    Found(
                        "unplanned-stop",
                        3,
                        points[i].ts,
                        f"{points[i].latitude:.4f}, {points[i].longitude:.4f}",
                        f"Stood still {minutes:.0f} minutes at {points[i].latitude:.4f}, "
                        f"{points[i].longitude:.4f}, outside any known site, on the "
                        "inland leg.",
                        {"telemetry": [p.id for p in points[i : j + 1]]},
                    )
                )
            i = j + 1
    return found


def _cross_trip(
    trips: list[tuple[tuple[str, str | None], list[EventRow]]], s: CustodySettings
) -> dict[tuple[str, str | None], list[Found]]:
    """Alerts that need several trips of one container: cloned container numbers."""
    found: dict[tuple[str, str | None], list[Found]] = defaultdict(list)
    by_box: dict[str, list[tuple[tuple[str, str | None], list[EventRow]]]] = defaultdict(list)
    for key, rows in trips:
        by_box[key[0]].append((key, rows))
    overlap = timedelta(hours=s.clone_overlap_hours)
    for group in by_box.values():
        for i, (ka, ra) in enumerate(group):
            for kb, rb in group[i + 1 :]:
                if not (ka[1] and kb[1]):
                    continue
                start, end = max(ra[0].time, rb[0].time), min(ra[-1].time, rb[-1].time)
                if end - start <= overlap:
                    continue
                isos = {e.iso for e in ra + rb if e.iso}
                places = (ra[0].locode, rb[0].locode)
                text = (
                    f"The number {ka[0]} is used by bookings {ka[1]} and {kb[1]} at the same "
                    f"time in {places[0]} and {places[1]}"
                    + (f", with size-types {', '.join(sorted(isos))}" if len(isos) > 1 else "")
                    + ": one of them is a cloned container."
                )
                for key, other in ((ka, kb), (kb, ka)):
                    found[key].append(
                        Found(
                            "cloned-container-number",
                            5,
                            start,
                            None,
                            text,
                            {
                                "events": [ra[0].id, rb[0].id],
                                "other_trip": f"{other[0]}/{other[1]}",
                            },
                        )
                    )
    return found


RANGE_CONTAINERS = 20_000  # containers per range of a full build: bounds its memory
FEW_CONTAINERS = 500  # containers per read of an incremental build (one IN list)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def build(
    session: Session,
    *,
    org_id: int,
    containers: Iterable[str] | None = None,
    settings: CustodySettings | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> tuple[int, int]:
    """Rebuild the trips and alerts of some containers (all when None); returns (trips, alerts).

    Containers are built in ranges (a full build) or batches (an incremental one), so memory
    stays bounded whatever the store holds; a full build spreads its ranges over worker
    processes (workers, default CARGOWATCH_CUSTODY_WORKERS) while this one stores what they
    built. Seals used on two trips are then found across all trips of the organisation.
    progress(done, total) is told the containers done so far."""
    s = settings or custody_settings()
    checked_seals: set[str] | None = None
    # trips keep their id across rebuilds (links, scores and outcomes point at them): the
    # trips rebuilt are updated, new ones inserted, and those no longer found deleted
    existing: dict[str, int] = {}
    if containers is None:
        existing = dict(
            session.execute(select(Trip.trip_key, Trip.id).where(Trip.org_id == org_id)).all()
        )
        for model in (Alert, TripSeal):
            session.execute(delete(model).where(model.org_id == org_id))
        boxes: list[str] = list(
            session.scalars(
                select(Event.container)
                .where(Event.org_id == org_id, Event.container.is_not(None))
                .distinct()
                .order_by(Event.container)
            )
        )
        spans = [(chunk[0], chunk[-1]) for chunk in _chunks(boxes, RANGE_CONTAINERS)]
        parts = _parts_of_spans(session, org_id, spans, s, workers)
        size = RANGE_CONTAINERS
    else:
        boxes = sorted(set(containers))
        checked_seals = set()
        for chunk in _chunks(boxes, FEW_CONTAINERS):
            stale = session.execute(
                select(Trip.trip_key, Trip.id).where(
                    Trip.org_id == org_id, Trip.container.in_(chunk)
                )
            ).all()
            existing.update(stale)
            for part in _chunks([trip_id for _, trip_id in stale], FEW_CONTAINERS):
                checked_seals.update(
                    session.scalars(select(TripSeal.seal).where(TripSeal.trip_id.in_(part)))
                )
                for model in (Alert, TripSeal):
                    session.execute(delete(model).where(model.trip_id.in_(part)))
        parts = (
            compute_part(org_id, load(session, org_id, containers=chunk), s)
            for chunk in _chunks(boxes, FEW_CONTAINERS)
        )
        size = FEW_CONTAINERS
    n_trips = n_alerts = 0
    for done, built in enumerate(parts, start=1):
        trips, found, seals = _store_part(session, org_id, built, existing)
        n_trips, n_alerts = n_trips + trips, n_alerts + found
        if checked_seals is not None:
            checked_seals |= seals
        if progress is not None:
            progress(min(done * size, len(boxes)), len(boxes))
    gone = sorted(existing.values())  # trips whose events are all retracted or re-keyed
    for part in _chunks(gone, FEW_CONTAINERS):
        session.execute(delete(Trip).where(Trip.id.in_(part)))
    n_alerts += _cloned_seals(session, org_id, checked_seals)
    return n_trips, n_alerts


def _parts_of_spans(
    session: Session,
    org_id: int,
    spans: list[tuple[str, str]],
    s: CustodySettings,
    workers: int | None,
) -> Iterator[Part]:
    """The built parts of each range of containers, in order: here, or from worker processes
    (a few ranges in flight at a time, so memory stays bounded)."""
    if workers is None:
        from cargowatch.config import get_settings

        workers = get_settings().custody_workers
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    if workers <= 1 or len(spans) < 2 or (url.startswith("sqlite://") and ":memory:" in url):
        for span in spans:
            yield compute_part(org_id, load(session, org_id, span=span), s)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    session.flush()  # the workers read what is committed; this build's deletes stay its own
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[Part]] = deque()
        queue = iter(spans)
        for span in queue:
            pending.append(pool.submit(_compute_span, url, org_id, span, s))
            if len(pending) >= 2 * workers:
                break
        while pending:
            part = pending.popleft().result()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append(pool.submit(_compute_span, url, org_id, nxt, s))
            yield part


@dataclass
class Part:
    """The trips of some containers, built but not stored (workers hand these back)."""

    made: list[dict[str, Any]]
    findings: list[list[Found]]
    seals: list[dict[str, int]]  # per trip: seal number -> first event showing it


def compute_part(org_id: int, inputs: Inputs, s: CustodySettings) -> Part:
    """Build the trips of the containers in inputs, with their alerts and seals."""
    trips = [
        ((box, booking), rows)
        for box, rows_all in inputs.events.items()
        for booking, rows in _trips_of(rows_all)
    ]
    cross = _cross_trip(trips, s)
    made: list[dict[str, Any]] = []
    findings: list[list[Found]] = []
    seals: list[dict[str, int]] = []
    for key, rows in trips:
        box, booking = key
        loads = [e for e in rows if e.code == "LOAD"]
        discs = [e for e in rows if e.code == "DISC"]
        found = check_trip(key, rows, inputs, s) + cross.get(key, [])
        made.append(
            {
                "org_id": org_id,
                "trip_key": f"{box}/{booking or '-'}",
                "container": box,
                "booking_ref": booking,
                "started_at": rows[0].time,
                "ended_at": rows[-1].time,
                "origin": loads[0].locode if loads else rows[0].locode,
                "destination": discs[-1].locode if discs else None,
                "events": len(rows),
                "stripped": any(e.code == "STRP" for e in rows),
                "alerts": len(found),
                **_stays(rows),
            }
        )
        findings.append(found)
        first: dict[str, int] = {}
        for e in rows:
            for number, source in zip(e.seals, e.seal_sources, strict=False):
                if source != "CUS":
                    first.setdefault(number, e.id)
        seals.append(first)
    return Part(made, findings, seals)


def _compute_span(url: str, org_id: int, span: tuple[str, str], s: CustodySettings) -> Part:
    """A worker process's share of a full build: read one range of containers and build it."""
    from sqlalchemy.orm import Session as OrmSession

    from cargowatch.db.engine import make_engine

    engine = make_engine(url)
    try:
        with OrmSession(engine) as session:
            return compute_part(org_id, load(session, org_id, span=span), s)
    finally:
        engine.dispose()


def _store_part(
    session: Session, org_id: int, part: Part, existing: dict[str, int]
) -> tuple[int, int, set[str]]:
    """Store built trips; returns (trips, alerts, seals).

    existing: trip key -> id of the stored trips; those rebuilt here are updated in place and
    taken out of it."""
    made, findings = part.made, part.findings
    if not made:
        return 0, 0, set()
    kept, fresh = [], []
    for m in made:
        trip_id = existing.pop(m["trip_key"], None)
        if trip_id is None:
            fresh.append(m)
        else:
            kept.append({**m, "id": trip_id})
    if kept:
        session.execute(update(Trip), kept)  # bulk UPDATE by primary key
    key_ids = {k["trip_key"]: k["id"] for k in kept}
    if fresh:
        # plain executemany, then the ids back by key: SQLite's RETURNING goes row by row here
        session.execute(insert(TRIPS), fresh)
        for keys in _chunks([m["trip_key"] for m in fresh], FEW_CONTAINERS):
            key_ids.update(
                session.execute(
                    select(Trip.trip_key, Trip.id).where(
                        Trip.org_id == org_id, Trip.trip_key.in_(keys)
                    )
                ).all()
            )
    ids = [key_ids[m["trip_key"]] for m in made]
    rows_out = [
        _alert_row(org_id, trip_id, f)
        for trip_id, found in zip(ids, findings, strict=True)
        for f in found
    ]
    if rows_out:
        session.execute(insert(ALERTS), rows_out)
    seal_rows = [
        {"org_id": org_id, "trip_id": trip_id, "seal": number, "event_id": event_id}
        for trip_id, first in zip(ids, part.seals, strict=True)
        for number, event_id in first.items()
    ]
    if seal_rows:
        session.execute(insert(TRIP_SEALS), seal_rows)
    return len(made), len(rows_out), {r["seal"] for r in seal_rows}


def _stays(rows: list[EventRow]) -> dict[str, Any]:
    """Where the laden container stood (origin terminal, hubs, destination terminal) and how
    long its inland legs took: the trip's columns that risk scoring compares with the norm."""
    stays: list[list[Any]] = []

    def hours(a: EventRow | None, b: EventRow | None) -> float | None:
        return (b.time - a.time).total_seconds() / 3600 if a and b else None

    def stay(role: str, a: EventRow, b: EventRow) -> None:
        place = f"{a.locode}:{a.facility}" if a.facility else (a.locode or "?")
        stays.append([role, place, a.time.isoformat(), b.time.isoformat(), a.id, b.id])

    laden = [e for e in rows if e.type == "EQUIPMENT" and not e.empty]
    stuf = next((e for e in laden if e.code == "STUF"), None)
    gtin = next((e for e in laden if e.code == "GTIN" and (not stuf or e.time > stuf.time)), None)
    loads = [e for e in laden if e.code == "LOAD"]
    if gtin and (load := next((e for e in loads if e.time > gtin.time), None)):
        stay("origin", gtin, load)
    discs = [e for e in laden if e.code == "DISC"]
    for disc in discs[:-1]:
        again = next((e for e in loads if e.time > disc.time), None)
        if again is not None and again.locode == disc.locode:
            stay("hub", disc, again)
    gtot = None
    if discs:
        last = discs[-1]
        gtot = next((e for e in laden if e.code == "GTOT" and e.time > last.time), None)
        if gtot is not None:
            stay("destination", last, gtot)
    strp = next((e for e in laden if e.code == "STRP" and gtot and e.time > gtot.time), None)
    return {
        "stays": msgspec.json.encode(stays).decode() if stays else None,
        "inland_hours": hours(stuf, gtin),
        "delivery_hours": hours(gtot, strp),
    }


def _alert_row(org_id: int, trip_id: int, f: Found) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "trip_id": trip_id,
        "type": f.type,
        "severity": f.severity,
        "at": f.at,
        "place": f.place,
        "explanation": f.explanation,
        "evidence": msgspec.json.encode(f.evidence).decode(),
        "rule_version": RULE_VERSION,
    }


def _cloned_seals(session: Session, org_id: int, seals: set[str] | None) -> int:
    """Raise 'cloned-seal' on every trip that shares a seal number with another trip.

    seals: the numbers a build touched (None: every number, after a full build). The trips that
    hold one of them have their cloned-seal alerts made anew from all their seals."""
    holders = (
        select(TripSeal.seal)
        .where(TripSeal.org_id == org_id)
        .group_by(TripSeal.seal)
        .having(func.count(func.distinct(TripSeal.trip_id)) > 1)
    )
    affected: set[int] | None = None
    if seals is None:
        numbers = set(session.scalars(holders))
    else:
        affected = set()
        for chunk in _chunks(sorted(seals), FEW_CONTAINERS):
            affected.update(
                session.scalars(
                    select(TripSeal.trip_id).where(
                        TripSeal.org_id == org_id, TripSeal.seal.in_(chunk)
                    )
                )
            )
        numbers = set()
        for part in _chunks(sorted(affected), FEW_CONTAINERS):
            session.execute(
                delete(Alert).where(Alert.trip_id.in_(part), Alert.type == "cloned-seal")
            )
            mine = select(TripSeal.seal).where(TripSeal.trip_id.in_(part))
            numbers.update(session.scalars(holders.where(TripSeal.seal.in_(mine))))
    groups: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for chunk in _chunks(sorted(numbers), FEW_CONTAINERS):
        for number, trip_id, event_id, key in session.execute(
            select(TripSeal.seal, TripSeal.trip_id, TripSeal.event_id, Trip.trip_key)
            .join(Trip, Trip.id == TripSeal.trip_id)
            .where(TripSeal.org_id == org_id, TripSeal.seal.in_(chunk))
        ):
            groups[number].append((trip_id, event_id, key))
    rows_out = []
    for number, holding in groups.items():
        for trip_id, event_id, _key in holding:
            if affected is not None and trip_id not in affected:
                continue
            others = sorted(k for t, _, k in holding if t != trip_id)
            found = Found(
                "cloned-seal",
                5,
                None,
                None,
                f"Seal {number} is also on {', '.join(others)}: a seal number must be used once.",
                {"events": [event_id], "seals": [number], "trips": others},
            )
            rows_out.append(_alert_row(org_id, trip_id, found))
    if rows_out:
        session.execute(insert(ALERTS), rows_out)
    recount = sorted({r["trip_id"] for r in rows_out} | (affected or set()))
    count = (
        select(func.count()).select_from(Alert).where(Alert.trip_id == Trip.id).scalar_subquery()
    )
    for part in _chunks(recount, FEW_CONTAINERS):
        session.execute(update(Trip).where(Trip.id.in_(part)).values(alerts=count))
    return len(rows_out)
