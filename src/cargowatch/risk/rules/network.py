"""Network risk: trips that share a consignee, shipper, truck, insider badge or seal with a trip
where something was seized score higher, and the shared link is the reason."""

from __future__ import annotations

import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, empty, evidence, register
from cargowatch.risk.rules.insider import exposures

LINK_TEXT = {
    "consignee": "consignee",
    "shipper": "shipper",
    "truck": "truck",
    "badge": "badge",
    "seal": "seal number",
}


def links(ctx: Context) -> pl.DataFrame:
    """trip_id, kind, entity: what ties trips together."""
    trips = ctx.trips
    parts = [
        trips.select(
            "trip_id", pl.lit("consignee").alias("kind"), pl.col("consignee_id").alias("entity")
        ),
        trips.select(
            "trip_id", pl.lit("shipper").alias("kind"), pl.col("shipper_id").alias("entity")
        ),
        ctx.seals.select("trip_id", pl.lit("seal").alias("kind"), pl.col("seal").alias("entity")),
    ]
    picked = ctx.releases.filter(
        (pl.col("action") == "PICKED_UP") & pl.col("truck_plate").is_not_null()
    )
    if picked.height:
        parts.append(
            picked.join(
                trips.select("trip_id", "container", "started_at", "ended_at"), on="container"
            )
            .filter(
                (pl.col("ts") >= pl.col("started_at") - pl.duration(days=2))
                & (pl.col("ts") <= pl.col("ended_at") + pl.duration(days=10))
            )
            .select("trip_id", pl.lit("truck").alias("kind"), pl.col("truck_plate").alias("entity"))
        )
    seen = exposures(ctx)
    if seen.height:
        parts.append(
            seen.filter(pl.col("close")).select(
                "trip_id", pl.lit("badge").alias("kind"), pl.col("badge_id").alias("entity")
            )
        )
    return pl.concat(parts).drop_nulls().filter(pl.col("entity") != "").unique()


@register
class LinkedToSeizure(RiskRule):
    """Trips one link away from a trip with a seizure."""

    slug = "network"
    family = "network"
    findings = ("linked-to-seizure",)
    summary = "Shares a consignee, shipper, truck, insider badge or seal with a seized trip."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """The strongest link of each trip to a seized one (not itself)."""
        seized = ctx.outcomes.filter(pl.col("seized")).unique("trip_id")
        if seized.height == 0:
            return empty()
        s = ctx.settings
        tie = links(ctx)
        bad = (
            tie.join(
                seized.select("trip_id", "inspection_id", pl.col("ts").alias("seized_at")),
                on="trip_id",
            )
            .join(ctx.trips.select("trip_id", "trip_key"), on="trip_id")
            .rename({"trip_id": "seized_trip", "trip_key": "seized_key"})
        )
        near = (
            tie.join(bad, on=["kind", "entity"])
            .filter(pl.col("trip_id") != pl.col("seized_trip"))
            .with_columns(
                pl.col("kind")
                .replace_strict(s.network_scores, default=0.0, return_dtype=pl.Float64)
                .alias("score")
            )
            .sort("score", "seized_at", descending=True)
            .unique("trip_id", keep="first")
        )
        return near.select(
            "trip_id",
            pl.lit("linked-to-seizure").alias("rule"),
            "score",
            pl.format(
                "Shares {} {} with {}, where a seizure was made on {}.",
                pl.col("kind").replace_strict(LINK_TEXT, default="link"),
                "entity",
                "seized_key",
                pl.col("seized_at").dt.strftime("%Y-%m-%d"),
            ).alias("reason"),
            evidence(
                trips=pl.concat_list("seized_trip"), inspections=pl.concat_list("inspection_id")
            ).alias("evidence"),
        )
