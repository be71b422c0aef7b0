"""Benchmark: CSV registers into a fresh SQLite store, rows/s per register.

Generates each register (the access log with 1,000,000 rows by default, the others smaller, as
they are in life), ingests each file with `cargowatch ingest`'s code path (read, check every
column, flag unknown references, store once by key) and prints rows/s, with the ratio to a bare
polars read_csv of the same file measured in the same run.

    python benchmarks/registers.py [--access-rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def write_files(folder: Path, access_rows: int) -> dict[str, Path]:
    rng = random.Random(5)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    files: dict[str, Path] = {}
    n_parties, n_persons, n_containers = 5_000, 20_000, 100_000

    def stamp(i: int) -> str:
        return (start + timedelta(seconds=i * 7 + rng.randrange(7))).strftime("%Y-%m-%dT%H:%M:%SZ")

    path = folder / "parties.csv"
    with path.open("w") as f:
        f.write("party_id,name,role,country,registered_on,aeo_certified,address\n")
        for i in range(n_parties):
            aeo = "true" if i % 3 else "false"
            f.write(f"P{i},Company {i},SHIPPER,EC,2015-01-0{1 + i % 9},{aeo},Street {i}\n")
    files["parties"] = path
    path = folder / "persons.csv"
    with path.open("w") as f:
        f.write("person_id,employer_party_id,role,badge_id,vetting_status,vetting_valid_until,"
                "employed_from,employed_until,authorised_zones\n")  # fmt: skip
        for i in range(n_persons):
            f.write(
                f"E{i},P{i % n_parties},lasher,B{i},CLEARED,2027-01-01,2019-01-01,,YARD-A;QUAY\n"
            )
    files["persons"] = path
    path = folder / "manifest.csv"
    with path.open("w") as f:
        f.write("booking_ref,bl_number,container,iso_type,shipper_id,consignee_id,notify_id,"
                "forwarder_id,carrier_code,commodity_hs,commodity_desc,gross_kg,place_of_receipt,"
                "pol,pod,place_of_delivery,transshipment_ports,vessel_imo,voyage,declared_seals,"
                "booked_at\n")  # fmt: skip
        for i in range(n_containers):
            f.write(f"BKG{i},BL{i},CONT{i:07d},45R1,P{i % n_parties},P{(i * 7) % n_parties},,,MSCU,"
                    f"080390,Bananas,21000,ECGYE,ECGYE,NLRTM,NLRTM,PAMIT,9321483,031W,ML{i},"
                    f"{stamp(i)}\n")  # fmt: skip
    files["manifest"] = path
    path = folder / "access.csv"
    zones = ("YARD-A", "YARD-B", "QUAY", "GATE", "REEFER-RACK-2")
    with path.open("w") as f:
        f.write("ts,badge_id,facility,zone,direction,granted\n")
        for i in range(access_rows):
            f.write(f"{stamp(i)},B{rng.randrange(n_persons)},ECGYE:CGSA,{zones[i % 5]},"
                    f"{'IN' if i % 2 else 'OUT'},{'true' if i % 50 else 'false'}\n")  # fmt: skip
    files["access"] = path
    for name, header, make in (
        ("releases", "ts,container,bl_number,release_ref,action,authorised_party_id,"
         "actor_party_id,truck_plate,channel",
         lambda i: f"{stamp(i)},CONT{i:07d},BL{i},R{i},ISSUED,P1,P2,,PIN"),
        ("inspections", "ts,container,booking_ref,locode,authority_party_id,method,result,"
         "substance,quantity_kg,concealment,insider_suspected,reference",
         lambda i: f"{stamp(i)},CONT{i:07d},BKG{i},NLRTM,P5,SCAN,NO_FINDING,,,,,INS{i}"),
    ):  # fmt: skip
        path = folder / f"{name}.csv"
        with path.open("w") as f:
            f.write(header + "\n")
            for i in range(100_000):
                f.write(make(i) + "\n")
        files[name] = path
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--access-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
        import polars as pl
        from _common import bench_principal

        from cargowatch.db.engine import get_engine
        from cargowatch.ingest.flows import ingest_paths

        files = write_files(Path(tmp), args.access_rows)
        engine = get_engine()
        principal = bench_principal(engine, kind="TERMINAL", role="analyst")
        head = ("register", "rows", "seconds", "rows/s", "bare read/s")
        print(f"{head[0]:12s} {head[1]:>10s} {head[2]:>8s} {head[3]:>10s} {head[4]:>12s} ratio")
        for name, path in files.items():
            t = time.perf_counter()
            rows = pl.read_csv(path, infer_schema=False).height
            bare = time.perf_counter() - t
            t = time.perf_counter()
            _run, counts = ingest_paths(
                principal=principal, paths=[path], engine=engine, update_custody=False
            )
            took = time.perf_counter() - t
            assert counts.stored == rows, (name, counts)
            print(f"{name:12s} {rows:>10,d} {took:>8.2f} {rows / took:>10,.0f} "
                  f"{rows / bare:>12,.0f} {bare / took:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
