"""The learned score: a calibrated probability that a trip was contaminated, learned from the
organisation's own inspection outcomes, with the rules as its prior.

Every finding (each rule's named indicator, not a family's maximum) is a feature with a
strength 0..1. Its weight is a log-odds that starts from a prior set by the rule's own strength
(a severe custody alert starts high, a lane prior low) and is moved by the inspected trips that
carried it: a Bayesian logistic regression, weights kept non-negative, fitted on the inspected
trips weighted by the inverse of the chance each had to be inspected (outcomes come from
targeted inspections; the weights undo that so the model does not only learn its own past
choices). A finding that inspections keep contradicting loses its weight by itself; one that
keeps being right gains. With enough seizures a gradient-boosted model over the findings and
their context (consignee age and history, stays against the norm, the lane anomaly) joins it,
as much as cross-validation says it helps, and the blend is recalibrated.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.settings import RiskSettings

ANOMALY_INPUT = (
    "inland_ratio",
    "delivery_ratio",
    "origin_ratio",
    "hub_ratio",
    "destination_ratio",
    "hubs",
)
CONTEXT = ("consignee_age_days", "consignee_trips_before", *ANOMALY_INPUT, "anomaly")
FIT_SAMPLE = 200_000  # trips an anomaly or propensity model is fitted on at most
ANOMALY_FINDING = "lane-anomaly"


def logit(p: float) -> float:
    """log(p / (1 - p))."""
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def sigmoid(z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """1 / (1 + e^-z), stable for large |z|."""
    out: np.ndarray[Any, Any] = 0.5 * (1 + np.tanh(0.5 * z))
    return out


def context_frame(ctx: Context) -> pl.DataFrame:
    """One row per trip: lane, destination, eligibility, and the context features (durations
    as ratios to the median of the same place, so that one model serves every lane)."""
    trips = ctx.trips.with_columns(pl.coalesce("booked_at", "started_at").alias("when"))
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

    def ratio(column: str, place: str) -> pl.Expr:
        median = pl.col(column).median().over(place).clip(lower_bound=1)
        return (pl.col(column) / median).alias(column.replace("_hours", "_ratio"))

    age = (pl.col("when").dt.date() - pl.col("consignee_registered_on")).dt.total_days()
    # ties of time broken by the trip's natural key: the same on every store (ids are not)
    before = pl.col("trip_id").cum_count().over("consignee_id", order_by=["when", "trip_key"]) - 1
    frame = (
        trips.with_columns(
            ratio("inland_hours", "origin"),
            ratio("delivery_hours", "destination"),
            age.cast(pl.Float64).clip(0, 3650).fill_null(3650).alias("consignee_age_days"),
            pl.when(pl.col("consignee_id").is_null())
            .then(pl.lit(50))
            .otherwise(before)
            .cast(pl.Float64)
            .clip(0, 50)
            .alias("consignee_trips_before"),
        )
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
    )
    return frame.sort("trip_key").select(  # in natural-key order: fits are store-independent
        "trip_id",
        pl.concat_str(
            pl.col("origin").str.slice(0, 2), pl.col("destination").str.slice(0, 2), separator=">"
        )
        .fill_null("?")
        .alias("lane"),
        "destination",
        "eligible",
        "started_at",
        *(
            pl.col(f).cast(pl.Float64).fill_null(1.0 if f.endswith("_ratio") else 0.0)
            for f in ANOMALY_INPUT
        ),
        "consignee_age_days",
        "consignee_trips_before",
    )


def anomaly_matrix(frame: pl.DataFrame) -> np.ndarray[Any, Any]:
    """The anomaly model's input: durations against the norm, long tails squashed."""
    values: np.ndarray[Any, Any] = np.log1p(frame.select(ANOMALY_INPUT).to_numpy().clip(min=0))
    return values


def anomaly_rank(forest: Any, frame: pl.DataFrame) -> pl.Series:
    """0..1: how anomalous each trip is among the trips of its lane (1 = most)."""
    raw = -forest.score_samples(anomaly_matrix(frame)) if frame.height else np.zeros(0)
    ranked = frame.select("lane").with_columns(pl.Series("raw", raw))
    return ranked.select(
        (
            (pl.col("raw").rank("average").over("lane") - 1)
            / (pl.len().over("lane") - 1).clip(lower_bound=1)
        ).alias("anomaly")
    )["anomaly"]


def fit_anomaly(frame: pl.DataFrame, seed: int = 0) -> Any:
    """An isolation forest over the trips' durations against the norm (a sample when many)."""
    from sklearn.ensemble import IsolationForest

    sample = frame.sample(min(frame.height, FIT_SAMPLE), seed=seed) if frame.height else frame
    forest = IsolationForest(n_estimators=100, random_state=seed)
    forest.fit(anomaly_matrix(sample) if sample.height else np.zeros((1, len(ANOMALY_INPUT))))
    return forest


def with_anomaly(findings: pl.DataFrame, context: pl.DataFrame, s: RiskSettings) -> pl.DataFrame:
    """The findings plus a lane-anomaly finding for the top share of each lane's anomaly
    ranks (strength 0..1 over that share)."""
    top = s.anomaly_top_share
    anomalous = context.filter(pl.col("anomaly") > 1 - top).select(
        "trip_id",
        pl.lit(ANOMALY_FINDING).alias("rule"),
        ((pl.col("anomaly") - (1 - top)) / top).clip(0.0, 1.0).alias("score"),
        pl.format(
            "Its stays and legs are unusual for the lane {}: more unusual than {}% of the "
            "lane's trips.",
            "lane",
            (pl.col("anomaly") * 100).floor().clip(upper_bound=99).cast(pl.Int64),
        ).alias("reason"),
        pl.concat_str(pl.lit('{"trips":['), pl.col("trip_id"), pl.lit("]}")).alias("evidence"),
        pl.lit("learned").alias("family"),
        pl.lit(1, pl.Int32).alias("rule_version"),
    )
    return pl.concat([findings.cast({"rule_version": pl.Int32}), anomalous], how="vertical")


@dataclass
class Fitted:
    """A trained model: finding weights (log-odds), their priors and scales, the anomaly
    forest, and the boosted model and its share of the blend when outcomes allow."""

    names: list[str]  # findings with a weight, the columns of the strength matrix
    scale: dict[str, float]  # a finding's strength is its rule score / scale, at most 1
    prior: dict[str, float]  # prior log-odds weight of each finding
    weights: dict[str, float]  # fitted log-odds weight of each finding
    intercept: float  # log-odds of a trip with no finding
    anomaly: Any
    boosted: Any | None = None
    blend: float = 0.0  # share of the boosted model's log-odds in the blend
    calibration: tuple[float, float] = (1.0, 0.0)  # Platt a, b on the blended log-odds
    metrics: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> bytes:
        """Serialised for the risk_models table."""
        import joblib

        out = io.BytesIO()
        joblib.dump(self.__dict__, out, compress=3)
        return out.getvalue()

    @classmethod
    def load(cls, blob: bytes) -> Fitted:
        """From the risk_models table (blobs this software wrote itself)."""
        import joblib

        parts = joblib.load(io.BytesIO(blob))
        if "names" not in parts:  # a model of the first scoring engine: start from priors
            raise ValueError("model of an earlier version")
        return cls(**parts)

    def weight(self, name: str, s: RiskSettings) -> float:
        """A finding's weight: fitted, or its prior when the model has not seen it."""
        if name in self.weights:
            return self.weights[name]
        return prior_weight(s, 1.0) if name != ANOMALY_FINDING else s.anomaly_prior


def prior_weight(s: RiskSettings, nominal: float) -> float:
    """Prior log-odds weight of a finding whose rule gives it this strength at most."""
    return s.prior_logodds_per_score * nominal


def lookup(column: str, mapping: dict[str, float], default: float | None) -> pl.Expr:
    """The value mapping gives each name in column (default for the others), as floats (an
    empty mapping too: polars would leave the names as they are)."""
    if not mapping:
        return pl.lit(default, pl.Float64)
    return pl.col(column).replace_strict(mapping, default=default, return_dtype=pl.Float64)


def capped_prior(weight: float, mass: float, s: RiskSettings) -> float:
    """A prior log-odds weight no higher than the finding's rarity allows: its likelihood
    ratio cannot exceed the share of crimes it could catch (prior_rarity) over the share of
    trips it fires on (mass: the mean strength over all targets)."""
    if mass <= 0:
        return weight
    return min(weight, max(0.0, math.log(s.prior_rarity / mass)))


def prior_sd(prior: float, s: RiskSettings) -> float:
    """How far outcomes may move a finding's weight: as far as prior_strength inspections at
    its prior hit rate would hold it (a Beta prior's strength, in log-odds), within bounds."""
    rate = 1 / (1 + math.exp(-(logit(s.prior_base_rate) + prior)))
    sd = 1 / math.sqrt(s.prior_strength * rate * (1 - rate))
    return min(max(sd, s.prior_sd_min), s.prior_sd_max)


def strengths(findings: pl.DataFrame, scale: dict[str, float]) -> pl.DataFrame:
    """Per finding row: its strength 0..1 (rule score over the finding's scale)."""
    return findings.with_columns(
        (pl.col("score") / lookup("rule", scale, None)).fill_null(1.0).clip(0.0, 1.0).alias("x")
    )


def wide(findings: pl.DataFrame, trips: pl.Series, names: list[str]) -> np.ndarray[Any, Any]:
    """trips x names matrix of strengths (0 where a trip does not carry a finding)."""
    matrix = np.zeros((trips.len(), len(names)), dtype=np.float64)
    if not names or findings.height == 0:
        return matrix
    row = pl.DataFrame({"trip_id": trips}).with_row_index("row")
    col = {name: i for i, name in enumerate(names)}
    cells = (
        findings.filter(pl.col("rule").is_in(names))
        .join(row, on="trip_id")
        .group_by("row", "rule")
        .agg(pl.col("x").max())
        .with_columns(pl.col("rule").replace_strict(col, return_dtype=pl.Int64).alias("col"))
    )
    matrix[cells["row"].to_numpy(), cells["col"].to_numpy()] = cells["x"].to_numpy()
    return matrix


def fit_logistic(
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    w: np.ndarray[Any, Any],
    prior: np.ndarray[Any, Any],
    prior_sd: np.ndarray[Any, Any] | float,
    intercept_prior: float,
    intercept_sd: float,
) -> tuple[float, np.ndarray[Any, Any]]:
    """MAP of a logistic regression with a Gaussian prior around each weight, weights >= 0.

    Returns (intercept, weights). With no rows it returns the priors themselves."""
    from scipy.optimize import minimize

    k = x.shape[1]
    if x.shape[0] == 0:
        return intercept_prior, prior.copy()
    mu = np.concatenate([[intercept_prior], prior])
    sd = np.broadcast_to(np.asarray(prior_sd, dtype=float), (k,))
    inv_var = np.concatenate([[1 / intercept_sd**2], 1 / sd**2])
    design = np.hstack([np.ones((x.shape[0], 1)), x])

    def loss(theta: np.ndarray[Any, Any]) -> tuple[float, np.ndarray[Any, Any]]:
        z = design @ theta
        nll = float(np.sum(w * (np.logaddexp(0, z) - y * z)))
        d = theta - mu
        grad = design.T @ (w * (sigmoid(z) - y)) + inv_var * d
        return nll + 0.5 * float(np.sum(inv_var * d * d)), grad

    bounds = [(None, None)] + [(0.0, 10.0)] * k
    result = minimize(loss, mu.copy(), jac=True, method="L-BFGS-B", bounds=bounds)
    theta = result.x
    return float(theta[0]), np.asarray(theta[1:])


def propensities(
    matrix: np.ndarray[Any, Any], inspected: np.ndarray[Any, Any], seed: int = 0
) -> np.ndarray[Any, Any]:
    """Each trip's estimated chance of having been inspected, from what it carried (a
    logistic regression of inspected on the findings and context)."""
    from sklearn.linear_model import LogisticRegression

    n = matrix.shape[0]
    base = float(inspected.mean()) if n else 0.0
    if n == 0 or inspected.sum() < 5 or inspected.sum() == n:
        return np.full(n, max(base, 1e-3))
    rng = np.random.default_rng(seed)
    rows = rng.choice(n, size=min(n, FIT_SAMPLE), replace=False) if n > FIT_SAMPLE else None
    fit_x = matrix if rows is None else matrix[rows]
    fit_y = inspected if rows is None else inspected[rows]
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    model = LogisticRegression(C=0.5, max_iter=1000)
    with warnings.catch_warnings():  # an estimate of chances, not a model to report on
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(np.log1p(np.clip(fit_x, 0, None)), fit_y)
    p: np.ndarray[Any, Any] = model.predict_proba(np.log1p(np.clip(matrix, 0, None)))[:, 1]
    clipped: np.ndarray[Any, Any] = np.clip(p, base * 0.1, 1.0)
    return clipped


def _average_precision(y: np.ndarray[Any, Any], score: np.ndarray[Any, Any], w: Any) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, score, sample_weight=w))


def fit_boosted(
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    w: np.ndarray[Any, Any],
    monotone: list[int],
    seed: int = 0,
) -> Any:
    """A gradient-boosted classifier, monotone where the direction is known."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.05,
        max_leaf_nodes=8,
        min_samples_leaf=15,
        l2_regularization=1.0,
        monotonic_cst=monotone,
        random_state=seed,
    )
    model.fit(x, y, sample_weight=w)
    return model


def choose_blend(
    x_findings: np.ndarray[Any, Any],
    x_all: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    w: np.ndarray[Any, Any],
    fit_rules: Any,
    monotone: list[int],
    seed: int = 0,
) -> tuple[float, tuple[float, float], dict[str, float]]:
    """Out-of-fold log-odds of the findings model and the boosted model; the share of the
    boosted model that maximises average precision (ties: less of it), and a Platt calibration
    of the blend."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    z_rules = np.zeros(len(y))
    z_boost = np.zeros(len(y))
    for train, test in folds.split(x_all, y):
        b0, beta = fit_rules(x_findings[train], y[train], w[train])
        z_rules[test] = b0 + x_findings[test] @ beta
        model = fit_boosted(x_all[train], y[train], w[train], monotone, seed)
        p = np.clip(model.predict_proba(x_all[test])[:, 1], 1e-6, 1 - 1e-6)
        z_boost[test] = np.log(p / (1 - p))
    scores = {}
    best, best_ap = 0.0, -1.0
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        ap = _average_precision(y, (1 - share) * z_rules + share * z_boost, w)
        scores[f"{share:.2f}"] = round(ap, 4)
        if ap > best_ap + 0.005:
            best, best_ap = share, ap
    blended = ((1 - best) * z_rules + best * z_boost).reshape(-1, 1)
    platt = LogisticRegression(C=100.0)
    platt.fit(blended, y, sample_weight=w)
    return best, (float(platt.coef_[0][0]), float(platt.intercept_[0])), scores
