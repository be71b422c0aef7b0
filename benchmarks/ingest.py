"""Benchmark: DCSA 2.2 equipment events (NDJSON) into a fresh store, end to end.

Prints events/s and peak memory of `cargowatch ingest`'s code path (parse, validate, deduplicate,
insert, index), and the ratio to a bare driver write of the same rows measured in the same run:
sqlite3 executemany in one transaction into an unindexed table (SQLite), COPY into an unlogged
table (PostgreSQL, with --postgres URL). Each measurement runs in its own process so that peak
memory is its own.

    python benchmarks/ingest.py [--events 1000000] [--postgres postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child_ingest(path: Path, url: str) -> dict[str, float]:
    os.environ["CARGOWATCH_DATABASE_URL"] = url
    from _common import bench_principal

    from cargowatch.db.engine import get_engine
    from cargowatch.ingest.flows import ingest_paths

    engine = get_engine()
    principal = bench_principal(engine, kind="OTHER", role="ingester")
    start = time.perf_counter()
    _run, counts = ingest_paths(
        principal=principal, paths=[path], engine=engine, update_custody=False
    )
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"elapsed": elapsed, "stored": counts.stored, "peak_mb": peak}


def child_baseline(path: Path, url: str) -> dict[str, float]:
    """Bare driver writes of the very rows cargowatch stores; only the writes are timed."""
    from cargowatch.ingest.adapters.dcsa_tnt import convert_22
    from cargowatch.ingest.writer import COLUMNS

    cols = ", ".join(COLUMNS)
    batch: list[tuple[object, ...]] = []
    timed = 0.0
    total = 0
    if url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"CREATE TABLE plain ({cols})")
        sql = f"INSERT INTO plain ({cols}) VALUES ({', '.join('?' * len(COLUMNS))})"

        def write(rows: list[tuple[object, ...]]) -> None:
            db.executemany(sql, rows)

        def done() -> None:
            db.commit()
    else:
        import psycopg

        pg = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
        pg.execute("DROP TABLE IF EXISTS bench_plain")
        pg.execute(
            "CREATE UNLOGGED TABLE bench_plain AS SELECT " + cols + " FROM events WITH NO DATA"
        )
        pg.execute("SET TIME ZONE 'UTC'")

        def write(rows: list[tuple[object, ...]]) -> None:
            with pg.cursor() as cur, cur.copy(f"COPY bench_plain ({cols}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)

        def done() -> None:
            pg.execute("DROP TABLE bench_plain")
            pg.commit()

    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            row = convert_22(line.strip(), "dcsa-tnt-2.2")
            batch.append((1, False, lineno, lineno, *row[:-1], 1 if row[-1] else None))
            if len(batch) == 20_000:
                t = time.perf_counter()
                write(batch)
                timed += time.perf_counter() - t
                total += len(batch)
                batch.clear()
    t = time.perf_counter()
    write(batch)
    total += len(batch)
    done()
    timed += time.perf_counter() - t
    return {"elapsed": timed, "stored": total, "peak_mb": 0.0}


def spawn(kind: str, path: Path, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path), url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def fresh_postgres(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


def report(label: str, n: int, ours: dict[str, float], base: dict[str, float]) -> None:
    rate = ours["stored"] / ours["elapsed"]
    base_rate = base["stored"] / base["elapsed"]
    print(f"[{label}] cargowatch ingest: {int(ours['stored']):,} events in {ours['elapsed']:.2f} s"
          f" = {rate:,.0f} events/s, peak memory {ours['peak_mb']:.0f} MB")  # fmt: skip
    print(f"[{label}] baseline (bare driver write of the same rows): {base_rate:,.0f} rows/s")
    print(f"[{label}] ratio cargowatch / baseline = {rate / base_rate:.2f}")
    if ours["stored"] != n:
        print(f"[{label}] WARNING: stored {ours['stored']} of {n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="", help="admin URL of a PostgreSQL server")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, url = args.child
        fn = child_ingest if kind == "ingest" else child_baseline
        print(json.dumps(fn(Path(path), url)))
        return

    from cargowatch.ingest.samples import equipment_events

    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        data = Path(tmp) / "events.ndjson"
        t = time.perf_counter()
        with data.open("wb") as f:
            f.writelines(equipment_events(args.events, seed=7))
        size = data.stat().st_size / 1e6
        print(f"generated {args.events:,} DCSA 2.2 equipment events ({size:.0f} MB) "
              f"in {time.perf_counter() - t:.1f} s")  # fmt: skip

        ours = spawn("ingest", data, f"sqlite:///{tmp}/store.db")
        base = spawn("baseline", data, f"sqlite:///{tmp}/plain.db")
        report("sqlite", args.events, ours, base)

        if args.postgres:
            url = fresh_postgres(args.postgres, "cargowatch_bench")
            ours = spawn("ingest", data, url.replace("postgresql://", "postgresql+psycopg://"))
            base = spawn("baseline", data, url)
            report("postgresql", args.events, ours, base)


if __name__ == "__main__":
    main()
