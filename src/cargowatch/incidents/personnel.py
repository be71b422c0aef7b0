"""Personnel-security reports from the staff register and the badge log: badges used after
their holder's employment ended (and for how long), staff whose vetting expired, was refused
or is pending who still entered sensitive zones, and how long each employer takes to revoke
a leaver's badge. Personal data: the caller needs the organisation's personal-data grant, and
every read is audited."""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.incidents.analysis import require_personal
from cargowatch.registers.specs import TABLES

NOT_SENSITIVE = frozenset({"GATE", "OFFICE", "CANTEEN", "PARKING"})  # every other zone is


def _frames(session: Session, org_id: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    a, p = TABLES["access"], TABLES["persons"]
    swipes = pl.DataFrame(
        session.execute(
            select(a.c.badge_id, a.c.ts, a.c.zone).where(a.c.org_id == org_id, a.c.granted)
        ).all(),
        schema={"badge_id": pl.String, "ts": pl.Datetime("us"), "zone": pl.String},
        orient="row",
    )
    persons = pl.DataFrame(
        session.execute(
            select(p.c.person_id, p.c.employer_party_id, p.c.role, p.c.badge_id,
                   p.c.vetting_status, p.c.vetting_valid_until, p.c.employed_until)
            .where(p.c.org_id == org_id)
        ).all(),
        schema={"person_id": pl.String, "employer_party_id": pl.String, "role": pl.String,
                "badge_id": pl.String, "vetting_status": pl.String,
                "vetting_valid_until": pl.Date, "employed_until": pl.Date},
        orient="row",
    )  # fmt: skip
    return swipes.with_columns(pl.col("ts").dt.date().alias("day")), persons


def report(session: Session, *, principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """The three reports of the caller's organisation's staff register and badge log."""
    require_personal(session, principal)
    swipes, persons = _frames(session, principal.org_id)
    joined = swipes.join(persons, on="badge_id", how="inner")
    after = (
        joined.filter(pl.col("employed_until").is_not_null()
                      & (pl.col("day") > pl.col("employed_until")))
        .group_by("person_id", "badge_id", "employer_party_id", "employed_until")
        .agg(pl.len().alias("swipes"), pl.col("day").min().alias("first"),
             pl.col("day").max().alias("last"))
        .with_columns((pl.col("last") - pl.col("employed_until")).dt.total_days()
                      .alias("days_after"))
        .sort("days_after", descending=True)
    )  # fmt: skip
    lapsed_vetting = pl.col("vetting_status").is_in(["EXPIRED", "REFUSED", "PENDING"]) | (
        pl.col("vetting_valid_until").is_not_null()
        & (pl.col("day") > pl.col("vetting_valid_until"))
    )
    vetting = (
        joined.filter(lapsed_vetting & ~pl.col("zone").is_in(sorted(NOT_SENSITIVE)))
        .group_by("person_id", "badge_id", "employer_party_id", "role", "vetting_status",
                  "vetting_valid_until")
        .agg(pl.len().alias("sensitive_swipes"), pl.col("zone").unique().sort().alias("zones"),
             pl.col("day").max().alias("last"))
        .sort("sensitive_swipes", descending=True)
    )  # fmt: skip
    leavers = persons.filter(pl.col("employed_until").is_not_null())
    lag = (
        leavers.join(after.select("person_id", "days_after"), on="person_id", how="left")
        .with_columns(pl.col("days_after").fill_null(0))
        .group_by("employer_party_id")
        .agg(pl.len().alias("leavers"),
             (pl.col("days_after") > 0).sum().alias("badges_used_after"),
             pl.col("days_after").median().alias("median_days"),
             pl.col("days_after").max().alias("max_days"))
        .sort("max_days", descending=True)
    )  # fmt: skip
    audit.record(session, actor=principal, action="personnel.read-report",
                 entity_type="organisation", entity_id=principal.org_id,
                 after={"after_employment": after.height, "vetting": vetting.height})  # fmt: skip
    return {
        "after_employment": after.to_dicts(),
        "vetting": vetting.to_dicts(),
        "revocation_lag": lag.to_dicts(),
    }
