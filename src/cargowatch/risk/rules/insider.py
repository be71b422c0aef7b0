"""Insider exposure: badge swipes that break their holder's pattern at a facility while the
container was there (after employment ended, vetting refused or lapsed, a zone the badge is not
authorised for, outside the holder's usual hours, denied attempts)."""

from __future__ import annotations

import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, empty, evidence, register

KIND_TEXT = {
    "after-employment": "after its holder's employment ended",
    "unauthorised-zone": "into a zone it is not authorised for",
    "off-shift": "at an hour its holder almost never works",
    "denied-then-granted": "after being refused moments before",
    "denied": "and was refused",
    "unknown-badge": "though no one holds it in the persons register",
}


def odd_swipes(ctx: Context) -> pl.DataFrame:
    """Swipes that break a pattern, each with its strongest kind and that kind's score."""
    if "odd_swipes" in ctx.cache:
        return ctx.cache["odd_swipes"]
    s = ctx.settings
    a = ctx.access.sort("badge_id", "ts").with_columns(
        pl.col("ts").dt.hour().alias("hour"), pl.col("ts").dt.date().alias("day")
    )
    # a badge's usual hours and zones, from its own granted swipes
    granted = a.filter(pl.col("granted"))
    hours = granted.group_by("badge_id", "hour").agg(pl.len().alias("k_hour"))
    zones_used = granted.group_by("badge_id", "zone").agg(pl.len().alias("k_zone"))
    total = granted.group_by("badge_id").agg(pl.len().alias("n"))
    a = (
        a.join(hours, on=["badge_id", "hour"], how="left")
        .join(zones_used, on=["badge_id", "zone"], how="left")
        .join(total, on="badge_id", how="left")
        .with_columns(pl.col("k_hour", "k_zone", "n").fill_null(0))
    )
    known = pl.col("n") >= s.off_shift_min_swipes
    rare = s.off_shift_share * pl.col("n")
    retry = pl.duration(minutes=s.retry_minutes)
    next_ts = pl.col("ts").shift(-1).over("badge_id")
    next_ok = pl.col("granted").shift(-1).over("badge_id")
    zones = pl.concat_str(pl.lit(";"), pl.col("authorised_zones"), pl.lit(";"))
    # kinds that break a pattern by themselves; a lapsed vetting only strengthens them
    kinds = {
        "after-employment": pl.col("employed_until").is_not_null()
        & (pl.col("day") > pl.col("employed_until")),
        "unauthorised-zone": pl.col("authorised_zones").is_not_null()
        & pl.col("zone").is_not_null()
        & ~zones.str.contains(pl.concat_str(pl.lit(";"), pl.col("zone"), pl.lit(";")), literal=True)
        & known
        & (pl.col("k_zone") < rare),
        "off-shift": known & (pl.col("k_hour") < rare),
        "denied-then-granted": ~pl.col("granted")
        & next_ok.fill_null(False)
        & ((next_ts - pl.col("ts")) <= retry),
        "denied": ~pl.col("granted"),
        "unknown-badge": pl.col("person_id").is_null(),
    }
    lapsed = pl.col("vetting_status").is_in(["REFUSED", "EXPIRED", "REVOKED"]) | (
        pl.col("vetting_valid_until").is_not_null()
        & (pl.col("day") > pl.col("vetting_valid_until"))
    )
    scored = a.with_columns(
        pl.max_horizontal(
            pl.when(expr.fill_null(False))
            .then(pl.lit(s.insider_scores.get(kind, 0.0)))
            .otherwise(pl.lit(0.0))
            for kind, expr in kinds.items()
        ).alias("score"),
        pl.concat_list(
            pl.when(expr.fill_null(False)).then(pl.lit(kind)).otherwise(pl.lit(None))
            for kind, expr in kinds.items()
        )
        .list.drop_nulls()
        .alias("kinds"),
        lapsed.fill_null(False).alias("lapsed"),
    ).with_columns(
        pl.when((pl.col("score") > 0) & pl.col("lapsed"))
        .then((pl.col("score") + s.insider_scores.get("vetting", 0.0)).clip(upper_bound=1.0))
        .otherwise(pl.col("score"))
        .alias("score")
    )
    odd = scored.filter(pl.col("score") > 0).with_columns(
        pl.col("kinds")
        .list.eval(
            pl.element().sort_by(
                pl.element().replace_strict(s.insider_scores, default=0.0), descending=True
            )
        )
        .list.first()
        .alias("kind")
    )
    ctx.cache["odd_swipes"] = odd
    return odd


def exposures(ctx: Context) -> pl.DataFrame:
    """(trip, odd swipe) pairs: the swipe happened at a facility while the trip's container stood
    there, weighed full when it came close to a custody alert of the trip (a door opened, a seal
    changed), otherwise shared among the containers that stood there that day."""
    if "exposures" in ctx.cache:
        return ctx.cache["exposures"]
    s = ctx.settings
    odd = odd_swipes(ctx)
    stays = ctx.stays.drop_nulls(["arrived", "left"])
    if odd.height == 0 or stays.height == 0:
        ctx.cache["exposures"] = pl.DataFrame()
        return ctx.cache["exposures"]
    by_day = stays.with_columns(
        pl.date_ranges(pl.col("arrived").dt.date(), pl.col("left").dt.date()).alias("day")
    ).explode("day")
    present = by_day.group_by("facility", "day").agg(pl.len().alias("present"))
    near = pl.duration(hours=s.insider_near_hours)
    alert_times = ctx.alerts.drop_nulls("at").select("trip_id", pl.col("at"))
    pairs = (
        odd.select(
            "access_id",
            "ts",
            "day",
            "badge_id",
            "person_id",
            "facility",
            "zone",
            "lapsed",
            "kind",
            pl.col("score").alias("base"),
        )
        .join(
            by_day.select(
                "trip_id",
                "role",
                "facility",
                "day",
                "arrived",
                "left",
                "first_event",
                "last_event",
            ),
            on=["facility", "day"],
        )
        .filter((pl.col("ts") >= pl.col("arrived")) & (pl.col("ts") <= pl.col("left")))
        .join(present, on=["facility", "day"], how="left")
    )
    if pairs.height == 0:
        ctx.cache["exposures"] = pl.DataFrame()
        return ctx.cache["exposures"]
    close_alert = (
        pairs.select("trip_id", "access_id", "ts")
        .join(alert_times, on="trip_id")
        .filter(((pl.col("at") - pl.col("ts")).abs()) <= near)
        .select("trip_id", "access_id", pl.lit(True).alias("by_alert"))
        .unique()
    )
    # the stays in which this trip's seals went wrong: who had access then is who could
    leg_role = {"origin-terminal": "origin", "transshipment": "hub",
                "destination-terminal": "destination"}  # fmt: skip
    seal_stays = (
        ctx.alerts.with_columns(
            pl.col("evidence").str.extract(r'"leg":"([a-z-]+)"', 1).alias("leg")
        )
        .filter(pl.col("leg").is_in(list(leg_role)))
        .select("trip_id", pl.col("leg").replace_strict(leg_role).alias("role"))
        .unique()
        .with_columns(pl.lit(True).alias("in_window"))
    )
    # close: near a moment the custody engine already found suspicious on this very trip, or
    # in the stay where its seal was changed
    pairs = (
        pairs.join(close_alert, on=["trip_id", "access_id"], how="left")
        .join(seal_stays, on=["trip_id", "role"], how="left")
        .with_columns(
            (pl.col("by_alert").fill_null(False) | pl.col("in_window").fill_null(False)).alias(
                "close"
            )
        )
    )
    pairs = pairs.with_columns(
        pl.when(pl.col("close"))
        .then(pl.col("base"))
        .otherwise(
            pl.col("base") * s.insider_far_factor * (5 / pl.col("present").clip(lower_bound=5))
        )
        .alias("score")
    )
    ctx.cache["exposures"] = pairs
    return pairs


@register
class InsiderExposure(RiskRule):
    """The strongest odd swipe a trip was exposed to."""

    slug = "insider-exposure"
    family = "insider"
    findings = ("insider-exposure", "insider-on-site")
    summary = "Badge activity at the facility while the container was there that breaks a pattern."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Per exposed trip, the strongest odd swipe linked to its custody alerts (near one,
        or in the stay where its seal went wrong), and apart the strongest other one."""
        pairs = exposures(ctx)
        if pairs.height == 0:
            return empty()
        best = (
            pairs.sort("score", descending=True)
            .group_by("trip_id", "close", maintain_order=True)
            .agg(pl.all().first(), pl.len().alias("swipes"), pl.col("access_id").alias("ids"))
        )
        text = pl.col("kind").replace_strict(KIND_TEXT, default="")
        return best.select(
            "trip_id",
            pl.when(pl.col("close"))
            .then(pl.lit("insider-exposure"))
            .otherwise(pl.lit("insider-on-site"))
            .alias("rule"),
            pl.col("score").clip(upper_bound=1.0),
            pl.format(
                "Badge {} entered {} at {} on {} {}, while the container was there{}.",
                "badge_id",
                pl.col("zone").fill_null("?"),
                "facility",
                pl.col("ts").dt.strftime("%Y-%m-%d %H:%M"),
                pl.when(pl.col("lapsed"))
                .then(pl.concat_str(text, pl.lit(", its holder's vetting refused or expired")))
                .otherwise(text),
                pl.when(pl.col("close"))
                .then(pl.lit(", when and where this trip's custody went wrong"))
                .otherwise(pl.format(", with {} containers on site", "present")),
            ).alias("reason"),
            evidence(
                access=pl.col("ids").list.head(10),
                events=pl.concat_list("first_event", "last_event"),
            ).alias("evidence"),
        )
