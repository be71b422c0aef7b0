"""Benchmark: EDIFACT COARRI messages into a fresh SQLite store.

Generates an interchange of COARRI loading reports (10 containers each, with seals, bookings and
stowage), ingests it with `cargowatch ingest`'s code path (tokenise, check each message's
structure and segment count, map each container to an event, store) and prints messages/s and
containers/s, with the ratio to pydifact's bare tokenising of the same text in the same run.

    python benchmarks/edifact.py [--messages 5000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path


def interchange(messages: int) -> str:
    import random

    from cargowatch.ingest.samples import container_number

    rng = random.Random(3)
    parts = ["UNA:+.? 'UNB+UNOA:2+ITGOAVTE+CARRIER+250301:0410+BENCH1'"]
    for m in range(messages):
        segs = [f"UNH+M{m}+COARRI:D:95B:UN:ITG13", f"BGM+46+DOC{m}+9",
                "TDT+20+031W+1+13+COS:172:20+++3ERX3:103::COSCO AFRICA",
                "LOC+9+ITGOA:139:6+VTE:TER:ZZZ", "DTM+133:202503041652:203",
                "NAD+CF+COE:172:20"]  # fmt: skip
        for c in range(10):
            segs += [f"EQD+CN+{container_number(rng)}+45G1:102:5++2+5", f"RFF+BN:{m:06d}{c}",
                     "TMD+3", f"DTM+203:2025030{1 + c % 9}{10 + c}{10 + m % 50}:203",
                     "LOC+11+GRPIR:139:6", f"LOC+147+{m % 99:02d}{c:02d}86::6",
                     "MEA+AAE+T+KGM:4000", f"SEL+S{m}{c}+SH"]  # fmt: skip
        segs += ["CNT+16:10"]
        segs.append(f"UNT+{len(segs) + 1}+M{m}")
        parts.append("".join(s + "'" for s in segs))
    parts.append(f"UNZ+{messages}+BENCH1'")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
        from _common import bench_principal
        from pydifact.parser import Parser

        from cargowatch.db.engine import get_engine
        from cargowatch.ingest.flows import ingest_paths

        text = interchange(args.messages)
        path = Path(tmp) / "coarri.edi"
        path.write_text(text)
        segments = text.count("'") - 1
        engine = get_engine()
        principal = bench_principal(engine, kind="TERMINAL", role="analyst")
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = sum(1 for _ in Parser().parse(text))
        bare = time.perf_counter() - t
        t = time.perf_counter()
        _run, counts = ingest_paths(
            principal=principal, paths=[path], engine=engine, update_custody=False
        )
        took = time.perf_counter() - t
        assert counts.stored == args.messages * 10 and counts.quarantined == 0, counts
        print(f"{args.messages:,} COARRI messages, {segments:,} segments, {counts.stored:,} "
              "containers")  # fmt: skip
        print(f"pydifact bare parse: {bare:.2f} s = {args.messages / bare:,.0f} messages/s "
              f"({parsed / bare:,.0f} segments/s)")  # fmt: skip
        print(f"cargowatch ingest:   {took:.2f} s = {args.messages / took:,.0f} messages/s, "
              f"{counts.stored / took:,.0f} containers/s")  # fmt: skip
        print(f"ratio cargowatch / bare parse = {bare / took:.2f}")


if __name__ == "__main__":
    main()
