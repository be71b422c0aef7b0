"""Benchmark: reading the store's events as columns, the candidates of the speed issue.

Reads the columns a custody rebuild reads (id, container, type, code, time, booking, place,
facility, seals, empty or laden, size-type, position) of --rows events of a store, each way
timed in the same run (median of --repeat):

- the driver's cursor into Python tuples (what custody does today), the baseline;
- polars.read_database over the driver connection (Python rows, then Arrow);
- ADBC (adbc-driver-sqlite / adbc-driver-postgresql) straight into Arrow;
- connectorx into Arrow (PostgreSQL: binary COPY in parallel);
- DuckDB attaching the store with its sqlite or postgres scanner (an extension it loads from
  its repository: on a machine without network it is reported as unavailable).

    python benchmarks/columnar.py --store FILE.db [--rows 1000000] [--postgres URL]

The store is any cargowatch SQLite file with events (benchmarks/sharing.py --store FILE makes
one of 10,000,000); with --postgres the same columns are read from that database's events.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

COLUMNS = ("id, container, event_type, event_code, event_time, booking_ref, unlocode, "
           "facility_code, seals, empty_indicator, iso_type, latitude, longitude")  # fmt: skip


def timed(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    runs, rows = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        rows = fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), rows


def candidates(
    sql: str, driver: Callable[[], Any], adbc: Callable[[], Any], cx_url: str, today: str
) -> dict[str, Callable[[], int]]:
    """The ways to read sql: driver() and adbc() open connections of the store."""
    import polars as pl

    def cursor() -> int:
        with driver() as conn:
            return len(conn.execute(sql).fetchall())

    def polars_db() -> int:
        with driver() as conn:
            return pl.read_database(sql, conn).height

    def adbc_arrow() -> int:
        with adbc() as conn, conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetch_arrow_table().num_rows)

    def connectorx() -> int:
        import connectorx as cx

        return int(cx.read_sql(cx_url, sql, return_type="arrow").num_rows)

    return {today: cursor, "polars.read_database": polars_db, "ADBC -> Arrow": adbc_arrow,
            "connectorx -> Arrow": connectorx}  # fmt: skip


def sqlite_candidates(path: str, rows: int) -> dict[str, Callable[[], int]]:
    import sqlite3

    import adbc_driver_sqlite.dbapi as adbc_sqlite

    sql = f"SELECT {COLUMNS} FROM events WHERE id <= {rows}"

    def duckdb_scan() -> int:
        import duckdb

        con = duckdb.connect()
        con.execute(f"ATTACH '{path}' AS store (TYPE sqlite, READ_ONLY)")
        got: Any = con.execute(f"SELECT {COLUMNS} FROM store.events WHERE id <= {rows}").arrow()
        return int(got.num_rows)

    found = candidates(sql, lambda: sqlite3.connect(path), lambda: adbc_sqlite.connect(path),
                       f"sqlite://{path}", "sqlite3 cursor -> Python tuples (today)")  # fmt: skip
    return {**found, "DuckDB sqlite scanner -> Arrow": duckdb_scan}


def postgres_candidates(url: str, rows: int) -> dict[str, Callable[[], int]]:
    import adbc_driver_postgresql.dbapi as adbc_pg
    import psycopg

    sql = f"SELECT {COLUMNS} FROM events WHERE id <= {rows}"
    return candidates(sql, lambda: psycopg.connect(url), lambda: adbc_pg.connect(url), url,
                      "psycopg cursor -> Python tuples (today)")  # fmt: skip


def report(title: str, candidates: dict[str, Callable[[], int]], repeat: int) -> None:
    print(title)
    base = None
    for name, fn in candidates.items():
        try:
            took, n = timed(fn, repeat)
        except Exception as exc:  # a candidate that cannot run here says why
            print(f"  {name}: unavailable ({type(exc).__name__}: {str(exc)[:120]})")
            continue
        base = base or took
        print(f"  {name}: {took:.2f} s for {n:,} rows = {n / took:,.0f} rows/s; "
              f"ratio to the baseline {base / took:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a cargowatch SQLite file with events")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL URL of a cargowatch store")
    args = parser.parse_args()
    report(f"SQLite {args.store}, {args.rows:,} events:", sqlite_candidates(args.store, args.rows),
           args.repeat)  # fmt: skip
    if args.postgres:
        report(f"PostgreSQL, {args.rows:,} events:",
               postgres_candidates(args.postgres, args.rows), args.repeat)  # fmt: skip


if __name__ == "__main__":
    main()
