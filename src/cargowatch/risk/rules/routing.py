"""Routing and lane: where the cargo comes from, where it is transshipped, what it claims to be,
and whether its itinerary is one its commodity normally takes."""

from __future__ import annotations

import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, evidence, register


def _proof() -> pl.Expr:
    """The manifest line when there is one, else the trip."""
    return (
        pl.when(pl.col("manifest_id").is_not_null())
        .then(evidence(manifest=pl.concat_list("manifest_id")))
        .otherwise(evidence(trips=pl.concat_list("trip_id")))
    )


def hubs_of(ctx: Context) -> pl.DataFrame:
    """trip_id -> the ports it was transshipped in (observed stays, else the manifest)."""
    seen = (
        ctx.stays.filter(pl.col("role") == "hub")
        .group_by("trip_id")
        .agg(pl.col("facility").str.slice(0, 5).unique().sort().str.join(";").alias("seen"))
    )
    return (
        ctx.trips.select("trip_id", "transshipment_ports")
        .join(seen, on="trip_id", how="left")
        .select(
            "trip_id",
            pl.coalesce(pl.col("seen"), pl.col("transshipment_ports"), pl.lit("")).alias("hubs"),
        )
    )


@register
class Lane(RiskRule):
    """Origin, transshipment and commodity on the lists of the settings file."""

    slug = "lane"
    family = "routing"
    findings = ("high-risk-origin", "high-risk-transshipment", "cover-commodity")
    summary = "From a high-risk origin, through a transshipment hub, with a usual cover load."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Up to three small findings per trip, one per list it is on."""
        s = ctx.settings
        trips = ctx.trips.join(hubs_of(ctx), on="trip_id", how="left")
        hub_hit = pl.col("hubs").str.split(";").list.set_intersection(pl.lit(s.transshipment_hubs))
        origin = trips.filter(pl.col("origin").str.slice(0, 2).is_in(s.high_risk_origins)).select(
            "trip_id",
            pl.lit("high-risk-origin").alias("rule"),
            pl.lit(s.origin_score).alias("score"),
            pl.format(
                "Loaded in {}, a usual departure point of cocaine shipments.", "origin"
            ).alias("reason"),
            _proof().alias("evidence"),
        )
        hub = (
            trips.with_columns(hub_hit.alias("hit"))
            .filter(pl.col("hit").list.len() > 0)
            .select(
                "trip_id",
                pl.lit("high-risk-transshipment").alias("rule"),
                pl.lit(s.hub_score).alias("score"),
                pl.format(
                    "Transshipped in {}, a hub used to hide a cargo's origin.",
                    pl.col("hit").list.join(", "),
                ).alias("reason"),
                _proof().alias("evidence"),
            )
        )
        cover = trips.filter(pl.col("hs4").is_in(s.cover_commodities)).select(
            "trip_id",
            pl.lit("cover-commodity").alias("rule"),
            pl.lit(s.commodity_score).alias("score"),
            pl.format("Declared as HS {}, a commodity often used as a cover load.", "hs4").alias(
                "reason"
            ),
            _proof().alias("evidence"),
        )
        return pl.concat([origin, hub, cover])


@register
class UnusualItinerary(RiskRule):
    """An itinerary a commodity rarely takes (origin, hubs, destination)."""

    slug = "unusual-itinerary"
    family = "routing"
    findings = ("unusual-itinerary",)
    summary = "An itinerary its commodity rarely takes."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Trips with a part of their itinerary (origin country, hub, destination country) that
        the same commodity rarely takes."""
        s = ctx.settings
        trips = ctx.trips.join(hubs_of(ctx), on="trip_id", how="left").drop_nulls(
            ["hs4", "origin", "destination"]
        )
        columns = ("trip_id", "hs4", "manifest_id")
        parts = pl.concat(
            [
                trips.select(*columns, pl.lit(what).alias("what"), part.alias("part"))
                for what, part in (
                    ("loaded in", pl.concat_list(pl.col("origin").str.slice(0, 2))),
                    ("delivered to", pl.concat_list(pl.col("destination").str.slice(0, 2))),
                    ("transshipped in", pl.col("hubs").str.split(";")),
                )
            ]
        )
        parts = parts.explode("part").filter(pl.col("part") != "")
        counted = parts.with_columns(
            pl.col("trip_id").n_unique().over("hs4").alias("n"),
            pl.col("trip_id").n_unique().over("hs4", "what", "part").alias("k"),
        )
        rare = (
            counted.filter(
                (pl.col("n") >= s.unusual_itinerary_min_trips)
                & (pl.col("k") < s.unusual_itinerary_share * pl.col("n"))
            )
            .sort("k")
            .unique("trip_id", keep="first")
        )
        return rare.select(
            "trip_id",
            pl.lit("unusual-itinerary").alias("rule"),
            pl.lit(s.unusual_itinerary_score).alias("score"),
            pl.format(
                "Only {} of {} trips with HS {} were {} {}.", "k", "n", "hs4", "what", "part"
            ).alias("reason"),
            _proof().alias("evidence"),
        )
