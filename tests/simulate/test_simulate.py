"""cargowatch simulate: everything it writes ingests, counts match truth.json, each planted
scenario leaves the traces its truth names, and the noise is there at its rates."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from cargowatch.db.engine import unit_of_work
from cargowatch.documents.models import TransportDocument
from cargowatch.events.models import Event
from cargowatch.ingest.flows import ingest_paths
from cargowatch.registers.specs import TABLES
from cargowatch.simulate.generator import SimConfig, simulate
from cargowatch.telemetry.models import Reading
from tests.builders import org_with_user

SMALL = dict(trips=700, days=40, origins=("ECGYE", "COCTG"), destinations=("BEANR", "NLRTM"),
             scenario_rate=0.08, smart_share=0.4, malformed_rate=0.002,
             inspection_rate=0.3, outcome_share=0.9)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("sim")
    return out, simulate(out, SimConfig(seed=11, **SMALL))  # type: ignore[arg-type]


def _count(engine: Engine, table: Any) -> int:
    with unit_of_work(engine) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_everything_ingests_and_counts_match_the_truth(
    engine: Engine, world: tuple[Path, dict[str, Any]]
) -> None:
    out, truth = world
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    run, counts = ingest_paths(principal=p, paths=[out / "data"], engine=engine)
    expected = truth["expected"]
    assert counts.quarantined == expected["quarantined"] > 0
    assert counts.duplicates == expected["duplicates"] > 0
    assert _count(engine, Event) == expected["events"]
    assert _count(engine, Reading) == expected["telemetry"]
    assert _count(engine, TransportDocument) == expected["documents"]
    for name, rows in expected["registers"].items():
        assert _count(engine, TABLES[name]) == rows, name
    assert run.status == "partial"
    with unit_of_work(engine) as s:
        reasons = s.execute(text("SELECT field, count(*) FROM quarantine GROUP BY field")).all()
    assert {field for field, _n in reasons} <= {"eventDateTime", "direction"}


def test_same_seed_same_world_and_another_seed_another(tmp_path: Path) -> None:
    def digest(folder: Path) -> str:
        h = hashlib.sha256()
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                h.update(f.name.encode() + f.read_bytes())
        return h.hexdigest()

    small = {**SMALL, "trips": 150}
    simulate(tmp_path / "a", SimConfig(seed=5, **small))  # type: ignore[arg-type]
    simulate(tmp_path / "b", SimConfig(seed=5, **small))  # type: ignore[arg-type]
    simulate(tmp_path / "c", SimConfig(seed=6, **small))  # type: ignore[arg-type]
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def _events_of(engine: Engine, container: str, booking: str | None = None) -> list[Event]:
    with unit_of_work(engine) as s:
        q = select(Event).where(Event.container == container)
        if booking:
            q = q.where(Event.booking_ref == booking)
        return list(s.scalars(q.order_by(Event.event_time)))


def _seals(ev: Event) -> list[str]:
    return [x["number"] for x in json.loads(ev.seals)] if ev.seals else []


def test_each_scenario_leaves_the_traces_its_truth_names(
    engine: Engine, world: tuple[Path, dict[str, Any]]
) -> None:
    out, truth = world
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    ingest_paths(principal=p, paths=[out / "data"], engine=engine)
    scenarios = truth["scenarios"]
    assert len({s["mo"] for s in scenarios}) == 7, Counter(s["mo"] for s in scenarios)
    checked: Counter[str] = Counter()
    manifest, releases, access = TABLES["manifest"], TABLES["releases"], TABLES["access"]
    with unit_of_work(engine) as s:
        for sc in scenarios:
            box, booking, traces = sc["container"], sc["booking_ref"], sc["traces"]
            events = _events_of(engine, box, booking)
            declared = s.scalar(select(manifest.c.declared_seals).where(
                manifest.c.booking_ref == booking))  # fmt: skip
            for trace in traces:
                name = trace.split(":")[0]
                if name == "seal_changed_before_load":
                    load = next(e for e in events if e.event_code == "LOAD")
                    assert _seals(load) and _seals(load)[0] not in (declared or ""), sc
                elif name == "long_dwell_at_destination":
                    discs = [e for e in events if e.event_code == "DISC"]
                    gtots = [e for e in events if e.event_code == "GTOT"]
                    if not discs or not gtots:  # a move lost as noise: nothing to measure
                        continue
                    assert gtots[-1].event_time - discs[-1].event_time > timedelta(hours=48), sc
                elif name == "insider_access":
                    badge = trace.split(":")[2]
                    rows = s.execute(select(access).where(access.c.badge_id == badge)).all()
                    assert any(r.ts.isoformat().startswith(sc["when"][:4]) for r in rows), sc
                elif name == "pickup_by_party_without_release_right":
                    of_box = releases.c.container == box
                    picked = s.execute(
                        select(releases).where(of_box, releases.c.action == "PICKED_UP")
                    ).all()
                    assert any(r.actor_party_id != r.authorised_party_id for r in picked), sc
                elif name == "pickup_attempt_after_container_gone":
                    tries = s.execute(
                        select(releases).where(
                            releases.c.container == box, releases.c.action == "PICKUP_ATTEMPT"
                        )
                    ).all()
                    assert tries, sc
                elif name == "same_number_in_two_places":
                    places = {e.unlocode for e in _events_of(engine, box)}
                    assert len(places) >= 3, sc
                    assert len({e.booking_ref for e in _events_of(engine, box)}) >= 2, sc
                elif name == "recently_registered_consignee":
                    parties = TABLES["parties"]
                    company = sc["companies"][0]
                    registered = s.scalar(select(parties.c.registered_on).where(
                        parties.c.party_id == company))  # fmt: skip
                    booked = datetime.fromisoformat(sc["when"].replace("Z", "+00:00")).date()
                    assert registered is not None and (booked - registered).days < 90, sc
                elif name == "unplanned_stop_on_inland_leg":
                    readings = s.scalars(select(Reading).where(Reading.container == box)).all()
                    lat = sc["where"]["lat"]
                    assert any(abs((r.latitude or 0) - lat) < 0.001 for r in readings), sc
                elif name in ("seal_mismatch_at_handover", "cloned_seal"):
                    at = [e for e in events if e.unlocode == sc["where"]["at"] and _seals(e)]
                    assert any(_seals(e)[0] not in (declared or "") for e in at), (sc, declared)
                elif name == "seal_also_on":
                    donor = trace.split(":")[1]
                    mine = {x for e in events for x in _seals(e)} - set((declared or "").split(";"))
                    theirs = {x for e in _events_of(engine, donor) for x in _seals(e)}
                    assert mine & theirs, sc
                elif name == "seal_changed_at_transshipment":
                    codes = [(e.event_code, e.unlocode, tuple(_seals(e))) for e in events]
                    hub_seals = {seal for c, u, seal in codes if u == sc["where"]["hub"][:5]}
                    # a new seal at the hub (its discharge may be lost as noise)
                    assert any(x[0] not in (declared or "") for x in hub_seals if x), (sc, codes)
                else:
                    continue
                checked[name] += 1
    assert {"insider_access", "long_dwell_at_destination", "pickup_by_party_without_release_right",
            "same_number_in_two_places", "recently_registered_consignee",
            "seal_changed_at_transshipment"} <= set(checked), checked  # fmt: skip
    insiders = sum(1 for sc in scenarios if sc["insider"]) / len(scenarios)
    assert 0.45 < insiders < 0.85


def test_noise_is_there_at_its_rates(world: tuple[Path, dict[str, Any]]) -> None:
    _out, truth = world
    noise, events = truth["noise"], truth["noise_base"]["moves"]
    config = truth["config"]
    assert noise["missing_events"] / events == pytest.approx(config["missing_rate"], rel=0.5)
    assert noise["duplicated_events"] / events == pytest.approx(config["duplicate_rate"], rel=0.5)
    assert noise["late_events"] / events == pytest.approx(config["late_rate"], rel=0.5)
    trips = truth["trips"]
    assert noise["seal_typos_in_declarations"] / trips == pytest.approx(
        config["seal_typo_rate"], rel=0.6)  # fmt: skip
    assert noise["late_gate_ins"] / trips == pytest.approx(config["late_gate_in_rate"], rel=0.5)
    assert noise["haulier_changes"] > 0 and noise["legitimate_reseals_after_inspection"] > 0


def test_outcomes_exist_for_the_early_period_only(world: tuple[Path, dict[str, Any]]) -> None:
    out, truth = world
    limit = truth["period"]["outcomes_until"]
    rows = (out / "data" / "registers" / "inspections.csv").read_text().splitlines()[1:]
    assert rows and all(r.split(",")[0] < limit for r in rows)
    assert any(",SEIZURE," in r for r in rows)


def test_every_trace_of_every_crime_has_a_legitimate_twin() -> None:
    from cargowatch.simulate.scenarios import CRIMES, UNTWINNED
    from cargowatch.simulate.twins import TWINS

    for crime in CRIMES.values():
        for trace, twins in crime.traces.items():
            assert twins or trace in UNTWINNED, (crime.name, trace)
            assert set(twins) <= set(TWINS), (crime.name, trace, twins)
            for twin in twins:  # and the twin says so itself
                assert trace in TWINS[twin].mimics or TWINS[twin].per != "trip", (twin, trace)


def test_twins_are_planted_at_their_rates_scaled_by_the_noise_level(tmp_path: Path) -> None:
    from cargowatch.simulate.twins import NOISE_LEVELS, TWINS

    small = {**SMALL, "trips": 600, "scenario_rate": 0.01}
    planted = {}
    for level in ("low", "high"):
        truth = simulate(tmp_path / level, SimConfig(seed=7, noise=level, **small))  # type: ignore[arg-type]
        assert truth["twins"]["level"] == level
        planted[level] = truth["twins"]["planted"]
    trips = small["trips"]
    for name in ("long_dwell", "notify_is_consignee", "quick_pickup", "empty_leg"):
        expected = TWINS[name].rate * NOISE_LEVELS["high"] * trips
        assert planted["high"][name] == pytest.approx(expected, rel=0.45), name
        assert planted["high"][name] > planted["low"].get(name, 0), name
    assert planted["high"]["overtime"] > 2 * planted["low"]["overtime"]
    with pytest.raises(ValueError, match="noise must be one of"):
        SimConfig(noise="loud") and simulate(tmp_path / "x", SimConfig(noise="loud", trips=1))


def test_inspections_never_look_at_the_hidden_label(tmp_path: Path) -> None:
    """With every inspection drawn at random, planted and honest trips are inspected at the
    same rate: the selection sees what an officer sees, never whether a crime was planted."""
    config = SimConfig(seed=9, trips=3000, days=40, origins=("ECGYE",), destinations=("BEANR",),
                       scenario_rate=0.2, inspection_rate=0.2, inspection_random_share=1.0,
                       outcome_share=1.0, smart_share=0.0)  # fmt: skip
    truth = simulate(tmp_path, config)
    rows = (tmp_path / "data" / "registers" / "inspections.csv").read_text().splitlines()[1:]
    inspected = {(r.split(",")[1], r.split(",")[2]) for r in rows}
    planted = {(s["container"], s["booking_ref"]) for s in truth["scenarios"]}
    crime_rate = len(inspected & planted) / len(planted)
    honest_rate = len(inspected - planted) / (config.trips - len(planted))
    assert len(planted) > 400 and honest_rate > 0.05
    assert crime_rate == pytest.approx(honest_rate, rel=0.25), (crime_rate, honest_rate)


def test_a_front_company_is_named_alike_on_the_bill_and_the_manifest(
    world: tuple[Path, dict[str, Any]],
) -> None:
    """Its eBL must not give it away by a made-up name (a label leak fixed)."""
    out, truth = world
    fronts = {c for s in truth["scenarios"] if s["mo"] == "front_company" for c in s["companies"]}
    parties = (out / "data" / "registers" / "parties.csv").read_text()
    names = {line.split(",")[0]: line.split(",")[1] for line in parties.splitlines()[1:]}
    documents = [
        json.loads(line)
        for f in sorted((out / "data" / "ebl").glob("*.ndjson"))
        for line in f.read_text().splitlines()
    ]
    assert fronts and all(f in names for f in fronts)
    named = {d["documentParties"]["consignee"]["partyName"] for d in documents}
    assert not any(n.endswith(" Ltd") and n.split()[0] in fronts for n in named)
