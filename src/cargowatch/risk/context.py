"""What risk rules read: one columnar frame per source, loaded once for all of an org's trips.

Norms (how long a facility usually holds a container, which itineraries a commodity usually
takes, a badge's usual hours) need every trip of the organisation, so a scoring run loads the
whole population as columns (polars) and writes the scores of the trips it was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import polars as pl
from sqlalchemy import Connection, Select, Table, func, select

from cargowatch.custody.models import Alert, Trip, TripSeal
from cargowatch.db.columnar import Columnar
from cargowatch.documents.models import DocumentEquipment, TransportDocument
from cargowatch.registers.specs import TABLES
from cargowatch.risk.settings import RiskSettings

UTC_TIME = pl.Datetime("us", "UTC")


def _utc(frame: pl.DataFrame, *names: str) -> pl.DataFrame:
    """Times as UTC datetimes, whatever the store gave (SQLite text, PostgreSQL timestamptz)."""
    out = []
    for name in names:
        col = frame[name]
        if col.dtype == pl.String:
            out.append(col.str.to_datetime(time_unit="us", time_zone="UTC", strict=False))
        elif isinstance(col.dtype, pl.Datetime):
            tz = col.dtype.time_zone
            col = col.dt.cast_time_unit("us")
            out.append(col.dt.convert_time_zone("UTC") if tz else col.dt.replace_time_zone("UTC"))
        elif col.dtype == pl.Date:
            out.append(col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        else:
            out.append(col.cast(UTC_TIME))
    return frame.with_columns(out) if out else frame


def _dates(frame: pl.DataFrame, *names: str) -> pl.DataFrame:
    out = []
    for name in names:
        col = frame[name]
        if col.dtype == pl.String:
            out.append(col.str.to_date(strict=False))
        elif col.dtype != pl.Date:
            out.append(col.cast(pl.Date))
    return frame.with_columns(out) if out else frame


READ_CHUNK = 50_000  # rows turned into columns at a time: Python rows never pile up


def read(
    conn: Connection,
    stmt: Select[*tuple[Any, ...]],
    schema: dict[str, Any],
    columnar: Columnar | None = None,
) -> pl.DataFrame:
    """A query as a frame with the given column types ("time", "date" or a polars type),
    read through the driver's cursor READ_CHUNK rows at a time, each chunk built column by
    column: the ORM's per-value result processing would cost more than the rest of a scoring
    run, and a million rows held as Python tuples would cost gigabytes."""
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    kinds: dict[str, Any] = {"time": UTC_TIME, "date": pl.Date}
    casts = {k: v for k, v in schema.items() if v not in ("time", "date")}

    def typed(frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.with_columns(pl.col(k).cast(v, strict=False) for k, v in casts.items())
        frame = _utc(frame, *(k for k, v in schema.items() if v == "time"))
        return _dates(frame, *(k for k, v in schema.items() if v == "date"))

    arrow = columnar.frame(sql, list(schema)) if columnar is not None else None
    if arrow is not None:
        if arrow.height == 0:
            return pl.DataFrame(schema={k: kinds.get(v, v) for k, v in schema.items()})
        return typed(arrow)
    driver: Any = conn.connection.driver_connection
    parts: list[pl.DataFrame] = []
    cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(READ_CHUNK):
            columns = zip(*rows, strict=True)
            del rows
            frame = pl.DataFrame(
                [
                    pl.Series(name, values, strict=False)
                    for name, values in zip(schema, columns, strict=True)
                ]
            )
            parts.append(typed(frame))
    finally:
        cursor.close()
    if not parts:
        return pl.DataFrame(schema={k: kinds.get(v, v) for k, v in schema.items()})
    return pl.concat(parts, how="vertical_relaxed", rechunk=True) if len(parts) > 1 else parts[0]


WATCH_SCHEMA: dict[str, Any] = {"bulletin_id": pl.Int64, "kind": pl.String, "value": pl.String,
                                "value_to": pl.String, "written": UTC_TIME}  # fmt: skip
REFERRAL_SCHEMA: dict[str, Any] = {
    "referral_id": pl.Int64,
    "container": pl.String,
    "category": pl.String,
    "urgency": pl.String,
    "sent": pl.Datetime("us", "UTC"),
}


@dataclass
class Context:
    """The org's trips with what is known about them, as frames; rules read only this."""

    org_id: int
    settings: RiskSettings
    now: datetime
    trips: pl.DataFrame  # one row per trip, with its manifest line and its consignee's record
    alerts: pl.DataFrame  # custody alerts
    stays: pl.DataFrame  # one row per facility stay of a trip
    access: pl.DataFrame  # badge swipes with their holder's record
    releases: pl.DataFrame
    outcomes: pl.DataFrame  # inspections with their result, matched to trips
    seals: pl.DataFrame  # trip_id, seal, event_id
    cache: dict[str, pl.DataFrame] = field(default_factory=dict)  # frames rules share
    # open referrals about the org's containers: sent by it, or routed to it (Customs)
    referrals: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REFERRAL_SCHEMA))
    # the indicators of the bulletins the org watches (and may still read)
    watchlist: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=WATCH_SCHEMA))


def load_context(
    conn: Connection,
    org_id: int,
    settings: RiskSettings,
    now: datetime,
    reports_until: datetime | None = None,
) -> Context:
    """Read every source risk rules use for an organisation: outcomes known by now, the
    referrals sent by reports_until (now unless a backtest replays a world's referrals as
    its trips happened). The large tables are read as Arrow where the store allows it."""
    with Columnar(conn) as columnar:
        return _load(conn, org_id, settings, now, reports_until, columnar)


def _load(
    conn: Connection,
    org_id: int,
    settings: RiskSettings,
    now: datetime,
    reports_until: datetime | None,
    columnar: Columnar,
) -> Context:
    m = TABLES["manifest"]
    t = cast(Table, Trip.__table__)
    sqlite = conn.dialect.name == "sqlite"

    def of_org(column: Any) -> Any:
        # SQLite: org_id + 0 scans the table in storage order; through an (org_id, ...) index
        # it would visit a large organisation's million rows in random order, 3x slower
        return (column + 0 if sqlite else column) == org_id

    trips = read(
        conn,
        select(
            t.c.id, t.c.trip_key, t.c.container, t.c.booking_ref, t.c.started_at, t.c.ended_at,
            t.c.origin, t.c.destination, t.c.events, t.c.stays, t.c.inland_hours,
            t.c.delivery_hours, t.c.laden,
        ).where(of_org(t.c.org_id)),
        {
            "trip_id": pl.Int64,
            "trip_key": pl.String,
            "container": pl.String,
            "booking_ref": pl.String,
            "started_at": "time",
            "ended_at": "time",
            "origin": pl.String,
            "destination": pl.String,
            "events": pl.Int64,
            "stays": pl.String,
            "inland_hours": pl.Float64,
            "delivery_hours": pl.Float64,
            "laden": pl.Boolean,
        },
        columnar,
    )  # fmt: skip
    # each trip's manifest line (stored once per booking and container), joined here: two
    # scans and a hash join instead of a million index lookups in the store
    manifest = read(
        conn,
        select(
            m.c.id, m.c.container, m.c.booking_ref, m.c.shipper_id, m.c.consignee_id,
            m.c.notify_id, m.c.carrier_code, m.c.commodity_hs, m.c.pol, m.c.pod,
            m.c.transshipment_ports, m.c.booked_at, m.c.vessel_imo, m.c.voyage,
        ).where(of_org(m.c.org_id)),
        {
            "manifest_id": pl.Int64,
            "container": pl.String,
            "_booking": pl.String,
            "shipper_id": pl.String,
            "consignee_id": pl.String,
            "notify_id": pl.String,
            "carrier_code": pl.String,
            "commodity_hs": pl.String,
            "pol": pl.String,
            "pod": pl.String,
            "transshipment_ports": pl.String,
            "booked_at": "time",
            "vessel_imo": pl.String,
            "voyage": pl.String,
        },
        columnar,
    )  # fmt: skip
    trips = (
        trips.with_columns(pl.col("booking_ref").fill_null("").alias("_booking"))
        .join(manifest, on=["container", "_booking"], how="left")
        .drop("_booking")
    )
    # in the order of the trips' natural keys, whatever the store returned (ids differ between
    # stores): fits, samples and ties then do not depend on the store
    trips = trips.sort("trip_key", "manifest_id", nulls_last=True).unique(
        "trip_id", keep="first", maintain_order=True
    )
    p = TABLES["parties"]
    parties = read(
        conn,
        select(p.c.party_id, p.c.registered_on, p.c.aeo_certified, p.c.name).where(
            p.c.org_id == org_id
        ),
        {
            "consignee_id": pl.String,
            "consignee_registered_on": "date",
            "consignee_aeo": pl.Boolean,
            "consignee_name": pl.String,
        },
    ).unique("consignee_id", keep="last")
    notify_names = parties.select(
        pl.col("consignee_id").alias("notify_id"), pl.col("consignee_name").alias("notify_name")
    )
    # what the transport document (eBL) names as consignee and notify party, per booking
    documents = read(
        conn,
        select(
            TransportDocument.id,
            TransportDocument.booking_refs,
            TransportDocument.consignee,
            TransportDocument.notify,
            DocumentEquipment.container,
        )
        .join(DocumentEquipment, DocumentEquipment.document_id == TransportDocument.id)
        .where(TransportDocument.org_id == org_id),
        {
            "document_id": pl.Int64,
            "booking_refs": pl.String,
            "bl_consignee": pl.String,
            "bl_notify": pl.String,
            "container": pl.String,
        },
    )
    documents = (
        documents.with_columns(pl.col("booking_refs").str.split(";").alias("booking_ref"))
        .explode("booking_ref")
        .drop("booking_refs")
        .sort("document_id")
        .unique(["container", "booking_ref"], keep="last")
    )
    trips = (
        trips.join(parties, on="consignee_id", how="left")
        .join(notify_names, on="notify_id", how="left")
        .join(documents, on=["container", "booking_ref"], how="left")
        .with_columns(
            pl.coalesce("origin", "pol").alias("origin"),
            pl.coalesce("destination", "pod").alias("destination"),
            pl.col("commodity_hs").str.slice(0, 4).alias("hs4"),
            # a target: a trip that can carry contraband to a consignee
            (pl.col("booking_ref").is_not_null() & pl.col("laden").fill_null(True)).alias(
                "eligible"
            ),
        )
        .sort("trip_id")
    )
    alerts = read(
        conn,
        select(
            Alert.id,
            Alert.trip_id,
            Alert.type,
            Alert.severity,
            Alert.at,
            Alert.place,
            Alert.explanation,
            Alert.evidence,
        ).where(of_org(Alert.org_id)),
        {
            "alert_id": pl.Int64,
            "trip_id": pl.Int64,
            "type": pl.String,
            "severity": pl.Int64,
            "at": "time",
            "place": pl.String,
            "explanation": pl.String,
            "evidence": pl.String,
        },
        columnar,
    )
    stays = stays_of(trips)
    trips = trips.drop("stays")  # read as ctx.stays from here on (a quarter of the frame)
    a, ps = TABLES["access"], TABLES["persons"]
    access = read(
        conn,
        select(a.c.id, a.c.ts, a.c.badge_id, a.c.facility, a.c.zone, a.c.granted).where(
            a.c.org_id == org_id
        ),
        {
            "access_id": pl.Int64,
            "ts": "time",
            "badge_id": pl.String,
            "facility": pl.String,
            "zone": pl.String,
            "granted": pl.Boolean,
        },
        columnar,
    )
    persons = read(
        conn,
        select(
            ps.c.badge_id,
            ps.c.person_id,
            ps.c.vetting_status,
            ps.c.vetting_valid_until,
            ps.c.employed_until,
            ps.c.authorised_zones,
        ).where(ps.c.org_id == org_id),
        {
            "badge_id": pl.String,
            "person_id": pl.String,
            "vetting_status": pl.String,
            "vetting_valid_until": "date",
            "employed_until": "date",
            "authorised_zones": pl.String,
        },
    ).unique("badge_id", keep="last")
    access = access.join(persons, on="badge_id", how="left")
    r = TABLES["releases"]
    releases = read(
        conn,
        select(
            r.c.id, r.c.ts, r.c.container, r.c.action, r.c.actor_party_id, r.c.truck_plate
        ).where(r.c.org_id == org_id),
        {
            "release_id": pl.Int64,
            "ts": "time",
            "container": pl.String,
            "action": pl.String,
            "actor_party_id": pl.String,
            "truck_plate": pl.String,
        },
    )
    i = TABLES["inspections"]
    inspections = read(
        conn,
        select(i.c.id, i.c.ts, i.c.container, i.c.booking_ref, i.c.result).where(
            i.c.org_id == org_id
        ),
        {
            "inspection_id": pl.Int64,
            "ts": "time",
            "container": pl.String,
            "booking_ref": pl.String,
            "result": pl.String,
        },
    ).filter(pl.col("ts") <= now)  # what was known then (a backtest scores as of a date)
    outcomes = _match_outcomes(trips, inspections)
    seals = read(
        conn,
        select(TripSeal.trip_id, TripSeal.seal, TripSeal.event_id).where(of_org(TripSeal.org_id)),
        {"trip_id": pl.Int64, "seal": pl.String, "event_id": pl.Int64},
        columnar,
    )
    return Context(
        org_id, settings, now, trips, alerts, stays, access, releases, outcomes, seals,
        referrals=_referrals(conn, org_id, reports_until or now),
        watchlist=_watchlist(conn, org_id),
    )  # fmt: skip


def _watchlist(conn: Connection, org_id: int) -> pl.DataFrame:
    """The indicators of the bulletins the organisation watches and may still read."""
    from cargowatch.bulletins.service import watched_indicators

    return read(conn, watched_indicators(org_id), {**WATCH_SCHEMA, "written": "time"})


def _referrals(conn: Connection, org_id: int, now: datetime) -> pl.DataFrame:
    """One row per (open referral, container) the organisation sent or received by now, at
    the time of what it reports (when it was observed, else sent)."""
    from cargowatch.referrals.models import ENDED, Referral, ReferralCopy

    rows = conn.execute(
        select(Referral.id, Referral.containers, Referral.category, Referral.urgency,
               func.coalesce(Referral.observed_at, Referral.created_at))
        .where(
            Referral.created_at <= now,
            Referral.id.in_(
                select(ReferralCopy.referral_id).where(
                    ReferralCopy.state.not_in(sorted(ENDED)),
                    (ReferralCopy.customs_org_id == org_id) | (Referral.org_id == org_id),
                )
            ),
        )
    ).all()  # fmt: skip
    out = [
        (rid, box, category, urgency, sent if sent.tzinfo else sent.replace(tzinfo=UTC))
        for rid, boxes, category, urgency, sent in (
            (a, b, c, d, e if isinstance(e, datetime) else datetime.fromisoformat(str(e)))
            for a, b, c, d, e in rows
        )
        for box in str(boxes or "").split(",")
        if box
    ]
    return pl.DataFrame(out, schema=REFERRAL_SCHEMA, orient="row")


def stays_of(trips: pl.DataFrame, chunk: int = 200_000) -> pl.DataFrame:
    """One row per stay: trip_id, role, facility, arrived, left, hours, first and last event
    (decoded chunk trips at a time: the nested lists of a million trips' stays at once would
    cost more than every other frame of the context together)."""
    return pl.concat(
        [_stays(trips.slice(start, chunk)) for start in range(0, max(trips.height, 1), chunk)],
        rechunk=True,
    )


def _stays(trips: pl.DataFrame) -> pl.DataFrame:
    schema = pl.List(pl.List(pl.String))
    exploded = (
        trips.select("trip_id", pl.col("stays").str.json_decode(schema))
        .explode("stays")
        .drop_nulls("stays")
    )
    stays = exploded.select(
        "trip_id",
        pl.col("stays").list.get(0).alias("role"),
        pl.col("stays").list.get(1).alias("facility"),
        pl.col("stays").list.get(2).alias("arrived"),
        pl.col("stays").list.get(3).alias("left"),
        pl.col("stays").list.get(4).cast(pl.Int64).alias("first_event"),
        pl.col("stays").list.get(5).cast(pl.Int64).alias("last_event"),
    )
    stays = _utc(stays, "arrived", "left")
    return stays.with_columns(
        ((pl.col("left") - pl.col("arrived")).dt.total_seconds() / 3600).alias("hours")
    )


def _match_outcomes(trips: pl.DataFrame, inspections: pl.DataFrame) -> pl.DataFrame:
    """Each inspection on the trip it inspected: by container and booking, else by container
    and the trip whose span (plus a week) covers it."""
    keyed = inspections.join(
        trips.select("trip_id", "container", "booking_ref"),
        on=["container", "booking_ref"],
        how="left",
    )
    found = keyed.filter(pl.col("trip_id").is_not_null())
    loose = keyed.filter(pl.col("trip_id").is_null()).drop("trip_id")
    if loose.height:
        spans = trips.select("trip_id", "container", "started_at", "ended_at")
        near = (
            loose.join(spans, on="container", how="inner")
            .filter(
                (pl.col("ts") >= pl.col("started_at"))
                & (pl.col("ts") <= pl.col("ended_at") + pl.duration(days=7))
            )
            .sort("ts")
            .unique("inspection_id", keep="first")
            .select(found.columns)
        )
        found = pl.concat([found, near])
    return found.select(
        "trip_id",
        "inspection_id",
        "ts",
        "result",
        (pl.col("result") == "SEIZURE").alias("seized"),
    )
