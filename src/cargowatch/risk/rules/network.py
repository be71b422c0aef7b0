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
    """Trips one or two links away from a trip with a seizure, the path being the reason."""

    slug = "network"
    family = "network"
    findings = ("linked-to-seizure",)
    summary = "Shares a consignee, shipper, truck, insider badge or seal with a seized trip."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """The strongest path of each trip to a seized one (not itself): one shared entity, or
        two through a trip in between (at half the weight); entities shared by more than
        network_max_trips trips (a large consignee) tie nothing together."""
        seized = ctx.outcomes.filter(pl.col("seized")).unique("trip_id")
        if seized.height == 0:
            return empty()
        s = ctx.settings
        tie = links(ctx)
        tie = tie.filter(pl.len().over("kind", "entity") <= s.network_max_trips).with_columns(
            pl.col("kind")
            .replace_strict(s.network_scores, default=0.0, return_dtype=pl.Float64)
            .alias("weight"),
            pl.col("kind").replace_strict(LINK_TEXT, default="link").alias("what"),
        )
        keys = ctx.trips.select("trip_id", "trip_key")
        source = seized.select(
            pl.col("trip_id").alias("seized_trip"), "inspection_id", pl.col("ts").alias("seized_at")
        ).join(keys.rename({"trip_id": "seized_trip", "trip_key": "seized_key"}), on="seized_trip")
        bad = tie.join(source, left_on="trip_id", right_on="seized_trip").rename(
            {"trip_id": "seized_trip"}
        )
        first = (
            tie.join(
                bad.select(
                    "kind", "entity", "seized_trip", "seized_key", "seized_at", "inspection_id"
                ),
                on=["kind", "entity"],
            )
            .filter(pl.col("trip_id") != pl.col("seized_trip"))
            .with_columns(
                pl.format(
                    "Shares {} {} with {}, where a seizure was made on {}.",
                    "what",
                    "entity",
                    "seized_key",
                    pl.col("seized_at").dt.strftime("%Y-%m-%d"),
                ).alias("reason"),
                pl.concat_list("seized_trip").alias("via"),
            )
        )
        hop = first.select(
            pl.col("trip_id").alias("middle"),
            pl.col("weight").alias("w1"),
            pl.col("what").alias("what1"),
            pl.col("entity").alias("entity1"),
            "seized_trip",
            "seized_key",
            "seized_at",
            "inspection_id",
        ).join(keys.rename({"trip_id": "middle", "trip_key": "middle_key"}), on="middle")
        second = (
            tie.join(hop, left_on="trip_id", right_on="middle", how="inner", suffix="_m")
            .select(
                pl.col("kind").alias("k2"),
                pl.col("entity").alias("e2"),
                "middle_key",
                pl.col("trip_id").alias("middle"),
                "w1",
                "what1",
                "entity1",
                "seized_trip",
                "seized_key",
                "seized_at",
                "inspection_id",
            )
            .join(tie, left_on=["k2", "e2"], right_on=["kind", "entity"])
            .filter(
                (pl.col("trip_id") != pl.col("middle"))
                & (pl.col("trip_id") != pl.col("seized_trip"))
            )
            .with_columns(
                (0.5 * pl.min_horizontal("weight", "w1")).alias("weight"),
                pl.format(
                    "Shares {} {} with {}, which shares {} {} with {}, where a seizure "
                    "was made on {}.",
                    "what",
                    "e2",
                    "middle_key",
                    "what1",
                    "entity1",
                    "seized_key",
                    pl.col("seized_at").dt.strftime("%Y-%m-%d"),
                ).alias("reason"),
                pl.concat_list("middle", "seized_trip").alias("via"),
            )
        )
        columns = ["trip_id", "weight", "reason", "via", "inspection_id", "seized_at"]
        paths = pl.concat([first.select(columns), second.select(columns)])
        best = paths.sort(["weight", "seized_at"], descending=True).unique("trip_id", keep="first")
        return best.select(
            "trip_id",
            pl.lit("linked-to-seizure").alias("rule"),
            pl.col("weight").alias("score"),
            "reason",
            evidence(trips=pl.col("via"), inspections=pl.concat_list("inspection_id")).alias(
                "evidence"
            ),
        )
