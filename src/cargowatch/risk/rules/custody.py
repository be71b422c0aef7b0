"""Rules over the custody engine's alerts: seals, doors and telemetry, gaps, releases, clones.

Each alert type becomes a finding named after it; a trip with several alerts of one type gets
one finding, as strong as the most severe, citing every one of them."""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from cargowatch.custody.checks import LEGS
from cargowatch.risk.context import Context
from cargowatch.risk.rules.base import RiskRule, empty, evidence, register


class AlertRule(RiskRule):
    """Findings from custody alerts of some types (their severity sets the score)."""

    types: ClassVar[tuple[str, ...]]
    # types whose finding names the leg of the trip where it happened (seal-changed-hub...)
    by_leg: ClassVar[frozenset[str]] = frozenset()

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """One finding per trip and alert type (and leg) of this family."""
        alerts = ctx.alerts.filter(pl.col("type").is_in(self.types))
        if alerts.height == 0:
            return empty()
        severity = {int(k): v for k, v in ctx.settings.severity_scores.items()}
        leg = pl.col("evidence").str.extract(r'"leg":"([a-z-]+)"', 1)
        alerts = alerts.with_columns(
            pl.when(pl.col("type").is_in(list(self.by_leg)) & leg.is_not_null())
            .then(pl.concat_str(pl.col("type"), pl.lit("-"), leg))
            .otherwise(pl.col("type"))
            .alias("finding")
        )
        grouped = (
            alerts.sort(["severity", "alert_id"], descending=[True, False])
            .group_by("trip_id", "finding", maintain_order=True)
            .agg(
                pl.col("severity").first(),
                pl.col("explanation").first(),
                pl.col("evidence").first(),
                pl.col("alert_id").sort().alias("ids"),
            )
        )
        more = pl.col("ids").list.len() - 1
        inner = pl.col("evidence").str.strip_chars().str.slice(1)  # the alert's own ids
        return grouped.select(
            "trip_id",
            pl.col("finding").alias("rule"),
            pl.col("severity")
            .replace_strict(severity, default=0.0, return_dtype=pl.Float64)
            .alias("score"),
            pl.when(more > 0)
            .then(pl.format("{} (and {} more like it)", pl.col("explanation"), more))
            .otherwise(pl.col("explanation"))
            .alias("reason"),
            pl.concat_str(
                pl.lit('{"alerts":['),
                pl.col("ids").cast(pl.List(pl.String)).list.join(","),
                pl.lit("]"),
                pl.when(inner.str.len_chars() > 1).then(pl.lit(",")).otherwise(pl.lit("")),
                inner,
            ).alias("evidence"),
        )


def _legged(types: tuple[str, ...], by_leg: frozenset[str]) -> tuple[str, ...]:
    return tuple(
        name
        for t in types
        for name in ((t, *(f"{t}-{leg}" for leg in LEGS)) if t in by_leg else (t,))
    )


@register
class SealIntegrity(AlertRule):
    slug = "seal-integrity"
    family = "seal"
    types = (
        "seal-mismatch",
        "seal-changed",
        "reseal-without-inspection",
        "seal-removed",
        "seal-typo",
    )
    by_leg = frozenset(types[:4])
    findings = (*_legged(types, by_leg), "seal-changed-repeatedly")
    summary = (
        "Seals that differ from the declared ones, change between hand-overs or are cut, "
        "named by the leg of the trip where it happened; several such on one trip."
    )

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Per leg, and once more for a trip whose seals went wrong on two legs or more."""
        found = super().evaluate(ctx)
        legs = found.filter(pl.col("rule") != "seal-typo").with_columns(
            pl.col("rule").str.extract(f"({'|'.join(LEGS)})$", 1).alias("leg")
        )
        repeated = (
            legs.group_by("trip_id")
            .agg(
                pl.col("leg").n_unique().alias("legs"),
                pl.col("score").max(),
            )
            .filter(pl.col("legs") >= 2)
        )
        if repeated.height == 0:
            return found
        again = (
            repeated.join(ctx.alerts.select("trip_id", "alert_id"), on="trip_id", how="left")
            .group_by("trip_id", "legs", "score")
            .agg(pl.col("alert_id").unique().sort())
        )
        return pl.concat(
            [
                found,
                again.select(
                    "trip_id",
                    pl.lit("seal-changed-repeatedly").alias("rule"),
                    pl.col("score"),
                    pl.format("Seals went wrong on {} legs of this trip.", "legs").alias("reason"),
                    evidence(alerts=pl.col("alert_id")).alias("evidence"),
                ),
            ]
        )


@register
class DoorTelemetry(AlertRule):
    slug = "door-telemetry"
    family = "telemetry"
    types = ("door-opened-outside-site", "door-opened-unplanned", "unplanned-stop", "shock")
    findings = (*types, "door-opened-at-common-place")
    summary = (
        "Door, light and e-seal openings off site or unplanned; stops on inland legs; "
        "openings off site where many unrelated consignees' boxes are opened too."
    )

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """An opening off site at a place where the boxes of several other consignees were
        opened too is a finding of its own (a candidate site), not an opening in the wild."""
        from cargowatch.custody.places import OUTSIDE, common_places, parse_places
        from cargowatch.custody.settings import custody_settings

        found = super().evaluate(ctx)
        outside = ctx.alerts.filter(pl.col("type") == OUTSIDE)
        if outside.height == 0:
            return found
        c = custody_settings()
        openings = parse_places(outside).join(
            ctx.trips.select("trip_id", pl.col("consignee_id").alias("consignee")),
            on="trip_id",
            how="left",
        )
        places = common_places(openings, c.common_place_cell_deg, c.common_place_min_consignees)
        common = places.group_by("trip_id").agg(pl.col("common").all(), pl.col("consignees").max())
        common = common.filter(pl.col("common"))
        if common.height == 0:
            return found
        moved = found.join(common, on="trip_id", how="left").with_columns(
            pl.when((pl.col("rule") == OUTSIDE) & pl.col("common").fill_null(False))
            .then(pl.lit("door-opened-at-common-place"))
            .otherwise(pl.col("rule"))
            .alias("rule"),
            pl.when((pl.col("rule") == OUTSIDE) & pl.col("common").fill_null(False))
            .then(
                pl.format(
                    "{} Boxes of {} consignees were opened around there too: a candidate "
                    "site ('cargowatch sites candidates').",
                    pl.col("reason"),
                    pl.col("consignees"),
                )
            )
            .otherwise(pl.col("reason"))
            .alias("reason"),
        )
        return moved.select(found.columns)


@register
class CustodyGaps(AlertRule):
    slug = "custody-gaps"
    family = "gaps"
    types = ("custody-gap", "long-dwell")
    findings = types
    summary = "No one reported the container for longer than the leg allows; long dwell."


@register
class ReleaseIntegrity(AlertRule):
    slug = "release-integrity"
    family = "release"
    types = (
        "release-collected-by-unauthorised-party",
        "release-collected-by-other-haulier",
        "release-modified-by-unusual-actor",
        "pickup-attempt-after-collection",
        "quick-pickup",
    )
    findings = (*types, "release-anomalies-together")
    summary = (
        "Collection without the release right or by another haulier, unusual changes, "
        "attempts after collection, quick pick-ups; several of them on one release."
    )

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Each release anomaly, and once more when two kinds or more hit one release: a
        subcontractor or a quick pick-up alone is routine, together with more is a pattern."""
        found = super().evaluate(ctx)
        together = (
            found.group_by("trip_id")
            .agg(pl.col("rule").n_unique().alias("kinds"), pl.col("rule").sort().alias("rules"))
            .filter(pl.col("kinds") >= 2)
        )
        if together.height == 0:
            return found
        ids = (
            ctx.alerts.filter(pl.col("type").is_in(list(self.types)))
            .group_by("trip_id")
            .agg(pl.col("alert_id").sort())
        )
        return pl.concat(
            [
                found,
                together.join(ids, on="trip_id").select(
                    "trip_id",
                    pl.lit("release-anomalies-together").alias("rule"),
                    (((pl.col("kinds") - 1) / 2).clip(upper_bound=1.0) * 0.85).alias("score"),
                    pl.format(
                        "{} kinds of release anomaly on this collection: {}.",
                        "kinds",
                        pl.col("rules").list.join(", "),
                    ).alias("reason"),
                    evidence(alerts=pl.col("alert_id")).alias("evidence"),
                ),
            ]
        )


@register
class Cloned(AlertRule):
    slug = "cloned"
    family = "cloned"
    types = ("cloned-container-number", "cloned-seal", "invalid-container-number")
    findings = (*types, "cloned-container-other-type")
    summary = (
        "The same container number or seal number on two trips at once; with two "
        "size-types, two physical boxes."
    )

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """A number used twice at once by boxes of two size-types is a finding of its own: a
        clerk who keys a wrong number does not change the box's type."""
        found = super().evaluate(ctx)
        two = (
            ctx.alerts.filter(
                (pl.col("type") == "cloned-container-number")
                & (
                    pl.col("evidence")
                    .str.extract(r'"types":\[([^\]]*)\]', 1)
                    .str.count_matches(",")
                    >= 1
                )
            )
            .select("trip_id")
            .unique()
        )
        if two.height == 0:
            return found
        other = pl.col("trip_id").is_in(two["trip_id"].implode()) & (
            pl.col("rule") == "cloned-container-number"
        )
        return found.with_columns(
            pl.when(other)
            .then(pl.lit("cloned-container-other-type"))
            .otherwise(pl.col("rule"))
            .alias("rule")
        )
