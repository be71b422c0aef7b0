"""Targeting learns from outcomes: a finding that inspections keep contradicting loses its
weight; the queue holds only trips that can carry contraband, explores a share of itself and
records how it picked; a model learned on one world judges another."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pytest
from sqlalchemy import Engine, func, select

from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes, ingest_paths
from cargowatch.risk import engine as risk
from cargowatch.risk.context import Context, load_context
from cargowatch.risk.learned import capped_prior, prior_weight
from cargowatch.risk.models import Assessment, QueuePick
from cargowatch.risk.rules.base import RULES, RiskRule, evidence
from cargowatch.risk.service import assessment, queue, targets
from cargowatch.risk.settings import RiskSettings
from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import ndjson, org_with_user
from tests.custody.test_custody import BOX, SITES, manifest, trip_events

NOISY = "test-noise"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A small world with more crime than usual, so that outcomes can teach something."""
    out = tmp_path_factory.mktemp("learning-world")
    truth = simulate(
        out,
        SimConfig(
            trips=1000,
            seed=21,
            days=60,
            origins=("ECGYE", "COCTG"),
            destinations=("BEANR", "NLRTM"),
            scenario_rate=0.05,
            smart_share=0.3,
        ),
    )
    return out, truth


class NoisyRule(RiskRule):
    """A severe-looking finding that fires on a tenth of the honest trips and on no crime."""

    slug = NOISY
    family = "telemetry"
    findings = (NOISY,)
    summary = "A test finding that is always wrong."
    planted: ClassVar[set[str]] = set()

    def evaluate(self, ctx: Context) -> pl.DataFrame:
        """Every tenth honest trip by id."""
        hit = ctx.trips.filter(
            (pl.col("trip_id") % 10 == 3) & ~pl.col("trip_key").is_in(list(self.planted))
        )
        return hit.select(
            "trip_id",
            pl.lit(NOISY).alias("rule"),
            pl.lit(0.85).alias("score"),
            pl.lit("Something alarming happened to this container (a test finding).").alias(
                "reason"
            ),
            evidence(trips=pl.concat_list("trip_id")).alias("evidence"),
        )


@pytest.fixture
def noisy_rule(world: tuple[Path, dict[str, Any]]) -> Iterator[None]:
    NoisyRule.planted = {s["trip_key"] for s in world[1]["scenarios"]}
    RULES.register(NOISY, NoisyRule)
    try:
        yield
    finally:
        RULES._items.pop(NOISY, None)


def _outcomes(rows: list[tuple[str, str, str, str]]) -> bytes:
    head = (
        "ts,container,booking_ref,locode,authority_party_id,method,result,substance,"
        "quantity_kg,concealment,insider_suspected,reference\n"
    )
    lines = [
        f"{ts},{box},{booking},BEANR,,PHYSICAL,{result},,,,,T-{i}"
        for i, (ts, box, booking, result) in enumerate(rows)
    ]
    return (head + "\n".join(lines) + "\n").encode()


def noisy_ids(engine: Engine) -> list[int]:
    """Trips the noisy test finding fires on that were inspected (odd ids ending in 3)."""
    with unit_of_work(engine) as s:
        ids = s.scalars(
            select(Trip.id).where(Trip.booking_ref.is_not(None)).order_by(Trip.id)
        ).all()
    return [i for i in ids if i % 10 == 3]


def _weight(engine: Engine, org_id: int, name: str) -> float:
    with unit_of_work(engine) as s:
        model = risk.latest_model(s, org_id)
    assert model is not None
    return model[1].weights.get(name, 0.0)


def test_a_finding_that_outcomes_contradict_loses_its_weight(
    engine: Engine,
    world: tuple[Path, dict[str, Any]],
    noisy_rule: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cargowatch.config import get_settings

    out, truth = world
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    ingest_paths(principal=p, paths=[out / "data"], engine=engine)
    with engine.connect() as conn:  # how often it fires alone already tames it a priori ...
        ctx = load_context(conn, p.org_id, RiskSettings(), datetime.now(UTC))
    share = NoisyRule().evaluate(ctx).height / ctx.trips.height
    assert 0.07 < share < 0.11
    capped = capped_prior(prior_weight(RiskSettings(), 0.85), share, RiskSettings())
    assert capped < 0.3
    # ... so lift that cap here: outcomes alone must bring a severe-looking finding down
    settings = tmp_path / "risk.toml"
    settings.write_text("prior_rarity = 1.0\n")
    monkeypatch.setenv("CARGOWATCH_RISK_SETTINGS", str(settings))
    get_settings.cache_clear()
    with unit_of_work(engine) as s:
        risk.train(s, org_id=p.org_id, trained_by="test")
        risk.score(s, org_id=p.org_id)
    before = _weight(engine, p.org_id, NOISY)
    assert before > 1.5
    with unit_of_work(engine) as s:
        noisy_first = targets(s, principal=p, budget=0.05, explore=0)
    assert any(NOISY in {r["rule"] for r in t.reasons} for t in noisy_first)
    # inspections of half the trips: nothing on the honest ones, drugs on the planted ones
    planted = {s["trip_key"] for s in truth["scenarios"]}
    with unit_of_work(engine) as s:
        trips = s.execute(
            select(Trip.trip_key, Trip.container, Trip.booking_ref, Trip.ended_at).where(
                Trip.booking_ref.is_not(None), Trip.id % 2 == 1
            )
        ).all()
    rows = [
        (
            (end - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            box,
            booking,
            "SEIZURE" if key in planted else "NO_FINDING",
        )
        for key, box, booking, end in trips
    ]
    ingest_bytes(principal=p, stream=io.BytesIO(_outcomes(rows)), source="x", engine=engine)
    with unit_of_work(engine) as s:
        risk.score(s, org_id=p.org_id)  # a full scoring learns from the new outcomes itself
        version = s.scalar(select(func.max(Assessment.model_version)))
    after = _weight(engine, p.org_id, NOISY)
    assert after < 0.2 and after < before / 4, (before, after)
    with unit_of_work(engine) as s:
        queued = targets(s, principal=p, budget=0.05, explore=0)
        findings = [json.loads(f) for f in s.scalars(select(Assessment.findings))]
    assert version and version >= 2
    assert queued and all(r["rule"] != NOISY for t in queued for r in t.reasons)
    # the finding is still there, with what it was worth: found in 0 of n inspected trips
    carried = [f for fs in findings for f in fs if f["rule"] == NOISY]
    points = [f["score"] for f in carried]
    assert carried and max(points) < 0.03 and sum(points) / len(points) < 0.003
    assert all(f["worth"]["seized"] == 0 for f in carried if f["worth"]["inspected"])
    with unit_of_work(engine) as s:
        shown = assessment(s, principal=p, trip_id=next(t for t in noisy_ids(engine)))
    [said] = [f["reason"] for f in shown["findings"] if f["rule"] == NOISY]
    assert "Found in 0 of" in said
    get_settings.cache_clear()


def test_the_queue_explores_and_records_how_it_picked(
    engine: Engine, world: tuple[Path, dict[str, Any]]
) -> None:
    out, _ = world
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    ingest_paths(principal=p, paths=[out / "data"], engine=engine)
    day = date(2025, 3, 1)
    with unit_of_work(engine) as s:
        pure, _ = queue(s, principal=p, limit=40, explore=0)
        mixed, _ = queue(s, principal=p, limit=40, explore=0.2, today=day)
        again, _ = queue(s, principal=p, limit=40, explore=0.2, today=day)
        other_day, _ = queue(s, principal=p, limit=40, explore=0.2, today=day + timedelta(1))
        default, _ = queue(s, principal=p, limit=40, today=day)  # the organisation's 10 %
    assert all(t.picked == "score" for t in pure) and len(pure) == 40
    assert [t.score for t in pure] == sorted((t.score for t in pure), reverse=True)
    explored = [t for t in mixed if t.picked != "score"]
    assert len(explored) == 8 and len(mixed) == 40
    assert [t.trip_id for t in mixed[:32]] == [t.trip_id for t in pure[:32]]
    assert {t.picked for t in explored} <= {"explore-random", "explore-uncertain"}
    randoms = [t for t in explored if t.picked == "explore-random"]
    assert randoms and all(0 < t.propensity < 0.05 for t in randoms)
    assert [t.trip_id for t in again] == [t.trip_id for t in mixed]  # the same all day
    assert {t.trip_id for t in other_day} != {t.trip_id for t in mixed}
    assert sum(t.picked != "score" for t in default) == 4
    with unit_of_work(engine) as s:
        picks = s.execute(select(QueuePick.trip_id, QueuePick.how, QueuePick.day)).all()
    assert {(t, h) for t, h, d in picks if d == day} >= {(t.trip_id, t.picked) for t in explored}
    assert len([1 for _t, _h, d in picks if d == day]) == len({t for t, _h, d in picks if d == day})


def test_only_laden_trips_with_a_booking_are_targets(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    leg = [
        ev
        for ev in trip_events(box="MSCU1234566", booking="X")
        if ev["emptyIndicatorCode"] == "EMPTY"
    ]
    for ev in leg:
        ev.pop("documentReferences")  # an empty repositioning move: no booking
    for body in (SITES.encode(), manifest("BKG1", BOX, "ML1"), ndjson(trip_events()), ndjson(leg)):
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    with unit_of_work(engine) as s:
        trips = {t.container: t for t in s.scalars(select(Trip))}
        scored = set(s.scalars(select(Assessment.trip_id)))
        queued = targets(s, principal=p, limit=10, explore=0)
    assert trips["MSCU1234566"].booking_ref is None and trips[BOX].laden
    assert {t.id for t in trips.values()} <= scored  # every trip is scored and explainable
    assert [t.container for t in queued] == [BOX]  # but only the laden one is a target


def test_a_model_learned_on_one_world_judges_another(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cargowatch.cli import app

    small = dict(trips=500, days=40, origins=("ECGYE",), destinations=("BEANR",),
                 scenario_rate=0.06, smart_share=0.3)  # fmt: skip
    simulate(tmp_path / "a", SimConfig(seed=31, noise="low", **small))  # type: ignore[arg-type]
    simulate(tmp_path / "b", SimConfig(seed=32, noise="high", **small))  # type: ignore[arg-type]
    result = CliRunner().invoke(
        app,
        ["backtest", str(tmp_path / "b"), "--train-world", str(tmp_path / "a"),
         "--out", str(tmp_path / "r")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert figures["train_world"] == str(tmp_path / "a")
    assert figures["positives"] > 0 and figures["trips"] > 100
    assert figures["naive"]["budgets"]["5%"]["recall"] >= 0
    assert figures["findings"] and all(
        {"honest", "contaminated", "weight"} <= set(v) for v in figures["findings"].values()
    )
    assert figures["calibration"]["bands"] and 0 <= figures["calibration"]["brier"] <= 1
    assert (tmp_path / "r" / "reliability.png").read_bytes()[:4] == b"\x89PNG"
