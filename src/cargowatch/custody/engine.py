"""The custody engine: builds trips from events and raises alerts with their evidence.

Work partitions by container: a build takes the events of some containers (or all of an
organisation's), with what was declared for them (manifest, eBL), their smart-container readings,
their releases and inspections, and the sites where a container may be opened, and replaces the
trips and alerts of those containers. Reading is in inputs.py, the checks in checks.py,
thresholds in settings.py (docs/custody.md); this module builds and stores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import msgspec
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from cargowatch.custody.checks import Found, check_trip, cross_trip, split_trips, timeline
from cargowatch.custody.inputs import EventRow, Inputs, load
from cargowatch.custody.models import Alert, Trip, TripSeal
from cargowatch.custody.settings import CustodySettings, custody_settings
from cargowatch.db.bulk import bulk_insert
from cargowatch.db.engine import analyze
from cargowatch.events.models import Event

__all__ = [
    "CustodySettings",
    "EventRow",
    "build",
    "compute_part",
    "custody_settings",
    "load",
    "timeline",
]
RULE_VERSION = 1
T = TypeVar("T")
# Core tables: the ORM bulk insert costs twice as much per row for these plain rows
TRIPS = cast(Table, Trip.__table__)
ALERTS = cast(Table, Alert.__table__)
TRIP_SEALS = cast(Table, TripSeal.__table__)
ANALYZE_AFTER = 5_000  # trips built in one go after which their tables' statistics are refreshed


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
        if len(boxes) > 2 * FEW_CONTAINERS:  # many lookups follow: plan them on fresh statistics
            analyze(session.connection(), ("trips", "trip_seals", "alerts"))
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
    if n_trips >= ANALYZE_AFTER:  # the seal and trip lookups below plan on fresh statistics
        analyze(session.connection(), ("trips", "trip_seals", "alerts"))
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
    from cargowatch.config import get_settings

    if workers is None:
        workers = get_settings().custody_workers
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    cluster = get_settings().cluster
    if cluster and len(spans) >= 2 and ":memory:" not in url:
        session.flush()
        yield from _parts_on_cluster(cluster, url, org_id, spans, s)
        return
    if workers <= 1 or len(spans) < 2 or (url.startswith("sqlite://") and ":memory:" in url):
        for span in spans:
            yield compute_part(org_id, load(session, org_id, span=span), s)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    session.flush()  # the workers read what is committed; this build's deletes stay its own
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from _in_order(
            lambda span: pool.submit(_compute_span, url, org_id, span, s), spans, 2 * workers
        )


def _parts_on_cluster(
    cluster: str, url: str, org_id: int, spans: list[tuple[str, str]], s: CustodySettings
) -> Iterator[Part]:
    """The built parts of each range, computed on a Dask distributed cluster (the scheduler
    CARGOWATCH_CLUSTER names, or `local:N`: N local worker processes), a few ranges in flight
    per worker; the parts come back here in order to be stored, as from local processes."""
    from cargowatch.cluster import client_for

    with client_for(cluster) as client:
        width = 2 * max(1, len(client.scheduler_info()["workers"]))
        yield from _in_order(
            lambda span: client.submit(_compute_span, url, org_id, span, s, pure=False),
            spans, width,
        )  # fmt: skip


def _in_order(
    submit: Callable[[tuple[str, str]], Any], spans: list[tuple[str, str]], width: int
) -> Iterator[Part]:
    """The parts of spans, submitted as futures (anything with .result()) width at a time at
    most, so memory stays bounded, and handed back in the order of the spans."""
    from collections import deque

    pending: deque[Any] = deque()
    queue = iter(spans)
    for span in queue:
        pending.append(submit(span))
        if len(pending) >= width:
            break
    while pending:
        part: Part = pending.popleft().result()
        nxt = next(queue, None)
        if nxt is not None:
            pending.append(submit(nxt))
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
        for booking, rows in split_trips(rows_all)
    ]
    cross = cross_trip(trips, s)
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
                "laden": any(e.type == "EQUIPMENT" and not e.empty for e in rows),
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
        # the driver's executemany (COPY on PostgreSQL), then the ids back by key: SQLite's
        # RETURNING goes row by row, and SQLAlchemy's per-value processing of a full
        # rebuild's rows was most of the time the storing process spent
        _bulk(session, TRIPS, fresh)
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
        _bulk(session, ALERTS, rows_out)
    seal_rows = [
        {"org_id": org_id, "trip_id": trip_id, "seal": number, "event_id": event_id}
        for trip_id, first in zip(ids, part.seals, strict=True)
        for number, event_id in first.items()
    ]
    if seal_rows:
        _bulk(session, TRIP_SEALS, seal_rows)
    return len(made), len(rows_out), {r["seal"] for r in seal_rows}


def _bulk(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) through the driver."""
    columns = list(rows[0])
    bulk_insert(session, table, columns, (tuple(row[c] for c in columns) for row in rows))


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


def real_seal(number: str) -> bool:
    """Whether a seal number can identify one seal: 4+ characters with a digit ('SI', 'NA',
    'NONE' or 'N/A' in a seal field say there is none, and match every other such field)."""
    return len(number) >= 4 and any(ch.isdigit() for ch in number)


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
    if seals is not None:
        seals = {n for n in seals if real_seal(n)}
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
    numbers = {n for n in numbers if real_seal(n)}
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
        _bulk(session, ALERTS, rows_out)
    recount = sorted({r["trip_id"] for r in rows_out} | (affected or set()))
    count = (
        select(func.count()).select_from(Alert).where(Alert.trip_id == Trip.id).scalar_subquery()
    )
    for part in _chunks(recount, FEW_CONTAINERS):
        session.execute(update(Trip).where(Trip.id.in_(part)).values(alerts=count))
    return len(rows_out)
