"""What every benchmark sets up: an organisation and a user of a fresh store to act as."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from cargowatch.auth.principal import Principal


def bench_principal(engine: Engine, *, kind: str = "OTHER", role: str = "analyst") -> Principal:
    """A 'bench' organisation with a 'bench' user, as the principal benchmarks act as."""
    from cargowatch.auth.service import create_user, principal_for_username
    from cargowatch.db.engine import unit_of_work
    from cargowatch.orgs.service import create_org

    with unit_of_work(engine) as s:
        create_org(s, actor="bench", slug="bench", name="Bench", kind=kind)
        create_user(s, actor="bench", org_slug="bench", username="bench", role=role)
    with unit_of_work(engine) as s:
        return principal_for_username(s, "bench")


def simulated_store(tmp: Path, trips: int) -> tuple[Engine, Principal, int]:
    """A world of trips simulated under tmp and ingested, without custody, into the store
    CARGOWATCH_DATABASE_URL names; returns its engine, the principal and how many events."""
    from sqlalchemy import func, select

    from cargowatch.db.engine import get_engine, unit_of_work
    from cargowatch.events.models import Event
    from cargowatch.ingest.flows import ingest_paths
    from cargowatch.simulate.generator import SimConfig, simulate

    world = tmp / "world"
    simulate(world, SimConfig(trips=trips, seed=9, days=max(30, trips // 300),
                              origins=("ECGYE", "COCTG", "PECLL"),
                              destinations=("BEANR", "NLRTM", "DEHAM")))  # fmt: skip
    engine = get_engine()
    principal = bench_principal(engine, kind="CUSTOMS", role="analyst")
    ingest_paths(principal=principal, paths=[world / "data"], engine=engine,
                 update_custody=False)  # fmt: skip
    with unit_of_work(engine) as s:
        events = int(s.scalar(select(func.count()).select_from(Event)) or 0)
    return engine, principal, events


def grown_store(
    engine: Engine, principal: Principal, tmp: Path, trips: int, base: int
) -> tuple[int, int]:
    """Simulate base trips, ingest them, build custody, then copy the trips (with their manifest
    lines, alerts and seals, under new booking numbers) until the store holds trips trips, as
    a port's year would; returns (trips, alerts)."""
    import math

    from sqlalchemy import text

    from cargowatch.custody.engine import build
    from cargowatch.db.engine import unit_of_work
    from cargowatch.ingest.flows import ingest_paths
    from cargowatch.simulate.generator import SimConfig, simulate

    world = tmp / "world"
    simulate(world, SimConfig(trips=base, seed=3, days=max(30, base // 200)))
    ingest_paths(principal=principal, paths=[world / "data"], engine=engine, update_custody=False)
    with unit_of_work(engine) as s:
        build(s, org_id=principal.org_id)
    trip_cols = (
        "org_id, trip_key, container, booking_ref, started_at, ended_at, origin, "
        "destination, events, stripped, alerts, stays, inland_hours, delivery_hours"
    )
    manifest_cols = (
        "org_id, booking_ref, bl_number, container, iso_type, shipper_id, "
        "consignee_id, notify_id, forwarder_id, carrier_code, commodity_hs, "
        "commodity_desc, gross_kg, place_of_receipt, pol, pod, place_of_delivery, "
        "transshipment_ports, vessel_imo, voyage, declared_seals, booked_at, run_id, "
        "flags"
    )
    alert_cols = "org_id, type, severity, at, place, explanation, evidence, rule_version"
    with engine.begin() as conn:
        top = conn.execute(text("SELECT max(id) FROM trips")).scalar() or 0
        step_trip, step_alert = 10 ** len(str(top)), 10 ** (len(str(top)) + 2)
        for k in range(1, math.ceil(trips / base)):
            suffix = {"s": f"-{k}", "dt": k * step_trip, "da": k * step_alert, "top": top}
            copied = trip_cols.replace(
                "trip_key, container, booking_ref", "trip_key || :s, container, booking_ref || :s"
            )
            conn.execute(
                text(
                    f"INSERT INTO trips (id, {trip_cols}) SELECT id + :dt, {copied} "
                    "FROM trips WHERE id <= :top"
                ),
                suffix,
            )
            copied = manifest_cols.replace("org_id, booking_ref", "org_id, booking_ref || :s")
            conn.execute(
                text(
                    f"INSERT INTO manifest ({manifest_cols}) SELECT {copied} FROM "
                    "manifest WHERE booking_ref NOT LIKE '%-%'"
                ),
                suffix,
            )
            conn.execute(
                text(
                    f"INSERT INTO alerts (id, trip_id, {alert_cols}) SELECT id + :da, "
                    f"trip_id + :dt, {alert_cols} FROM alerts WHERE trip_id <= :top"
                ),
                suffix,
            )
            conn.execute(
                text(
                    "INSERT INTO trip_seals (org_id, trip_id, seal, event_id) SELECT "
                    "org_id, trip_id + :dt, seal || :s, event_id FROM trip_seals "
                    "WHERE trip_id <= :top"
                ),
                suffix,
            )
        n_trips = conn.execute(text("SELECT count(*) FROM trips")).scalar() or 0
        n_alerts = conn.execute(text("SELECT count(*) FROM alerts")).scalar() or 0
    return int(n_trips), int(n_alerts)
