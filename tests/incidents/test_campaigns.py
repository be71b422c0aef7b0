"""Campaigns: a network's run of boxes, and the sibling list that must find them. The simulator
plants campaigns whose boxes share the route and vessel calls and the network's own truck,
front company, seal batch or haulier, while honest boxes share each of those ties too (a
vessel call carries many boxes, a haulier's truck collects box after box, a carrier hands out
seals in numbered batches); after a seizure the sibling list names the campaign's other boxes
ahead of the crowd, from the whole store and from the incident's own bounded reads alike."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.incidents import service
from cargowatch.incidents.analysis import analyse
from cargowatch.incidents.judge import judge
from cargowatch.ingest.flows import ingest_paths
from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import org_with_user

SMALL = dict(trips=900, days=40, origins=("ECGYE", "COCTG"), destinations=("BEANR", "NLRTM"),
             scenario_rate=0.05, campaign_share=0.8, smart_share=0.3,
             inspection_rate=0.05)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("campaigns")
    return out, simulate(out, SimConfig(seed=21, **SMALL))  # type: ignore[arg-type]


def _rows(out: Path, name: str) -> list[dict[str, str]]:
    with (out / "data" / "registers" / f"{name}.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_campaign_boxes_share_their_ties_and_honest_boxes_share_them_too(
    world: tuple[Path, dict[str, Any]],
) -> None:
    out, truth = world
    campaigns = truth["campaigns"]
    assert len(campaigns) >= 4 and {c["mo"] for c in campaigns} >= {"rip_on_rip_off"}
    planted = {s["trip_key"] for s in truth["scenarios"]}
    manifest = {f"{r['container']}/{r['booking_ref']}": r for r in _rows(out, "manifest")}
    for c in campaigns:
        lines = [manifest[k] for k in c["trip_keys"]]
        assert len({(r["vessel_imo"], r["voyage"], r["pol"], r["pod"]) for r in lines}) == 1, c
        if c["mo"] == "front_company":
            assert len({r["consignee_id"] for r in lines}) == 1
    # honest twins of each tie: a vessel call carries many honest boxes ...
    calls = Counter((r["vessel_imo"], r["voyage"]) for k, r in manifest.items() if k not in planted)
    assert max(calls.values()) >= 5 and sum(1 for n in calls.values() if n > 1) >= 50
    # ... an honest haulier's truck collects several boxes within days ...
    by_truck: dict[str, list[datetime]] = defaultdict(list)
    for r in _rows(out, "releases"):
        if (
            r["action"] == "PICKED_UP"
            and r["truck_plate"]
            and not r["actor_party_id"].startswith("PX")
        ):
            by_truck[r["truck_plate"]].append(_at(r["ts"]))
    assert any(
        b - a <= timedelta(days=3)
        for ts in by_truck.values()
        for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)
    )
    # ... and a carrier's seal batch goes to several shippers, numbers a few apart
    honest = sorted(
        (r["declared_seals"][:2], int(r["declared_seals"][2:]), r["shipper_id"])
        for k, r in manifest.items() if k not in planted and r["declared_seals"]
    )  # fmt: skip
    assert sum(
        1 for (p1, n1, s1), (p2, n2, s2) in pairwise(honest)
        if p1 == p2 and n2 - n1 <= 20 and s1 != s2
    ) >= 50  # fmt: skip
    # the network's truck or seal batch ties its boxes
    releases = _rows(out, "releases")
    for c in campaigns:
        boxes = {k.split("/")[0] for k in c["trip_keys"]}
        if c["mo"] == "release_fraud":
            plates = {r["truck_plate"] for r in releases
                      if r["container"] in boxes and r["actor_party_id"][:2] == "PX"}  # fmt: skip
            assert len(plates) == 1, c


def test_the_sibling_list_names_the_other_boxes_of_a_campaign(
    engine: Engine, world: tuple[Path, dict[str, Any]]
) -> None:
    out, truth = world
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    ingest_paths(principal=p, paths=[out / "data"], engine=engine)
    got = judge(engine, p, truth)
    assert got["campaign_sibling_pairs"] >= 8
    assert got["campaign_siblings_listed"] >= 0.8
    assert got["campaign_siblings_in_first_20"] >= 0.6
    # the incident's own bounded reads find them as the whole store does
    campaign_of = {s["trip_key"]: s.get("campaign") for s in truth["scenarios"]}
    found = total = 0
    with unit_of_work(engine) as s:
        trips = {t.id: t.trip_key for t in s.scalars(select(Trip).where(Trip.org_id == p.org_id))}
        for inc in service.listed(s, principal=p, limit=1000):
            mine = campaign_of.get(trips.get(inc.trip_id or -1, ""))
            if not mine:
                continue
            mates = {tid for tid, key in trips.items()
                     if tid != inc.trip_id and campaign_of.get(key) == mine}  # fmt: skip
            sibs = analyse(s, principal=p, incident_id=inc.id).siblings
            assert all({"why", "score", "alerts", "container"} <= set(x) for x in sibs)
            total += len(mates)
            found += len(mates & {x["trip_id"] for x in sibs})
    assert total >= 8 and found / total >= 0.8
