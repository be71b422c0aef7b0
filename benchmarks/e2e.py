"""Benchmark: a world end to end on SQLite and on PostgreSQL, with the ratio between them.

Simulates a world of --trips trips (every accepted format), then for each store, in a fresh
process and a fresh database: `cargowatch ingest <all files>` (which rebuilds custody and
scores what it touched, through its jobs) and a full `cargowatch score`. Prints each step's time
per store, the time per record, the ratio PostgreSQL / SQLite, and whether both stores give the
same targets (the top of the queue by container, booking and score).

    python benchmarks/e2e.py [--trips 5000 20000] [--postgres postgresql://postgres@127.0.0.1/postgres]
                             [--explain]   # log plans of statements over 200 ms (auto_explain)

With several sizes, each is run in turn and the time per record of each step is compared
between the smallest and the largest world: a statement whose cost grows with the store shows
as a per-record time that grows too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_DEFAULT = os.environ.get("CARGOWATCH_TEST_POSTGRES_URL") or (
    "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _records(data: Path) -> int:
    """Lines in the world's files: the records ingest reads (events, rows, messages)."""
    total = 0
    for path in data.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                total += sum(1 for _ in handle)
    return total


def _run(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cargowatch", *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"cargowatch {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return took, done.stdout


def _pg_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _store(label: str, url: str, data: Path, work: Path, explain: bool) -> dict[str, object]:
    """Set up an organisation and user in a fresh store, then time ingest and score."""
    env = {
        **os.environ,
        "CARGOWATCH_DATABASE_URL": url,
        "CARGOWATCH_DATA_DIR": str(work / f"data-{label}"),
        "CARGOWATCH_USER": "bench",
    }
    if explain and url.startswith("postgresql"):
        env["PGOPTIONS"] = (
            "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=200 "
            "-c auto_explain.log_analyze=on -c auto_explain.log_buffers=on"
        )
    _run(env, "orgs", "create", "bench", "--name", "Bench", "--kind", "customs")
    _run(env, "users", "create", "bench", "--org", "bench", "--role", "analyst")
    ingest, _ = _run(env, "ingest", str(data))
    score, _ = _run(env, "score")
    _, queue = _run(env, "targets", "--limit", "200", "--explore", "0", "--format", "json")
    rows = json.loads(queue)
    floor = round(rows[-1]["score"], 1) if rows else 0.0
    top = sorted(
        (r["container"], r["booking_ref"], round(r["score"], 1))
        for r in rows
        if round(r["score"], 1) > floor  # ties at the cut fall by trip id, which may differ
    )
    return {"ingest": ingest, "score": score, "top": top}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, nargs="+", default=[5_000, 20_000])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--postgres", default=PG_DEFAULT, help="an admin URL of a server")
    parser.add_argument("--explain", action="store_true", help="auto_explain slow statements")
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    per_record: dict[int, dict[str, float]] = {}
    for trips in args.trips:
        per_record[trips] = _world(trips, args)
    if len(per_record) > 1:
        small, large = min(per_record), max(per_record)
        print(f"time per record, {large:,} trips against {small:,} (1.00: linear in the store):")
        for key, value in per_record[large].items():
            print(f"  {key:<24}{value / per_record[small][key]:>6.2f}")


def _world(trips: int, args: argparse.Namespace) -> dict[str, float]:
    """Simulate, then time both stores on one world; returns seconds per record by step."""
    with tempfile.TemporaryDirectory(prefix="cw-bench-e2e-", dir=args.dir) as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cargowatch", "simulate", "--out", str(work / "world"),
             "--trips", str(trips), "--seed", str(args.seed)],
            check=True, capture_output=True,
        )  # fmt: skip
        data = work / "world" / "data"
        records = _records(data)
        print(f"\nworld: {trips:,} trips, {records:,} records "
              f"(simulated in {time.perf_counter() - t:.0f} s)")  # fmt: skip
        results = {
            "SQLite": _store("sqlite", f"sqlite:///{work / 'store.db'}", data, work, False),
            "PostgreSQL": _store(
                "pg", _pg_database(args.postgres, "cargowatch_bench_e2e"), data, work, args.explain
            ),
        }
        print(f"{'step':<30}{'SQLite':>12}{'PostgreSQL':>14}{'ratio':>8}")
        total = {"SQLite": 0.0, "PostgreSQL": 0.0}
        rates: dict[str, float] = {}
        for step in ("ingest", "score"):
            lite = float(results["SQLite"][step])  # type: ignore[arg-type]
            pg = float(results["PostgreSQL"][step])  # type: ignore[arg-type]
            total["SQLite"] += lite
            total["PostgreSQL"] += pg
            rates[f"{step} on SQLite"] = lite / records
            rates[f"{step} on PostgreSQL"] = pg / records
            print(f"{step:<30}{lite:>10.1f} s{pg:>12.1f} s{pg / lite:>8.2f}")
            print(f"{'  per 1,000 records':<30}{1000 * lite / records:>10.3f} s"
                  f"{1000 * pg / records:>12.3f} s")  # fmt: skip
        ratio = total["PostgreSQL"] / total["SQLite"]
        print(f"{'end to end':<30}{total['SQLite']:>10.1f} s{total['PostgreSQL']:>12.1f} s"
              f"{ratio:>8.2f}")  # fmt: skip
        lite_top, pg_top = results["SQLite"]["top"], results["PostgreSQL"]["top"]
        print(f"same targets on both stores: {'yes' if lite_top == pg_top else 'NO'} "
              f"({len(lite_top)} compared)")  # type: ignore[arg-type]  # fmt: skip
        if lite_top != pg_top:
            print("  only on SQLite:", sorted(set(lite_top) - set(pg_top))[:5])  # type: ignore[arg-type]
            print("  only on PostgreSQL:", sorted(set(pg_top) - set(lite_top))[:5])  # type: ignore[arg-type]
        print(f"ratio PostgreSQL / SQLite = {ratio:.2f} (target: at most 1.5)")
        return rates


if __name__ == "__main__":
    main()
