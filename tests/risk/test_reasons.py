"""Reasons an officer can read: no impossible numbers (a share over 100 %, negative hours, a
value shown beside a norm it does not exceed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import Engine, select

from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_paths
from cargowatch.risk.models import Assessment
from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import org_with_user


def test_no_reason_carries_an_impossible_number(engine: Engine, tmp_path: Path) -> None:
    simulate(tmp_path / "w", SimConfig(trips=400, seed=21, days=45, origins=("ECGYE",),
                                       destinations=("BEANR",), scenario_rate=0.08))  # fmt: skip
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    ingest_paths(principal=p, paths=[tmp_path / "w" / "data"], engine=engine)
    with unit_of_work(engine) as s:
        reasons = [f["reason"] for a in s.scalars(select(Assessment.findings))
                   for f in json.loads(a)]  # fmt: skip
    assert reasons
    problems = []
    for r in reasons:
        for share in re.findall(r"(\d+(?:\.\d+)?) ?%", r):
            if float(share) > 100:
                problems.append(r)
        if re.search(r"-\d+(?:\.\d+)? (?:hours|days)", r):
            problems.append(r)
        beside = re.search(r"(\d+(?:\.\d+)?) (hours|days)\b.*usually (?:takes )?up to "
                           r"(\d+(?:\.\d+)?) \2", r)  # fmt: skip
        if beside and float(beside.group(1)) <= float(beside.group(3)):
            problems.append(r)
    assert problems == []
