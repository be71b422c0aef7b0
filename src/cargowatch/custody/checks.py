"""The custody checks of one trip: seals, gaps, dwell and releases, door openings and stops,
and the cross-trip check of cloned container numbers. Each returns Found alerts with proof."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, cast

from cargowatch.custody.inputs import BY_TIME, EventRow, Inputs, Site
from cargowatch.custody.settings import CustodySettings

OPERATIONS = frozenset({"STUF", "STRP", "INSP", "RMVD", "RSEA", "CUSI"})
INSPECTION_CODES = frozenset({"INSP", "RMVD", "CUSI"})
NEUTRAL = frozenset(
    {"CUSS", "CUSI", "CUSR", "INSP", "RMVD", "RSEA", "AVPU", "AVDO", "CROS", "WAYP"}
)


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


def _inside(
    sites: Sequence[Site],
    lat: float,
    lon: float,
    uses: frozenset[str] | None,
    tolerance_m: float = 0.0,
) -> Site | None:
    """The first site (authorised for one of uses) whose geofence, widened by tolerance_m for
    GPS jitter, holds the point."""
    for site in sites:
        if (uses is None or site.authorised & uses) and metres(lat, lon, site.lat, site.lon) <= (
            site.radius_m + tolerance_m
        ):
            return site
    return None


def split_trips(rows: list[EventRow]) -> list[tuple[str | None, list[EventRow]]]:
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
    found += _seal_ledger(container, booking, rows, inputs, s)
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
    # every alert names the leg of the trip it happened on (seal alerts know it already)
    legs = legs_of(rows)
    for f in found:
        if "leg" not in f.evidence and f.at is not None:
            before = [e for e in rows if e.time <= f.at]
            f.evidence["leg"] = legs[(before[-1] if before else rows[0]).id]
    return found


LEGS = (
    "origin-inland",
    "origin-terminal",
    "transshipment",
    "destination-terminal",
    "destination-inland",
)


def legs_of(rows: Sequence[EventRow]) -> dict[int, str]:
    """Event id -> the leg of the trip it belongs to: from stuffing to the origin gate-in, at
    the origin terminal up to loading, at sea and in transshipment up to the last discharge,
    at the destination terminal up to gate-out, and after it. A seal that changes means
    different things on different legs, so findings name the leg."""
    laden = [e for e in rows if e.type == "EQUIPMENT" and not e.empty]
    gtin = next((e.time for e in laden if e.code == "GTIN"), None)
    load = next((e.time for e in laden if e.code == "LOAD"), None)
    discs = [e.time for e in laden if e.code == "DISC"]
    disc = discs[-1] if discs else None
    gtot = next((e.time for e in laden if e.code == "GTOT" and disc and e.time > disc), None)
    out: dict[int, str] = {}
    for e in rows:
        t = e.time
        if gtot is not None and t > gtot:
            leg = "destination-inland"
        elif disc is not None and t > disc:
            leg = "destination-terminal"
        elif load is not None and t > load:
            leg = "destination-terminal" if disc is not None and t == disc else "transshipment"
        elif (gtin is not None and t >= gtin) or (gtin is None and e.code != "STUF"):
            leg = "origin-terminal"  # without a gate-in, only the stuffing is surely inland
        else:
            leg = "origin-inland"
        out[e.id] = leg
    return out


def _seal_ledger(
    container: str, booking: str | None, rows: list[EventRow], inputs: Inputs, s: CustodySettings
) -> list[Found]:
    found: list[Found] = []
    leg = legs_of(rows)
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
                        {
                            "events": [first.id],
                            "seals": unknown,
                            "declared": sorted(declared),
                            "leg": leg[first.id],
                        },
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
                        {
                            "events": [first.id],
                            "seals": unknown,
                            "declared": sorted(declared),
                            "leg": leg[first.id],
                        },
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
                    {"events": [e.id], "leg": leg[e.id]},
                )
            )
    for prev, cur in pairwise(sealed):
        if set(cur.seals) == set(prev.seals):
            continue
        # an inspection between the two, or recorded beside the change (records lag the
        # events), or a customs seal, explains it
        beside = timedelta(hours=s.reseal_inspection_hours)
        explained = any(prev.time - beside <= t <= cur.time + beside for t in inspected) or (
            "CUS" in cur.seal_sources
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
                    {"events": [prev.id, cur.id], "seals": list(cur.seals), "leg": leg[prev.id]},
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
                        "leg": leg[prev.id],  # it changed after prev: on prev's leg
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
                role = inputs.parties.get(r.actor_party_id)
                if role == "HAULIER":  # a registered haulier: most often a subcontractor
                    found.append(
                        Found(
                            "release-collected-by-other-haulier",
                            2,
                            r.ts,
                            r.release_ref,
                            f"Collected by haulier {r.actor_party_id} (truck "
                            f"{r.truck_plate or '?'}), though the release right is held by "
                            f"{r.authorised_party_id}: a subcontractor, or not.",
                            {"releases": [r.id]},
                        )
                    )
                else:
                    who = "a party no register lists" if role is None else f"a {role.lower()}"
                    found.append(
                        Found(
                            "release-collected-by-unauthorised-party",
                            5,
                            r.ts,
                            r.release_ref,
                            f"Collected by {r.actor_party_id}, {who} (truck "
                            f"{r.truck_plate or '?'}), though the release right is held by "
                            f"{r.authorised_party_id}.",
                            {"releases": [r.id]},
                        )
                    )
            if (
                last_disc
                and r.ts >= last_disc.time
                and r.ts - last_disc.time < timedelta(hours=s.quick_pickup_hours)
            ):
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


def plausible(readings: Sequence[Any], s: CustodySettings) -> list[Any]:
    """The readings without position fixes that are implausible by speed: a fix that jumps
    away from both neighbours faster than any truck or ship moves, while the neighbours agree
    with each other, is a GPS outlier (its door and light values are kept, its place is not)."""
    fixes = [i for i, r in enumerate(readings) if r.latitude is not None]
    limit = s.outlier_speed_kmh / 3.6  # metres per second
    bad: set[int] = set()

    def speed(a: Any, b: Any) -> tuple[float, float]:
        metres_apart = metres(a.latitude, a.longitude, b.latitude, b.longitude)
        seconds = max(abs((b.ts - a.ts).total_seconds()), 300.0)  # clocks jitter
        return metres_apart / seconds, metres_apart

    for k in range(1, len(fixes) - 1):
        prev, cur, nxt = (readings[fixes[k + d]] for d in (-1, 0, 1))
        v1, d1 = speed(prev, cur)
        v2, d2 = speed(cur, nxt)
        v3, _ = speed(prev, nxt)
        if v1 > limit and v2 > limit and v3 <= limit and min(d1, d2) > s.outlier_min_m:
            bad.add(fixes[k])
    if not bad:
        return list(readings)
    return [r._replace(latitude=None, longitude=None) if i in bad else r
            for i, r in enumerate(readings)]  # fmt: skip


def laden_window(rows: Sequence[EventRow]) -> tuple[datetime | None, datetime | None]:
    """From stuffing (or the first laden move) to stripping (or the first empty move after
    the last laden one): the time in which an opening can reach the cargo."""
    laden = [e for e in rows if e.type == "EQUIPMENT" and not e.empty]
    if not laden:
        return None, None
    stuf = next((e for e in laden if e.code == "STUF"), None)
    start = stuf.time if stuf else laden[0].time
    strp = next((e for e in laden if e.code == "STRP" and e.time >= start), None)
    if strp is not None:
        return start, strp.time
    after = next(
        (e for e in rows if e.type == "EQUIPMENT" and e.empty and e.time > laden[-1].time), None
    )
    return start, after.time if after else None


def _openings(
    container: str, rows: list[EventRow], inputs: Inputs, s: CustodySettings
) -> list[Found]:
    found: list[Found] = []
    start, end = rows[0].time - timedelta(hours=12), rows[-1].time + timedelta(hours=12)
    ops = [e.time for e in rows if e.code in OPERATIONS] + inputs.inspections.get(container, [])
    window = timedelta(hours=s.planned_window_hours)
    # where a stuffing or stripping was reported: an opening there is planned, whenever
    planned_at = [(e.lat, e.lon) for e in rows if e.code in ("STUF", "STRP") and e.lat is not None]
    openings: list[tuple[datetime, float | None, float | None, str, int]] = []
    readings = plausible([r for r in inputs.readings.get(container, []) if start <= r.ts <= end], s)
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
    openings.sort(key=lambda o: (o[0], o[3], o[4]))
    loaded, unloaded = laden_window(rows)
    # an opening where a stuffing or stripping surely took place, though its event is missing
    has_stuf = any(e.code == "STUF" for e in rows)
    has_strp = any(e.code == "STRP" for e in rows)
    delivered = next((e.time for e in reversed(rows) if e.code == "GTOT" and not e.empty), None)
    last: datetime | None = None
    for when, lat, lon, source, ref in openings:
        if loaded is None or when < loaded or (unloaded is not None and when > unloaded):
            continue  # an empty box (a depot check, cleaning): nothing to reach
        if last is not None and when - last < timedelta(hours=1):
            continue
        last = when
        planned = any(abs(when - t) <= window for t in ops)
        placed = lat is not None and lon is not None
        if placed and not planned:
            planned = any(
                metres(lat, lon, a, b) <= s.planned_place_m  # type: ignore[arg-type]
                for a, b in planned_at
            )
        site = (
            _inside(
                inputs.sites,
                lat,
                lon,
                frozenset({"STUFFING", "STRIPPING", "INSPECTION"}),
                s.gps_tolerance_m,
            )
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
                    f"The door of the laden container was opened at {where}, outside any "
                    "site where containers may be opened and away from where it was stuffed "
                    "or stripped.",
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
                    f"The door of the laden container was opened at "
                    f"{site.site_id if site else where} with no stuffing, stripping or "
                    "inspection planned there and then.",
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
                and _inside(
                    inputs.sites,
                    points[i].latitude,
                    points[i].longitude,
                    None,
                    s.gps_tolerance_m,
                )
                is None
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


def cross_trip(
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
                                "types": sorted(isos),  # two boxes: often two size-types
                            },
                        )
                    )
    return found
