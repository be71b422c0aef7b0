"""Post-incident analysis, built from what the store holds: when the container could have been
contaminated (windows from the seal put on at the start of the trip to the discovery, split by
who had custody), who had access in each window (badges at the facility, ranked by how their
swipes break their holder's own pattern and how close they came to the trip's custody
alerts), which sibling containers to check now, and a suggested modus operandi.

And across incidents: the persons whose presence in the windows of several incidents, odd
swipes there, lapsed vetting or a badge that outlived the job make them worth a look, each with
the path through the link graph (person, badge, facility, trip, incident) as the reason.

Persons come from the organisation's staff register: personal data, shown only to callers with
the personal-data grant of the organisation that holds it, and every such read is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.exceptions import PermissionDenied
from cargowatch.incidents.models import Incident
from cargowatch.incidents.service import get
from cargowatch.risk.context import Context, load_context
from cargowatch.risk.rules.insider import KIND_TEXT, odd_swipes
from cargowatch.risk.settings import risk_settings
from cargowatch.sharing.service import may_read_personal, pseudonym, pseudonym_key

MARGIN = timedelta(hours=2)  # a swipe this long before arrival or after departure still counts
FLOOR = 0.002  # the least chance of an odd swipe on a day (a badge with none yet)
PRIOR_DAYS = 30  # how many working days the shared rate of odd days counts for, per badge


def days_of(spans: list[tuple[Any, Any]]) -> set[Any]:
    """The calendar days covered by some time spans (overlapping windows count once)."""
    out: set[Any] = set()
    for begin, until in spans:
        day = begin.date()
        while day <= until.date():
            out.add(day)
            day += timedelta(days=1)
    return out


def odd_day_rates(ctx: Any, windows_at: dict[str, set[Any]] | None = None) -> dict[str, float]:
    """Per badge, the share of its working days with a swipe that breaks its own pattern:
    how likely an odd swipe is on any day by chance (overtime, covering a colleague). Days
    the badge worked at a facility while a seized container stood there (windows_at: days per
    facility) are left out: the rate is the badge's ordinary life, so a serial insider's own
    crimes do not make their odd swipes look usual."""
    if "badge_days" not in ctx.cache:
        day = pl.col("ts").dt.date().alias("day")
        ctx.cache["badge_days"] = (
            ctx.access.select("badge_id", "facility", day).unique(),
            odd_swipes(ctx).select("badge_id", "facility", "day").unique(),
        )
    worked, odd = ctx.cache["badge_days"]
    if windows_at:
        inside = pl.DataFrame(
            [(f, d) for f, days in windows_at.items() for d in days],
            schema={"facility": pl.String, "day": pl.Date}, orient="row",
        )  # fmt: skip
        worked = worked.join(inside, on=["facility", "day"], how="anti")
        odd = odd.join(inside, on=["facility", "day"], how="anti")
    days = worked.group_by("badge_id").agg(pl.col("day").n_unique().alias("d"))
    odd_days = odd.group_by("badge_id").agg(pl.col("day").n_unique().alias("o"))
    both = days.join(odd_days, on="badge_id", how="left").with_columns(pl.col("o").fill_null(0))
    if both.height == 0:
        return {}
    # shrunk toward the rate of all badges by PRIOR_DAYS days' worth: a badge seen on few
    # days outside the windows (or none odd there) is not taken for one that never breaks
    # its pattern
    usual = max(FLOOR, float(both["o"].sum()) / max(1.0, float(both["d"].sum())))
    return {
        b: max(FLOOR, (o + usual * PRIOR_DAYS) / (d + PRIOR_DAYS))
        for b, d, o in both.select("badge_id", "d", "o").iter_rows()
    }


# what a trip's alerts and findings say of how it was done (a suggestion people confirm)
MO_HINTS = (
    ("cloned", "cloned_container"),
    ("release", "release_fraud"),
    ("pickup", "release_fraud"),
    ("front-company", "front_company"),
    ("consignee", "front_company"),
    ("seal", "seal_switch"),
    ("door-opened-outside", "inland_contamination"),
    ("inland", "inland_contamination"),
    ("hub", "transshipment_tamper"),
    ("transshipment", "transshipment_tamper"),
    ("insider", "rip_on_rip_off"),
)


def context(session: Session, org_id: int) -> Context:
    """Everything the analysis reads of an organisation, as frames."""
    return load_context(session.connection(), org_id, risk_settings(), datetime.now(UTC))


def windows(ctx: Context, trip_id: int, found_at: datetime) -> list[dict[str, Any]]:
    """The contamination windows of a trip, from its booking (the load itself, before the seal
    was put on at stuffing, the last check known to be trusted) to the discovery, one per
    custodian: the shipper before sealing, the inland leg to the origin terminal, each terminal
    stay, each sea leg, the leg after the last terminal; each with the trip's custody alerts
    inside it (a door opened, a seal changed narrow it)."""
    trip = ctx.trips.filter(pl.col("trip_id") == trip_id)
    if trip.height == 0:
        return []
    start = trip["started_at"][0]
    end = found_at
    stays = ctx.stays.filter(pl.col("trip_id") == trip_id).sort("arrived").to_dicts()
    alerts = ctx.alerts.filter(pl.col("trip_id") == trip_id).drop_nulls("at").to_dicts()
    out: list[dict[str, Any]] = []

    def add(kind: str, custodian: str, facility: str | None, begin: Any, until: Any) -> None:
        if begin is None or until is None:
            return
        until = min(until, end)
        if until < begin:
            return
        inside = [a for a in alerts if begin <= a["at"] <= until]
        out.append({
            "kind": kind, "custodian": custodian, "facility": facility,
            "from": begin, "until": until,
            "hours": round((until - begin).total_seconds() / 3600, 1),
            "alerts": [{"id": a["alert_id"], "type": a["type"], "at": a["at"]} for a in inside],
        })  # fmt: skip

    booked = trip["booked_at"][0] if "booked_at" in trip.columns else None
    if booked is not None and start is not None and booked < start:
        # the load itself: whoever filled the box before the seal was put on
        add("before sealing, at the shipper", "shipper", None, booked, start)
    at = start
    for n, stay in enumerate(stays):
        if stay["arrived"] is None or stay["left"] is None:
            continue
        if at is not None and stay["arrived"] > at:
            leg = "inland to the origin terminal" if n == 0 else "at sea"
            add(leg, "haulier" if n == 0 else "carrier", None, at, stay["arrived"])
        add(f"{stay['role']} terminal", "terminal", stay["facility"], stay["arrived"],
            stay["left"])  # fmt: skip
        at = stay["left"]
    if at is not None and at < end:
        add("after the last terminal", "haulier or consignee", None, at, end)
    return out


def access(ctx: Context, spans: list[dict[str, Any]], alerts_at: list[datetime]) -> pl.DataFrame:
    """Who swiped at the facilities of the terminal windows while the container stood there:
    one row per badge, with its holder, how often it was there, its odd swipes (the strongest
    kind first) and a score: present, plus its strongest odd swipe, plus more when an odd swipe
    came within hours of a custody alert, plus a lapsed vetting or a badge past its holder's
    employment. (Weighing each badge by its usual rate of odd days, as the ranking across
    incidents does, was tried here and ranked the planted insider lower on a world of another
    generator, where serial insiders' unseized crimes make their own rate high.)"""
    terminal = [w for w in spans if w["facility"]]
    if not terminal or ctx.access.height == 0:
        return pl.DataFrame()
    near = timedelta(hours=ctx.settings.insider_near_hours)
    win = pl.DataFrame(
        {"facility": [w["facility"] for w in terminal],
         "w_from": [w["from"] - MARGIN for w in terminal],
         "w_until": [w["until"] + MARGIN for w in terminal]},
        schema={"facility": pl.String, "w_from": pl.Datetime("us", "UTC"),
                "w_until": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    present = ctx.access.join(win, on="facility", how="inner").filter(
        (pl.col("ts") >= pl.col("w_from")) & (pl.col("ts") <= pl.col("w_until"))
    )
    if present.height == 0:
        return pl.DataFrame()
    odd = odd_swipes(ctx).select("access_id", "kind", pl.col("score").alias("odd"), "lapsed")
    rows = present.join(odd, on="access_id", how="left").with_columns(
        pl.col("odd").fill_null(0.0), pl.col("lapsed").fill_null(False)
    )
    # seconds from each swipe to the nearest custody alert of the trip (a trip has few)
    to_alert = pl.min_horizontal(
        (pl.col("ts") - pl.lit(at, dtype=pl.Datetime("us", "UTC"))).dt.total_seconds().abs()
        for at in alerts_at
    ) if alerts_at else pl.lit(None)  # fmt: skip
    rows = rows.with_columns(to_alert.cast(pl.Float64).alias("to_alert_s"))
    after_job = (pl.col("employed_until").is_not_null()
                 & (pl.col("ts").dt.date() > pl.col("employed_until")))  # fmt: skip
    per = rows.group_by("badge_id").agg(
        pl.col("person_id").drop_nulls().first(),
        pl.col("facility").first(),
        pl.len().alias("swipes"),
        pl.col("odd").max().alias("odd"),
        pl.col("kind").drop_nulls().unique().alias("kinds"),
        pl.col("access_id").filter(pl.col("odd") > 0).alias("odd_swipes"),
        pl.col("ts").filter(pl.col("odd") > 0).min().alias("first_odd"),
        pl.col("ts").filter(pl.col("odd") > 0).dt.date().unique().alias("odd_days"),
        (pl.col("to_alert_s").filter(pl.col("odd") > 0).min() <= near.total_seconds())
        .fill_null(False)
        .alias("near_alert"),
        pl.col("lapsed").any().alias("lapsed"),
        after_job.any().alias("after_employment"),
    )
    return per.with_columns(
        (0.1 + pl.col("odd") + pl.when(pl.col("near_alert")).then(0.5).otherwise(0.0)
         + pl.when(pl.col("lapsed")).then(0.2).otherwise(0.0)
         + pl.when(pl.col("after_employment")).then(0.4).otherwise(0.0)).round(3).alias("score")
    ).sort(["score", "badge_id"], descending=[True, False])  # fmt: skip


TRUCK_DAYS = timedelta(days=3)  # one truck on two releases this close ties their boxes
SEAL_BATCH = 20  # seal numbers this close, with the same prefix, come from one batch
SEAL = r"^([A-Z]*)(\d{4,})$"  # a seal number: letters, then digits


def _seal_parts(seals: pl.DataFrame) -> pl.DataFrame:
    """trip_id, seal, its prefix and its number (seals not of that shape are left out)."""
    return seals.select(
        "trip_id", "seal",
        pl.col("seal").str.extract(SEAL, 1).alias("prefix"),
        pl.col("seal").str.extract(SEAL, 2).str.to_integer(strict=False).alias("number"),
    ).drop_nulls(["prefix", "number"])  # fmt: skip


def _own_pickups(releases: pl.DataFrame, row: dict[str, Any]) -> pl.DataFrame:
    """(truck_plate, ts): the trucks seen on the trip's own box's releases while the trip ran
    (a day either side)."""
    mine = releases.filter(pl.col("container") == row["container"]).drop_nulls("truck_plate")
    start = row["started_at"] or row["ended_at"]
    if start is not None:
        until = row["ended_at"] or start
        mine = mine.filter(pl.col("ts").is_between(start - timedelta(days=1),
                                                   until + timedelta(days=1)))  # fmt: skip
    return mine.select("truck_plate", "ts").unique()


def _links(ctx: Context, row: dict[str, Any], spans: list[dict[str, Any]]) -> pl.DataFrame:
    """(trip_id, why): every other trip tied to this one, once per tie."""
    t, me = ctx.trips, row["trip_id"]
    found: list[pl.DataFrame] = []

    def add(ids: pl.Series | list[int], why: str) -> None:
        found.append(pl.DataFrame({"trip_id": ids, "why": why},
                                  schema={"trip_id": pl.Int64, "why": pl.String}))  # fmt: skip

    for column, what in (("consignee_id", "same consignee"), ("shipper_id", "same shipper")):
        if row.get(column):
            add(t.filter(pl.col(column) == row[column])["trip_id"], f"{what} {row[column]}")
    if row.get("vessel_imo") and row.get("voyage"):
        call = t.filter((pl.col("vessel_imo") == row["vessel_imo"])
                        & (pl.col("voyage") == row["voyage"]))  # fmt: skip
        add(call["trip_id"], f"same vessel call {row['vessel_imo']} voyage {row['voyage']}")
    for w in spans:
        if w["facility"]:
            there = ctx.stays.filter(
                (pl.col("facility") == w["facility"]) & (pl.col("arrived") <= w["until"])
                & (pl.col("left") >= w["from"])
            )  # fmt: skip
            add(there["trip_id"].unique(), f"at {w['facility']} in the same window")
    r = ctx.releases
    if r.height:
        for plate, ts in _own_pickups(r, row).iter_rows():
            near = r.filter(
                (pl.col("truck_plate") == plate) & (pl.col("container") != row["container"])
                & pl.col("ts").is_between(ts - TRUCK_DAYS, ts + TRUCK_DAYS)
            )  # fmt: skip
            boxes = t.join(near.select("container", pl.col("ts").alias("seen")), on="container")
            boxes = boxes.filter(
                (pl.col("started_at") <= pl.col("seen") + timedelta(days=1))
                & (pl.col("ended_at").is_null()
                   | (pl.col("ended_at") >= pl.col("seen") - timedelta(days=1)))
            )  # fmt: skip
            add(boxes["trip_id"].unique(), f"collected by truck {plate}")
    if ctx.seals.height:
        if "seal_parts" not in ctx.cache:
            ctx.cache["seal_parts"] = _seal_parts(ctx.seals)
        parts = ctx.cache["seal_parts"]
        for seal, prefix, number in (
            parts.filter(pl.col("trip_id") == me).select("seal", "prefix", "number").unique()
        ).iter_rows():
            close = parts.filter((pl.col("prefix") == prefix) & (pl.col("trip_id") != me)
                                 & ((pl.col("number") - number).abs() <= SEAL_BATCH))  # fmt: skip
            add(close.filter(pl.col("seal") == seal)["trip_id"].unique(), f"same seal {seal}")
            add(close.filter(pl.col("seal") != seal)["trip_id"].unique(),
                f"seal from the same batch as {seal}")  # fmt: skip
    if not found:
        return pl.DataFrame(schema={"trip_id": pl.Int64, "why": pl.String})
    return pl.concat(found).filter(pl.col("trip_id") != me).unique()


def siblings(
    ctx: Context, trip_id: int, spans: list[dict[str, Any]], limit: int = 50
) -> list[dict[str, Any]]:
    """Other trips to check now: the same consignee or shipper, vessel call, collecting truck
    or seal batch, or at one of its terminals in the same window (a badge there could have
    reached them too). A tie shared by few trips counts for more than one shared by hundreds
    (a box's consignee against a whole vessel call); a sibling with custody alerts of its own
    comes first among equals. Best first, each with its ties and its alerts."""
    t = ctx.trips
    me = t.filter(pl.col("trip_id") == trip_id)
    if me.height == 0:
        return []
    links = _links(ctx, me.row(0, named=True), spans)
    if links.height == 0:
        return []
    weighted = links.with_columns(
        (1 / (1 + pl.len().over("why")).log(2)).alias("weight")
    )  # fmt: skip
    alerts = ctx.alerts.group_by("trip_id").agg(pl.len().alias("alerts"))
    per = (
        weighted.sort("weight", descending=True)
        .group_by("trip_id")
        .agg(pl.col("weight").sum().alias("ties"), pl.col("why"))
        .join(t.select("trip_id", "container", "booking_ref", "started_at"), on="trip_id")
        .join(alerts, on="trip_id", how="left")
        .with_columns(pl.col("alerts").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("ties") + 0.1 * pl.col("alerts").clip(0, 3)).round(3).alias("score"))
        .sort(["score", "started_at", "trip_id"], descending=[True, True, False], nulls_last=True)
    )
    return per.head(limit).drop("ties").to_dicts()


def with_status(
    session: Session, principal: Principal, found: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Siblings with where they stand now for the caller's organisation: its case on each
    (status and assignee, when one is open) and the trip's latest risk score."""
    from cargowatch.cases.service import statuses_of
    from cargowatch.risk.models import Assessment

    ids = [x["trip_id"] for x in found]
    cases = statuses_of(session, principal=principal, trip_ids=ids)
    scores: dict[int, float] = {trip: score for trip, score in session.execute(
        select(Assessment.trip_id, Assessment.score)
        .where(Assessment.org_id == principal.org_id, Assessment.trip_id.in_(ids or [-1]))
    )}  # fmt: skip
    out = []
    for x in found:
        case, assignee = cases.get(x["trip_id"], (None, None))
        risk = scores.get(x["trip_id"])
        out.append({**x, "case": case, "assignee": assignee,
                    "risk": None if risk is None else round(risk, 1)})  # fmt: skip
    return out


def suggest_mo(ctx: Context, trip_id: int, concealment: str | None) -> str | None:
    """The modus operandi the trip's alerts suggest (people confirm or change it)."""
    kinds = ctx.alerts.filter(pl.col("trip_id") == trip_id)["type"].to_list()
    for needle, mo in MO_HINTS:
        if any(needle in k for k in kinds):
            return mo
    if concealment == "RIP_ON_RIP_OFF":
        return "rip_on_rip_off"
    return None


@dataclass
class Analysis:
    """An incident's analysis as built from the store."""

    incident: dict[str, Any]
    windows: list[dict[str, Any]]
    persons: list[dict[str, Any]]
    siblings: list[dict[str, Any]]
    suggested_mo: str | None
    personal: bool


def analyse(
    session: Session, *, principal: Principal, incident_id: int, limit: int = 25
) -> Analysis:
    """Build an incident's analysis. Persons carry their identity only for callers with the
    personal-data grant (the read is audited); others see badges' facilities and scores."""
    from cargowatch.incidents.service import view

    row = get(session, principal=principal, incident_id=incident_id)
    ctx = local_context(session, row.org_id, row.trip_id, row.found_at) if row.trip_id else None
    spans = windows(ctx, row.trip_id, row.found_at) if ctx and row.trip_id else []
    persons, personal = persons_seen(session, principal, row, ctx, spans, limit)
    return Analysis(
        incident=view(row),
        windows=spans,
        persons=persons,
        siblings=with_status(session, principal, siblings(ctx, row.trip_id, spans))
        if ctx and row.trip_id
        else [],
        suggested_mo=suggest_mo(ctx, row.trip_id, row.concealment) if ctx and row.trip_id else None,
        personal=personal,
    )


def persons_seen(
    session: Session,
    principal: Principal,
    row: Incident,
    ctx: Context | None,
    spans: list[dict[str, Any]],
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """Who had access in an incident's windows, best first, as the caller may read them
    (identities only with the owner's personal-data grant, and then the read is audited);
    and whether the caller reads identities."""
    alerts_at = [a["at"] for w in spans for a in w["alerts"]]
    who = access(ctx, spans, alerts_at) if ctx else pl.DataFrame()
    personal = may_read_personal(session, principal, row.org_id)
    key = None if personal else pseudonym_key(session, principal, row.org_id)
    persons = [_person(r, personal, key)
               for r in (who.head(limit).to_dicts() if who.height else [])]  # fmt: skip
    if personal and persons:
        audit.record(session, actor=principal, action="incident.read-personal",
                     entity_type="incident", entity_id=row.id,
                     after={"persons": len(persons)})  # fmt: skip
    return persons, personal


def _person(r: dict[str, Any], personal: bool, key: str | None = None) -> dict[str, Any]:
    """A person with access as the caller may read it: identity with the personal-data grant;
    otherwise, to a partner under an agreement, pseudonyms keyed by that agreement."""
    reasons = [KIND_TEXT.get(k, k) for k in r.get("kinds") or []]
    out = {
        "facility": r["facility"], "swipes": r["swipes"], "score": r["score"],
        "odd": r["odd"], "near_alert": r["near_alert"], "lapsed": r["lapsed"],
        "after_employment": r["after_employment"], "reasons": reasons,
    }  # fmt: skip
    if personal:
        out |= {"person_id": r["person_id"], "badge_id": r["badge_id"],
                "odd_swipes": r["odd_swipes"], "first_odd": r["first_odd"]}  # fmt: skip
    else:
        out["redacted"] = True
        if key is not None:
            out |= {"person_ref": pseudonym(key, "person", r["person_id"]),
                    "badge_ref": pseudonym(key, "badge", r["badge_id"])}  # fmt: skip
    return out


def require_personal(session: Session, principal: Principal) -> None:
    """Refuse a caller without its organisation's personal-data grant."""
    if not may_read_personal(session, principal, principal.org_id):
        raise PermissionDenied(f"{principal.label}: reading persons needs the personal-data grant")


def incidents_of(session: Session, org_id: int) -> list[Incident]:
    """Every incident of an organisation linked to a trip."""
    return list(session.scalars(
        select(Incident).where(Incident.org_id == org_id, Incident.trip_id.is_not(None))
        .order_by(Incident.id)
    ))  # fmt: skip


HISTORY = timedelta(days=120)  # how much of a badge's past shows its pattern
NEIGHBOURS = timedelta(days=21)  # trips that started this long before a window may share it


def local_context(session: Session, org_id: int, trip_id: int, found_at: datetime) -> Context:
    """What one incident's analysis reads, and no more: its trip, the trips of the same
    shipper or consignee and those that stood at its facilities around its windows, its
    custody alerts, the swipes at its facilities in its windows (by the facility and time
    index) and the recent history of the badges seen there (their pattern). Bounded by the
    incident, not by the store: the same frames as the organisation's whole context."""
    from sqlalchemy import and_, func, or_

    from cargowatch.custody.models import Alert, Trip
    from cargowatch.registers.specs import TABLES
    from cargowatch.risk.context import read, stays_of

    conn = session.connection()
    m, a, ps = TABLES["manifest"], TABLES["access"], TABLES["persons"]
    t = Trip.__table__
    declared = and_(m.c.org_id == t.c.org_id, m.c.container == t.c.container,
                    m.c.booking_ref == func.coalesce(t.c.booking_ref, ""))  # fmt: skip
    columns = (t.c.id, t.c.trip_key, t.c.container, t.c.booking_ref, t.c.started_at,
               t.c.ended_at, t.c.origin, t.c.destination, t.c.stays, m.c.shipper_id,
               m.c.consignee_id, m.c.booked_at, m.c.vessel_imo, m.c.voyage)  # fmt: skip
    schema = {"trip_id": pl.Int64, "trip_key": pl.String, "container": pl.String,
              "booking_ref": pl.String, "started_at": "time", "ended_at": "time",
              "origin": pl.String, "destination": pl.String, "stays": pl.String,
              "shipper_id": pl.String, "consignee_id": pl.String, "booked_at": "time",
              "vessel_imo": pl.String, "voyage": pl.String}  # fmt: skip

    def trips_where(*where: Any) -> pl.DataFrame:
        query = select(*columns).select_from(t.outerjoin(m, declared))
        return read(conn, query.where(t.c.org_id == org_id, *where), schema)

    me = trips_where(t.c.id == trip_id).unique("trip_id")
    if me.height == 0:
        raise NotFoundTrip(trip_id)
    stays = stays_of(me)
    facilities = sorted({f for f in stays["facility"].to_list() if f})
    row = me.to_dicts()[0]
    frames = [me]
    ties = [m.c.shipper_id == row["shipper_id"], m.c.consignee_id == row["consignee_id"]]
    if row["vessel_imo"] and row["voyage"]:
        ties.append(and_(m.c.vessel_imo == row["vessel_imo"], m.c.voyage == row["voyage"]))
    for tie, value in zip(ties, (row["shipper_id"], row["consignee_id"], row["vessel_imo"]),
                          strict=False):  # fmt: skip
        if value:
            frames.append(trips_where(t.c.id.in_(
                select(t.c.id).select_from(t.join(m, declared)).where(tie, m.c.org_id == org_id)
                .limit(500))))  # fmt: skip
    releases, seals = _release_and_seal_ties(conn, org_id, row, trip_id)
    others = sorted(set(seals["trip_id"].to_list()) - {trip_id})
    if others:
        frames.append(trips_where(t.c.id.in_(others[:500])))
    boxes = sorted(set(releases["container"].to_list()) - {row["container"]})
    if boxes and row["started_at"] is not None:
        frames.append(trips_where(
            t.c.container.in_(boxes[:500]),
            t.c.started_at >= row["started_at"] - NEIGHBOURS,
            t.c.started_at <= (row["ended_at"] or row["started_at"]) + NEIGHBOURS))  # fmt: skip
    held = stays.drop_nulls(["arrived", "left"])
    if facilities and held.height:
        first, last = min(held["arrived"].to_list()), max(held["left"].to_list())
        frames.append(trips_where(
            t.c.started_at >= first - NEIGHBOURS, t.c.started_at <= min(last, found_at),
            or_(*(t.c.stays.contains(f'"{f}"', autoescape=True) for f in facilities))))  # fmt: skip
    trips = pl.concat(frames, how="vertical_relaxed").unique("trip_id", keep="first")
    alerts = read(conn, select(Alert.id, Alert.trip_id, Alert.type, Alert.severity, Alert.at,
                               Alert.place, Alert.explanation, Alert.evidence)
                  .where(Alert.org_id == org_id,
                         Alert.trip_id.in_(trips["trip_id"].to_list()[:2000])),
                  {"alert_id": pl.Int64, "trip_id": pl.Int64, "type": pl.String,
                   "severity": pl.Int64, "at": "time", "place": pl.String,
                   "explanation": pl.String, "evidence": pl.String})  # fmt: skip
    access_schema = {"access_id": pl.Int64, "ts": "time", "badge_id": pl.String,
                     "facility": pl.String, "zone": pl.String, "granted": pl.Boolean}  # fmt: skip
    access_columns = (a.c.id, a.c.ts, a.c.badge_id, a.c.facility, a.c.zone, a.c.granted)
    spans = stays.drop_nulls(["arrived", "left"]).filter(pl.col("trip_id") == trip_id)
    typed: dict[str, Any] = {k: pl.Datetime("us", "UTC") if v == "time" else v
                             for k, v in access_schema.items()}  # fmt: skip
    present = pl.DataFrame(schema=typed)
    if spans.height:
        parts = [read(conn, select(*access_columns).where(
            a.c.org_id == org_id, a.c.facility == s["facility"],
            a.c.ts >= s["arrived"] - MARGIN, a.c.ts <= s["left"] + MARGIN), access_schema)
            for s in spans.to_dicts()]  # fmt: skip
        present = pl.concat(parts, how="vertical_relaxed")
    badges = sorted(set(present["badge_id"].to_list()))
    history = present
    if badges:
        end = max(spans["left"].to_list()) + MARGIN
        history = read(conn, select(*access_columns).where(
            a.c.org_id == org_id, a.c.badge_id.in_(badges), a.c.ts >= end - HISTORY,
            a.c.ts <= end), access_schema)  # fmt: skip
    persons = read(conn, select(ps.c.badge_id, ps.c.person_id, ps.c.vetting_status,
                                ps.c.vetting_valid_until, ps.c.employed_until,
                                ps.c.authorised_zones)
                   .where(ps.c.org_id == org_id, ps.c.badge_id.in_(badges or [""])),
                   {"badge_id": pl.String, "person_id": pl.String, "vetting_status": pl.String,
                    "vetting_valid_until": "date", "employed_until": "date",
                    "authorised_zones": pl.String}).unique("badge_id", keep="last")  # fmt: skip
    access_frame = (
        pl.concat([history, present], how="vertical_relaxed")
        .unique("access_id", keep="first")
        .join(persons, on="badge_id", how="left")
    )
    return Context(org_id, risk_settings(), datetime.now(UTC), trips, alerts, stays_of(trips),
                   access_frame, releases, pl.DataFrame(), seals)  # fmt: skip


def _release_and_seal_ties(
    conn: Any, org_id: int, row: dict[str, Any], trip_id: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The releases of the trip's box and of the boxes its trucks collected within days, and
    the trip's seals with those of its seal batches (by the seal index: numbers of the same
    length sort as text)."""
    from sqlalchemy import and_, or_

    from cargowatch.custody.models import TripSeal
    from cargowatch.registers.specs import TABLES
    from cargowatch.risk.context import read

    r = TABLES["releases"]
    r_schema = {"release_id": pl.Int64, "ts": "time", "container": pl.String,
                "action": pl.String, "actor_party_id": pl.String,
                "truck_plate": pl.String}  # fmt: skip
    r_columns = (r.c.id, r.c.ts, r.c.container, r.c.action, r.c.actor_party_id, r.c.truck_plate)
    of_box = select(*r_columns).where(r.c.org_id == org_id, r.c.container == row["container"])
    releases = read(conn, of_box, r_schema)
    near = [and_(r.c.truck_plate == plate, r.c.ts.between(ts - TRUCK_DAYS, ts + TRUCK_DAYS))
            for plate, ts in _own_pickups(releases, row).iter_rows()]  # fmt: skip
    if near:
        releases = pl.concat([releases, read(conn, select(*r_columns).where(
            r.c.org_id == org_id, or_(*near)).limit(2000), r_schema)],
            how="vertical_relaxed").unique("release_id")  # fmt: skip
    s_schema = {"trip_id": pl.Int64, "seal": pl.String, "event_id": pl.Int64}
    s_columns = (TripSeal.trip_id, TripSeal.seal, TripSeal.event_id)
    seals = read(conn, select(*s_columns).where(TripSeal.org_id == org_id,
                                                TripSeal.trip_id == trip_id), s_schema)  # fmt: skip
    ranges = []
    for seal, prefix, number in _seal_parts(seals).select("seal", "prefix", "number").iter_rows():
        width = len(seal) - len(prefix)
        low, high = max(0, number - SEAL_BATCH), number + SEAL_BATCH
        ranges.append(
            TripSeal.seal.between(f"{prefix}{low:0{width}d}", f"{prefix}{high:0{width}d}")
        )
    if ranges:
        seals = pl.concat([seals, read(conn, select(*s_columns).where(
            TripSeal.org_id == org_id, or_(*ranges)).limit(2000), s_schema)],
            how="vertical_relaxed").unique(["trip_id", "seal"])  # fmt: skip
    return releases, seals


class NotFoundTrip(Exception):
    """An incident's trip is gone from the store."""
