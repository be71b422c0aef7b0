"""Coherence: anomalies of different kinds that point at the same leg of one trip.

Contamination happens in one place at one time, and leaves several kinds of trace there: a seal
that changes, a door that opens, a box that stays too long, a badge where it should not be.
Honest noise (a carrier's reseal, a customs check, a slow truck, an extra shift) strikes trips
independently, so two kinds of anomaly on the same leg of the same trip are far rarer on honest
trips than each alone."""

from __future__ import annotations

import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, empty, evidence, register

# which custody alerts are what kind of anomaly (notes and data-quality alerts are none)
KINDS = {
    "seal-mismatch": "seal",
    "seal-changed": "seal",
    "reseal-without-inspection": "seal",
    "seal-removed": "seal",
    "door-opened-outside-site": "door",
    "door-opened-unplanned": "door",
    "unplanned-stop": "stop",
    "custody-gap": "gap",
    "long-dwell": "dwell",
}  # release anomalies are a modus operandi of their own, collected after the terminal stay


@register
class Coherence(RiskRule):
    """Two kinds of anomaly or more on one leg of a trip."""

    slug = "coherence"
    family = "coherence"
    findings = ("anomalies-on-one-leg",)
    summary = "Several kinds of anomaly (seal, door, stop, gap, dwell) on one leg of a trip."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """The leg with most kinds of anomaly, when it has two or more."""
        leg = pl.col("evidence").str.extract(r'"leg":"([a-z-]+)"', 1)
        alerts = ctx.alerts.filter(pl.col("type").is_in(list(KINDS))).select(
            "trip_id",
            leg.alias("leg"),
            pl.col("type").replace_strict(KINDS).alias("kind"),
            pl.col("alert_id"),
        )
        alerts = alerts.drop_nulls("leg")
        if alerts.height == 0:
            return empty()
        per_leg = (
            alerts.group_by("trip_id", "leg")
            .agg(
                pl.col("kind").n_unique().alias("kinds"),
                pl.col("kind").unique().sort().str.join(", ").alias("which"),
                pl.col("alert_id").drop_nulls().unique().sort().alias("ids"),
            )
            .filter(pl.col("kinds") >= 2)
            .sort(["kinds", "leg"], descending=[True, False])
            .unique("trip_id", keep="first")
        )
        return per_leg.select(
            "trip_id",
            pl.lit("anomalies-on-one-leg").alias("rule"),
            ((pl.col("kinds") - 1) / 2).clip(upper_bound=1.0).alias("score"),
            pl.format(
                "{} kinds of anomaly on the {} leg of this trip: {}.",
                "kinds",
                pl.col("leg").str.replace_all("-", " "),
                "which",
            ).alias("reason"),
            pl.when(pl.col("ids").list.len() > 0)
            .then(evidence(alerts=pl.col("ids")))
            .otherwise(evidence(trips=pl.concat_list("trip_id")))
            .alias("evidence"),
        )
