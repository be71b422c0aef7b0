"""Benchmark: a full custody rebuild computed on a local Dask distributed cluster of 1, then 2
workers (CARGOWATCH_CLUSTER=local:N), over one simulated world: the speed-up from 1 to 2
workers, and whether both built exactly what the local build (one process) built. The target
of the speed issue is a speed-up of at least 1.6 on this 2-core machine.

    python benchmarks/cluster.py [--trips 20000] [--range 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=20_000)
    parser.add_argument("--range", type=int, default=2_000, help="containers per range")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-cluster-") as tmp:
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
        os.environ["CARGOWATCH_CUSTODY_WORKERS"] = "1"
        from _common import simulated_store
        from sqlalchemy import select

        from cargowatch.config import get_settings
        from cargowatch.custody import engine as custody_engine
        from cargowatch.custody.models import Alert, Trip
        from cargowatch.db.engine import unit_of_work

        custody_engine.RANGE_CONTAINERS = args.range
        engine, principal, events = simulated_store(Path(tmp), args.trips)

        def digest() -> str:
            with unit_of_work(engine) as s:
                rows = s.execute(select(Trip.trip_key, Trip.events, Trip.alerts, Trip.stays)
                                 .order_by(Trip.trip_key)).all()  # fmt: skip
                alerts = s.execute(select(Alert.type, Alert.explanation)
                                   .order_by(Alert.type, Alert.explanation)).all()  # fmt: skip
            return hashlib.sha256(repr((rows, alerts)).encode()).hexdigest()[:16]

        took: dict[str, float] = {}
        digests: dict[str, str] = {}
        for name, cluster in (("local process", ""), ("dask, 1 worker", "local:1"),
                              ("dask, 2 workers", "local:2")):  # fmt: skip
            os.environ["CARGOWATCH_CLUSTER"] = cluster
            get_settings.cache_clear()
            t = time.perf_counter()
            with unit_of_work(engine) as s:
                custody_engine.build(s, org_id=principal.org_id)
            took[name] = time.perf_counter() - t
            digests[name] = digest()
            print(f"{name}: {took[name]:.1f} s = {events / took[name]:,.0f} events/s "
                  f"(result {digests[name]})")  # fmt: skip
    speedup = took["dask, 1 worker"] / took["dask, 2 workers"]
    print(f"{args.trips:,} trips, {events:,} events, ranges of {args.range:,} containers")
    print(f"speed-up from 1 to 2 Dask workers: {speedup:.2f}x (target 1.6x); "
          f"ratio of 2 workers to the local process: "
          f"{took['local process'] / took['dask, 2 workers']:.2f}")  # fmt: skip
    print("results identical to the local build:", len(set(digests.values())) == 1)


if __name__ == "__main__":
    main()
