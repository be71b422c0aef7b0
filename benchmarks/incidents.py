"""Benchmark: one incident's post-incident analysis in a large store.

Fills a SQLite store with --trips trips (each with its manifest line on a weekly vessel call of
its terminal, its stay at one of 60 terminals over a year, its seal from a carrier batch and
its pick-up by one of 5,000 trucks) and --swipes badge swipes (6,000 staff, day and night
shifts), records
a seizure on one trip, then times building its analysis (windows, who had access with their
pattern breaks, siblings, a suggested MO), median of --repeat, and prints it with the ratio to a
bare indexed read of the rows at the trip's facilities in its windows, measured in the same
run. Target: under 2 s at 1,000,000 trips and 20,000,000 swipes.

    python benchmarks/incidents.py [--trips 1000000] [--swipes 20000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=1_000_000)
    parser.add_argument("--swipes", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", help="Keep the store in this file, and reuse it when there.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-inc-") as tmp:
        path = args.store or f"{tmp}/store.db"
        reuse = os.path.exists(path)
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{path}"
        from rich.progress import Progress
        from sqlalchemy import insert, text

        from cargowatch.auth.service import create_user, principal_for_username
        from cargowatch.custody.models import Trip, TripSeal
        from cargowatch.db.engine import get_engine, unit_of_work
        from cargowatch.incidents import service
        from cargowatch.incidents.analysis import analyse
        from cargowatch.orgs.service import create_org
        from cargowatch.registers.specs import TABLES

        engine = get_engine()
        if not reuse:
            with unit_of_work(engine) as s:
                create_org(s, actor="bench", slug="customs", name="Customs", kind="CUSTOMS")
                create_user(s, actor="bench", org_slug="customs", username="officer",
                            role="analyst")  # fmt: skip
        with unit_of_work(engine) as s:
            officer = principal_for_username(s, "officer")
        org = officer.org_id
        rng = random.Random(7)
        start = datetime(2025, 1, 1, tzinfo=UTC)
        terminals = [f"PORT{i:01d}:T{j}" for i in range(6) for j in range(10)]  # 60
        staff = [(f"E{i:06d}", f"B{i:06d}", terminals[i % 60], rng.choice((6, 14, 22)))
                 for i in range(6000)]  # fmt: skip
        day = 365
        with Progress(disable=reuse) as bar:
            task = bar.add_task("trips and manifest lines", total=0 if reuse else args.trips)
            for first in range(0, 0 if reuse else args.trips, 50_000):
                trips, lines, picks, seals = [], [], [], []
                for n in range(first, min(first + 50_000, args.trips)):
                    box = f"MSKU{n % 9_999_999:07d}"
                    t0 = start + timedelta(minutes=rng.randrange(0, 525_600))
                    term = rng.choice(terminals)
                    a, b = (
                        t0 + timedelta(hours=20),
                        t0 + timedelta(hours=20 + rng.randrange(12, 96)),
                    )
                    stays = json.dumps([["origin", term, a.isoformat(), b.isoformat(), 1, 2]])
                    trips.append({"org_id": org, "trip_key": f"{box}/BK{n}", "container": box,
                                  "booking_ref": f"BK{n}", "started_at": t0,
                                  "ended_at": b + timedelta(days=20), "origin": term[:5],
                                  "destination": "BEANR", "events": 8, "stays": stays,
                                  "laden": True})  # fmt: skip
                    week = (b - start).days // 7  # the terminal's weekly call: ~300 boxes
                    lines.append({"org_id": org, "booking_ref": f"BK{n}", "container": box,
                                  "shipper_id": f"S{n % 20_000}", "consignee_id": f"C{n % 30_000}",
                                  "vessel_imo": f"9{terminals.index(term):06d}",
                                  "voyage": f"{week:03d}N",
                                  "booked_at": t0 - timedelta(days=3)})  # fmt: skip
                    picks.append({"org_id": org, "ts": b + timedelta(days=20), "container": box,
                                  "action": "PICKED_UP", "release_ref": f"R{n}",
                                  "truck_plate": f"T-{rng.randrange(5000):04d}"})  # fmt: skip
                    seal = f"ML{(terminals.index(term) * 100_000 + n // 60) % 10**7:07d}"
                    seals.append({"org_id": org, "seal": seal, "event_id": n})
                with unit_of_work(engine) as s:
                    ids = s.scalars(insert(Trip).returning(Trip.id), trips).all()
                    s.execute(insert(TABLES["manifest"]), lines)
                    s.execute(insert(TABLES["releases"]), picks)
                    s.execute(
                        insert(TripSeal),
                        [x | {"trip_id": i} for x, i in zip(seals, ids, strict=True)],
                    )
                bar.advance(task, len(trips))
            task = bar.add_task("badge swipes", total=args.swipes)
            people = [{"org_id": org, "person_id": p, "employer_party_id": "P1", "badge_id": b,
                       "vetting_status": "CLEARED", "authorised_zones": "YARD-A"}
                      for p, b, _, _ in staff]  # fmt: skip
            if not reuse:
                with unit_of_work(engine) as s:
                    s.execute(insert(TABLES["persons"]), people)
            per_day = max(1, args.swipes // (len(staff) * 365))
            done = args.swipes if reuse else 0
            day = 365 if reuse else 0
            while done < args.swipes:
                rows = []
                when = start + timedelta(days=day)
                for _p, badge, term, hour in staff:
                    for k in range(per_day):
                        ts = when + timedelta(hours=hour, minutes=rng.randrange(0, 480), seconds=k)
                        rows.append((org, ts.isoformat(sep=" "), badge, term, "YARD-A", "IN", 1))
                rows = rows[: args.swipes - done]
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        "INSERT OR IGNORE INTO access (org_id, ts, badge_id, facility, zone, "
                        "direction, granted) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)  # fmt: skip
                done += len(rows)
                day += 1
                bar.advance(task, len(rows))
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        # a seizure on a trip in the middle of the year
        with unit_of_work(engine) as s:
            covered = start + timedelta(days=min(day, 365) // 2)  # mid-year: every tie there
            trip_id = s.execute(
                text("SELECT id FROM trips WHERE started_at < :end ORDER BY started_at DESC "
                     "LIMIT 1"), {"end": covered.isoformat(sep=" ")}).scalar_one()  # fmt: skip
            trip = s.get(Trip, trip_id)
            assert trip is not None and trip.ended_at is not None
            incident, _ = service.record(s, principal=officer, container=trip.container,
                                         booking_ref=trip.booking_ref, reference=f"BENCH-{trip.id}",
                                         found_at=trip.ended_at)  # fmt: skip
            incident_id = incident.id
            stay = json.loads(trip.stays or "[]")[0]
        a = TABLES["access"]
        from sqlalchemy import select

        def bare() -> float:
            t = time.perf_counter()
            with engine.connect() as conn:
                begin = datetime.fromisoformat(stay[2]) - timedelta(hours=2)
                end = datetime.fromisoformat(stay[3]) + timedelta(hours=2)
                conn.execute(select(a.c.id, a.c.ts, a.c.badge_id, a.c.zone).where(
                    a.c.org_id == org, a.c.facility == stay[1], a.c.ts >= begin,
                    a.c.ts <= end)).all()  # fmt: skip
            return time.perf_counter() - t

        def built() -> float:
            t = time.perf_counter()
            with unit_of_work(engine) as s:
                result = analyse(s, principal=officer, incident_id=incident_id)
            assert result.windows and result.persons and result.siblings
            ties.update(
                w.split(" ")[0] + " " + w.split(" ")[1] for x in result.siblings for w in x["why"]
            )
            return time.perf_counter() - t

        ties: set[str] = set()

        base = statistics.median(bare() for _ in range(args.repeat))
        took = statistics.median(built() for _ in range(args.repeat))
        print(f"{args.trips:,} trips, {args.swipes:,} swipes: one incident's analysis in "
              f"{took * 1000:,.0f} ms (median of {args.repeat}); bare indexed read of its "
              f"window's swipes {base * 1000:,.1f} ms; ratio {took / base:,.0f}; target under "
              "2,000 ms")  # fmt: skip
        print(f"sibling ties found: {', '.join(sorted(ties))}")


if __name__ == "__main__":
    main()
