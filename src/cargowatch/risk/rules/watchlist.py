"""Watchlists: the indicators of a bulletin an organisation watches (a cloned container
series, a compromised seal batch, a front company, a truck, a place, a route) matched against
its trips. A hit is a finding with the bulletin as evidence; what it is worth is learned from
outcomes like any finding."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, empty, evidence, register

BEFORE = timedelta(days=30)  # a bulletin speaks of trips under way when it was written, too
# how specific each kind of indicator is: one container or seal names one box, a route many
SPECIFIC = {"container": 0.8, "seal": 0.8, "seal-range": 0.7, "truck": 0.6, "party": 0.6,
            "place": 0.3, "route": 0.3}  # fmt: skip
SERIAL = r"^([A-Z]*)(\d+)$"


@register
class WatchlistHit(RiskRule):
    """A trip carries something a watched bulletin warns of."""

    slug = "watchlist-hit"
    family = "referral"
    findings = ("watchlist-hit",)
    summary = (
        "The trip carries a container, seal, party, truck, place or route a watched bulletin names."
    )

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """One finding per trip: its strongest match against the watched indicators, on trips
        that had not ended 30 days before the bulletin was written."""
        w = ctx.watchlist
        if w.is_empty():
            return empty()
        trips = ctx.trips.select(
            "trip_id", "container", "started_at", "ended_at", "origin", "destination",
            "shipper_id", "consignee_id", "notify_id",
        ).filter(pl.col("started_at").is_not_null())  # fmt: skip
        # what each trip shows, as (trip, kind, value, what it is)
        shown = [
            trips.select("trip_id", pl.lit("container").alias("kind"),
                         pl.col("container").alias("value"), pl.lit("container").alias("as")),
            ctx.seals.select("trip_id", pl.lit("seal").alias("kind"),
                             pl.col("seal").str.to_uppercase().alias("value"),
                             pl.lit("seal").alias("as")),
            trips.select("trip_id", pl.lit("route").alias("kind"),
                         pl.concat_str("origin", pl.lit("-"), "destination").alias("value"),
                         pl.lit("route").alias("as")),
        ]  # fmt: skip
        for column in ("shipper_id", "consignee_id", "notify_id"):
            shown.append(trips.select("trip_id", pl.lit("party").alias("kind"),
                                      pl.col(column).alias("value"),
                                      pl.lit(column.removesuffix("_id")).alias("as")))  # fmt: skip
        for column in ("origin", "destination"):
            place = pl.col(column).alias("value")
            shown.append(trips.select("trip_id", pl.lit("place").alias("kind"), place,
                                      pl.lit(column).alias("as")))  # fmt: skip
        facilities = ctx.stays.select("trip_id", "facility").drop_nulls()
        shown.append(facilities.select("trip_id", pl.lit("place").alias("kind"),
                                       pl.col("facility").str.to_uppercase().alias("value"),
                                       pl.lit("facility").alias("as")))  # fmt: skip
        if ctx.releases.height:
            plates = ctx.releases.filter(pl.col("truck_plate").is_not_null()).select(
                "container", "ts",
                pl.col("truck_plate").str.replace_all(r"[\s-]+", "").str.to_uppercase()
                .alias("value"),
            )  # fmt: skip
            shown.append(
                trips.join(plates, on="container", how="inner")
                .filter((pl.col("ts") >= pl.col("started_at") - timedelta(days=7))
                        & (pl.col("ts") <= pl.coalesce("ended_at", "started_at")
                           + timedelta(days=7)))
                .select("trip_id", pl.lit("truck").alias("kind"), "value",
                        pl.lit("collecting truck").alias("as"))
            )  # fmt: skip
        seen = pl.concat([f.drop_nulls("value") for f in shown], how="vertical_relaxed")
        exact = seen.join(w.filter(pl.col("kind") != "seal-range"), on=["kind", "value"])
        ranges = w.filter(pl.col("kind") == "seal-range").with_columns(
            pl.col("value").str.extract(SERIAL, 1).alias("prefix"),
            pl.col("value").str.extract(SERIAL, 2).cast(pl.Int64, strict=False).alias("low"),
            pl.col("value_to").str.extract(SERIAL, 2).cast(pl.Int64, strict=False).alias("high"),
        )  # fmt: skip
        seals = seen.filter(pl.col("kind") == "seal").with_columns(
            pl.col("value").str.extract(SERIAL, 1).alias("prefix"),
            pl.col("value").str.extract(SERIAL, 2).cast(pl.Int64, strict=False).alias("serial"),
        )  # fmt: skip
        in_range = (
            seals.drop("kind", "as").join(ranges.drop("value"), on="prefix", how="inner")
            .filter((pl.col("serial") >= pl.col("low")) & (pl.col("serial") <= pl.col("high")))
            .with_columns(pl.lit("seal").alias("shown"),
                          pl.lit("in a watched range").alias("as"))
            .select("trip_id", "kind", "shown", "value", "as", "bulletin_id", "written")
        )  # fmt: skip
        exact = exact.with_columns(pl.col("kind").alias("shown"))
        hits = pl.concat([exact.select(in_range.columns), in_range], how="vertical_relaxed")
        if hits.is_empty():
            return empty()
        hits = (
            hits.join(trips.select("trip_id", "ended_at", "started_at"), on="trip_id")
            .filter(pl.coalesce("ended_at", "started_at") >= pl.col("written") - BEFORE)
            .with_columns(pl.col("kind").replace_strict(SPECIFIC, default=0.3).alias("score"))
            .sort(["trip_id", "score", "bulletin_id"], descending=[False, True, True])
        )
        if hits.is_empty():
            return empty()
        per_trip = hits.group_by("trip_id", maintain_order=True).agg(
            pl.col("score").first(),
            pl.format("{} {} ({})", "shown", "value", "as").first().alias("what"),
            pl.col("bulletin_id").unique().alias("bulletins"),
            pl.len().alias("matches"),
        )
        return per_trip.select(
            "trip_id",
            pl.lit("watchlist-hit").alias("rule"),
            pl.col("score"),
            pl.format("A watched bulletin names this trip's {}{}.", "what",
                      pl.when(pl.col("matches") > 1)
                      .then(pl.format(", and {} more matches", pl.col("matches") - 1))
                      .otherwise(pl.lit(""))).alias("reason"),
            evidence(bulletins=pl.col("bulletins")).alias("evidence"),
        )  # fmt: skip
