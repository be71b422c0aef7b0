"""Benchmark: cargowatch simulate, records generated per second and peak memory.

Writes a world of N trips (default 50,000; pass --trips 1000000 for the full scale) into a
temporary folder and prints events and all records generated per second, with peak memory, and
the ratio to a bare baseline measured in the same run: json.dumps and write of the same number of
fixed DCSA events (the floor of serialising and writing, with no world behind them).

    python benchmarks/simulate.py [--trips 50000]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=50_000)
    args = parser.parse_args()
    from cargowatch.simulate.generator import SimConfig, simulate

    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        days = max(30, min(365, args.trips // 3000))
        t = time.perf_counter()
        truth = simulate(Path(tmp) / "world", SimConfig(trips=args.trips, seed=1, days=days))
        took = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        files = truth["files"]
        records = sum(f["records"] for f in files.values())
        events = truth["expected"]["events"] + truth["expected"]["duplicates"]
        size = sum(p.stat().st_size for p in (Path(tmp) / "world").rglob("*") if p.is_file())

        sample = {"eventID": "00000000-0000-4000-8000-000000000000", "eventType": "EQUIPMENT",
                  "eventCreatedDateTime": "2025-03-01T04:10:00Z", "eventClassifierCode": "ACT",
                  "eventDateTime": "2025-03-01T04:10:00Z", "equipmentEventTypeCode": "LOAD",
                  "equipmentReference": "MSKU9070323", "emptyIndicatorCode": "LADEN",
                  "eventLocation": {"UNLocationCode": "ECGYE"},
                  "seals": [{"sealNumber": "ML1234567", "sealType": "BLT"}]}  # fmt: skip
        t = time.perf_counter()
        with (Path(tmp) / "bare.ndjson").open("w") as f:
            for i in range(records):
                sample["eventID"] = f"00000000-0000-4000-8000-{i:012d}"
                f.write(json.dumps(sample, separators=(",", ":")) + "\n")
        bare = time.perf_counter() - t
    scenarios = len(truth["scenarios"])
    print(f"{args.trips:,} trips over {days} days: {records:,} records ({events:,} events, "
          f"{scenarios} scenarios), {size / 1e6:,.0f} MB in {took:.1f} s")  # fmt: skip
    print(f"generated: {records / took:,.0f} records/s, {events / took:,.0f} events/s, "
          f"peak memory {peak:.0f} MB")  # fmt: skip
    print(f"baseline (json.dumps + write of fixed events): {records / bare:,.0f} records/s")
    print(f"ratio simulate / baseline = {bare / took:.2f}")


if __name__ == "__main__":
    main()
