"""Reading scores and targets, and recording inspection outcomes, through the caller's rights."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Alert, Trip
from cargowatch.custody.service import get_trip, visible_trips
from cargowatch.db.base import sqlite_timestamp
from cargowatch.db.bulk import bulk_write
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.registers.specs import REGISTERS, TABLES
from cargowatch.risk.models import Assessment, QueuePick, RiskModel, SavedFilter, ScoreChange
from cargowatch.risk.privacy import PersonalGate
from cargowatch.risk.settings import risk_settings

INSPECTIONS = TABLES["inspections"]
MANIFEST = TABLES["manifest"]


@dataclass(frozen=True)
class Target:
    """A trip in the targeting queue, with why and how it was picked."""

    trip_id: int
    container: str
    booking_ref: str | None
    score: float
    origin: str | None
    destination: str | None
    started_at: datetime | None
    ended_at: datetime | None
    inspected: bool
    reasons: list[dict[str, Any]]
    # score: by its rank; explore-random: drawn at random among the rest of the queue;
    # explore-uncertain: among the rest, the trip whose findings outcomes know least about
    picked: str = "score"
    propensity: float = 1.0  # the chance it had to be picked so (inverse weights outcomes)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (CLI --format json and the API)."""
        out = asdict(self)
        for name in ("started_at", "ended_at"):
            out[name] = out[name].isoformat() if out[name] else None
        return out


def inspection_of_trip(principal: Principal) -> ColumnElement[bool]:
    """An inspection row that belongs to a trip: recorded by the trip's organisation or by the
    caller (Customs inspecting a carrier's shared trip), on its container and booking (or
    within its dates when the inspection names no booking)."""
    i = INSPECTIONS
    return and_(
        or_(i.c.org_id == Trip.org_id, i.c.org_id == principal.org_id),
        i.c.container == Trip.container,
        or_(
            i.c.booking_ref == Trip.booking_ref,
            and_(
                func.coalesce(i.c.booking_ref, "") == "",
                i.c.ts >= Trip.started_at,
                i.c.ts <= Trip.ended_at,
            ),
        ),
    )


def _inspected(principal: Principal) -> ColumnElement[bool]:
    """Whether a trip's container was inspected during or soon after the trip."""
    return exists().where(inspection_of_trip(principal))


MIN_POINTS = 0.0005  # a finding that adds less than 0.05 points is no reason to inspect
PICKS = ("score", "explore-random", "explore-uncertain")


def eligible() -> ColumnElement[bool]:
    """A trip that can carry contraband to a consignee: laden, with a booking. Empty
    repositioning legs stay in custody and on the trip page, not in the queue."""
    return and_(Trip.booking_ref.is_not(None), Trip.laden.is_(True))


def worth_sentence(worth: dict[str, Any] | None, days: int) -> str:
    """What a finding was worth here, in words, from the counts stored with it."""
    worth = worth or {}
    n, k, port = worth.get("inspected"), worth.get("seized"), worth.get("port")
    if not n:
        return "No inspected trip carried it yet: it weighs what its rule gives it."
    where = f" at {port}" if port else ""
    return f"Found in {k} of {n} inspected trips that carried it{where} in {days} days."


def with_worth(findings: list[dict[str, Any]], days: int) -> list[dict[str, Any]]:
    """The findings with what each was worth here added to its reason."""
    out = []
    for f in findings:
        if "worth" in f and f.get("rule") != "model-adjustment":
            reason = str(f.get("reason", "")).rstrip(".")
            f = {**f, "reason": f"{reason}. {worth_sentence(f['worth'], days)}"}
        out.append(f)
    return out


def top_reasons(findings: str | bytes, kept: int, days: int = 365) -> list[dict[str, Any]]:
    """The findings that added most to a score, strongest first (those that add nothing are
    findings, not reasons), each with what it was worth here."""
    decoded: list[dict[str, Any]] = msgspec.json.decode(findings)
    return with_worth([f for f in decoded if f.get("score", 0) >= MIN_POINTS][:kept], days)


def finding_names() -> list[str]:
    """Every finding a score can carry (rules' findings, legs included)."""
    from cargowatch.custody.checks import LEGS
    from cargowatch.risk.engine import RULES

    names = {n for _, rule in RULES for n in rule.findings} | {"lane-anomaly"}
    legged = ("seal-mismatch", "seal-changed", "reseal-without-inspection", "seal-removed")
    names |= {f"{base}-{leg}" for base in legged if base in names for leg in LEGS}
    return sorted(names)


def explore_share(session: Session, org_id: int) -> float:
    """The organisation's exploration share of the queue (its own setting, else the default)."""
    from cargowatch.orgs.models import Organisation

    own = session.scalar(select(Organisation.explore_share).where(Organisation.id == org_id))
    return float(own) if own is not None else risk_settings().explore_share


ORDERS = {
    "score": "highest score first",
    "score-asc": "lowest score first",
    "newest": "newest trip first",
    "oldest": "oldest trip first",
    "container": "by container",
    "route": "by route",
}


def queue(
    session: Session,
    *,
    principal: Principal,
    budget: float | None = None,
    limit: int | None = None,
    offset: int = 0,
    port: str | None = None,
    lane: str | None = None,
    carrier: str | None = None,
    alert_type: str | None = None,
    finding: str | None = None,
    min_score: float | None = None,
    include_inspected: bool = False,
    order: str = "score",
    explore: float | None = None,
    today: date | None = None,
    since: date | None = None,
    until: date | None = None,
) -> tuple[list[Target], int]:
    """A page of the caller's targeting queue and how many trips the filters leave.

    budget: the top share of those trips; port: loaded or discharged there; lane: origin and
    destination countries as 'EC>BE'; carrier: the manifest's carrier code; alert_type: trips
    with such a custody alert; since/until: trips that started on or after since and before
    until (UTC days). explore: the share of the queue picked to explore (None: the
    organisation's setting; 0: the pure ranking); exploration applies to the first page of a
    queue by score, is the same all day, and each pick is recorded with its chance."""
    principal.require("events:read")
    if budget is not None and not 0 < budget <= 1:
        raise InvalidInput(f"budget must be a share between 0 and 1, got {budget}")
    if order not in ORDERS:
        raise InvalidInput(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if explore is not None and not 0 <= explore < 1:
        raise InvalidInput(f"explore must be a share from 0 to below 1, got {explore}")
    query = (
        select(
            Trip, Assessment.score, Assessment.findings, _inspected(principal).label("inspected")
        )
        .join(Assessment, Assessment.trip_id == Trip.id)
        .where(visible_trips(principal, "risk"), eligible())
    )
    if port:
        code = port.strip().upper()
        query = query.where(or_(Trip.origin == code, Trip.destination == code))
    if lane:
        origin, _, destination = lane.strip().upper().partition(">")
        if origin:
            query = query.where(Trip.origin.like(f"{origin[:2]}%"))
        if destination:
            query = query.where(Trip.destination.like(f"{destination[:2]}%"))
    if carrier:
        m = MANIFEST
        query = query.where(
            exists().where(
                m.c.org_id == Trip.org_id,
                m.c.container == Trip.container,
                m.c.booking_ref == Trip.booking_ref,
                m.c.carrier_code == carrier.strip().upper(),
            )
        )
    # filters that an index answers name their trips by a subquery the store reads once, so
    # that counting them walks that index, not every trip
    if alert_type:
        query = query.where(
            Trip.id.in_(select(Alert.trip_id).where(Alert.type == alert_type.strip()))
        )
    if finding:
        name = finding.strip()
        if name not in finding_names():
            raise InvalidInput(f"finding: no finding named {name!r}")
        # findings are stored as JSON text: the rule's name is matched as a whole value
        query = query.where(Assessment.findings.like(f'%"rule":"{name}"%'))
    if min_score is not None:
        query = query.where(
            Assessment.score >= min_score,
            Trip.id.in_(select(Assessment.trip_id).where(Assessment.score >= min_score)),
        )
    if since is not None or until is not None:
        begin = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
        end = datetime(until.year, until.month, until.day, tzinfo=UTC) if until else None
        window = select(Trip.id).where(
            Trip.started_at >= begin if begin else Trip.started_at.is_not(None),
            Trip.started_at < end if end else Trip.started_at.is_not(None),
        )
        query = query.where(Trip.id.in_(window))
    if not include_inspected:
        query = query.where(~_inspected(principal))
    total = int(
        session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )
    if budget is not None:
        total = min(total, math.ceil(budget * total))
        limit = total if limit is None else min(limit, total)
    share = explore_share(session, principal.org_id) if explore is None else explore
    shown = limit if limit is not None else total
    n_explore = round(share * shown) if order == "score" and offset == 0 and shown >= 2 else 0
    settings = risk_settings()
    kept = settings.reasons_kept  # the strongest findings are the reasons shown
    days = settings.outcome_window_days
    if n_explore:
        picks = _explored(session, principal, query, shown, n_explore, kept, today, days, total)
        return picks, total
    source, keys = _ordering(order)
    if budget is not None:  # the budget is the top share by score, whatever the order shown
        best = query.order_by(Assessment.score.desc(), Trip.id.desc()).limit(total)
        ids = [row[0].id for row in session.execute(best)]
        query = query.where(Trip.id.in_(ids)).order_by(*keys)
        if offset:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(int(limit))
        page = list(session.execute(query))
    else:
        page = _page(session, query, source, keys, offset, limit)
    gate = PersonalGate(session, principal)
    rows = [
        _target(trip, score, findings, was_inspected, kept, days=days, gate=gate)
        for trip, score, findings, was_inspected in page
    ]
    gate.audit("queue")
    from cargowatch.sharing.service import record_use

    record_use(session, principal, (trip.org_id for trip, *_ in page), "risk", len(page))
    return rows, total


def _ordering(order: str) -> tuple[Select[Any], tuple[Any, ...]]:
    """For an order of the queue: the trip ids in that order, read from one index alone, and
    the same order for the queue's rows (ties broken by trip id, so pages never overlap)."""
    if order == "newest":
        keys: tuple[Any, ...] = (Trip.started_at.desc(), Trip.id.desc())
        return select(Trip.id).order_by(*keys), keys
    if order == "oldest":
        keys = (Trip.started_at.asc(), Trip.id.asc())
        return select(Trip.id).order_by(*keys), keys
    if order == "container":
        keys = (Trip.container, Trip.id)
        return select(Trip.id).order_by(*keys), keys
    if order == "route":
        keys = (Trip.origin, Trip.destination, Trip.id)
        return select(Trip.id).order_by(*keys), keys
    if order == "score-asc":
        source = select(Assessment.trip_id).order_by(Assessment.score, Assessment.trip_id)
        return source, (Assessment.score, Trip.id)
    source = select(Assessment.trip_id).order_by(Assessment.score.desc(), Assessment.trip_id.desc())
    return source, (Assessment.score.desc(), Trip.id.desc())


PAGE_WINDOW = 1000  # trip ids read ahead in the queue's order for one page
WINDOW_LIMIT = 64_000  # past this many, the store filters and sorts the whole queue instead


def _page(
    session: Session,
    query: Select[*tuple[Any, ...]],
    source: Select[Any],
    keys: tuple[Any, ...],
    offset: int,
    limit: int | None,
) -> list[Any]:
    """A page of the queue in the given order, without filtering and sorting every trip:
    windows of trip ids are read in order from one index, the queue's filters are applied to
    each window, until the page is full. Windows double; a filter that keeps few trips ends
    with one query over the whole queue."""
    if limit is None:
        return list(session.execute(query.order_by(*keys).offset(offset)))
    need = offset + limit
    ids_of = query.with_only_columns(Trip.id)  # the same filters, reading ids alone
    got: list[int] = []
    start, size = 0, max(PAGE_WINDOW, 4 * need)
    ids: int | None = None  # how many ids there are, counted when a window is not enough
    while start + size <= WINDOW_LIMIT and len(got) < need:
        window = source.offset(start).limit(size).scalar_subquery()
        part = ids_of.where(Trip.id.in_(window)).order_by(*keys).limit(need - len(got))
        got += session.scalars(part).all()
        if len(got) >= need:
            break
        if ids is None:
            ids = int(session.scalar(select(func.count()).select_from(source.subquery())) or 0)
        if start + size >= ids:
            break  # every trip was in a window
        start, size = start + size, size * 2
    else:
        if len(got) < need:
            rest = ids_of.where(Trip.id.not_in(source.limit(start).scalar_subquery()))
            got += session.scalars(rest.order_by(*keys).limit(need - len(got))).all()
    page = got[offset:need]
    if not page:
        return []
    rows = {row[0].id: row for row in session.execute(query.where(Trip.id.in_(page)))}
    return [rows[i] for i in page if i in rows]


def _target(
    trip: Trip,
    score: float,
    findings: str,
    inspected: Any,
    kept: int,
    picked: str = "score",
    propensity: float = 1.0,
    days: int = 365,
    gate: PersonalGate | None = None,
) -> Target:
    reasons = top_reasons(findings, kept, days)
    if gate is not None:
        reasons = gate.apply(reasons, owner_org_id=trip.org_id, trip_id=trip.id)
    return Target(
        trip.id,
        trip.container,
        trip.booking_ref,
        score,
        trip.origin,
        trip.destination,
        trip.started_at,
        trip.ended_at,
        bool(inspected),
        reasons,
        picked,
        propensity,
    )


def _explored(
    session: Session,
    principal: Principal,
    query: Select[*tuple[Any, ...]],
    shown: int,
    n_explore: int,
    kept: int,
    today: date | None,
    days: int,
    total: int,
) -> list[Target]:
    """The top of the ranking, then the exploration picks: half the trips whose findings the
    outcomes know least about, half drawn at random (the same draw all day); each pick is
    recorded with the chance it had, for the model to weigh the outcome it leads to."""
    day = today or datetime.now(UTC).date()
    source, keys = _ordering("score")
    top = _page(session, query, source, keys, 0, shown - n_explore)
    taken = [row[0].id for row in top]
    rest = query.where(Trip.id.not_in(taken)) if taken else query
    pool = max(total - len(taken), 0)  # the queue's trips less the top: all of them eligible
    n_uncertain = n_explore // 2
    by_doubt = select(Assessment.trip_id).order_by(
        Assessment.uncertainty.desc(), Assessment.trip_id.desc()
    )
    uncertain = _page(
        session, rest.where(Assessment.uncertainty > 0), by_doubt,
        (Assessment.uncertainty.desc(), Trip.id.desc()), 0, n_uncertain,
    )  # fmt: skip
    chosen = {row[0].id for row in uncertain}
    rest = rest.where(Trip.id.not_in(chosen)) if chosen else rest
    seed = (day.toordinal() % 9973) * 1009 + principal.org_id  # the same draw all that day
    n_random = n_explore - len(uncertain)
    drawn = _draw(session, rest, n_random, seed, pool - len(uncertain))
    chance = n_random / max(pool - len(uncertain), 1)
    g = PersonalGate(session, principal)
    out = [_target(t, sc, f, i, kept, days=days, gate=g) for t, sc, f, i in top]
    out += [
        _target(t, sc, f, i, kept, "explore-uncertain", 1.0, days=days, gate=g)
        for t, sc, f, i in uncertain
    ]
    out += [
        _target(t, sc, f, i, kept, "explore-random", min(1.0, chance), days=days, gate=g)
        for t, sc, f, i in drawn
    ]
    g.audit("queue")
    _record_picks(session, principal.org_id, day, out)
    return out


def _draw(
    session: Session, rest: Select[*tuple[Any, ...]], n: int, seed: int, pool: int
) -> list[Any]:
    """n trips drawn at random from the pool of trips rest selects, the same for a seed. A
    small pool is read as ids and drawn from; from a large one, trip ids are drawn from their
    range a few dozen at a time, each kept when rest holds it (ids are dense, so every trip
    has about the same chance)."""
    if n <= 0 or pool <= 0:
        return []
    rng = random.Random(seed)
    ids_of = rest.with_only_columns(Trip.id)
    chosen: list[int] = []
    if pool <= SMALL_POOL:
        every = sorted(session.scalars(ids_of).all())
        chosen = rng.sample(every, min(n, len(every)))
    else:
        low = session.scalar(select(func.min(Trip.id)))  # apart: each is one step of an index
        high = session.scalar(select(func.max(Trip.id)))
        seen: set[int] = set()
        for _ in range(50):
            if low is None or high is None or len(chosen) >= n:
                break
            batch = [i for i in (rng.randint(low, high) for _ in range(64)) if i not in seen]
            seen.update(batch)
            held = set(session.scalars(ids_of.where(Trip.id.in_(batch))).all())
            chosen += [i for i in batch if i in held][: n - len(chosen)]
    if not chosen:
        return []
    rows = {row[0].id: row for row in session.execute(rest.where(Trip.id.in_(chosen)))}
    return [rows[i] for i in chosen if i in rows]


SMALL_POOL = 20_000  # a pool this small is drawn from its ids; a larger one by sampling ids


def _record_picks(session: Session, org_id: int, day: date, picks: list[Target]) -> None:
    """Store the day's exploration picks once each (a second read of the queue adds none)."""
    explored = [t for t in picks if t.picked != "score"]
    if not explored:
        return
    known = set(
        session.scalars(
            select(QueuePick.trip_id).where(
                QueuePick.org_id == org_id,
                QueuePick.day == day,
                QueuePick.trip_id.in_([t.trip_id for t in explored]),
            )
        )
    )
    now = datetime.now(UTC)
    for t in explored:
        if t.trip_id not in known:
            session.add(
                QueuePick(
                    org_id=org_id,
                    trip_id=t.trip_id,
                    day=day,
                    how=t.picked,
                    propensity=t.propensity,
                    created_at=now,
                )
            )
    session.flush()


def targets(
    session: Session,
    *,
    principal: Principal,
    budget: float | None = None,
    limit: int | None = None,
    port: str | None = None,
    min_score: float | None = None,
    include_inspected: bool = False,
    explore: float | None = None,
    finding: str | None = None,
) -> list[Target]:
    """The caller's targeting queue, best first: the top share (budget) or number (limit) of
    the scored trips it may see, optionally at one port (origin or destination), with its
    share of exploration picks (explore; None: the organisation's setting)."""
    rows, _ = queue(
        session,
        principal=principal,
        budget=budget,
        limit=limit,
        port=port,
        min_score=min_score,
        include_inspected=include_inspected,
        explore=explore,
        finding=finding,
    )
    return rows


def assessment(session: Session, *, principal: Principal, trip_id: int) -> dict[str, Any]:
    """A trip's score with every finding (not only the top reasons)."""
    trip = get_trip(session, principal=principal, trip_id=trip_id, data_class="risk")
    row = session.scalar(select(Assessment).where(Assessment.trip_id == trip.id))
    if row is None:
        raise NotFound(f"trip {trip_id} has no score yet (run 'cargowatch score')")
    metrics = session.scalar(
        select(RiskModel.metrics).where(
            RiskModel.org_id == row.org_id, RiskModel.version == row.model_version
        )
    )
    base = msgspec.json.decode(metrics).get("base_rate") if metrics else None
    gate = PersonalGate(session, principal)
    out = {
        "trip_id": trip.id,
        "score": row.score,
        "base_rate": base,  # the score of a trip with no finding, 0..1
        "rules": row.rules,
        "anomaly": row.anomaly,
        "learned": row.learned,
        "uncertainty": row.uncertainty,
        "model_version": row.model_version,
        "scored_at": row.scored_at.isoformat(),
        "findings": gate.apply(
            with_worth(msgspec.json.decode(row.findings), risk_settings().outcome_window_days),
            owner_org_id=trip.org_id,
            trip_id=trip.id,
        ),
    }
    gate.audit("trip")
    return out


OUTCOME_FIELDS = {f.name: f for f in REGISTERS["inspections"].fields}


def record_outcome(
    session: Session,
    *,
    principal: Principal,
    trip_id: int,
    result: str,
    method: str = "PHYSICAL",
    at: datetime | None = None,
    locode: str | None = None,
    substance: str | None = None,
    quantity_kg: float | None = None,
    concealment: str | None = None,
    insider_suspected: str | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """Store the outcome of inspecting the container of a trip the caller may see, under the
    caller's organisation, once (a retry with the same reference stores nothing new); returns
    the stored row with the trip's organisation (owner_org_id)."""
    principal.require("events:write")
    trip = get_trip(session, principal=principal, trip_id=trip_id)
    values = {
        "result": result,
        "method": method,
        "concealment": concealment,
        "insider_suspected": insider_suspected,
    }
    for name, value in values.items():
        allowed = OUTCOME_FIELDS[name].values
        if value is not None and allowed and value not in allowed:
            raise InvalidInput(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    when = (at or datetime.now(UTC)).astimezone(UTC)
    when = when.replace(microsecond=0)
    row: dict[str, Any] = {
        "org_id": principal.org_id,
        "ts": when,
        "container": trip.container,
        "booking_ref": trip.booking_ref,
        "locode": locode or trip.destination,
        "authority_party_id": None,
        "method": method,
        "result": result,
        "substance": substance,
        "quantity_kg": quantity_kg,
        "concealment": concealment,
        "insider_suspected": insider_suspected,
        "reference": reference or f"cargowatch-{trip.id}-{when:%Y%m%dT%H%M%S}",
        "run_id": None,
    }
    written = dict(row)
    if session.get_bind().dialect.name == "sqlite":  # the bulk path writes SQLite's text form
        written["ts"] = sqlite_timestamp(when)
    new = bulk_write(
        session,
        INSPECTIONS,
        list(written),
        [tuple(written.values())],
        key=("org_id", "ts", "container", "method", "reference"),
        update=False,
    )
    return {
        **row,
        "ts": when.isoformat(),
        "trip_id": trip.id,
        "owner_org_id": trip.org_id,
        "new": bool(new),
    }


def performance(session: Session, *, principal: Principal) -> dict[str, Any]:
    """How targeting has done on the trips inspected so far: hit rates by score band."""
    principal.require("events:read")
    i = INSPECTIONS
    rows = session.execute(
        select(Assessment.score, i.c.result)
        .join(Trip, Trip.id == Assessment.trip_id)
        .join(i, inspection_of_trip(principal))
        .where(visible_trips(principal, "risk"))
    ).all()
    bands = [(80, 101), (60, 80), (40, 60), (20, 40), (0, 20)]
    table = []
    for low, high in bands:
        inside = [r for s, r in rows if low <= s < high]
        seized = sum(1 for r in inside if r == "SEIZURE")
        table.append(
            {
                "band": f"{low}-{min(high, 100)}",
                "inspected": len(inside),
                "seizures": seized,
                "hit_rate": round(seized / len(inside), 4) if inside else None,
            }
        )
    seized = sum(1 for _, r in rows if r == "SEIZURE")
    return {
        "inspected": len(rows),
        "seizures": seized,
        "irregularities": sum(1 for _, r in rows if r == "IRREGULARITY"),
        "hit_rate": round(seized / len(rows), 4) if rows else None,
        "by_score": table,
    }


def model_findings(
    session: Session, *, principal: Principal, version: int | None = None
) -> tuple[int, dict[str, Any]]:
    """Per finding of a model of the caller's organisation (default the newest): how often
    it fires, how often inspections of trips carrying it found something, prior and weight."""
    principal.require("events:read")
    query = select(RiskModel).where(RiskModel.org_id == principal.org_id)
    if version is not None:
        query = query.where(RiskModel.version == version)
    row = session.scalar(query.order_by(RiskModel.version.desc()))
    if row is None:
        raise NotFound("no model yet (run 'cargowatch score')")
    metrics = msgspec.json.decode(row.metrics)
    table = metrics.get("findings") or {}
    ordered = dict(sorted(table.items(), key=lambda kv: -float(kv[1].get("weight", 0))))
    return row.version, ordered


def score_history(session: Session, *, principal: Principal, trip_id: int) -> list[dict[str, Any]]:
    """How a trip's score changed, newest first: from what to what, when, and why (what
    started the rescoring, a new model, findings that came or went)."""
    trip = get_trip(session, principal=principal, trip_id=trip_id, data_class="risk")
    out = []
    for c in session.scalars(
        select(ScoreChange)
        .where(ScoreChange.trip_id == trip.id)
        .order_by(ScoreChange.at.desc(), ScoreChange.id.desc())
        .limit(200)
    ):
        why = [c.cause]
        if c.model_before is not None and c.model_after != c.model_before:
            why.append(f"model v{c.model_before} replaced by v{c.model_after}")
        if c.added:
            why.append("new findings: " + ", ".join(c.added.split(",")))
        if c.removed:
            why.append("findings gone: " + ", ".join(c.removed.split(",")))
        out.append(
            {
                "at": c.at,
                "before": c.score_before,
                "after": c.score_after,
                "model_before": c.model_before,
                "model_after": c.model_after,
                "added": [x for x in c.added.split(",") if x],
                "removed": [x for x in c.removed.split(",") if x],
                "cause": c.cause,
                "why": "; ".join(why),
            }
        )
    return out


SAVED_FILTERS_PER_USER = 50
VIEW_KEYS = ("port", "lane", "carrier", "alert_type", "finding", "size", "min_score", "order",
             "include_inspected", "since", "until")  # fmt: skip


def clean_view_query(query: str) -> str:
    """A queue view's filters as a query string: the queue's own filters only, each checked
    (a bad one is refused with its name); the default order is left out."""
    from urllib.parse import parse_qsl, urlencode

    given = dict(parse_qsl(query.strip().lstrip("?"), keep_blank_values=False))
    kept = {k: given[k].strip() for k in VIEW_KEYS if given.get(k, "").strip()}
    if "min_score" in kept:
        try:
            value = float(kept["min_score"])
        except ValueError:
            value = -1.0
        if not 0 <= value <= 100:
            raise InvalidInput(
                f"min_score: expected a number from 0 to 100, got {kept['min_score'][:20]!r}"
            )
    for day in ("since", "until"):
        if day in kept:
            try:
                kept[day] = date.fromisoformat(kept[day]).isoformat()
            except ValueError:
                raise InvalidInput(
                    f"{day}: expected a day as YYYY-MM-DD, got {kept[day][:12]!r}"
                ) from None
    if kept.get("order", "score") not in ORDERS:
        raise InvalidInput(
            f"order: expected one of {', '.join(ORDERS)}, got {kept['order'][:20]!r}"
        )
    if kept.get("order") == "score":
        del kept["order"]
    if "finding" in kept and kept["finding"] not in finding_names():
        raise InvalidInput(f"finding: no finding named {kept['finding'][:64]!r}")
    if kept.get("size", "25") not in ("25", "50", "100"):
        raise InvalidInput(f"size: expected 25, 50 or 100, got {kept['size'][:10]!r}")
    if kept.get("include_inspected", "1") not in ("1", "0"):
        raise InvalidInput("include_inspected: expected 1 or 0")
    return urlencode(kept)


def saved_filters(session: Session, *, principal: Principal) -> list[SavedFilter]:
    """The queue views the caller saved, by name."""
    principal.require("events:read")
    return list(
        session.scalars(
            select(SavedFilter)
            .where(SavedFilter.user_id == principal.user_id)
            .order_by(SavedFilter.name)
        )
    )


def save_filter(session: Session, *, principal: Principal, name: str, query: str) -> SavedFilter:
    """Keep a queue view under a name (the same name replaces it)."""
    principal.require("events:read")
    name = " ".join(name.split())[:80]
    if not name:
        raise InvalidInput("name: give the view a name")
    if len(query) > 1000:
        raise InvalidInput("query: the filters are too long to keep")
    query = clean_view_query(query)
    row = session.scalar(
        select(SavedFilter).where(
            SavedFilter.user_id == principal.user_id, SavedFilter.name == name
        )
    )
    if row is None:
        if len(saved_filters(session, principal=principal)) >= SAVED_FILTERS_PER_USER:
            raise InvalidInput(f"at most {SAVED_FILTERS_PER_USER} saved views; delete one first")
        row = SavedFilter(
            org_id=principal.org_id,
            user_id=principal.user_id,
            name=name,
            query=query,
            created_at=datetime.now(UTC),
        )
        session.add(row)
    else:
        row.query = query
    session.flush()
    return row


def delete_filter(session: Session, *, principal: Principal, filter_id: int) -> str:
    """Forget one of the caller's saved views; returns its name."""
    row = session.get(SavedFilter, filter_id)
    if row is None or row.user_id != principal.user_id:
        raise NotFound(f"no saved view {filter_id}")
    name = row.name
    session.delete(row)
    session.flush()
    return name
