"""The risk engine: evaluates every rule over an organisation's trips, learns what each finding
is worth from the inspection outcomes (learned.py), scores every trip with the probability that
it was contaminated, and stores each score with its findings as a waterfall that adds up to it.

Scores are calibrated probabilities shown as 0-100. A trip's reasons are its findings, each
with the points it added, what it was worth here (how often inspections of trips carrying it
found something) and its evidence."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import polars as pl
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from cargowatch.custody.models import Trip
from cargowatch.db.base import sqlite_timestamp
from cargowatch.db.bulk import bulk_insert
from cargowatch.db.columnar import Columnar
from cargowatch.risk import learned as L
from cargowatch.risk import rules as _builtin  # noqa: F401  (registers the built-in rules)
from cargowatch.risk.context import Context, load_context, read
from cargowatch.risk.models import Assessment, QueuePick, RiskModel, ScoreChange
from cargowatch.risk.rules.base import FINDING_SCHEMA, RULES
from cargowatch.risk.settings import RiskSettings, risk_settings

__all__ = ["RULES", "findings_of", "latest_model", "score", "train", "unscored"]
ASSESSMENTS = cast(Table, Assessment.__table__)
CHANGES = cast(Table, ScoreChange.__table__)
KEPT_POINTS = 0.0005  # a finding that adds less than 0.05 points is no reason (nor a change)
MOVED = 0.5  # a score that moves less than this (in points of 100) has not changed
ADJUSTMENT = "model-adjustment"
WRITE_PART = 100_000  # trips whose assessments are assembled and stored at a time


def findings_of(ctx: Context) -> pl.DataFrame:
    """Every registered rule's findings with family and version; settings.weights multiplies a
    rule's strength (0 switches it off)."""
    parts = []
    weights = ctx.settings.weights
    for slug, rule_cls in RULES:
        rule = rule_cls()
        found = rule.evaluate(ctx)
        if found.height == 0:
            continue
        found = found.select(list(FINDING_SCHEMA)).cast(FINDING_SCHEMA)  # type: ignore[arg-type]
        weight = pl.col("rule").replace_strict(
            weights, default=weights.get(slug, 1.0), return_dtype=pl.Float64
        )
        parts.append(
            found.with_columns(
                (pl.col("score") * weight).clip(0.0, 1.0).alias("score"),
                pl.lit(rule.family).alias("family"),
                pl.lit(rule.version, pl.Int32).alias("rule_version"),
            ).filter(pl.col("score") > 0)
        )
    if not parts:
        return pl.DataFrame(
            schema={**FINDING_SCHEMA, "family": pl.String, "rule_version": pl.Int32}
        )
    return pl.concat(parts)


def latest_model(session: Session, org_id: int) -> tuple[RiskModel, L.Fitted] | None:
    """The organisation's newest trained model (None when it has none this version reads)."""
    row = session.scalar(
        select(RiskModel).where(RiskModel.org_id == org_id).order_by(RiskModel.version.desc())
    )
    if row is None:
        return None
    try:
        return row, L.Fitted.load(row.blob)
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class Prepared:
    """What a scoring run computes before it learns or predicts."""

    ctx: Context
    findings: pl.DataFrame  # every finding, lane anomaly included, with strength x
    context: pl.DataFrame  # one row per trip with its context features and anomaly rank
    labels: pl.DataFrame  # trip_id, seized, inspected_at (inspected eligible trips)
    eligible: pl.DataFrame  # trip_id of the trips that can be targets


def prepare(ctx: Context, forest: Any) -> Prepared:
    """Rules, context and anomaly ranks (forest: the model's, or one fitted here)."""
    # one order on every store: the trips' natural keys (ids differ from store to store)
    order = ctx.trips.select("trip_id", pl.int_range(pl.len()).alias("_order"))
    findings = (
        findings_of(ctx).join(order, on="trip_id", how="left").sort("_order", "rule").drop("_order")
    )
    context = L.context_frame(ctx)  # already in the trips' natural-key order
    context = context.with_columns(L.anomaly_rank(forest, context).alias("anomaly"))
    findings = L.with_anomaly(findings, context, ctx.settings)
    eligible = context.filter(pl.col("eligible")).select("trip_id")
    # the outcomes of the last outcome_window_days before the newest one
    newest = ctx.outcomes["ts"].max() if ctx.outcomes.height else None
    window = (newest or ctx.now) - timedelta(days=ctx.settings.outcome_window_days)  # type: ignore[operator]
    labels = (
        ctx.outcomes.filter(pl.col("ts") >= window)
        .join(eligible, on="trip_id", how="semi")
        .group_by("trip_id")
        .agg(pl.col("seized").max(), pl.col("ts").min().alias("inspected_at"))
        .join(order, on="trip_id", how="left")
        .sort("_order")
        .drop("_order")
    )
    return Prepared(ctx, findings, context, labels, eligible)


def fingerprint(prepared: Prepared) -> str:
    """What the outcomes a model learns from look like (a new outcome changes it)."""
    o = prepared.ctx.outcomes
    seized = int(o["seized"].sum()) if o.height else 0
    newest = int(o["inspection_id"].max() or 0) if o.height else 0  # type: ignore[arg-type]
    return f"{o.height}:{seized}:{newest}:{prepared.labels.height}"


def _known_propensity(session: Session, org_id: int, trip_ids: list[int]) -> dict[int, float]:
    """The chance with which the queue picked each of these trips, when it did."""
    out: dict[int, float] = {}
    for start in range(0, len(trip_ids), 5000):
        part = trip_ids[start : start + 5000]
        for trip_id, p in session.execute(
            select(QueuePick.trip_id, func.max(QueuePick.propensity))
            .where(QueuePick.org_id == org_id, QueuePick.trip_id.in_(part))
            .group_by(QueuePick.trip_id)
        ):
            out[int(trip_id)] = float(p)
    return out


def _fit(session: Session, prep: Prepared, forest: Any) -> L.Fitted:
    """Learn every finding's weight from the outcomes (and a boosted model when they allow)."""
    s, ctx = prep.ctx.settings, prep.ctx
    f = prep.findings
    names = sorted(f["rule"].unique().to_list())
    scale = {
        r: max(float(v), 1e-6)
        for r, v in f.group_by("rule").agg(pl.col("score").quantile(0.99)).iter_rows()
    }
    scale[L.ANOMALY_FINDING] = 1.0
    x_all = L.strengths(f, scale)
    # how much of a finding the targets carry, on average: no finding can be worth more than
    # its rarity allows (one that fires on a tenth of the trips cannot pick one crime in ten)
    # (smoothed towards prior_share over prior_trips pseudo-trips: a small store says little)
    targets, a = prep.eligible.height, s.rarity_pseudo_trips
    mass = {
        r: (float(v) + a * s.rarity_prior_share) / (targets + a)
        for r, v in x_all.join(prep.eligible, on="trip_id", how="semi")
        .group_by("rule")
        .agg(pl.col("x").sum())
        .iter_rows()
    }
    prior = {
        n: L.capped_prior(
            s.anomaly_prior if n == L.ANOMALY_FINDING else L.prior_weight(s, scale[n]),
            mass.get(n, 0.0),
            s,
        )
        for n in names
    }
    labels = prep.labels
    # the trips that could have been inspected while these outcomes were recorded
    context = prep.context.filter(pl.col("eligible"))
    if labels.height:
        # from the first inspected trip's start to the last inspection
        first = context.join(labels, on="trip_id", how="semi")["started_at"].min()
        last = labels["inspected_at"].max()
        window = (pl.col("started_at") <= last) & (pl.col("started_at") >= first)
        inspected_trip = pl.col("trip_id").is_in(labels["trip_id"].implode())
        pool = context.filter(window.fill_null(False) | inspected_trip)
    else:
        pool = context.head(0)
    pool = pool.join(labels.select("trip_id", "seized"), on="trip_id", how="left")
    ctx_cols = list(L.CONTEXT)
    x_pool = np.hstack(
        [L.wide(x_all, pool["trip_id"], names), pool.select(ctx_cols).to_numpy()]
    ) if pool.height else np.zeros((0, len(names) + len(ctx_cols)))  # fmt: skip
    inspected = pool["seized"].is_not_null().to_numpy()
    propensity = L.propensities(x_pool, inspected.astype(int))
    lab = pool.filter(pl.col("seized").is_not_null())
    known = _known_propensity(session, ctx.org_id, lab["trip_id"].to_list())
    p_lab = propensity[inspected]
    p_lab = np.array(
        [known.get(t, p) for t, p in zip(lab["trip_id"].to_list(), p_lab, strict=True)]
    )
    w = 1.0 / np.clip(p_lab, 1e-4, 1.0)
    if len(w):
        w = np.minimum(w / w.mean(), s.max_sample_weight)
        w = w / w.mean()
    y = lab["seized"].cast(pl.Int8).to_numpy().astype(float)
    x_lab = x_pool[inspected][:, : len(names)] if len(names) else np.zeros((len(y), 0))
    mu = np.array([prior[n] for n in names])
    sd = np.array([L.prior_sd(prior[n], s) for n in names])
    b0_prior = L.logit(s.prior_base_rate)

    def fit_rules(
        x: np.ndarray[Any, Any], yy: np.ndarray[Any, Any], ww: np.ndarray[Any, Any]
    ) -> tuple[float, np.ndarray[Any, Any]]:
        return L.fit_logistic(x, yy, ww, mu, sd, b0_prior, s.intercept_sd)

    b0, beta = fit_rules(x_lab, y, w)
    fitted = L.Fitted(
        names=names,
        scale=scale,
        prior=prior,
        weights={n: float(b) for n, b in zip(names, beta, strict=True)},
        intercept=b0,
        anomaly=forest,
    )
    positives = int(y.sum())
    blend_scores: dict[str, float] = {}
    if positives >= s.boost_min_positives and len(y) - positives >= 3 * s.boost_min_positives:
        monotone = [1] * len(names) + [0] * (len(ctx_cols) - 1) + [1]
        x_full = x_pool[inspected]
        share, calibration, blend_scores = L.choose_blend(x_lab, x_full, y, w, fit_rules, monotone)
        if share > 0:
            fitted.boosted = L.fit_boosted(x_full, y, w, monotone)
            fitted.blend, fitted.calibration = share, calibration
    fitted.metrics = _metrics(prep, fitted, x_all, lab, w, propensity, inspected, blend_scores)
    fitted.metrics["fingerprint"] = fingerprint(prep)
    return fitted


def _metrics(
    prep: Prepared,
    fitted: L.Fitted,
    x_all: pl.DataFrame,
    lab: pl.DataFrame,
    w: np.ndarray[Any, Any],
    propensity: np.ndarray[Any, Any],
    inspected: np.ndarray[Any, Any],
    blend_scores: dict[str, float],
) -> dict[str, Any]:
    """What the model learned, per finding: how often it fires, how often inspections of
    trips carrying it found something, its prior and its weight."""
    s = prep.ctx.settings
    eligible = prep.eligible
    carried = x_all.filter(pl.col("x") > 0).join(eligible, on="trip_id", how="semi")
    fired = carried.group_by("rule").agg(pl.col("trip_id").n_unique().alias("fired"))
    hits = (
        carried.join(lab.select("trip_id", "seized"), on="trip_id")
        .group_by("rule")
        .agg(pl.col("trip_id").n_unique().alias("inspected"), pl.col("seized").sum())
    )
    table = fired.join(hits, on="rule", how="left").fill_null(0)
    n_eligible = max(eligible.height, 1)
    per: dict[str, Any] = {}
    base = 1 / (1 + np.exp(-fitted.intercept))
    for rule, n_fired, n_inspected, n_seized in table.sort("rule").iter_rows():
        prior_hit = 1 / (1 + np.exp(-(L.logit(s.prior_base_rate) + fitted.prior.get(rule, 0))))
        m = s.prior_strength
        per[rule] = {
            "fired": int(n_fired),
            "share": round(n_fired / n_eligible, 5),
            "inspected": int(n_inspected),
            "seized": int(n_seized),
            "prior_hit_rate": round(float(prior_hit), 4),
            "hit_rate": round(float((n_seized + m * prior_hit) / (n_inspected + m)), 4),
            "prior": round(fitted.prior.get(rule, 0.0), 3),
            "weight": round(fitted.weights.get(rule, 0.0), 3),
        }
    return {
        "trips": prep.context.height,
        "eligible": eligible.height,
        "outcomes": lab.height,
        "positives": int(lab["seized"].sum()) if lab.height else 0,
        "base_rate": round(float(base), 6),
        "intercept": round(fitted.intercept, 4),
        "propensity": {
            "pool": len(inspected),
            "inspected": int(inspected.sum()),
            "min": round(float(propensity.min()), 5) if len(propensity) else None,
            "max": round(float(propensity.max()), 5) if len(propensity) else None,
            "weight_max": round(float(w.max()), 3) if len(w) else None,
        },
        "boosted": {"share": fitted.blend, "cv_average_precision": blend_scores},
        "features": fitted.names + [f"context:{c}" for c in L.CONTEXT],
        "findings": per,
    }


def _store_model(session: Session, org_id: int, fitted: L.Fitted, trained_by: str) -> RiskModel:
    version = int(
        session.scalar(select(func.max(RiskModel.version)).where(RiskModel.org_id == org_id)) or 0
    )
    row = RiskModel(
        org_id=org_id,
        version=version + 1,
        trained_at=datetime.now(UTC),
        trained_by=trained_by,
        features=json.dumps(fitted.metrics["features"]),
        metrics=json.dumps(fitted.metrics),
        blob=fitted.dump(),
    )
    session.add(row)
    session.flush()
    return row


def train(
    session: Session,
    *,
    org_id: int,
    trained_by: str,
    now: datetime | None = None,
    settings: RiskSettings | None = None,
) -> RiskModel:
    """Fit and store a new model version on the organisation's trips and outcomes so far."""
    s = settings or risk_settings()
    ctx = load_context(session.connection(), org_id, s, now or datetime.now(UTC))
    forest = L.fit_anomaly(L.context_frame(ctx))
    prep = prepare(ctx, forest)
    return _store_model(session, org_id, _fit(session, prep, forest), trained_by)


def score(
    session: Session,
    *,
    org_id: int,
    trip_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    settings: RiskSettings | None = None,
    progress: Callable[[str], None] | None = None,
    learn: bool = True,
    own_outcomes: bool = True,
    cause: str = "rescoring",
    reports_until: datetime | None = None,
) -> int:
    """Score trips (all, or the given ones) and store the results.

    Norms need the whole population, so every trip is evaluated; only the asked ones are
    written. A full scoring learns first when outcomes were recorded since the newest model
    (learn=False keeps the model as it is); any scoring trains one when there is none.
    own_outcomes=False scores as if the store had none (judging a model trained elsewhere);
    reports_until lets referrals sent after now count (a backtest's later trips).
    cause says what started this scoring; it is kept with every score it changes."""
    s = settings or risk_settings()
    now = now or datetime.now(UTC)
    step = progress or (lambda _: None)
    step("reading trips, alerts, registers")
    ctx = load_context(session.connection(), org_id, s, now, reports_until)
    if not own_outcomes:
        ctx.outcomes = ctx.outcomes.head(0)
    model = latest_model(session, org_id)
    step("evaluating rules")
    forest = model[1].anomaly if model is not None else L.fit_anomaly(L.context_frame(ctx))
    prep = prepare(ctx, forest)
    if model is None or (
        learn and trip_ids is None and model[1].metrics.get("fingerprint") != fingerprint(prep)
    ):
        step("learning from the outcomes")
        fitted = _fit(session, prep, forest)
        model = (_store_model(session, org_id, fitted, "cargowatch (scoring)"), fitted)
    row, fitted = model
    step("applying the model")
    scored, reasons = predict(prep, fitted)
    del ctx, prep  # the context is the largest thing held; the write needs none of it
    if trip_ids is not None:
        wanted = pl.Series("trip_id", sorted(set(trip_ids)), dtype=pl.Int64)
        scored = scored.filter(pl.col("trip_id").is_in(wanted.implode()))
    step(f"writing {scored.height:,} scores")
    _write(session, org_id, scored, reasons, row.version, now, trip_ids is None, cause)
    return scored.height


def predict(prep: Prepared, fitted: L.Fitted) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every trip's probability with its parts, and every finding as a waterfall step: the
    points it added on the way from the base rate to the score, and what it was worth here."""
    s = prep.ctx.settings
    weights = {n: fitted.weight(n, s) for n in prep.findings["rule"].unique().to_list()}
    x = L.strengths(prep.findings, fitted.scale).with_columns(
        (L.lookup("rule", weights, 0.0) * pl.col("x")).alias("weight")
    )
    b0 = fitted.intercept
    steps = (
        x.sort(["trip_id", "weight", "rule"], descending=[False, True, False])
        .with_columns((b0 + pl.col("weight").cum_sum().over("trip_id")).alias("z"))
        .with_columns(
            (1 / (1 + (-pl.col("z")).exp())).alias("p"),
        )
        .with_columns(
            (pl.col("p") - pl.col("p").shift(1).over("trip_id").fill_null(1 / (1 + np.exp(-b0))))
            .alias("points")
        )
    )  # fmt: skip
    per_trip = steps.group_by("trip_id").agg(pl.col("z").last())
    trips = prep.context.select("trip_id", "destination", "anomaly", *L.CONTEXT[:-1]).join(
        per_trip, on="trip_id", how="left"
    )
    trips = trips.with_columns(pl.col("z").fill_null(b0))
    z_rules = trips["z"].to_numpy()
    p_rules = L.sigmoid(z_rules)
    p_boost = None
    p = p_rules
    if fitted.boosted is not None and fitted.blend > 0:
        matrix = np.hstack(
            [
                L.wide(x, trips["trip_id"], fitted.names),
                trips.select(list(L.CONTEXT)).to_numpy(),
            ]
        )
        p_boost = np.clip(fitted.boosted.predict_proba(matrix)[:, 1], 1e-6, 1 - 1e-6)
        z = (1 - fitted.blend) * z_rules + fitted.blend * np.log(p_boost / (1 - p_boost))
        a, b = fitted.calibration
        p = L.sigmoid(a * z + b)
    worth = _worth(prep, fitted)
    inspected_counts = {
        r: v.get("inspected", 0) for r, v in fitted.metrics.get("findings", {}).items()
    }
    uncertainty = (
        x.with_columns(
            (
                pl.col("x")
                / (1 + L.lookup("rule", {k: float(v) for k, v in inspected_counts.items()}, 0.0))
            ).alias("u")
        )
        .group_by("trip_id")
        .agg(pl.col("u").max())
    )
    scored = (
        trips.select("trip_id", "anomaly")
        .with_columns(
            pl.Series("rules", p_rules),
            pl.Series("learned", p_boost, dtype=pl.Float64)
            if p_boost is not None
            else pl.lit(None, pl.Float64).alias("learned"),
            pl.Series("p", p),
        )
        .join(uncertainty, on="trip_id", how="left")
        .with_columns(
            (100 * pl.col("p")).round(2).alias("score"),
            pl.col("u").fill_null(0.0).alias("uncertainty"),
        )
    )
    # what it was worth here is stored as counts; the sentence is written when it is read
    reasons = steps.join(trips.select("trip_id", "destination"), on="trip_id", how="left").join(
        worth, on=["rule", "destination"], how="left"
    )
    adjust = scored.filter((pl.col("p") - pl.col("rules")).abs() >= 0.005).select(
        "trip_id",
        pl.lit(ADJUSTMENT).alias("rule"),
        (pl.col("p") - pl.col("rules")).alias("points"),
        pl.lit(0.0).alias("weight"),
        pl.format(
            "The model trained on the inspections so far {} this combination of findings and "
            "context by {} points.",
            pl.when(pl.col("p") > pl.col("rules"))
            .then(pl.lit("raises"))
            .otherwise(pl.lit("lowers")),
            ((pl.col("p") - pl.col("rules")).abs() * 100).round(1),
        ).alias("reason"),
        pl.lit('{"models":[@@version@@]}').alias("evidence"),
        pl.lit("learned").alias("family"),
        pl.lit(1, pl.Int32).alias("rule_version"),
        pl.lit(None, pl.Int64).alias("inspected"),
        pl.lit(None, pl.Int64).alias("seized"),
        pl.lit(None, pl.String).alias("port"),
    )
    columns = ["trip_id", "rule", "points", "weight", "reason", "evidence", "family",
               "rule_version", "inspected", "seized", "port"]  # fmt: skip
    all_reasons = pl.concat([reasons.select(columns), adjust.select(columns)], how="vertical")
    return scored, all_reasons


def _worth(prep: Prepared, fitted: L.Fitted) -> pl.DataFrame:
    """(rule, destination) -> how many inspected trips carried the finding there (else
    anywhere: port is then empty) and how many of them were seized."""
    x = prep.findings.filter(pl.col("score") > 0).select("trip_id", "rule")
    lab = prep.labels.join(prep.context.select("trip_id", "destination"), on="trip_id")
    carried = x.join(lab, on="trip_id")
    by_port = carried.group_by("rule", "destination").agg(
        pl.len().alias("n_port"), pl.col("seized").sum().alias("k_port")
    )
    overall = carried.group_by("rule").agg(pl.len().alias("n"), pl.col("seized").sum().alias("k"))
    pairs = (
        x.join(prep.context.select("trip_id", "destination"), on="trip_id")
        .select("rule", "destination")
        .unique()
    )
    return (
        pairs.join(by_port, on=["rule", "destination"], how="left")
        .join(overall, on="rule", how="left")
        .with_columns(
            pl.coalesce("n_port", "n").cast(pl.Int64).alias("inspected"),
            pl.coalesce("k_port", "k").cast(pl.Int64).alias("seized"),
            pl.when(pl.col("n_port") > 0)
            .then(pl.col("destination"))
            .otherwise(pl.lit(None, pl.String))
            .alias("port"),
        )
        .select("rule", "destination", "inspected", "seized", "port")
    )


def _write(
    session: Session,
    org_id: int,
    scored: pl.DataFrame,
    reasons: pl.DataFrame,
    version: int,
    now: datetime,
    everything: bool,
    cause: str = "rescoring",
) -> None:
    """Replace the assessments of the trips in scored, keeping what changed in the score
    history. JSON is assembled over columns, WRITE_PART trips at a time: a million trips'
    findings as JSON at once would hold gigabytes, and smaller group-bys run faster."""
    stamp = sqlite_timestamp(now) if session.get_bind().dialect.name == "sqlite" else now
    scored = scored.sort("trip_id")
    reasons = reasons.join(scored.select("trip_id"), on="trip_id", how="semi").sort(
        ["trip_id", "points", "rule"], descending=[False, True, False]
    )
    before = _previous(session, org_id, None) if everything else None
    if everything:
        session.execute(delete(Assessment).where(Assessment.org_id == org_id))
    ids = reasons["trip_id"]
    for start in range(0, scored.height, WRITE_PART):
        part = scored.slice(start, WRITE_PART)
        low, high = part["trip_id"][0], part["trip_id"][-1]
        first = int(ids.search_sorted(low, "left"))
        last = int(ids.search_sorted(high, "right"))
        _write_part(session, org_id, part, reasons.slice(first, last - first), version, stamp,
                    before, cause)  # fmt: skip


def _write_part(
    session: Session,
    org_id: int,
    scored: pl.DataFrame,
    reasons: pl.DataFrame,
    version: int,
    stamp: Any,
    before: pl.DataFrame | None,
    cause: str,
) -> None:
    """Store the assessments of some trips (reasons: theirs, in waterfall order)."""
    keys = (
        reasons.filter((pl.col("points") >= KEPT_POINTS) & (pl.col("rule") != ADJUSTMENT))
        .group_by("trip_id")
        .agg(pl.col("rule").sort().str.join(",").alias("keys"))
    )
    scored = scored.join(keys, on="trip_id", how="left").with_columns(pl.col("keys").fill_null(""))
    trip_ids = scored["trip_id"].to_list()
    if before is None:
        before = _previous(session, org_id, trip_ids)
        for start in range(0, len(trip_ids), 5000):
            chunk = trip_ids[start : start + 5000]
            session.execute(delete(Assessment).where(Assessment.trip_id.in_(chunk)))
    else:
        before = before.join(scored.select("trip_id"), on="trip_id", how="semi")
    _history(session, org_id, scored, before, version, stamp, cause)
    mark = "@@evidence@@"
    chosen = reasons.with_columns(
        pl.col("points").round(4).alias("score"),
        pl.col("weight").round(3),
    ).with_columns(
        pl.struct(
            "rule", "family", "rule_version", "score", "weight", "reason",
            pl.lit(mark).alias("evidence"),
            pl.struct("inspected", "seized", "port").alias("worth"),
        )
        .struct.json_encode()
        .str.replace(f'"{mark}"', pl.col("evidence"), literal=True)
        .str.replace("@@version@@", str(version), literal=True)
        .alias("json"),
    )  # fmt: skip
    per_trip = chosen.group_by("trip_id", maintain_order=True).agg(
        pl.col("json").str.join(",").alias("findings")
    )
    rows = scored.join(per_trip, on="trip_id", how="left").select(
        pl.lit(org_id).alias("org_id"),
        "trip_id",
        "score",
        pl.col("rules").round(6),
        pl.col("anomaly").round(4),
        pl.col("learned").round(6),
        pl.col("uncertainty").round(5),
        pl.lit(version).alias("model_version"),
        pl.concat_str(pl.lit("["), pl.col("findings").fill_null(""), pl.lit("]")).alias("all"),
        "keys",
        pl.lit(stamp).alias("scored_at"),
    )
    bulk_insert(
        session,
        ASSESSMENTS,
        ("org_id", "trip_id", "score", "rules", "anomaly", "learned", "uncertainty",
         "model_version", "findings", "finding_keys", "scored_at"),
        rows.iter_rows(),
    )  # fmt: skip


def _previous(session: Session, org_id: int, ids: list[int] | None) -> pl.DataFrame:
    """The stored score, model and finding names of the organisation's trips (or of some)."""
    query = select(
        Assessment.trip_id, Assessment.score, Assessment.model_version, Assessment.finding_keys
    ).where(Assessment.org_id == org_id)
    schema: dict[str, Any] = {"trip_id": pl.Int64, "score_before": pl.Float64,
                              "model_before": pl.Int64, "keys_before": pl.String}  # fmt: skip
    if ids is None:  # as columns: a million rows
        with Columnar(session.connection()) as columnar:
            return read(session.connection(), query, schema, columnar)
    rows: list[Any] = []
    for start in range(0, len(ids), 5000):
        rows += session.execute(query.where(Assessment.trip_id.in_(ids[start : start + 5000])))
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _history(
    session: Session,
    org_id: int,
    scored: pl.DataFrame,
    before: pl.DataFrame,
    version: int,
    stamp: Any,
    cause: str,
) -> None:
    """Keep every score that moved by MOVED points or more, or whose findings changed, with
    what it was, which findings came and went, and the cause (a first score is no change)."""
    if before.is_empty():
        return
    names = pl.col("keys").str.split(",").list.eval(pl.element().filter(pl.element() != ""))
    names_before = (
        pl.col("keys_before").str.split(",").list.eval(pl.element().filter(pl.element() != ""))
    )
    changed = (
        scored.select("trip_id", "score", "keys")
        .join(before, on="trip_id", how="inner")
        .filter(
            ((pl.col("score") - pl.col("score_before")).abs() >= MOVED)
            | (pl.col("keys_before").is_not_null() & (pl.col("keys") != pl.col("keys_before")))
        )
        .with_columns(
            pl.when(pl.col("keys_before").is_null())
            .then(pl.lit(""))
            .otherwise(names.list.set_difference(names_before).list.join(","))
            .alias("added"),
            pl.when(pl.col("keys_before").is_null())
            .then(pl.lit(""))
            .otherwise(names_before.list.set_difference(names).list.join(","))
            .alias("removed"),
        )
    )
    if changed.is_empty():
        return
    rows = changed.select(
        pl.lit(org_id).alias("org_id"),
        "trip_id",
        pl.lit(stamp).alias("at"),
        "score_before",
        "score",
        "model_before",
        pl.lit(version).alias("model_after"),
        "added",
        "removed",
        pl.lit(cause[:300]).alias("cause"),
    )
    bulk_insert(
        session,
        CHANGES,
        ("org_id", "trip_id", "at", "score_before", "score_after", "model_before", "model_after",
         "added", "removed", "cause"),
        rows.iter_rows(),
    )  # fmt: skip


def unscored(session: Session, org_id: int) -> set[int]:
    """The organisation's trips that have no current score."""
    scored = select(Assessment.trip_id).where(Assessment.org_id == org_id)
    return set(
        session.scalars(select(Trip.id).where(Trip.org_id == org_id, Trip.id.not_in(scored)))
    )
