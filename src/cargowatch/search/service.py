"""Search across what the caller may see, grouped by kind; every hit links to its page."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Trip, TripSeal
from cargowatch.custody.service import visible_trips
from cargowatch.events.models import TransportCall
from cargowatch.exceptions import InvalidInput
from cargowatch.registers.specs import TABLES

PER_KIND = 10
KINDS = ("container", "booking", "B/L", "seal", "party", "truck", "vessel", "place")
REFDATA = Path(__file__).resolve().parent.parent / "ingest" / "refdata"


@dataclass
class Hit:
    """One thing found: what it is, how it reads, where it opens, what else to know."""

    kind: str
    label: str
    link: str
    detail: str = ""


@dataclass
class Results:
    """Hits by kind, in KINDS order."""

    query: str
    hits: dict[str, list[Hit]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many hits in all."""
        return sum(len(v) for v in self.hits.values())


@lru_cache(maxsize=1)
def place_names() -> dict[str, str]:
    """UN/LOCODE -> name, for the places of the shipped list."""
    with (REFDATA / "dcsa-unlocationcodes.csv").open(encoding="utf-8") as handle:
        return {r["UN Location Code"]: r["UN Location Name"] for r in csv.DictReader(handle)}


def _starts(column: Any, upper: str) -> ColumnElement[bool]:
    """column starts with upper: LIKE for exactness and, for letters and digits, the range
    of keys an ordinary index serves (SQLite's LIKE ignores case, so it cannot use one)."""
    like = column.like(_like(upper), escape="\\")
    if not (upper.isascii() and upper.isalnum()):
        return like  # type: ignore[no-any-return]
    after = upper[:-1] + chr(ord(upper[-1]) + 1)
    return and_(column >= upper, column < after, like)


def _like(text: str) -> str:
    """A LIKE pattern for text as a prefix, its wildcards escaped."""
    return re.sub(r"([%_\\\\])", r"\\\\\\1", text) + "%"


def search(session: Session, *, principal: Principal, q: str, per_kind: int = PER_KIND) -> Results:
    """Everything the caller may see whose identifier starts with q (names contain it)."""
    principal.require("events:read")
    text = q.strip()
    if not 2 <= len(text) <= 100:
        raise InvalidInput("search: type 2 to 100 characters")
    upper, out = text.upper(), Results(text)
    seen = visible_trips(principal)
    prefix = _like(upper)

    def trips(where: ColumnElement[bool], kind: str, label: Any) -> None:
        rows = session.execute(
            select(Trip.id, label, Trip.container, Trip.started_at, Trip.origin, Trip.destination)
            .where(seen, where)
            .order_by(Trip.started_at.desc())
            .limit(per_kind)
        ).all()
        if rows:
            out.hits[kind] = [
                Hit(kind, str(v), f"/trips/{tid}",
                    f"{box} · {o or '?'} → {d or '?'}"
                    + (f" · {start:%Y-%m-%d}" if start else ""))
                for tid, v, box, start, o, d in rows
            ]  # fmt: skip

    trips(_starts(Trip.container, upper), "container", Trip.container)
    trips(_starts(Trip.booking_ref, upper), "booking", Trip.booking_ref)
    m = TABLES["manifest"]
    bl = session.execute(
        select(Trip.id, m.c.bl_number, Trip.container)
        .join(
            m,
            (m.c.org_id == principal.org_id)  # registers are the caller's own
            & (m.c.container == Trip.container)
            & (m.c.booking_ref == Trip.booking_ref),
        )
        .where(seen, _starts(m.c.bl_number, upper))
        .limit(per_kind)
    ).all()
    if bl:
        out.hits["B/L"] = [Hit("B/L", str(n), f"/trips/{t}", box) for t, n, box in bl]
    seals = session.execute(
        select(TripSeal.seal, Trip.id, Trip.container)
        .join(Trip, Trip.id == TripSeal.trip_id)
        .where(seen, _starts(TripSeal.seal, upper))
        .limit(per_kind)
    ).all()
    if seals:
        out.hits["seal"] = [Hit("seal", s, f"/trips/{t}", box) for s, t, box in seals]
    p = TABLES["parties"]
    parties = session.execute(
        select(p.c.party_id, p.c.name, p.c.role, p.c.country)
        .where(
            p.c.org_id == principal.org_id,
            or_(
                func.upper(p.c.party_id).like(prefix, escape="\\"),
                func.upper(p.c.name).like("%" + prefix, escape="\\"),
            ),
        )
        .limit(per_kind)
    ).all()
    for pid, name, role, country in parties:  # a party opens the trips it booked or receives
        named = or_(m.c.shipper_id == pid, m.c.consignee_id == pid, m.c.notify_id == pid,
                    m.c.forwarder_id == pid)  # fmt: skip
        theirs = session.execute(
            select(Trip.id, Trip.container, Trip.started_at)
            .join(
                m,
                (m.c.org_id == Trip.org_id)
                & (m.c.container == Trip.container)
                & (m.c.booking_ref == Trip.booking_ref),
            )
            .where(seen, m.c.org_id == principal.org_id, named)
            .order_by(Trip.started_at.desc())
            .limit(3)
        ).all()
        detail = " · ".join(x for x in (role, country) if x)
        label = f"{pid} {name or ''}".strip()
        found = out.hits.setdefault("party", [])
        if not theirs:
            found.append(Hit("party", label, "", f"{detail} · no trip yet"))
        for t, box, start in theirs:
            when = f" {start:%Y-%m-%d}" if start else ""
            found.append(Hit("party", label, f"/trips/{t}", f"{detail} · {box}{when}"))
    r = TABLES["releases"]
    trucks = session.execute(
        select(r.c.truck_plate, r.c.container, func.max(r.c.ts))
        .where(
            r.c.org_id == principal.org_id, func.upper(r.c.truck_plate).like(prefix, escape="\\")
        )
        .group_by(r.c.truck_plate, r.c.container)
        .limit(per_kind)
    ).all()
    if trucks:
        out.hits["truck"] = [
            Hit("truck", plate, f"/search?q={box}", f"collected {box}") for plate, box, _ in trucks
        ]
    from cargowatch.events.models import Event
    from cargowatch.sharing.service import visible_events

    vessels = session.execute(
        select(TransportCall.vessel_name, TransportCall.vessel_imo, TransportCall.voyage,
               func.min(Event.id))
        .join(Event, Event.transport_call_id == TransportCall.id)
        .where(visible_events(principal),
               or_(func.upper(TransportCall.vessel_name).like("%" + prefix, escape="\\"),
                   TransportCall.vessel_imo.like(prefix, escape="\\")))
        .group_by(TransportCall.vessel_name, TransportCall.vessel_imo, TransportCall.voyage)
        .limit(per_kind)
    ).all()  # fmt: skip
    if vessels:
        out.hits["vessel"] = [
            Hit("vessel", f"{name or ''} {imo or ''}".strip(), f"/events/{event_id}",
                f"voyage {voyage or '?'}")
            for name, imo, voyage, event_id in vessels
        ]  # fmt: skip
    names = place_names()
    places = [
        (code, name) for code, name in names.items()
        if code.startswith(upper) or upper in name.upper()
    ][:per_kind]  # fmt: skip
    if len(upper) == 5 and upper not in names and upper.isalnum():
        places.insert(0, (upper, ""))
    if places:
        out.hits["place"] = [
            Hit("place", f"{code} {name}".strip(), f"/queue?port={code}", "trips from or to it")
            for code, name in places
        ]
    out.hits = {k: out.hits[k] for k in KINDS if k in out.hits}
    return out
