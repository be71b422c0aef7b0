"""Rules that compare a trip with the norm: stays and inland legs longer than usual there."""

from __future__ import annotations

import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, empty, evidence, register


@register
class LongStay(RiskRule):
    """A stay longer than nearly all stays at the same facility in the same role."""

    slug = "dwell-norm"
    family = "gaps"
    findings = ("long-stay",)
    summary = "Stayed at a terminal or hub far longer than containers usually stay there."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """The longest stay of each trip beyond its facility's quantile."""
        s = ctx.settings
        stays = ctx.stays.drop_nulls("hours")
        if stays.height == 0:
            return empty()
        norm = stays.group_by("facility", "role").agg(
            pl.col("hours").quantile(s.dwell_quantile).alias("norm"), pl.len().alias("n")
        )
        long_ = (
            stays.join(norm, on=["facility", "role"])
            # beyond the norm as shown (to a tenth of a day): never "3.0 days, usually up to 3.0"
            .filter(
                (pl.col("n") >= s.dwell_min_stays)
                & ((pl.col("hours") / 24).round(1) > (pl.col("norm") / 24).round(1))
            )
            .with_columns((pl.col("hours") / pl.col("norm").clip(lower_bound=1)).alias("ratio"))
            .sort("ratio", descending=True)
            .unique("trip_id", keep="first")
        )
        share = min(99, max(1, round(s.dwell_quantile * 100)))  # a share, never "100 %" or more
        return long_.select(
            "trip_id",
            pl.lit("long-stay").alias("rule"),
            (s.dwell_score * pl.col("ratio").clip(upper_bound=2.0)).alias("score"),
            pl.format(
                "Stood {} days at {} ({}), longer than {}% of containers there (usually up to {} "
                "days).",
                (pl.col("hours") / 24).round(1),
                "facility",
                "role",
                pl.lit(share),
                (pl.col("norm") / 24).round(1),
            ).alias("reason"),
            evidence(events=pl.concat_list("first_event", "last_event")).alias("evidence"),
        )


@register
class LongInlandLeg(RiskRule):
    """An inland leg (stuffing to gate-in, gate-out to stripping) longer than usual there."""

    slug = "inland-norm"
    family = "gaps"
    findings = ("long-inland-leg",)
    summary = "Took far longer than usual from stuffing to the terminal, or from it to stripping."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Inland legs beyond the quantile of legs from the same origin or to the same port."""
        s = ctx.settings
        out = []
        firsts = ctx.stays.filter(pl.col("role") == "origin").select(
            "trip_id", pl.col("first_event").alias("event")
        )
        lasts = ctx.stays.filter(pl.col("role") == "destination").select(
            "trip_id", pl.col("last_event").alias("event")
        )
        for column, place, leg, events in (
            ("inland_hours", "origin", "stuffing to gate-in at", firsts),
            ("delivery_hours", "destination", "gate-out to stripping from", lasts),
        ):
            legs = ctx.trips.select("trip_id", place, pl.col(column).alias("hours")).drop_nulls()
            norm = legs.group_by(place).agg(
                pl.col("hours").quantile(s.dwell_quantile).alias("norm"), pl.len().alias("n")
            )
            found = (
                legs.join(norm, on=place)
                # beyond the norm as shown (whole hours): never "12 hours, usually up to 12"
                .filter(
                    (pl.col("n") >= s.dwell_min_stays)
                    & (pl.col("hours").round(0) > pl.col("norm").round(0))
                )
                .join(events, on="trip_id", how="left")
                .select(
                    "trip_id",
                    pl.lit("long-inland-leg").alias("rule"),
                    (
                        s.dwell_score
                        * (pl.col("hours") / pl.col("norm").clip(lower_bound=1)).clip(
                            upper_bound=2.0
                        )
                    ).alias("score"),
                    pl.format(
                        "{} hours from {} {}, where it usually takes up to {} hours.",
                        pl.col("hours").round(0),
                        pl.lit(leg),
                        place,
                        pl.col("norm").round(0),
                    ).alias("reason"),
                    pl.when(pl.col("event").is_not_null())
                    .then(evidence(events=pl.concat_list("event")))
                    .otherwise(evidence(trips=pl.concat_list("trip_id")))
                    .alias("evidence"),
                )
            )
            out.append(found)
        both = pl.concat(out)
        return both.sort("score", descending=True).unique("trip_id", keep="first")
