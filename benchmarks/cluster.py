"""Benchmark: a full custody rebuild computed on a Dask distributed cluster of 1, then 2 local
workers, over one simulated world: the speed-up from 1 to 2 workers, and whether both built
exactly what the local build (one process) built. The target of the speed issue is a speed-up
of at least 1.6 on this 2-core machine.

A deployment's cluster runs before a rebuild asks for it (CARGOWATCH_CLUSTER=tcp://...), so
each cluster here is started first and its start-up is printed apart from the rebuild's time;
`--cold` times CARGOWATCH_CLUSTER=local:N instead, which starts and stops one inside the build.

    python benchmarks/cluster.py [--trips 20000] [--range 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from cargowatch.cluster import local_cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=20_000)
    parser.add_argument("--range", type=int, default=2_000, help="containers per range")
    parser.add_argument("--cold", action="store_true", help="time the cluster's start-up too")
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
        for name, size in (("local process", 0), ("dask, 1 worker", 1), ("dask, 2 workers", 2)):
            with ExitStack() as running:
                cluster = f"local:{size}" if size else ""
                if size and not args.cold:
                    t = time.perf_counter()
                    local = running.enter_context(local_cluster(size))
                    cluster = local.scheduler_address
                    print(f"{name}: cluster started in {time.perf_counter() - t:.1f} s")
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
