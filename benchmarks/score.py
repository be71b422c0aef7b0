"""Benchmark: scoring 1,000,000 trips (every rule, the learned layer, fusion, writing the scores
and findings), with the ratio to a plain feature group-by over the same data.

Simulates a world of --base trips, ingests it and builds custody, then copies its trips (with
their manifest lines, alerts and seals, under new booking numbers) until the store holds
--trips trips, as a port authority's year would. Then times, in the same run:
  baseline: read trips and alerts into polars and group alerts by trip (count, max severity)
  score:    cargowatch's full scoring of every trip

    python benchmarks/score.py [--trips 1000000] [--base 20000]
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
    parser.add_argument("--trips", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", type=Path, help="keep the store at this path (a .db file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-score-", dir=args.dir) as tmp:
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
        import polars as pl
        from _common import bench_principal, grown_store
        from sqlalchemy import text

        from cargowatch.db.engine import get_engine, unit_of_work
        from cargowatch.risk.engine import score

        t = time.perf_counter()
        engine = get_engine()
        principal = bench_principal(engine, kind="CUSTOMS", role="analyst")
        trips, alerts = grown_store(engine, principal, Path(tmp), args.trips, args.base)
        print(
            f"store: {trips:,} trips, {alerts:,} alerts (set up in {time.perf_counter() - t:.0f} s)"
        )

        t = time.perf_counter()
        with engine.connect() as conn:
            frame = pl.read_database(
                "SELECT t.id AS trip_id, t.origin, t.destination, t.inland_hours, a.severity "
                "FROM trips t LEFT JOIN alerts a ON a.trip_id = t.id",
                conn,
            )
        grouped = frame.group_by("trip_id").agg(
            pl.col("severity").count().alias("alerts"),
            pl.col("severity").max(),
            pl.col("inland_hours").first(),
        )
        bare = time.perf_counter() - t

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        with unit_of_work(engine) as s:
            n = score(
                s,
                org_id=principal.org_id,
                progress=lambda m: print(f"  {time.perf_counter() - t:6.1f} s  {m}"),
            )
        took = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with engine.connect() as conn:
            findings = conn.execute(text("SELECT count(*) FROM risk_assessments")).scalar() or 0
        if args.keep:
            engine.dispose()
            import shutil

            shutil.copyfile(f"{tmp}/store.db", args.keep)
    print(
        f"scoring: {n:,} trips in {took:.1f} s = {n / took:,.0f} trips/s, {findings:,} assessments "
        f"written, peak memory {peak:,.0f} MB ({before:,.0f} MB before)"
    )
    print(
        f"baseline (read trips + alerts, polars group-by, {grouped.height:,} groups): {bare:.1f} s"
    )
    print(f"ratio baseline / scoring = {bare / took:.3f}; target: 1,000,000 trips under 60 s")


if __name__ == "__main__":
    main()
