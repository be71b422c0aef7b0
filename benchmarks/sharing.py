"""Benchmark: pages of the DCSA Track & Trace API out in a large store.

Fills a SQLite store with --events equipment events (DCSA 2.2 and 3.0 fields: code, time,
container, size-type, empty or laden, place, seal, booking and B/L) of one organisation, then
times, through the app in process, a page of 1,000 events from `/v3/events` and `/v2/events`:
the first page, and a page deep in the store reached by its cursor (median of --repeat), with
the ratio to a bare indexed read of the same 1,000 rows measured in the same run. Target:
under 300 ms a page with 10,000,000 events stored.

    python benchmarks/sharing.py [--events 10000000] [--repeat 5] [--store FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", help="Keep the store in this file, and reuse it when there.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-tnt-") as tmp:
        path = args.store or f"{tmp}/store.db"
        reuse = os.path.exists(path)
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{path}"
        os.environ.setdefault("CARGOWATCH_DATA_DIR", f"{tmp}/data")
        from fastapi.testclient import TestClient
        from rich.progress import Progress
        from sqlalchemy import text

        from cargowatch.app import create_app
        from cargowatch.auth.service import create_token, create_user
        from cargowatch.db.engine import get_engine, unit_of_work
        from cargowatch.orgs.service import create_org

        engine = get_engine()
        if not reuse:
            with unit_of_work(engine) as s:
                create_org(s, actor="bench", slug="carrier", name="Carrier", kind="CARRIER")
                create_user(s, actor="bench", org_slug="carrier", username="system",
                            role="analyst")  # fmt: skip
        with unit_of_work(engine) as s:
            org = s.execute(text("SELECT id FROM organisations WHERE slug = 'carrier'")).scalar()
            _, token = create_token(s, actor="bench", username="system", name="bench")
        rng = random.Random(3)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        span, boxes = 2 * 365 * 86_400, max(1, args.events // 8)
        codes = ("GTOT", "STUF", "GTIN", "LOAD", "DISC", "GTOT", "STRP", "GTIN")
        ports = ("ECGYE", "COCTG", "BEANR", "NLRTM", "ESALG", "PAMIT")
        with Progress(disable=reuse) as bar:
            task = bar.add_task("events", total=0 if reuse else args.events)
            for first in range(0, 0 if reuse else args.events, 100_000):
                rows = []
                for n in range(first, min(first + 100_000, args.events)):
                    box, step = n // 8, n % 8
                    # boxes spread over two years, each with eight moves a day or more apart
                    at = start + timedelta(seconds=box * span // boxes, hours=step * 30)
                    rows.append((
                        org, 0, f"bench-{n}", "dcsa-tnt-3.0", "EQUIPMENT", codes[step], "ACT",
                        at.strftime("%Y-%m-%d %H:%M:%S.000000"), f"MSKU{box % 10_000_000:07d}",
                        "45G1", "EMPTY" if step in (0, 7) else "LADEN", rng.choice(ports),
                        f'[{{"number": "ML{box:07d}", "source": "CAR", "type": "BLT"}}]',
                        f"BK{box}", f"BL{box}",
                    ))  # fmt: skip
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        "INSERT INTO events (org_id, retracted, event_key, source_format, "
                        "event_type, event_code, classifier, event_time, container, iso_type, "
                        "empty_indicator, unlocode, seals, booking_ref, bl_number) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)  # fmt: skip
                bar.advance(task, len(rows))
        if not reuse:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        client = TestClient(create_app(engine=engine))
        client.headers["Authorization"] = f"Bearer {token}"
        deep = client.get("/v3/events?limit=1000&eventUpdatedDateTimeMin=2025-01-01T00:00:00Z")
        assert deep.status_code == 200, deep.text
        cursor = deep.headers["Next-Page-Cursor"]

        def timed(url: str) -> float:
            t = time.perf_counter()
            r = client.get(url)
            took = time.perf_counter() - t
            assert r.status_code == 200, r.text
            return took

        def bare() -> float:
            t = time.perf_counter()
            with engine.connect() as conn:
                conn.execute(text(
                    "SELECT * FROM events WHERE org_id = :o AND event_time >= :t "
                    "ORDER BY event_time, id LIMIT 1000"),
                    {"o": org, "t": "2025-01-01 00:00:00.000000"}).all()  # fmt: skip
            return time.perf_counter() - t

        base = statistics.median(bare() for _ in range(args.repeat))
        print(f"{args.events:,} events stored; bare indexed read of 1,000 rows "
              f"{base * 1000:,.1f} ms")  # fmt: skip
        one = f"/v2/events?equipmentReference=MSKU{boxes // 2:07d}"
        for name, url in (("/v3/events first page", "/v3/events?limit=1000"),
                          ("/v3/events deep page", f"/v3/events?cursor={cursor}"),
                          ("/v2/events first page", "/v2/events?limit=1000"),
                          ("/v2/events of one box", one)):  # fmt: skip
            took = statistics.median(timed(url) for _ in range(args.repeat))
            print(f"{name}: {took * 1000:,.0f} ms (median of {args.repeat}); ratio "
                  f"{took / base:,.1f} to the bare read; target under 300 ms")  # fmt: skip


if __name__ == "__main__":
    main()
