"""Backtest: ingest a simulated world into a store of its own, learn from the period with
outcomes, score as of its end, and judge the ranking of the later trips (those that can carry
contraband: laden, with a booking) against the world's truth.json.

It reports recall and precision at inspection budgets, lift and average precision, recall per
modus operandi and per rule family alone, the same for three naive rules (a seal not declared,
a door opened outside a known site, a pick-up by another party than the release names), how
often each finding fired on honest and on contaminated trips and what the model made of it,
and calibration (reliability by band, Brier score). With a training world it learns on that
world and judges another one (made with other seeds and noise) without its outcomes."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, func, select

from cargowatch.exceptions import InvalidInput

BUDGETS = (0.01, 0.02, 0.05)
BANDS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0001)


@dataclass
class Ranked:
    """The judged trips with the score (0-100), each family's part, the naive rules' count and
    the truth; the findings they carried; the metrics of the model that scored them."""

    frame: pl.DataFrame  # trip_id, trip_key, score, p, naive, f_*, positive, mo
    families: list[str]
    findings: pl.DataFrame = field(default_factory=pl.DataFrame)  # trip_id, rule, points
    model: dict[str, Any] = field(default_factory=dict)
    train_world: str | None = None
    insiders: dict[str, Any] | None = None  # post-incident figures, when the truth names them


def _truth(world: Path) -> tuple[dict[str, Any], Path]:
    truth_file, data = world / "truth.json", world / "data"
    if not truth_file.is_file():
        raise InvalidInput(f"{truth_file}: no truth.json (make one with 'cargowatch simulate')")
    if not data.is_dir():
        data = world
    return json.loads(truth_file.read_text()), data


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _planted(truth: dict[str, Any]) -> dict[str, str]:
    """trip key -> modus operandi of every contaminated trip in truth.json."""
    out = {}
    for s in truth.get("scenarios", []):
        key = s.get("trip_key") or f"{s.get('container')}/{s.get('booking_ref') or '-'}"
        out[key] = s.get("mo") or "unknown"
    return out


@dataclass
class Store:
    """A world ingested into a store of its own, with its custody built."""

    engine: Engine
    principal: Any
    split: datetime  # the end of the period with outcomes
    end: datetime | None  # the end of the world's period


def load_world(
    world: Path, path: Path, progress: Callable[[str], None] | None = None
) -> tuple[Store, dict[str, Any]]:
    """Ingest a world into the SQLite store at path and build custody (a store that holds
    the world already is reused as it is)."""
    from cargowatch.auth.service import create_user, principal_for_username
    from cargowatch.custody.engine import build
    from cargowatch.custody.models import Trip
    from cargowatch.db.engine import ensure_schema, make_engine, unit_of_work
    from cargowatch.ingest.flows import ingest_paths
    from cargowatch.orgs.service import create_org

    step = progress or (lambda _: None)
    truth, data = _truth(world)
    fresh = not path.exists()
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    if fresh:
        with unit_of_work(engine) as s:
            create_org(s, actor="backtest", slug="backtest", name="Backtest", kind="CUSTOMS")
            create_user(
                s, actor="backtest", org_slug="backtest", username="backtest", role="analyst"
            )
    with unit_of_work(engine) as s:
        principal = principal_for_username(s, "backtest")
    if fresh:
        step(f"ingesting {data}")
        ingest_paths(principal=principal, paths=[data], engine=engine, update_custody=False)
        step("building custody")
        with unit_of_work(engine) as s:
            build(s, org_id=principal.org_id)
        if (world / "referrals.ndjson").exists():
            step("sending the world's referrals")
            load_referrals(engine, world / "referrals.ndjson", principal.org_id)
    split = _time((truth.get("period") or {}).get("outcomes_until"))
    if split is None:  # the newest outcome known, else the middle of the trips
        from cargowatch.registers.specs import TABLES

        with unit_of_work(engine) as s:
            newest = s.scalar(select(func.max(TABLES["inspections"].c.ts)))
            first, last = s.execute(
                select(func.min(Trip.started_at), func.max(Trip.started_at))
            ).one()
        split = newest or (first + (last - first) / 2 if first and last else None)
        if split is None:
            raise InvalidInput(f"{data}: no trips to judge")
        split = split if split.tzinfo else split.replace(tzinfo=UTC)
    end = _time((truth.get("period") or {}).get("end"))
    return Store(engine, principal, split, end), truth


def load_referrals(engine: Engine, path: Path, customs_org_id: int) -> int:
    """Send a world's referrals (one API body per line) from an industry organisation of
    the store to the judged Customs organisation, each sent two hours after what it reports,
    through a national point of contact for every country they name. Returns how many."""
    from cargowatch.auth.service import create_user, principal_for_username
    from cargowatch.db.engine import unit_of_work
    from cargowatch.orgs.service import create_org
    from cargowatch.referrals import service
    from cargowatch.referrals.models import Spoc

    bodies = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    countries = sorted({str(b.get("place") or "")[:2] for b in bodies} - {""})
    if not countries:
        return 0
    with unit_of_work(engine) as s:
        create_org(s, actor="backtest", slug="backtest-industry", name="Industry", kind="CARRIER")
        create_user(s, actor="backtest", org_slug="backtest-industry",
                    username="backtest-referrer", role="analyst")  # fmt: skip
        s.add(Spoc(org_id=customs_org_id, name="national", jurisdiction=",".join(countries),
                   weekdays="1,2,3,4,5,6,7", opens="00:00", closes="23:59"))  # fmt: skip
    with unit_of_work(engine) as s:
        referrer = principal_for_username(s, "backtest-referrer")
        for body in bodies:
            seen = _time(body.pop("observed_at", None))
            sent = (seen or datetime.now(UTC)) + timedelta(hours=2)
            service.submit(s, principal=referrer, observed_at=seen, now=sent, **body)
    return len(bodies)


def run(
    world: Path,
    *,
    store: Path | None = None,
    train_world: Path | None = None,
    train_store: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Ranked:
    """Learn (on world, or on train_world), score world as of its split, return the judged
    ranking. store / train_store: SQLite files to keep (and reuse when they exist)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.risk import engine as risk
    from cargowatch.risk.models import RiskModel

    step = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="cargowatch-backtest-") as tmp:
        judged, truth = load_world(world, store or Path(tmp) / "judged.db", progress)
        org = judged.principal.org_id
        if train_world is not None:
            learner, _ = load_world(train_world, train_store or Path(tmp) / "train.db", progress)
            now = learner.end or learner.split
            step(f"learning on {train_world} up to {now:%Y-%m-%d}")
            with unit_of_work(learner.engine) as s:
                model = risk.train(
                    s, org_id=learner.principal.org_id, trained_by="backtest", now=now
                )
                blob, metrics, features = model.blob, model.metrics, model.features
            learner.engine.dispose()
            with unit_of_work(judged.engine) as s:
                version = s.scalar(select(func.max(RiskModel.version))) or 0
                s.add(
                    RiskModel(
                        org_id=org,
                        version=version + 1,
                        trained_at=datetime.now(UTC),
                        trained_by=f"backtest on {train_world.name}",
                        features=features,
                        metrics=metrics,
                        blob=blob,
                    )
                )
        else:
            step(f"learning from outcomes up to {judged.split:%Y-%m-%d}")
            with unit_of_work(judged.engine) as s:
                risk.train(s, org_id=org, trained_by="backtest", now=judged.split)
        step("scoring")
        with unit_of_work(judged.engine) as s:
            risk.score(
                s,
                org_id=org,
                now=judged.split,
                learn=False,
                own_outcomes=train_world is None,
                reports_until=judged.end,  # referrals sent during the later trips count
            )
        ranked = judge(judged, truth)
        if truth.get("insiders") is not None:  # the post-incident analysis, judged too
            from cargowatch.incidents.judge import judge as judge_incidents

            step("judging the post-incident analysis and the insider ranking")
            ranked.insiders = judge_incidents(judged.engine, judged.principal, truth)
        judged.engine.dispose()
    ranked.train_world = str(train_world) if train_world else None
    return ranked


def judge(store: Store, truth: dict[str, Any]) -> Ranked:
    """The later-period targets of the store with their scores, findings and the truth."""
    from cargowatch.custody.models import Trip
    from cargowatch.risk.models import Assessment, RiskModel

    with store.engine.connect() as conn:
        scores = conn.execute(
            select(Trip.id, Trip.trip_key, Trip.started_at, Assessment.score, Assessment.findings)
            .join(Assessment, Assessment.trip_id == Trip.id)
            .where(Trip.booking_ref.is_not(None), Trip.laden.is_(True))
        ).all()
        metrics = conn.execute(
            select(RiskModel.metrics).order_by(RiskModel.version.desc()).limit(1)
        ).scalar()
    frame = pl.DataFrame(
        [(a, b, c, d) for a, b, c, d, _ in scores],
        schema={
            "trip_id": pl.Int64,
            "trip_key": pl.String,
            "started_at": pl.Datetime("us"),
            "score": pl.Float64,
        },
        orient="row",
    )
    frame = frame.with_columns(
        pl.col("started_at").dt.replace_time_zone("UTC", non_existent="null"),
        (pl.col("score") / 100).alias("p"),
    ).filter(pl.col("started_at") >= store.split)
    findings = (
        pl.DataFrame(
            [(t, f) for t, _, _, _, f in scores],
            schema={"trip_id": pl.Int64, "findings": pl.String},
            orient="row",
        )
        .join(frame.select("trip_id"), on="trip_id", how="semi")
        .with_columns(
            pl.col("findings").str.json_decode(
                pl.List(pl.Struct({"rule": pl.String, "family": pl.String, "score": pl.Float64}))
            )
        )
        .explode("findings")
        .drop_nulls("findings")
        .unnest("findings")
    )
    by_family = (
        findings.filter(pl.col("score") > 0)
        .group_by("trip_id", "family")
        .agg(pl.col("score").sum().alias("s"))
        .pivot(on="family", index="trip_id", values="s")
    )
    families = sorted(c for c in by_family.columns if c != "trip_id")
    planted = _planted(truth)
    frame = (
        frame.join(by_family, on="trip_id", how="left")
        .join(naive(store), on="trip_id", how="left")
        .with_columns(pl.col(families).fill_null(0.0), pl.col("naive").fill_null(0))
        .with_columns(
            pl.col("trip_key").is_in(list(planted)).alias("positive"),
            pl.col("trip_key").replace_strict(planted, default=None).alias("mo"),
        )
    )
    return Ranked(
        frame,
        families,
        findings.select("trip_id", "rule", pl.col("score").alias("points")),
        json.loads(metrics) if metrics else {},
    )


def naive(store: Store) -> pl.DataFrame:
    """trip_id -> how many of three naive rules a trip breaks: a seal seen that the manifest
    does not declare, a door opened outside every known site, a pick-up by another party
    than the one the release names (the baseline any targeting must beat)."""
    from cargowatch.custody.checks import metres
    from cargowatch.custody.models import Trip, TripSeal
    from cargowatch.events.models import Event
    from cargowatch.registers.specs import TABLES
    from cargowatch.telemetry.models import Reading

    m, r, st = TABLES["manifest"], TABLES["releases"], TABLES["sites"]
    with store.engine.connect() as conn:
        trips = pl.DataFrame(
            conn.execute(
                select(Trip.id, Trip.container, Trip.booking_ref, Trip.started_at, Trip.ended_at)
            ).all(),
            schema=["trip_id", "container", "booking_ref", "start", "end"],
            orient="row",
        )
        seals = pl.DataFrame(
            conn.execute(select(TripSeal.trip_id, TripSeal.seal)).all(),
            schema=["trip_id", "seal"],
            orient="row",
        )
        declared = pl.DataFrame(
            conn.execute(select(m.c.container, m.c.booking_ref, m.c.declared_seals)).all(),
            schema=["container", "booking_ref", "declared"],
            orient="row",
        )
        opens: list[Any] = list(
            conn.execute(
                select(Reading.container, Reading.ts, Reading.latitude, Reading.longitude).where(
                    (Reading.door == "OPEN") | (Reading.eseal_status == "OPENED")
                )
            ).all()
        )
        opens += conn.execute(
            select(Event.container, Event.event_time, Event.latitude, Event.longitude).where(
                Event.event_code == "DRO"
            )
        ).all()
        sites = conn.execute(select(st.c.latitude, st.c.longitude, st.c.radius_m)).all()
        releases = pl.DataFrame(
            conn.execute(
                select(r.c.container, r.c.ts).where(
                    r.c.action == "PICKED_UP", r.c.actor_party_id != r.c.authorised_party_id
                )
            ).all(),
            schema=["container", "ts"],
            orient="row",
        )
    trips = trips.with_columns(
        pl.col("start", "end").dt.replace_time_zone(None),
    )
    rule1 = (
        seals.join(trips.select("trip_id", "container", "booking_ref"), on="trip_id")
        .join(declared, on=["container", "booking_ref"], how="left")
        .filter(
            ~pl.concat_str(pl.lit(";"), pl.col("declared").fill_null(""), pl.lit(";")).str.contains(
                pl.concat_str(pl.lit(";"), pl.col("seal"), pl.lit(";")), literal=True
            )
        )
        .select("trip_id")
        .unique()
    )
    outside = [
        (box, ts.replace(tzinfo=None) if ts.tzinfo else ts)
        for box, ts, lat, lon in opens
        if lat is not None
        and lon is not None
        and all(metres(lat, lon, a, b) > (rad or 500) for a, b, rad in sites if a is not None)
    ]
    rules = [rule1]
    for rows in (outside, releases.rows()):
        events = pl.DataFrame(rows, schema=["container", "ts"], orient="row")
        if events.height == 0:
            continue
        events = events.with_columns(
            pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone(None)
        )
        rules.append(
            events.join(trips, on="container")
            .filter(
                (pl.col("ts") >= pl.col("start"))
                & (pl.col("ts") <= pl.col("end") + pl.duration(days=3))
            )
            .select("trip_id")
            .unique()
        )
    return pl.concat(rules).group_by("trip_id").agg(pl.len().cast(pl.Int64).alias("naive"))


def _order(frame: pl.DataFrame, column: str, seed: int = 7) -> np.ndarray[Any, Any]:
    """Positives flags in rank order by column, ties broken at random (not by luck of order)."""
    rng = np.random.default_rng(seed)
    noise = rng.random(frame.height)
    ranked = frame.with_columns(pl.Series("_tie", noise)).sort(
        [column, "_tie"], descending=[True, True]
    )
    flags: np.ndarray[Any, Any] = ranked["positive"].to_numpy()
    return flags


def _at(flags: np.ndarray[Any, Any], budget: float, positives: int) -> dict[str, float]:
    n = len(flags)
    k = max(1, math.ceil(budget * n))
    hits = int(flags[:k].sum())
    precision = hits / k
    return {
        "inspected": k,
        "found": hits,
        "recall": round(hits / positives, 4),
        "precision": round(precision, 4),
        "best_precision": round(min(1, positives / k), 4),
        "lift": round(precision / (positives / n), 2),
    }


def _ap(frame: pl.DataFrame, column: str) -> float:
    from sklearn.metrics import average_precision_score

    tie = np.random.default_rng(7).random(frame.height) * 1e-9
    return round(
        float(
            average_precision_score(
                frame["positive"].to_numpy(), frame[column].to_numpy().astype(float) + tie
            )
        ),
        4,
    )


def metrics(ranked: Ranked, budgets: tuple[float, ...] = BUDGETS) -> dict[str, Any]:
    """Every figure of the report, as data."""
    frame = ranked.frame
    n, positives = frame.height, int(frame["positive"].sum())
    if n == 0 or positives == 0:
        raise InvalidInput(
            f"the later period has {n} trips and {positives} planted ones: nothing to judge"
        )
    fused, simple = _order(frame, "score"), _order(frame, "naive")
    out: dict[str, Any] = {
        "trips": n,
        "positives": positives,
        "base_rate": round(positives / n, 5),
        "average_precision": _ap(frame, "score"),
        "budgets": {f"{b:.0%}": _at(fused, b, positives) for b in budgets},
        "naive": {
            "average_precision": _ap(frame, "naive"),
            "budgets": {f"{b:.0%}": _at(simple, b, positives) for b in budgets},
        },
    }
    if ranked.train_world:
        out["train_world"] = ranked.train_world
    keys = (
        frame.with_columns(pl.Series("_tie", np.random.default_rng(7).random(n)))
        .sort(["score", "_tie"], descending=[True, True])["mo"]
        .to_list()
    )
    per_mo: dict[str, dict[str, Any]] = {}
    for mo in sorted({m for m in keys if m}):
        total = sum(1 for m in keys if m == mo)
        per_mo[mo] = {"trips": total} | {
            f"{b:.0%}": round(
                sum(1 for m in keys[: max(1, math.ceil(b * n))] if m == mo) / total, 4
            )
            for b in budgets
        }
    out["by_mo"] = per_mo
    out["by_family"] = {
        family: {f"{b:.0%}": _at(_order(frame, family), b, positives)["recall"] for b in budgets}
        for family in ranked.families
    }
    out["findings"] = _finding_table(ranked)
    out["calibration"] = calibration(frame)
    if ranked.insiders is not None:
        out["insiders"] = ranked.insiders
    return out


def _finding_table(ranked: Ranked) -> dict[str, dict[str, Any]]:
    """Per finding: judged honest and contaminated trips that carried it, and what the model
    learned of it (trips inspected and seized in training, its prior and its weight)."""
    truth = ranked.frame.select("trip_id", "positive")
    honest_n = max(int((~truth["positive"]).sum()), 1)
    carried = (
        ranked.findings.join(truth, on="trip_id")
        .group_by("rule")
        .agg(
            (~pl.col("positive")).sum().alias("honest"),
            pl.col("positive").sum().alias("contaminated"),
        )
        .sort("contaminated", "honest", descending=[True, False])
    )
    learned = ranked.model.get("findings", {})
    out: dict[str, dict[str, Any]] = {}
    for rule, honest, bad in carried.iter_rows():
        m = learned.get(rule, {})
        out[rule] = {
            "honest": int(honest),
            "honest_share": round(int(honest) / honest_n, 5),
            "contaminated": int(bad),
            "trained_inspected": m.get("inspected"),
            "trained_seized": m.get("seized"),
            "prior": m.get("prior"),
            "weight": m.get("weight"),
        }
    return out


def calibration(frame: pl.DataFrame) -> dict[str, Any]:
    """Reliability by band of the predicted probability, and the Brier score, against the
    truth (a seizure needs a find: the model predicts finds, the truth counts contamination)."""
    p, y = frame["p"].to_numpy(), frame["positive"].to_numpy().astype(float)
    bands = []
    for lo, hi in pairwise(BANDS):
        inside = (p >= lo) & (p < hi)
        if inside.sum():
            bands.append(
                {
                    "band": f"{lo:.1%}-{min(hi, 1):.1%}",
                    "trips": int(inside.sum()),
                    "predicted": round(float(p[inside].mean()), 5),
                    "observed": round(float(y[inside].mean()), 5),
                }
            )
    return {"brier": round(float(np.mean((p - y) ** 2)), 6), "bands": bands}


def gain_curve(ranked: Ranked, path: Path) -> None:
    """The share of planted trips found against the share inspected: fused, each family, the
    naive rules, random."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = ranked.frame
    n, positives = frame.height, max(1, int(frame["positive"].sum()))
    x = np.arange(1, n + 1) / n
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    ax.plot(
        x, np.cumsum(_order(frame, "score")) / positives, label="cargowatch", lw=2.5, color="black"
    )
    ax.plot(
        x,
        np.cumsum(_order(frame, "naive")) / positives,
        label="three naive rules",
        lw=2,
        ls="-.",
        color="tab:red",
    )
    for family in ranked.families:
        ax.plot(x, np.cumsum(_order(frame, family)) / positives, label=family, lw=1, alpha=0.7)
    ax.plot(x, x, ls="--", color="grey", label="random")
    for budget in BUDGETS:
        ax.axvline(budget, color="red", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlim(1 / n, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of later-period trips inspected (log scale)")
    ax.set_ylabel("share of contaminated trips found (recall)")
    ax.set_title(f"Gain curve: {n:,} trips, {positives} contaminated")
    ax.legend(loc="upper left", fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def reliability_curve(figures: dict[str, Any], path: Path) -> None:
    """Predicted against observed rate, band by band (log scales)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bands = figures["calibration"]["bands"]
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    xs = [max(b["predicted"], 1e-4) for b in bands]
    ys = [max(b["observed"], 1e-4) for b in bands]
    ax.plot([1e-4, 1], [1e-4, 1], ls="--", color="grey", label="perfectly calibrated")
    ax.scatter(xs, ys, s=[10 + 3 * math.sqrt(b["trips"]) for b in bands], color="black")
    ax.plot(xs, ys, color="black", lw=1, label="cargowatch")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("predicted probability (band mean)")
    ax.set_ylabel("share contaminated in the band")
    ax.set_title(f"Reliability (Brier {figures['calibration']['brier']})")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
