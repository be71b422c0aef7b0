"""Common places: where the doors of many unrelated consignees' containers are opened off
every listed site. Such a place is most likely a warehouse, a cross-dock or an inspection area
that no register lists: a candidate site an officer can confirm, after which openings there are
planned. Found on a grid (cells of about a kilometre, each with its eight neighbours, so that a
place on a cell's edge is not split)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.auth.principal import Principal
from cargowatch.custody.models import Alert, Trip
from cargowatch.exceptions import InvalidInput
from cargowatch.registers.specs import REGISTERS, TABLES

OUTSIDE = "door-opened-outside-site"


def parse_places(alerts: pl.DataFrame) -> pl.DataFrame:
    """The latitude and longitude of alerts whose place is 'lat, lon'."""
    parts = pl.col("place").str.split(", ")
    return alerts.with_columns(
        parts.list.get(0, null_on_oob=True).cast(pl.Float64, strict=False).alias("lat"),
        parts.list.get(1, null_on_oob=True).cast(pl.Float64, strict=False).alias("lon"),
    ).drop_nulls(["lat", "lon"])


def common_places(openings: pl.DataFrame, cell_deg: float, min_consignees: int) -> pl.DataFrame:
    """openings (trip_id, lat, lon, consignee) -> each opening's cell and whether the cell and
    its neighbours saw the boxes of at least min_consignees consignees opened; plus per cell
    how many openings, trips and consignees."""
    if openings.height == 0:
        return openings.with_columns(
            pl.lit(0, pl.Int64).alias("cy"),
            pl.lit(0, pl.Int64).alias("cx"),
            pl.lit(0, pl.UInt32).alias("consignees"),
            pl.lit(False).alias("common"),
        )
    cells = openings.with_columns(
        (pl.col("lat") / cell_deg).floor().cast(pl.Int64).alias("cy"),
        (pl.col("lon") / cell_deg).floor().cast(pl.Int64).alias("cx"),
        pl.col("consignee").fill_null(pl.concat_str(pl.lit("trip "), pl.col("trip_id"))),
    )
    offsets = pl.DataFrame({"dy": [-1, -1, -1, 0, 0, 0, 1, 1, 1], "dx": [-1, 0, 1] * 3})
    around = (
        cells.join(offsets, how="cross")
        .with_columns(
            (pl.col("cy") + pl.col("dy")).alias("ty"), (pl.col("cx") + pl.col("dx")).alias("tx")
        )
        .group_by("ty", "tx")
        .agg(pl.col("consignee").n_unique().alias("consignees"))
    )
    return cells.join(around, left_on=["cy", "cx"], right_on=["ty", "tx"], how="left").with_columns(
        (pl.col("consignees") >= min_consignees).alias("common")
    )


def candidates(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """The places where the doors of several unrelated consignees' laden containers were
    opened off every listed site, most consignees first: candidate sites to confirm."""
    from cargowatch.custody.settings import custody_settings

    principal.require("events:read")
    s = custody_settings()
    m = TABLES["manifest"]
    rows = session.execute(
        select(Alert.trip_id, Alert.place, Alert.at, m.c.consignee_id)
        .join(Trip, Trip.id == Alert.trip_id)
        .outerjoin(
            m,
            (m.c.org_id == Trip.org_id)
            & (m.c.container == Trip.container)
            & (m.c.booking_ref == Trip.booking_ref),
        )
        .where(Alert.org_id == principal.org_id, Alert.type == OUTSIDE)
    ).all()
    alerts = parse_places(
        pl.DataFrame(
            rows,
            schema={
                "trip_id": pl.Int64,
                "place": pl.String,
                "at": pl.Datetime("us"),
                "consignee": pl.String,
            },
            orient="row",
        )
    )
    found = common_places(alerts, s.common_place_cell_deg, s.common_place_min_consignees)
    if found.height == 0:
        return []
    places = (
        found.filter(pl.col("common"))
        .group_by("cy", "cx")
        .agg(
            pl.col("lat").mean(),
            pl.col("lon").mean(),
            pl.len().alias("openings"),
            pl.col("trip_id").n_unique().alias("trips"),
            pl.col("consignees").max(),
            pl.col("at").min().alias("first"),
            pl.col("at").max().alias("last"),
        )
        .sort(["consignees", "openings"], descending=True)
    )
    return [
        {
            "latitude": round(r["lat"], 5),
            "longitude": round(r["lon"], 5),
            "openings": r["openings"],
            "trips": r["trips"],
            "consignees": r["consignees"],
            "first": r["first"].replace(tzinfo=UTC).isoformat() if r["first"] else None,
            "last": r["last"].replace(tzinfo=UTC).isoformat() if r["last"] else None,
        }
        for r in places.iter_rows(named=True)
    ]


def confirm(
    session: Session,
    *,
    principal: Principal,
    latitude: float,
    longitude: float,
    radius_m: float = 600,
    kind: str = "WAREHOUSE",
    uses: str = "STRIPPING;STUFFING",
    site_id: str | None = None,
) -> dict[str, Any]:
    """Add a confirmed place to the organisation's sites register (openings there become
    planned at the next custody build); returns the row and the containers to rebuild."""
    principal.require("events:write")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput(f"latitude {latitude}, longitude {longitude}: not a place on Earth")
    if not 50 <= radius_m <= 20_000:
        raise InvalidInput(f"radius_m must be between 50 and 20000 metres, got {radius_m}")
    spec = {f.name: f for f in REGISTERS["sites"].fields}
    kinds, allowed = spec["kind"].values, spec["authorised_for"].values
    if kind not in kinds:
        raise InvalidInput(f"kind must be one of {', '.join(kinds)}, got {kind!r}")
    wanted = [u.strip().upper() for u in uses.split(";") if u.strip()]
    if not wanted or any(u not in allowed for u in wanted):
        raise InvalidInput(f"uses must be some of {', '.join(allowed)}, got {uses!r}")
    site = site_id or f"CONFIRMED-{latitude:.4f}-{longitude:.4f}"
    table = TABLES["sites"]
    exists = session.scalar(
        select(table.c.id).where(table.c.org_id == principal.org_id, table.c.site_id == site)
    )
    if exists is not None:
        raise InvalidInput(f"site {site} is in the register already")
    row = {
        "org_id": principal.org_id,
        "site_id": site,
        "party_id": None,
        "kind": kind,
        "locode": None,
        "latitude": latitude,
        "longitude": longitude,
        "radius_m": radius_m,
        "authorised_for": ";".join(wanted),
    }
    session.execute(table.insert().values(**row))
    near = _containers_near(session, principal.org_id, latitude, longitude, radius_m)
    return {**row, "confirmed_at": datetime.now(UTC).isoformat(), "containers": near}


def _containers_near(
    session: Session, org_id: int, latitude: float, longitude: float, radius_m: float
) -> list[str]:
    """Containers with an opening off site alert within radius_m (plus jitter) of a place."""
    from cargowatch.custody.checks import metres

    rows = session.execute(
        select(Trip.container, Alert.place)
        .join(Trip, Trip.id == Alert.trip_id)
        .where(Alert.org_id == org_id, Alert.type == OUTSIDE)
    ).all()
    out = set()
    for box, place in rows:
        try:
            lat, lon = (float(x) for x in (place or "").split(", "))
        except ValueError:
            continue
        if metres(lat, lon, latitude, longitude) <= radius_m + 500:
            out.add(box)
    return sorted(out)
