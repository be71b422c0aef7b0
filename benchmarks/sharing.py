"""Benchmark: pages of the DCSA Track & Trace API out and of the TAXII 2.1 server in a large store.

Fills a SQLite store with --events equipment events (DCSA 2.2 and 3.0 fields: code, time,
container, size-type, empty or laden, place, seal, booking and B/L) of one organisation, then
times, through the app in process, a page of 1,000 events from `/v3/events` and `/v2/events`:
the first page, and a page deep in the store reached by its cursor (median of --repeat), with
the ratio to a bare indexed read of the same 1,000 rows measured in the same run. Then, with
--bulletins bulletins of nine indicators each sent to a sharing group in the same store, a
TAXII page of 1,000 objects of the group's collection (the first, and one deep by its `next`),
with the ratio to a bare indexed read of the same bulletins and indicators. Target: under
300 ms a page with 10,000,000 events stored.

    python benchmarks/sharing.py [--events 10000000] [--bulletins 5000] [--repeat 5] [--store FILE]
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
    parser.add_argument("--bulletins", type=int, default=5_000)
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
            _bulletins(engine, args.bulletins)
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
        _taxii(client, engine, args.repeat)


def _bulletins(engine: object, count: int) -> None:
    """count bulletins of nine indicators each, from the carrier to its group."""
    import uuid

    from sqlalchemy import text

    from cargowatch.auth.service import principal_for_username
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import groups

    with unit_of_work(engine) as s:  # type: ignore[arg-type]
        me = principal_for_username(s, "system")
        group = groups.create(s, principal=me, slug="bench-group", name="Benchmark group")
        gid, org = group.id, me.org_id
    start = datetime(2026, 1, 1, tzinfo=UTC)
    kinds = ("container", "seal", "party", "truck", "place", "route", "container", "seal",
             "party")  # fmt: skip
    values = {"container": "MSKU{:07d}", "seal": "ML{:07d}", "party": "P{:05d}",
              "truck": "GYA{:04d}", "place": "ECGYE", "route": "ECGYE-BEANR"}  # fmt: skip
    with engine.begin() as conn:  # type: ignore[attr-defined]
        for n in range(count):
            at = (start + timedelta(minutes=n)).strftime("%Y-%m-%d %H:%M:%S.000000")
            bid = conn.execute(text(
                "INSERT INTO bulletins (org_id, stix_id, title, body, kind, tlp, distribution, "
                "group_id, author, author_ref, source, created_at, modified_at, added_at) VALUES "
                "(:o, :s, :t, '', 'cloned-containers', 'AMBER', 'group', :g, 'carrier', '', "
                "'local', :a, :a, :a) RETURNING id"),
                {"o": org, "s": f"report--{uuid.uuid4()}", "t": f"bulletin {n}", "g": gid,
                 "a": at}).scalar()  # fmt: skip
            conn.execute(text(
                "INSERT INTO bulletin_indicators (bulletin_id, stix_id, kind, value, value_to, "
                "note) VALUES (:b, :s, :k, :v, '', '')"),
                [{"b": bid, "s": f"indicator--{uuid.uuid4()}", "k": k,
                  "v": values[k].format(n * 9 + i)} for i, k in enumerate(kinds)])  # fmt: skip


def _taxii(client: object, engine: object, repeat: int) -> None:
    from sqlalchemy import text

    from cargowatch.taxii.router import group_collection

    accept = {"Accept": "application/taxii+json;version=2.1"}
    url = f"/taxii2/cargowatch/collections/{group_collection('bench-group')}/objects/"
    first = client.get(url, params={"limit": 1000}, headers=accept)  # type: ignore[attr-defined]
    assert first.status_code == 200, first.text
    deep_next = first.json()["next"]
    for _ in range(3):  # walk a few pages in
        deep_next = client.get(url, params={"limit": 1000, "next": deep_next},  # type: ignore[attr-defined]
                               headers=accept).json()["next"]  # fmt: skip

    def timed(params: dict[str, object]) -> float:
        t = time.perf_counter()
        r = client.get(url, params=params, headers=accept)  # type: ignore[attr-defined]
        took = time.perf_counter() - t
        assert r.status_code == 200 and len(r.json()["objects"]) == 1000, r.text
        return took

    def bare() -> float:
        t = time.perf_counter()
        with engine.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text(
                "SELECT b.*, i.* FROM (SELECT * FROM bulletins ORDER BY added_at, id LIMIT 100) b "
                "JOIN bulletin_indicators i ON i.bulletin_id = b.id")).all()  # fmt: skip
        return time.perf_counter() - t

    base = statistics.median(bare() for _ in range(repeat))
    print(f"TAXII: bare indexed read of 100 bulletins and their indicators {base * 1000:,.1f} ms")
    for name, params in (("TAXII first page of 1,000 objects", {"limit": 1000}),
                         ("TAXII deep page of 1,000 objects", {"limit": 1000,
                                                              "next": deep_next})):  # fmt: skip
        took = statistics.median(timed(params) for _ in range(repeat))
        print(f"{name}: {took * 1000:,.0f} ms (median of {repeat}); ratio "
              f"{took / base:,.1f} to the bare read; target under 300 ms")  # fmt: skip


if __name__ == "__main__":
    main()
