"""Benchmark: server time of each web page with 100,000 trips stored, against a trivial request.

Grows a store to --trips scored trips (see _common.grown_store), signs in through the login form,
then requests every page --repeat times and prints the median and the worst server time
(the Server-Timing header, i.e. without the network and the browser), with the ratio of the
median to /health measured the same way in the same run. Target: every page under 300 ms.

    python benchmarks/web.py [--trips 100000] [--base 5000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-web-") as tmp:
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
        from _common import bench_principal, grown_store
        from fastapi.testclient import TestClient
        from sqlalchemy import select

        from cargowatch.app import create_app
        from cargowatch.auth.models import User
        from cargowatch.auth.security import hash_password
        from cargowatch.custody.models import Trip
        from cargowatch.dashboard.service import forget
        from cargowatch.db.engine import get_engine, unit_of_work
        from cargowatch.risk.engine import score

        engine = get_engine()
        principal = bench_principal(engine, kind="CUSTOMS", role="analyst")
        t = time.perf_counter()
        trips, alerts = grown_store(engine, principal, Path(tmp), args.trips, args.base)
        with unit_of_work(engine) as s:
            score(s, org_id=principal.org_id)
            user = s.scalar(select(User).where(User.username == "bench"))
            assert user is not None
            user.password_hash = hash_password("bench-password")
            trip_id, box = s.execute(
                select(Trip.id, Trip.container).where(Trip.alerts > 2).limit(1)
            ).one()
        print(
            f"store: {trips:,} scored trips, {alerts:,} alerts "
            f"(set up in {time.perf_counter() - t:.0f} s)"
        )
        client = TestClient(create_app(engine=engine))
        page = client.get("/login")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        client.post(
            "/login",
            data={"csrf": found.group(1), "username": "bench", "password": "bench-password"},
        )

        def timed(path: str, afresh: bool = False) -> list[float]:
            out = []
            for _ in range(args.repeat):
                if afresh:  # the dashboard's figures over every trip counted again
                    forget()
                response = client.get(path.split(" ")[0])
                assert response.status_code == 200, (path, response.status_code)
                out.append(float(response.headers["server-timing"].split("dur=")[1]))
            return out

        base = statistics.median(timed("/health"))
        pages = [
            "/",
            "/ (counted afresh)",
            "/queue",
            "/queue?page=40",
            "/queue?lane=EC%3EBE&min_score=30",
            "/queue?order=newest&alert_type=seal-changed",
            "/queue?order=route&size=100",
            "/queue?since=2025-03-01&until=2025-03-08",
            f"/trips/{trip_id}",
            "/work",
            "/ingest",
            f"/search?q={box[:6]}",
            f"/search?q={box}",
            "/search?q=Antwerpen",
            "/search?q=BEANR",
        ]
        print(f"{'page':48} {'median ms':>10} {'worst ms':>9} {'ratio to /health':>17}")
        for path in pages:
            times = timed(path, afresh=path == "/ (counted afresh)")
            median = statistics.median(times)
            print(f"{path:48} {median:10.1f} {max(times):9.1f} {median / base:17.1f}")
        print(f"/health median {base:.2f} ms; target: every page under 300 ms")


if __name__ == "__main__":
    main()
