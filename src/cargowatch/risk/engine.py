"""The risk engine: evaluates every rule over an organisation's trips, adds the learned layer,
fuses a score 0-100 per trip with its top reasons, and stores assessments and findings."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import cast

import polars as pl
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from cargowatch.custody.models import Trip
from cargowatch.db.base import sqlite_timestamp
from cargowatch.db.bulk import bulk_insert
from cargowatch.risk import rules as _builtin  # noqa: F401  (registers the built-in rules)
from cargowatch.risk.context import Context, load_context
from cargowatch.risk.learned import Fitted, features, fit
from cargowatch.risk.models import Assessment, RiskModel
from cargowatch.risk.rules.base import FINDING_SCHEMA, RULES
from cargowatch.risk.settings import RiskSettings, risk_settings

ASSESSMENTS = cast(Table, Assessment.__table__)


def findings_of(ctx: Context) -> pl.DataFrame:
    """Every registered rule's findings, weighted (settings.weights), with family and version."""
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
                pl.lit(rule.version).alias("rule_version"),
            ).filter(pl.col("score") > 0)
        )
    if not parts:
        return pl.DataFrame(
            schema={**FINDING_SCHEMA, "family": pl.String, "rule_version": pl.Int32}
        )
    return pl.concat(parts)


def fuse(findings: pl.DataFrame) -> pl.DataFrame:
    """trip_id -> rules: the chance at least one finding is right, if each were independent."""
    return findings.group_by("trip_id").agg((1 - (1 - pl.col("score")).product()).alias("rules"))


def latest_model(session: Session, org_id: int) -> tuple[RiskModel, Fitted] | None:
    """The organisation's newest trained model."""
    row = session.scalar(
        select(RiskModel).where(RiskModel.org_id == org_id).order_by(RiskModel.version.desc())
    )
    if row is None:
        return None
    return row, Fitted.load(row.blob, json.loads(row.metrics))


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
    return _train(session, ctx, features(ctx, findings_of(ctx)), trained_by)[0]


def _train(
    session: Session, ctx: Context, frame: pl.DataFrame, trained_by: str
) -> tuple[RiskModel, Fitted]:
    labels = ctx.outcomes.group_by("trip_id").agg(pl.col("seized").max())
    fitted = fit(frame, labels, ctx.settings.min_positives)
    version = int(
        session.scalar(select(func.max(RiskModel.version)).where(RiskModel.org_id == ctx.org_id))
        or 0
    )
    row = RiskModel(
        org_id=ctx.org_id,
        version=version + 1,
        trained_at=datetime.now(UTC),
        trained_by=trained_by,
        features=json.dumps(fitted.metrics["features"]),
        metrics=json.dumps(fitted.metrics),
        blob=fitted.dump(),
    )
    session.add(row)
    session.flush()
    return row, fitted


def score(
    session: Session,
    *,
    org_id: int,
    trip_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    settings: RiskSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Score trips (all, or the given ones) and store the results.

    Norms need the whole population, so every trip is evaluated; only the asked ones are
    written. Without a trained model, an anomaly-only model is trained and stored first."""
    s = settings or risk_settings()
    now = now or datetime.now(UTC)
    step = progress or (lambda _: None)
    step("reading trips, alerts, registers")
    ctx = load_context(session.connection(), org_id, s, now)
    step("evaluating rules")
    findings = findings_of(ctx)
    frame = features(ctx, findings)
    step("applying the learned layer")
    model = latest_model(session, org_id)
    if model is None:  # trained on what is loaded already
        model = _train(session, ctx, frame, "cargowatch (first scoring)")
    model_row, fitted = model
    learned = frame.select("trip_id", "lane").with_columns(
        fitted.anomaly_rank(frame).alias("anomaly")
    )
    p = fitted.probability(frame)
    learned = learned.with_columns(
        (p if p is not None else pl.lit(None, pl.Float64)).alias("learned")
    )
    top = s.anomaly_top_share
    fused = (
        learned.join(fuse(findings), on="trip_id", how="left")
        .with_columns(
            pl.col("rules").fill_null(0.0),
            (s.anomaly_weight * ((pl.col("anomaly") - (1 - top)) / top).clip(0.0, 1.0)).alias(
                "anomaly_part"
            ),
            (s.learned_weight * pl.col("learned").fill_null(0.0)).alias("learned_part"),
        )
        .with_columns(
            (
                100
                * (
                    1
                    - (1 - pl.col("rules"))
                    * (1 - pl.col("anomaly_part"))
                    * (1 - pl.col("learned_part"))
                )
            )
            .round(2)
            .alias("score")
        )
    )
    if trip_ids is not None:
        wanted = pl.Series("trip_id", sorted(set(trip_ids)), dtype=pl.Int64)
        fused = fused.filter(pl.col("trip_id").is_in(wanted.implode()))
    step(f"writing {fused.height:,} scores")
    _write(session, org_id, fused, findings, model_row.version, s, now, trip_ids is None)
    return fused.height


def _learned_reasons(fused: pl.DataFrame, version: int) -> pl.DataFrame:
    """Reasons for the anomaly and supervised parts, where they count."""
    cite = json.dumps({"models": [version]})
    anomaly = fused.filter(pl.col("anomaly_part") >= 0.02).select(
        "trip_id",
        pl.lit("lane-anomaly").alias("rule"),
        pl.col("anomaly_part").alias("score"),
        pl.format(
            "Unusual among the trips on the lane {} (more than {}% of them), by the "
            "anomaly model v{}.",
            "lane",
            (pl.col("anomaly") * 100).round(1),
            pl.lit(version),
        ).alias("reason"),
        pl.lit(cite).alias("evidence"),
        pl.lit("learned").alias("family"),
        pl.lit(version).alias("rule_version"),
    )
    learned = fused.filter(pl.col("learned_part") >= 0.05).select(
        "trip_id",
        pl.lit("resembles-seizures").alias("rule"),
        pl.col("learned_part").alias("score"),
        pl.format(
            "Resembles the trips where seizures were made (model v{}, probability {}).",
            pl.lit(version),
            pl.col("learned").round(2),
        ).alias("reason"),
        pl.lit(cite).alias("evidence"),
        pl.lit("learned").alias("family"),
        pl.lit(version).alias("rule_version"),
    )
    return pl.concat([anomaly, learned]).cast({"rule_version": pl.Int32})


def _write(
    session: Session,
    org_id: int,
    fused: pl.DataFrame,
    findings: pl.DataFrame,
    version: int,
    s: RiskSettings,
    now: datetime,
    everything: bool,
) -> None:
    """Replace the assessments of the trips in fused; JSON is assembled over columns."""
    if everything:
        session.execute(delete(Assessment).where(Assessment.org_id == org_id))
    else:
        ids = fused["trip_id"].to_list()
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            session.execute(delete(Assessment).where(Assessment.trip_id.in_(part)))
    mark = "@@evidence@@"
    chosen = (
        pl.concat([findings.cast({"rule_version": pl.Int32}), _learned_reasons(fused, version)])
        .join(fused.select("trip_id"), on="trip_id", how="semi")
        .sort(["trip_id", "score", "rule"], descending=[False, True, False])
        .with_columns(pl.col("score").round(4))
        .with_columns(
            pl.struct("rule", "family", "rule_version", "score", "reason",
                      pl.lit(mark).alias("evidence"))
            .struct.json_encode()
            .str.replace(f'"{mark}"', pl.col("evidence"), literal=True)
            .alias("json"),
        )
    )  # fmt: skip
    per_trip = chosen.group_by("trip_id").agg(pl.col("json").str.join(",").alias("findings"))
    rows = fused.join(per_trip, on="trip_id", how="left").select(
        pl.lit(org_id).alias("org_id"),
        "trip_id",
        "score",
        pl.col("rules").round(4),
        pl.col("anomaly").round(4),
        pl.col("learned").round(4),
        pl.lit(version).alias("model_version"),
        pl.concat_str(pl.lit("["), pl.col("findings").fill_null(""), pl.lit("]")).alias("all"),
        pl.lit(sqlite_timestamp(now) if session.get_bind().dialect.name == "sqlite" else now).alias(
            "scored_at"
        ),
    )
    bulk_insert(
        session,
        ASSESSMENTS,
        ("org_id", "trip_id", "score", "rules", "anomaly", "learned", "model_version", "findings",
         "scored_at"),
        rows.iter_rows(),
    )  # fmt: skip


def unscored(session: Session, org_id: int) -> set[int]:
    """The organisation's trips that have no current score."""
    scored = select(Assessment.trip_id).where(Assessment.org_id == org_id)
    return set(
        session.scalars(select(Trip.id).where(Trip.org_id == org_id, Trip.id.not_in(scored)))
    )
