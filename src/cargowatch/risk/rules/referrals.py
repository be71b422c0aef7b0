"""Industry referrals: an open referral about a trip's container is a finding on the trip, so
it reaches the queue at once; what it is worth is learned from outcomes like any finding."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, empty, evidence, register

WINDOW = timedelta(days=45)  # a referral speaks of the trip under way, not of last year's


@register
class IndustryReferral(RiskRule):
    """An open referral names the container of a trip under way when it was sent."""

    slug = "industry-referral"
    family = "referral"
    findings = ("industry-referral",)
    summary = "A partner referred the container to Customs while this trip was under way."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """One finding per trip: the newest open referral about its container, sent between
        the trip's start and 45 days after its end; urgent ones weigh more."""
        if ctx.referrals.is_empty():
            return empty()
        trips = ctx.trips.select("trip_id", "container", "started_at", "ended_at")
        hit = (
            trips.join(ctx.referrals, on="container", how="inner")
            .filter(
                (pl.col("sent") >= pl.col("started_at") - pl.duration(days=7))
                & (pl.col("sent") <= pl.coalesce("ended_at", "started_at") + WINDOW)
            )
            .sort("sent", descending=True)
            .unique("trip_id", keep="first")
        )
        return hit.select(
            "trip_id",
            pl.lit("industry-referral").alias("rule"),
            pl.when(pl.col("urgency") == "urgent").then(0.8).otherwise(0.6).alias("score"),
            pl.format(
                "Referred to Customs by an industry partner ({}, {}), about {}.",
                pl.col("category").str.replace_all("-", " "),
                "urgency",
                pl.col("sent").dt.strftime("%Y-%m-%d"),
            ).alias("reason"),
            evidence(referrals=pl.concat_list("referral_id")).alias("evidence"),
        )
