"""A trip's file: everything an officer reads about one trip, gathered once for its page and
its exports (CSV, PDF): custody, seals, alerts, the score and its history, the case, the risk
profile, telemetry with the moments that matter, and what the map draws.

Openings are counted the same way for the chart and the map: a door that goes from closed to
open, light that rises past the threshold from below, an e-seal that reports opened, and a
stripping (DRO) event. A container standing open for two days is one opening, not fifty."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.cases import service as cases
from cargowatch.cases.service import CaseView
from cargowatch.custody import service as custody
from cargowatch.custody.checks import timeline as custody_timeline
from cargowatch.custody.inputs import EventRow
from cargowatch.custody.models import Alert, Trip
from cargowatch.exceptions import CargowatchError
from cargowatch.registers.specs import TABLES
from cargowatch.risk import service as risk
from cargowatch.risk.profile import Profile
from cargowatch.risk.profile import profile as trip_profile
from cargowatch.sharing.service import record_use
from cargowatch.telemetry.models import Reading
from cargowatch.telemetry.service import readings_for_container

LIGHT_OPEN_LUX = 50.0  # light inside a closed container stays near zero
MARGIN = timedelta(hours=12)  # readings this long before and after the trip belong to it
TRACK_POINTS = 2000  # positions drawn on the map at most (every change of place is kept)


@dataclass
class Moment:
    """Something that happened at a time: marked on every chart and drawn on the map."""

    at: datetime
    label: str
    kind: str  # "opening", "alert", "handover"
    lat: float | None = None
    lon: float | None = None


@dataclass
class TripFile:
    """One trip, as its page and its exports show it."""

    trip: Trip
    events: list[EventRow]
    timeline: list[dict[str, Any]]
    alerts: list[Alert]
    assessment: dict[str, Any] | None
    history: list[dict[str, Any]]
    ledger: list[EventRow]
    readings: int
    series: dict[str, list[tuple[datetime, float]]]
    moments: list[Moment]
    span: tuple[datetime, datetime] | None
    map: dict[str, Any]
    case: CaseView | None
    profile: Profile


def build(session: Session, *, principal: Principal, trip_id: int) -> TripFile:
    """Gather a trip's file; every part goes through the caller's organisation and role."""
    trip = custody.get_trip(session, principal=principal, trip_id=trip_id)
    record_use(session, principal, [trip.org_id], "trip", 1)
    events = custody.trip_events(session, trip, principal)
    alerts = custody.trip_alerts(session, principal=principal, trip_id=trip_id)
    try:
        assessment: dict[str, Any] | None = risk.assessment(
            session, principal=principal, trip_id=trip_id
        )
    except CargowatchError:
        assessment = None
    readings = _readings(session, principal, trip)
    timeline = custody_timeline(events)
    moments = _openings(readings, events) + _alerts(alerts) + _handovers(timeline)
    moments.sort(key=lambda m: m.at)
    return TripFile(
        trip=trip,
        events=events,
        timeline=timeline,
        alerts=alerts,
        assessment=assessment,
        history=_history(session, principal, trip),
        ledger=[e for e in events if e.seals or e.code in ("RMVD", "RSEA", "INSP")],
        readings=len(readings),
        series=_series(readings),
        moments=moments,
        span=_span(trip, events, readings),
        map=_map(session, trip, events, readings, moments),
        case=cases.view(session, principal=principal, trip_id=trip_id),
        profile=trip_profile(session, principal=principal, trip_id=trip_id),
    )


def _history(session: Session, principal: Principal, trip: Trip) -> list[dict[str, Any]]:
    """The score's history, where the caller reads the trip's scores."""
    if not custody.may_read(session, principal, trip, "risk"):
        return []
    return risk.score_history(session, principal=principal, trip_id=trip.id)


def _readings(session: Session, principal: Principal, trip: Trip) -> list[Reading]:
    start = (trip.started_at or datetime.min.replace(tzinfo=None)) - MARGIN
    end = (trip.ended_at or datetime.max.replace(tzinfo=None)) + MARGIN
    return [
        r
        for r in readings_for_container(session, principal=principal, container=trip.container)
        if _between(r.ts, start, end)
    ]


def _between(ts: datetime, start: datetime, end: datetime) -> bool:
    if ts.tzinfo is not None and start.tzinfo is None:
        start, end = start.replace(tzinfo=ts.tzinfo), end.replace(tzinfo=ts.tzinfo)
    try:
        return start <= ts <= end
    except OverflowError:  # pragma: no cover - the margins of min/max dates
        return True


def _span(
    trip: Trip, events: list[EventRow], readings: list[Reading]
) -> tuple[datetime, datetime] | None:
    """The time line every chart of the trip shares."""
    times = [e.time for e in events] + [r.ts for r in readings]
    if trip.started_at is not None:
        times.append(trip.started_at)
    if trip.ended_at is not None:
        times.append(trip.ended_at)
    if not times:
        return None
    return min(times), max(times)


def _series(readings: list[Reading]) -> dict[str, list[tuple[datetime, float]]]:
    out: dict[str, list[tuple[datetime, float]]] = {
        "door open": [],
        "light (lux)": [],
        "temperature (°C)": [],
        "shock (g)": [],
    }
    for r in readings:
        if r.door is not None:
            out["door open"].append((r.ts, 1.0 if r.door == "OPEN" else 0.0))
        if r.light_lux is not None:
            out["light (lux)"].append((r.ts, float(r.light_lux)))
        if r.temperature_c is not None:
            out["temperature (°C)"].append((r.ts, float(r.temperature_c)))
        if r.shock_g is not None:
            out["shock (g)"].append((r.ts, float(r.shock_g)))
    return {k: v for k, v in out.items() if v}


def _openings(readings: list[Reading], events: list[EventRow]) -> list[Moment]:
    """Each opening once: the reading where the door, the light or the e-seal changed to
    open, placed at the last known position; and every stripping event."""
    out: list[Moment] = []
    door = light = seal = False
    lat = lon = None
    for r in readings:
        if r.latitude is not None and r.longitude is not None:
            lat, lon = r.latitude, r.longitude
        what = []
        if r.door is not None:
            now_open = r.door == "OPEN"
            if now_open and not door:
                what.append("door opened")
            door = now_open
        if r.light_lux is not None:
            now_lit = r.light_lux > LIGHT_OPEN_LUX
            if now_lit and not light:
                what.append(f"light {r.light_lux:g} lux")
            light = now_lit
        if r.eseal_status is not None:
            now_broken = r.eseal_status == "OPENED"
            if now_broken and not seal:
                what.append(f"e-seal {r.eseal_id or ''} opened".replace("  ", " "))
            seal = now_broken
        if what:
            out.append(Moment(r.ts, ", ".join(what), "opening", lat, lon))
    for e in events:
        if e.code == "DRO":
            out.append(
                Moment(e.time, f"stripped (DRO) at {e.facility or e.locode or '?'}", "opening",
                       e.lat, e.lon)
            )  # fmt: skip
    return out


def _alerts(alerts: list[Alert]) -> list[Moment]:
    return [Moment(a.at, f"alert {a.type}", "alert") for a in alerts if a.at is not None]


def _handovers(timeline: list[dict[str, Any]]) -> list[Moment]:
    out = []
    previous = None
    for iv in timeline:
        if iv["custodian"] != previous:
            place = f" at {iv['place']}" if iv["place"] else ""
            out.append(Moment(iv["from"], f"to {iv['custodian']}{place}", "handover"))
        previous = iv["custodian"]
    return out


def _map(
    session: Session,
    trip: Trip,
    events: list[EventRow],
    readings: list[Reading],
    moments: list[Moment],
) -> dict[str, Any]:
    """What the map draws, as plain data: the track, the events with a place, the openings
    (the same ones the charts mark), the trip's sites with their geofences, and the
    organisation's terminals as ports."""
    track: list[list[float | str]] = []
    for r in readings:
        if r.latitude is None or r.longitude is None:
            continue
        if track and track[-1][0] == r.latitude and track[-1][1] == r.longitude:
            continue
        track.append([r.latitude, r.longitude, f"{r.ts:%Y-%m-%d %H:%M}"])
    if len(track) > TRACK_POINTS:
        every = -(-len(track) // TRACK_POINTS)
        track = [*track[::every], track[-1]]
    places = [
        {"lat": e.lat, "lon": e.lon, "id": e.id,
         "label": f"{e.code or e.type} {e.time:%Y-%m-%d %H:%M} {e.facility or e.locode or ''}"}
        for e in events if e.lat is not None and e.lon is not None
    ]  # fmt: skip
    openings = [
        {"lat": m.lat, "lon": m.lon, "label": f"{m.at:%Y-%m-%d %H:%M} {m.label}"}
        for m in moments
        if m.kind == "opening" and m.lat is not None and m.lon is not None
    ]
    ports = {x for x in (trip.origin, trip.destination) if x} | {
        e.locode for e in events if e.locode
    }
    sites_t = TABLES["sites"]  # the geofences of the organisation whose trip it is
    sites: list[dict[str, Any]] = []
    terminals: list[dict[str, Any]] = []
    for site in session.execute(
        select(sites_t).where(
            sites_t.c.org_id == trip.org_id,
            sites_t.c.latitude.is_not(None),
            sites_t.c.longitude.is_not(None),
        )
    ):
        entry = {
            "lat": site.latitude,
            "lon": site.longitude,
            "radius": float(site.radius_m or 500),
            "label": f"{site.site_id} ({site.kind or 'site'}"
            + (f", {site.locode})" if site.locode else ")"),
        }
        if site.locode in ports:
            sites.append(entry)
        elif site.kind == "TERMINAL" and len(terminals) < 2000:
            terminals.append(entry)
    return {
        "track": track,
        "events": places,
        "openings": openings,
        "sites": sites,
        "ports": terminals,
    }


def map_json(tf: TripFile) -> str:
    """The map's data for the page (the script that draws it reads this)."""
    return json.dumps(tf.map, separators=(",", ":"))


def map_places(tf: TripFile) -> list[dict[str, Any]]:
    """The map's data as places for a drawing without a basemap (the PDF): sites with their
    geofence, the track, events with a place and the openings."""
    m = tf.map
    out: list[dict[str, Any]] = [
        {"lat": s["lat"], "lon": s["lon"], "label": s["label"], "kind": "site",
         "radius_m": s["radius"]}
        for s in m["sites"]
    ]  # fmt: skip
    out += [{"lat": t[0], "lon": t[1], "label": str(t[2]), "kind": "position"} for t in m["track"]]
    out += [{"lat": e["lat"], "lon": e["lon"], "label": e["label"], "kind": "event"}
            for e in m["events"]]  # fmt: skip
    out += [{"lat": o["lat"], "lon": o["lon"], "label": o["label"], "kind": "opening"}
            for o in m["openings"]]  # fmt: skip
    return out


def _t(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def rows(tf: TripFile) -> list[list[Any]]:
    """The file as rows of (section, time, item, detail), in the page's order."""
    t = tf.trip
    out: list[list[Any]] = [
        ["trip", _t(t.started_at), "container", t.container],
        ["trip", "", "booking", t.booking_ref or ""],
        ["trip", "", "route", f"{t.origin or '?'} -> {t.destination or '?'}"],
        ["trip", _t(t.ended_at), "ended", ""],
    ]
    if tf.case is not None:
        out.append(["case", _t(tf.case.case.updated_at), "status", tf.case.case.status])
        out.append(["case", "", "assignee", tf.case.assignee or ""])
        out += [["case", _t(h.at), f"{h.kind} by {h.actor}", h.text] for h in tf.case.history]
    p = tf.profile
    if p.manifest:
        mf = p.manifest
        for key in ("bl_number", "commodity_desc", "commodity_hs", "vessel_imo", "voyage",
                    "pol", "pod", "transshipment_ports"):  # fmt: skip
            if mf.get(key):
                out.append(["profile", "", key, mf[key]])
    out.append(["profile", "", "seals declared", ", ".join(p.declared)])
    out.append(["profile", "", "seals seen", ", ".join(p.observed)])
    for party in p.parties:
        out.append(["profile", "", f"{party.role} {party.party_id}",
                    f"{party.name or ''} {party.country or ''}; registered "
                    f"{party.registered_on or 'unknown'}; {party.trips} containers booked, "
                    f"{party.seized} seized"])  # fmt: skip
    for why, tid, box, when in p.related:
        out.append(["related trip", str(when), box, f"{why} (trip {tid})"])
    a = tf.assessment
    if a is not None:
        out.append(["score", a["scored_at"][:16], "score", round(float(a["score"]), 2)])
        out.append(["score", "", "base rate", round(100 * float(a["base_rate"] or 0), 2)])
        for f in a["findings"]:
            out.append(["score", "", f"{f['rule']} {100 * f['score']:+.2f}", f["reason"]])
        for h in tf.history:
            out.append(["score change", _t(h["at"]), f"{h['before']:.1f} -> {h['after']:.1f}",
                        h["why"]])  # fmt: skip
    for iv in tf.timeline:
        out.append(["custody", _t(iv["from"]), iv["custodian"],
                    f"{iv['place'] or ''} until {_t(iv['until'])}; seals "
                    f"{', '.join(iv['seals']) or 'none'}"])  # fmt: skip
    for e in tf.ledger:
        out.append(["seal", _t(e.time), e.code or e.type, ", ".join(e.seals)])
    for al in tf.alerts:
        out.append(["alert", _t(al.at), f"{al.type} (severity {al.severity})", al.explanation])
    for m in tf.moments:
        if m.kind == "opening":
            out.append(["opening", _t(m.at), m.label,
                        "" if m.lat is None else f"{m.lat:.5f}, {m.lon:.5f}"])  # fmt: skip
    return out
