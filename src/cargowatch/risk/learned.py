"""The learned layer: an anomaly model over trip features, ranked within each lane, and, once
there are enough inspection outcomes, a supervised model over rule findings and features."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cargowatch.risk.context import Context

FAMILIES = (
    "seal",
    "telemetry",
    "gaps",
    "release",
    "cloned",
    "routing",
    "parties",
    "insider",
    "network",
)
NUMERIC = (
    "events",
    "inland_ratio",
    "delivery_ratio",
    "origin_ratio",
    "hub_ratio",
    "destination_ratio",
    "hubs",
    "alerts",
)
FEATURES = tuple(f"f_{f}" for f in FAMILIES) + NUMERIC
FIT_SAMPLE = 200_000  # trips an anomaly model is fitted on at most


def features(ctx: Context, findings: pl.DataFrame) -> pl.DataFrame:
    """One row per trip: the strongest finding of each rule family, and durations as ratios to
    the median of the same place (so one model serves every lane)."""
    trips = ctx.trips.select(
        "trip_id", "origin", "destination", "events", "inland_hours", "delivery_hours"
    )
    by_family = (
        findings.group_by("trip_id", "family")
        .agg(pl.col("score").max())
        .pivot(on="family", index="trip_id", values="score")
    )
    for family in FAMILIES:
        if family not in by_family.columns:
            by_family = by_family.with_columns(pl.lit(0.0).alias(family))
    by_family = by_family.select(
        "trip_id", *(pl.col(f).fill_null(0.0).alias(f"f_{f}") for f in FAMILIES)
    )
    stays = ctx.stays.drop_nulls("hours").with_columns(
        (
            pl.col("hours") / pl.col("hours").median().over("facility", "role").clip(lower_bound=1)
        ).alias("ratio")
    )
    per_role = (
        stays.group_by("trip_id", "role")
        .agg(pl.col("ratio").max())
        .pivot(on="role", index="trip_id", values="ratio")
    )
    for role in ("origin", "hub", "destination"):
        if role not in per_role.columns:
            per_role = per_role.with_columns(pl.lit(None, pl.Float64).alias(role))
    hubs = stays.filter(pl.col("role") == "hub").group_by("trip_id").agg(pl.len().alias("hubs"))
    alerts = ctx.alerts.group_by("trip_id").agg(pl.len().alias("alerts"))

    def ratio(column: str, place: str) -> pl.Expr:
        median = pl.col(column).median().over(place).clip(lower_bound=1)
        return (pl.col(column) / median).alias(column.replace("_hours", "_ratio"))

    frame = (
        trips.with_columns(ratio("inland_hours", "origin"), ratio("delivery_hours", "destination"))
        .join(by_family, on="trip_id", how="left")
        .join(
            per_role.select(
                "trip_id",
                pl.col("origin").alias("origin_ratio"),
                pl.col("hub").alias("hub_ratio"),
                pl.col("destination").alias("destination_ratio"),
            ),
            on="trip_id",
            how="left",
        )
        .join(hubs, on="trip_id", how="left")
        .join(alerts, on="trip_id", how="left")
    )
    return frame.select(
        "trip_id",
        pl.concat_str(
            pl.col("origin").str.slice(0, 2), pl.col("destination").str.slice(0, 2), separator=">"
        )
        .fill_null("?")
        .alias("lane"),
        *(
            pl.col(f).cast(pl.Float64).fill_null(1.0 if f.endswith("_ratio") else 0.0)
            for f in FEATURES
        ),
    ).sort("trip_id")


def matrix(frame: pl.DataFrame) -> np.ndarray[Any, Any]:
    """The model's input: features, long tails squashed."""
    values: np.ndarray[Any, Any] = np.log1p(frame.select(FEATURES).to_numpy().clip(min=0))
    return values


@dataclass
class Fitted:
    """What a trained model holds: the anomaly forest and maybe a supervised classifier."""

    anomaly: Any
    supervised: Any | None
    metrics: dict[str, Any]

    def dump(self) -> bytes:
        """Serialised for the risk_models table."""
        import joblib

        out = io.BytesIO()
        joblib.dump({"anomaly": self.anomaly, "supervised": self.supervised}, out)
        return out.getvalue()

    @classmethod
    def load(cls, blob: bytes, metrics: dict[str, Any]) -> Fitted:
        """From the risk_models table (blobs this software wrote itself)."""
        import joblib

        parts = joblib.load(io.BytesIO(blob))
        return cls(parts["anomaly"], parts["supervised"], metrics)

    def anomaly_rank(self, frame: pl.DataFrame) -> pl.Series:
        """0..1: how anomalous each trip is among the trips of its lane (1 = most)."""
        raw = -self.anomaly.score_samples(matrix(frame))
        ranked = frame.select("lane").with_columns(pl.Series("raw", raw))
        return ranked.select(
            (
                (pl.col("raw").rank("average").over("lane") - 1)
                / (pl.len().over("lane") - 1).clip(lower_bound=1)
            ).alias("rank")
        )["rank"]

    def probability(self, frame: pl.DataFrame) -> pl.Series | None:
        """The supervised model's probability of a seizure, when there is one."""
        if self.supervised is None:
            return None
        return pl.Series("p", self.supervised.predict_proba(matrix(frame))[:, 1])


def fit(frame: pl.DataFrame, labels: pl.DataFrame, min_positives: int, seed: int = 0) -> Fitted:
    """Fit the anomaly forest on all trips (a sample when many) and, with at least
    min_positives seizures among the inspected trips, a logistic regression on them."""
    from sklearn.ensemble import IsolationForest
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import cross_val_predict

    sample = frame.sample(min(frame.height, FIT_SAMPLE), seed=seed) if frame.height else frame
    forest = IsolationForest(n_estimators=100, random_state=seed)
    forest.fit(matrix(sample) if sample.height else np.zeros((1, len(FEATURES))))
    metrics: dict[str, Any] = {"trips": frame.height, "features": list(FEATURES)}
    labelled = frame.join(labels, on="trip_id", how="inner")
    positives = int(labelled["seized"].sum()) if labelled.height else 0
    metrics.update(outcomes=labelled.height, positives=positives)
    supervised = None
    if positives >= min_positives and labelled.height - positives >= 1:
        x, y = matrix(labelled), labelled["seized"].cast(pl.Int8).to_numpy()
        model = LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000)
        folds = min(5, positives, labelled.height - positives)
        if folds >= 2:
            predicted = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
            metrics["cv_average_precision"] = round(float(average_precision_score(y, predicted)), 4)
        supervised = model.fit(x, y)
        metrics["coefficients"] = {
            f: round(float(c), 4) for f, c in zip(FEATURES, supervised.coef_[0], strict=True)
        }
    return Fitted(forest, supervised, metrics)
