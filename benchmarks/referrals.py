"""Benchmark: referrals stored and routed, and the Customs inbox at that size.

Declares three points of contact (a port, a country, a neighbour country), sends --referrals
referrals from one carrier through the intake service (validated, idempotent, routed, each
copy's acknowledgement due computed in working time, audited): the first 2,000 one per
transaction as the API sends them, the rest in batches of 1,000 as a file is sent, and prints
both rates with their ratio to a bare executemany of the same referral rows measured in the
same run. Then it signs in as a Customs officer and prints the server time of the inbox page
and API (median of --repeat). Target: the inbox under 300 ms at 100,000 referrals.

    python benchmarks/referrals.py [--referrals 100000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-ref-") as tmp:
        os.environ["CARGOWATCH_DATABASE_URL"] = f"sqlite:///{tmp}/store.db"
        from fastapi.testclient import TestClient
        from rich.progress import Progress
        from sqlalchemy import delete, insert, select

        from cargowatch.app import create_app
        from cargowatch.auth.models import User
        from cargowatch.auth.security import hash_password
        from cargowatch.auth.service import create_user, principal_for_username
        from cargowatch.db.engine import get_engine, unit_of_work
        from cargowatch.orgs.service import create_org
        from cargowatch.referrals import service
        from cargowatch.referrals.models import Referral

        engine = get_engine()
        with unit_of_work(engine) as s:
            create_org(s, actor="bench", slug="customs", name="Customs", kind="CUSTOMS")
            create_org(s, actor="bench", slug="carrier", name="Carrier", kind="CARRIER")
            create_user(s, actor="bench", org_slug="customs", username="chief", role="admin")
            create_user(s, actor="bench", org_slug="customs", username="officer",
                        role="analyst", password="bench-password")  # fmt: skip
            create_user(s, actor="bench", org_slug="carrier", username="sender", role="analyst")
        with unit_of_work(engine) as s:
            chief = principal_for_username(s, "chief")
            sender = principal_for_username(s, "sender")
            for name, places in (("Antwerp", ["BEANR"]), ("Belgium", ["BE"]), ("Ports", ["NL"])):
                service.declare_spoc(s, principal=chief, name=name, jurisdiction=places,
                                     timezone="Europe/Brussels")  # fmt: skip
        categories = ("seal-anomaly", "door-or-tampering", "routing-or-dwell", "other")
        places = ("BEANR", "BEZEE", "NLRTM", "BEBRU")

        def fields(i: int) -> dict[str, object]:
            return {
                "client_ref": f"R-{i:07d}", "category": categories[i % 4],
                "urgency": "urgent" if i % 10 == 0 else "routine", "place": places[i % 4],
                "containers": [f"MSKU{i % 9_000_000:07d}"],
                "text": "Seal number at the gate differs from the booking.",
            }  # fmt: skip

        # the baseline: the same referral rows, inserted bare
        rows = [
            {"org_id": sender.org_id, "client_ref": f"B-{i:07d}", "category": categories[i % 4],
             "urgency": "routine", "tlp": "AMBER", "place": places[i % 4],
             "containers": f"MSKU{i % 9_000_000:07d}", "bookings": "", "bl_numbers": "",
             "seals": "", "text": "Seal number at the gate differs from the booking.",
             "contact": "", "created_by": "bench"}
            for i in range(args.referrals)
        ]  # fmt: skip
        t = time.perf_counter()
        with unit_of_work(engine) as s:
            s.execute(insert(Referral), rows)
        bare = args.referrals / (time.perf_counter() - t)
        with unit_of_work(engine) as s:
            s.execute(delete(Referral).where(Referral.client_ref.like("B-%")))

        one = min(2000, args.referrals)  # one at a time (the API's and the form's path)
        t = time.perf_counter()
        for i in range(one):
            with unit_of_work(engine) as s:
                service.submit(s, principal=sender, **fields(i))
        single = one / (time.perf_counter() - t)
        t = time.perf_counter()
        with Progress() as bar:  # in batches (a file, the command line, the backtest)
            task = bar.add_task("referrals sent and routed", total=args.referrals - one)
            for start in range(one, args.referrals, 1000):
                end = min(start + 1000, args.referrals)
                with unit_of_work(engine) as s:
                    sent = service.submit_many(
                        s, principal=sender, bodies=[fields(i) for i in range(start, end)]
                    )
                    assert all(x.new for x in sent)
                bar.advance(task, end - start)
        routed = (args.referrals - one) / (time.perf_counter() - t)
        print(
            f"{args.referrals:,} referrals stored and routed: {one:,} one per transaction at "
            f"{single:,.0f}/s (ratio {single / bare:.3f}), the rest in batches of 1,000 at "
            f"{routed:,.0f}/s (ratio {routed / bare:.3f}); bare insert {bare:,.0f}/s"
        )

        with unit_of_work(engine) as s:
            officer = s.scalar(select(User).where(User.username == "officer"))
            assert officer is not None
            officer.password_hash = hash_password("bench-password")
        client = TestClient(create_app(engine=engine))
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post("/login", data={"csrf": token.group(1), "username": "officer",
                                    "password": "bench-password"})  # fmt: skip

        def timed(path: str) -> float:
            out = []
            for _ in range(args.repeat):
                got = client.get(path)
                assert got.status_code == 200, (path, got.status_code)
                out.append(float(got.headers["server-timing"].split("dur=")[1]))
            return statistics.median(out)

        base = timed("/health")
        for path in ("/referrals", "/referrals?state=submitted", "/referrals?overdue=1",
                     "/referrals?state=acknowledged", "/referrals/metrics",
                     "/referrals/metrics?by=referrer", "/notifications"):  # fmt: skip
            ms = timed(path)
            print(f"{path:40} {ms:8.1f} ms  ratio to /health {ms / base:6.1f}")
        print(f"/health {base:.2f} ms; target: the inbox under 300 ms (the figures load after "
              "the dashboard, not in its time)")  # fmt: skip


if __name__ == "__main__":
    main()
