"""Benchmark: a full custody build (trips, timelines, seal ledger, alerts) over a simulated world.

Simulates N trips (default 10,000), ingests them into a fresh SQLite store without custody, then
times `cargowatch custody rebuild` over every event, and, as the baseline in the same run, a
plain polars group-by of the same events per container and booking (read from the store, then
count, first and last time).

    python benchmarks/custody.py [--trips 10000]      # --trips 1000000: about 10 million events
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-", dir=args.dir) as tmp:
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
        import polars as pl
        from _common import simulated_store
        from sqlalchemy import select

        from cargowatch.custody.engine import build
        from cargowatch.db.engine import unit_of_work
        from cargowatch.events.models import Event

        engine, principal, events = simulated_store(Path(tmp), args.trips)

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        with unit_of_work(engine) as s:
            trips, alerts = build(s, org_id=principal.org_id)
        took = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        t = time.perf_counter()
        with engine.connect() as conn:  # after the build, so that its memory is not counted
            frame = pl.read_database(
                select(Event.container, Event.booking_ref.label("booking"),
                       Event.event_time.label("time")), conn)  # fmt: skip
        grouped = frame.group_by("container", "booking").agg(
            pl.len(), pl.col("time").min().alias("first"), pl.col("time").max().alias("last")
        )
        bare = time.perf_counter() - t

    print(
        f"{args.trips:,} simulated trips: {events:,} events -> {trips:,} trips, {alerts:,} alerts"
    )
    print(f"custody build: {took:.1f} s = {events / took:,.0f} events/s, "
          f"peak memory {peak:,.0f} MB ({before:,.0f} MB before the build), "
          f"each worker process at most {worker:,.0f} MB")  # fmt: skip
    print(f"baseline (read + polars group-by, {grouped.height:,} groups): {bare:.2f} s = "
          f"{events / bare:,.0f} events/s")  # fmt: skip
    print(f"ratio custody / baseline = {bare / took:.3f}")


if __name__ == "__main__":
    main()
