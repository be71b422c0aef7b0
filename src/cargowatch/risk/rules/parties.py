"""Parties: who receives the cargo, how long they have existed, and whether they have traded
on this lane before (front companies are new, uncertified and trade once)."""

from __future__ import annotations

import polars as pl

from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, evidence, register


def _proof() -> pl.Expr:
    return (
        pl.when(pl.col("manifest_id").is_not_null())
        .then(
            evidence(parties=pl.concat_list("consignee_id"), manifest=pl.concat_list("manifest_id"))
        )
        .otherwise(evidence(parties=pl.concat_list("consignee_id")))
    )


@register
class Consignee(RiskRule):
    """The consignee's record and history."""

    slug = "consignee"
    family = "parties"
    findings = (
        "front-company-profile",
        "consignee-registered-weeks-before",
        "recently-registered-consignee",
        "consignee-not-aeo",
        "first-trade-on-lane",
        "notify-is-consignee",
    )
    summary = "A consignee registered lately, without AEO, trading on the lane for the first time."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Up to four findings per trip about its consignee."""
        s = ctx.settings
        trips = ctx.trips.filter(pl.col("consignee_id").is_not_null()).with_columns(
            pl.coalesce("booked_at", "started_at").alias("when")
        )
        age = (pl.col("when").dt.date() - pl.col("consignee_registered_on")).dt.total_days()
        recent = trips.filter(age < s.recent_registration_days).select(
            "trip_id",
            pl.lit("recently-registered-consignee").alias("rule"),
            (
                s.recent_registration_score
                * (1 - age.clip(lower_bound=0) / s.recent_registration_days / 2)
            ).alias("score"),
            pl.format(
                "Consignee {} was registered on {}, {} days before this shipment.",
                "consignee_id",
                "consignee_registered_on",
                age,
            ).alias("reason"),
            _proof().alias("evidence"),
        )
        weeks = trips.filter(age < s.weeks_before_days).select(
            "trip_id",
            pl.lit("consignee-registered-weeks-before").alias("rule"),
            pl.lit(s.weeks_before_score).alias("score"),
            pl.format(
                "Consignee {} was registered only {} days before this shipment was booked.",
                "consignee_id",
                age,
            ).alias("reason"),
            _proof().alias("evidence"),
        )
        not_aeo = trips.filter(pl.col("consignee_aeo").not_()).select(
            "trip_id",
            pl.lit("consignee-not-aeo").alias("rule"),
            pl.lit(s.not_aeo_score).alias("score"),
            pl.format("Consignee {} is not an Authorised Economic Operator.", "consignee_id").alias(
                "reason"
            ),
            _proof().alias("evidence"),
        )
        history_from = trips["when"].min()
        if history_from is None:  # no trip has a consignee: nothing more to say
            return pl.concat([recent, weeks, not_aeo])
        lane = pl.concat_str(
            pl.col("origin").str.slice(0, 2),
            pl.col("destination").str.slice(0, 2),
            separator=">",
        )
        first = (
            trips.drop_nulls(["origin", "destination"])
            .with_columns(lane.alias("lane"))
            .sort("when", "trip_id")
            .with_columns(pl.col("trip_id").first().over("consignee_id", "lane").alias("first"))
            .filter(
                (pl.col("trip_id") == pl.col("first"))
                & (
                    pl.col("when")
                    >= pl.lit(history_from) + pl.duration(days=s.first_trade_history_days)
                )
            )
            .select(
                "trip_id",
                pl.lit("first-trade-on-lane").alias("rule"),
                pl.lit(s.first_trade_score).alias("score"),
                pl.format(
                    "First shipment to consignee {} on the lane {}.", "consignee_id", "lane"
                ).alias("reason"),
                _proof().alias("evidence"),
            )
        )
        notify = trips.filter(pl.col("notify_id") == pl.col("consignee_id")).select(
            "trip_id",
            pl.lit("notify-is-consignee").alias("rule"),
            pl.lit(s.notify_is_consignee_score).alias("score"),
            pl.format("The notify party is the consignee {} itself.", "consignee_id").alias(
                "reason"
            ),
            _proof().alias("evidence"),
        )
        profile = (
            recent.select("trip_id")
            .join(not_aeo.select("trip_id"), on="trip_id")
            .join(first.select("trip_id"), on="trip_id")
            .join(trips, on="trip_id")
            .select(
                "trip_id",
                pl.lit("front-company-profile").alias("rule"),
                pl.lit(s.front_company_score).alias("score"),
                pl.format(
                    "Consignee {} was registered {} days before, is not AEO-certified and "
                    "receives its first shipment on this lane: the profile of a front company.",
                    "consignee_id",
                    age,
                ).alias("reason"),
                _proof().alias("evidence"),
            )
        )
        return pl.concat([profile, weeks, recent, not_aeo, first, notify])


def _name(column: str) -> pl.Expr:
    """A company name reduced to what identifies it (case, punctuation, legal form dropped)."""
    return (
        pl.col(column)
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9 ]", " ")
        .str.replace_all(r"\b(ltd|limited|llc|inc|sa|sas|srl|bv|nv|gmbh|ag|co|corp|plc|spa)\b", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


@register
class PartiesChanged(RiskRule):
    """The transport document names another consignee or notify party than the manifest."""

    slug = "parties-changed"
    family = "parties"
    findings = ("consignee-changed", "notify-party-changed")
    summary = "The bill of lading names another consignee or notify party than the manifest."

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Trips whose eBL consignee or notify party is not the one the manifest declared."""
        s = ctx.settings
        out = []
        for party, declared, on_bl, score, finding in (
            (
                "consignee",
                "consignee_name",
                "bl_consignee",
                s.consignee_changed_score,
                "consignee-changed",
            ),
            (
                "notify party",
                "notify_name",
                "bl_notify",
                s.notify_changed_score,
                "notify-party-changed",
            ),
        ):
            a, b = _name(declared), _name(on_bl)
            differs = (
                pl.col(declared).is_not_null()
                & pl.col(on_bl).is_not_null()
                & (a != b)
                & ~a.str.starts_with(b)
                & ~b.str.starts_with(a)
            )
            out.append(
                ctx.trips.filter(differs).select(
                    "trip_id",
                    pl.lit(finding).alias("rule"),
                    pl.lit(score).alias("score"),
                    pl.format(
                        "The bill of lading names {} as {}, the manifest {}.",
                        pl.col(on_bl),
                        pl.lit(party),
                        pl.col(declared),
                    ).alias("reason"),
                    pl.when(pl.col("manifest_id").is_not_null())
                    .then(
                        evidence(
                            manifest=pl.concat_list("manifest_id"),
                            documents=pl.concat_list("document_id"),
                        )
                    )
                    .otherwise(evidence(documents=pl.concat_list("document_id")))
                    .alias("evidence"),
                )
            )
        return pl.concat(out)
