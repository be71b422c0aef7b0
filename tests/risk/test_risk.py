"""Risk targeting: rules contract, scores with evidence that exists, the queue, outcomes."""

from __future__ import annotations

import io
import json
import math
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, select, text

from cargowatch.audit.models import AuditEntry
from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes, ingest_paths
from cargowatch.risk.context import load_context
from cargowatch.risk.models import Assessment
from cargowatch.risk.rules.base import EVIDENCE_KINDS, FINDING_SCHEMA, RULES
from cargowatch.risk.service import assessment, targets
from cargowatch.risk.settings import RiskSettings
from cargowatch.simulate.generator import SimConfig, simulate
from tests.builders import ndjson, org_with_user, token_for
from tests.custody.test_custody import BOX, SITES, manifest, trip_events

VALUE_KINDS = {"seals", "declared", "previous", "other_trip", "leg", "types"}  # values


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A small simulated world with more crime than usual, so that a test can count."""
    out = tmp_path_factory.mktemp("risk-world")
    truth = simulate(
        out,
        SimConfig(
            trips=1200,
            seed=5,
            days=60,
            origins=("ECGYE", "COCTG"),
            destinations=("BEANR", "NLRTM"),
            scenario_rate=0.04,
            smart_share=0.4,
            inspection_rate=0.1,
        ),
    )
    return out, truth


def walk_evidence(engine: Engine, org_id: int, evidence: dict[str, Any]) -> list[str]:
    """What evidence cites that is not in the store (empty when all of it is)."""
    missing = []
    where = {
        "events": ("events", "id"),
        "telemetry": ("telemetry", "id"),
        "releases": ("releases", "id"),
        "alerts": ("alerts", "id"),
        "access": ("access", "id"),
        "inspections": ("inspections", "id"),
        "manifest": ("manifest", "id"),
        "parties": ("parties", "party_id"),
        "documents": ("transport_documents", "id"),
        "models": ("risk_models", "version"),
        "referrals": ("referrals", "id"),
        "bulletins": ("bulletins", "id"),  # another organisation's, that this one may read
    }
    assert set(where) | {"trips"} == set(EVIDENCE_KINDS)
    with engine.connect() as conn:
        for kind, ids in evidence.items():
            if kind in VALUE_KINDS:
                continue
            assert kind in EVIDENCE_KINDS, f"unknown evidence kind {kind}"
            assert ids, f"{kind}: cites nothing"
            for value in ids:
                if kind == "trips":
                    column = "trip_key" if isinstance(value, str) else "id"
                    table = "trips"
                else:
                    table, column = where[kind]
                own = "" if kind == "bulletins" else " AND org_id = :o"
                found = conn.execute(
                    text(f"SELECT 1 FROM {table} WHERE {column} = :v{own}"),
                    {"v": value, "o": org_id},
                ).first()
                if found is None:
                    missing.append(f"{kind}:{value}")
    return missing


def test_a_world_is_scored_with_reasons_whose_evidence_exists(
    engine: Engine, world: tuple[Path, dict[str, Any]]
) -> None:
    out, truth = world
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    ingest_paths(principal=p, paths=[out / "data"], engine=engine)  # custody, then scores
    with unit_of_work(engine) as s:
        n_trips = len(s.scalars(select(Trip.id)).all())
        n_targets = len(
            s.scalars(select(Trip.id).where(Trip.booking_ref.is_not(None), Trip.laden)).all()
        )
        scored = s.execute(select(Assessment.trip_id, Assessment.score)).all()
        findings = [f for a in s.scalars(select(Assessment.findings)) for f in json.loads(a)]
        queue = targets(s, principal=p, budget=0.05, include_inspected=True, explore=0)
    assert len(scored) == n_trips and all(0 <= sc <= 100 for _, sc in scored)
    assert n_targets < n_trips  # empty repositioning legs are scored, but are no targets
    assert len(queue) == math.ceil(0.05 * n_targets)
    assert [t.score for t in queue] == sorted((t.score for t in queue), reverse=True)
    # every reason of every target, and every finding, cites evidence that is in the store
    for t in queue:
        assert t.reasons, t
        for r in t.reasons:
            assert {"rule", "score", "reason", "evidence"} <= set(r)
            assert walk_evidence(engine, p.org_id, r["evidence"]) == [], r
    rules = {name for _, cls in RULES for name in cls.findings}
    assert findings
    for f in findings:
        assert f["rule"] in rules | {"lane-anomaly", "model-adjustment"}
        assert {"family", "rule_version", "score", "weight", "reason", "worth"} <= set(f)
        assert walk_evidence(engine, p.org_id, f["evidence"]) == [], f["reason"]
    # planted trips rank high: most of them within a 5 % budget
    planted = {s["trip_key"] for s in truth["scenarios"]}
    keys = {t.trip_id: t for t in queue}
    with unit_of_work(engine) as s:
        top = set(s.scalars(select(Trip.trip_key).where(Trip.id.in_(list(keys)))))
    recall = len(top & planted) / len(planted)
    assert recall >= 0.5, (recall, len(planted))
    # the score adds up: base rate plus every finding's points is the score shown
    with unit_of_work(engine) as s:
        one = assessment(s, principal=p, trip_id=queue[0].trip_id)
    total = 100 * (one["base_rate"] + sum(f["score"] for f in one["findings"]))
    assert total == pytest.approx(one["score"], abs=0.05)


def test_every_rule_keeps_the_contract(engine: Engine, world: tuple[Path, dict[str, Any]]) -> None:
    out, _ = world
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    settings = RiskSettings()
    with engine.connect() as conn:
        empty = load_context(conn, p.org_id, settings, datetime.now(UTC))
    ingest_paths(principal=p, paths=[out / "data"], engine=engine, update_custody=False)
    from cargowatch.custody.flows import rebuild

    rebuild(principal=p, engine=engine)
    with engine.connect() as conn:
        full = load_context(conn, p.org_id, settings, datetime.now(UTC))
    assert full.trips.height > 1000
    for slug, rule_cls in RULES:
        assert rule_cls.slug == slug and rule_cls.summary and rule_cls.findings
        for ctx in (empty, full):
            found = rule_cls().evaluate(ctx)
            assert set(FINDING_SCHEMA) <= set(found.columns), slug
            if found.height == 0:
                continue
            assert found["score"].is_between(0, 1).all(), slug
            assert set(found["rule"].unique()) <= set(rule_cls.findings), slug
            assert found.select("trip_id", "rule").is_duplicated().sum() == 0, slug
            assert found["reason"].str.len_chars().min() > 10, slug  # type: ignore[operator]
            decoded = found["evidence"].str.json_decode(infer_schema_length=None)
            assert decoded.null_count() == 0, slug
        assert full.trips.height and isinstance(full.trips, pl.DataFrame)


def _one_trip(engine: Engine, p: Any, seal: str = "ML1") -> int:
    events = trip_events(seal=seal)
    for ev in events[5:]:  # a seal switched after discharge, with no inspection
        ev["seals"] = [{"sealNumber": "XX1", "sealSource": "CAR", "sealType": "BLT"}]
    for body in (SITES.encode(), manifest("BKG1", BOX, seal), ndjson(events)):
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    with unit_of_work(engine) as s:
        return int(s.scalar(select(Trip.id).where(Trip.container == BOX)) or 0)


def test_the_queue_the_api_and_outcomes(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from cargowatch.app import create_app

    p = org_with_user(engine, "carrier", kind="CARRIER")
    org_with_user(engine, "customs", kind="CUSTOMS")
    trip_id = _one_trip(engine, p)
    client = TestClient(create_app(engine=engine))
    mine = {"Authorization": f"Bearer {token_for(engine, 'carrier-user')}"}
    theirs = {"Authorization": f"Bearer {token_for(engine, 'customs-user')}"}
    [target] = client.get("/api/v1/targets", headers=mine).json()
    assert target["trip_id"] == trip_id and target["container"] == BOX
    risk = client.get(f"/api/v1/trips/{trip_id}/risk", headers=mine).json()
    # one seal switched, nothing learned yet: well above the base rate, the seal the reason
    assert target["booking_ref"] == "BKG1" and target["score"] >= 5 * 100 * risk["base_rate"]
    assert target["reasons"][0]["rule"] == "seal-changed-destination-terminal"
    assert target["picked"] == "score" and target["propensity"] == 1.0
    assert "evidence" in target["reasons"][0] and target["reasons"][0]["score"] > 0.01
    assert "No inspected trip carried it yet" in target["reasons"][0]["reason"]
    assert {f["family"] for f in risk["findings"]} >= {"seal"}
    assert client.get("/api/v1/targets", headers=theirs).json() == []
    assert client.get(f"/api/v1/trips/{trip_id}/risk", headers=theirs).status_code == 404
    body = {
        "result": "SEIZURE",
        "method": "SCAN",
        "at": "2025-03-17T10:00:00Z",
        "substance": "cocaine",
        "quantity_kg": 120,
        "reference": "CASE-1",
    }
    refused = client.post(f"/api/v1/trips/{trip_id}/outcomes", json=body, headers=theirs)
    assert refused.status_code == 404
    made = client.post(f"/api/v1/trips/{trip_id}/outcomes", json=body, headers=mine)
    assert made.status_code == 201 and made.json()["new"] is True
    again = client.post(f"/api/v1/trips/{trip_id}/outcomes", json=body, headers=mine)
    assert again.json()["new"] is False  # a retry stores nothing twice
    bad = client.post(f"/api/v1/trips/{trip_id}/outcomes", json={"result": "FOUND"}, headers=mine)
    assert bad.status_code == 422
    # the queue changes at once (inspected trips leave it), and so do the metrics
    assert client.get("/api/v1/targets", headers=mine).json() == []
    kept = client.get("/api/v1/targets", params={"include_inspected": True}, headers=mine).json()
    assert [t["trip_id"] for t in kept] == [trip_id] and kept[0]["inspected"] is True
    metrics = client.get("/api/v1/outcomes/metrics", headers=mine).json()
    assert (metrics["inspected"], metrics["seizures"]) == (1, 1)
    with unit_of_work(engine) as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"inspection.record"} <= actions


def test_trips_keep_their_id_and_score_is_refreshed_after_new_events(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    events = trip_events()
    for body in (SITES.encode(), manifest("BKG1", BOX, "ML1"), ndjson(events[:5])):
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    with unit_of_work(engine) as s:
        [(trip_id, before)] = s.execute(select(Assessment.trip_id, Assessment.score)).all()
    switched = events[5:]
    for ev in switched:
        ev["seals"] = [{"sealNumber": "XX1", "sealSource": "CAR", "sealType": "BLT"}]
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson(switched)), source="x", engine=engine)
    with unit_of_work(engine) as s:
        [(same, after)] = s.execute(select(Assessment.trip_id, Assessment.score)).all()
    assert same == trip_id and after > 5 * before


def test_models_learn_what_each_finding_is_worth(
    engine: Engine,
    world: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cargowatch.config import get_settings
    from cargowatch.risk.flows import train
    from tests.risk.test_learning import _outcomes

    out, truth = world
    p = org_with_user(engine, "customs", kind="CUSTOMS")
    ingest_paths(principal=p, paths=[out / "data"], engine=engine)
    planted = {s["trip_key"] for s in truth["scenarios"]}
    with unit_of_work(engine) as s:
        trips = s.execute(
            select(Trip.trip_key, Trip.container, Trip.booking_ref, Trip.ended_at).where(
                Trip.booking_ref.is_not(None), Trip.laden
            )
        ).all()
    crimes = [t for t in trips if t[0] in planted][:8]
    honest = [t for t in trips if t[0] not in planted][:60]
    rows = [(f"{end:%Y-%m-%dT%H:%M:%SZ}", box, booking, "SEIZURE" if key in planted else
             "NO_FINDING") for key, box, booking, end in crimes + honest]  # fmt: skip
    ingest_bytes(principal=p, stream=io.BytesIO(_outcomes(rows)), source="x", engine=engine)
    m = train(principal=p, engine=engine)
    assert m["version"] >= 2  # v1 came with the first scoring
    assert m["positives"] >= 8 and m["outcomes"] >= 68
    table = m["findings"]
    assert table and all(
        {"fired", "share", "inspected", "seized", "hit_rate", "prior", "weight"} <= set(v)
        for v in table.values()
    )
    assert all(v["weight"] >= 0 and 0 <= v["hit_rate"] <= 1 for v in table.values())
    assert m["propensity"]["inspected"] == m["outcomes"]
    # a finding that fires on most targets is worth nothing a priori
    common = [v for v in table.values() if v["share"] > 0.5]
    assert common and all(v["prior"] < 0.1 for v in common)
    settings = tmp_path / "risk.toml"
    settings.write_text("prior_sd_min = 0.01\nprior_sd_max = 0.01\n")  # outcomes cannot move it
    monkeypatch.setenv("CARGOWATCH_RISK_SETTINGS", str(settings))
    get_settings.cache_clear()
    stiff = train(principal=p, engine=engine)["findings"]
    assert all(abs(v["weight"] - v["prior"]) < 0.05 for v in stiff.values())
    settings.write_text("min_positives = 1\n")
    with pytest.raises(Exception, match="unknown settings min_positives"):
        train(principal=p, engine=engine)
    get_settings.cache_clear()


def test_backtest_writes_its_report(tmp_path: Path, world: tuple[Path, dict[str, Any]]) -> None:
    from typer.testing import CliRunner

    from cargowatch.cli import app

    out, truth = world
    result = CliRunner().invoke(app, ["backtest", str(out), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert (tmp_path / "r" / "gain.png").read_bytes()[:4] == b"\x89PNG"
    assert "Gain curve" in (tmp_path / "r" / "report.html").read_text()
    split = truth["period"]["outcomes_until"]
    later = [s for s in truth["scenarios"] if s["when"] >= split]
    assert figures["positives"] >= len(later) // 2 and figures["trips"] > 300
    b = figures["budgets"]["5%"]
    assert 0 <= b["recall"] <= 1 and b["precision"] <= b["best_precision"]
    assert set(figures["by_mo"]) <= {s["mo"] for s in truth["scenarios"]}
    assert "seal" in figures["by_family"]
    by_mo: dict[str, int] = defaultdict(int)
    for s in truth["scenarios"]:
        by_mo[s["mo"]] += 1
    assert all(v["trips"] <= by_mo[mo] for mo, v in figures["by_mo"].items())
    # the post-incident analysis is judged too: every planted crime a seizure
    i = figures["insiders"]
    assert i["seizures"] == len({s["trip_key"] for s in truth["scenarios"]})
    assert i["windows_contain_act"] >= 0.7
    assert i["seizures_with_insider"] == 0 or i["insider_in_first_10"] >= 0.5
    assert "post-incident analysis" in result.output


def test_targeting_from_the_command_line(engine: Engine, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cargowatch.cli import app

    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["--as", "olga", *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert runner.invoke(app, ["orgs", "create", "carrier-x", "--name", "X"]).exit_code == 0
    assert runner.invoke(app, ["users", "create", "olga", "--org", "carrier-x"]).exit_code == 0
    events = trip_events()
    for ev in events[5:]:
        ev["seals"] = [{"sealNumber": "XX1", "sealSource": "CAR", "sealType": "BLT"}]
    feed = tmp_path / "feed.ndjson"
    feed.write_bytes(ndjson(events))
    run("ingest", "--no-custody", str(feed))
    assert "0 trips" not in run("custody", "rebuild")
    assert "1 trips scored" in run("score")
    [target] = json.loads(run("targets", "--budget", "0.5", "--format", "json"))
    assert set(target) >= {"trip_id", "container", "booking_ref", "score", "reasons"}
    assert {"rule", "score", "reason", "evidence"} <= set(target["reasons"][0])
    lines = run("targets", "--format", "csv").strip().splitlines()
    assert lines[0].startswith('"trip_id","container"') and BOX in lines[1]
    assert "seal-changed" in run("explain", str(target["trip_id"]))
    assert "recorded: SEIZURE" in run(
        "outcomes", "record", str(target["trip_id"]), "--result", "seizure", "--reference", "C-9"
    )
    assert "1 inspected trips, 1 seizures" in run("outcomes", "metrics")
    trained = run("model", "train")
    assert "1 inspected, 1 seizures" in trained
    findings = run("model", "findings")
    assert "model v2" in findings and "weight" in findings
    assert "backtest" not in run("model", "list")
    assert json.loads(run("targets", "--format", "json")) == []


def test_backtest_takes_a_sparser_truth_file(
    tmp_path: Path, world: tuple[Path, dict[str, Any]]
) -> None:
    """Other tools' worlds may name trips by container and booking, and leave the period out:
    the split is then the newest outcome in the data."""
    from cargowatch.risk.backtest import metrics, run

    out, truth = world
    other = tmp_path / "other"
    other.mkdir()
    (other / "data").symlink_to(out / "data")
    sparse = {
        "scenarios": [
            {"container": s["container"], "booking_ref": s["booking_ref"], "mo": s["mo"]}
            for s in truth["scenarios"]
        ]
    }
    (other / "truth.json").write_text(json.dumps(sparse))
    figures = metrics(run(other))
    assert figures["positives"] > 0 and figures["budgets"]["5%"]["recall"] > 0.5


def test_a_bill_of_lading_naming_another_consignee_is_a_finding(engine: Engine) -> None:
    from cargowatch.documents.models import DocumentEquipment, TransportDocument
    from cargowatch.risk.rules.parties import PartiesChanged

    p = org_with_user(engine, "carrier", kind="CARRIER")
    parties = (
        "party_id,name,role,country,registered_on,aeo_certified,address\n"
        "P9,Acme Fruits Ltd,CONSIGNEE,BE,2001-01-01,true,1 Quay\n"
    )
    for body in (parties.encode(), manifest("BKG1", BOX, "ML1"), ndjson(trip_events())):
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)

    def found(name: str) -> list[dict[str, Any]]:
        with unit_of_work(engine) as s:
            s.execute(TransportDocument.__table__.delete())
            doc = TransportDocument(
                org_id=p.org_id, document_key=name, booking_refs="BKG1", consignee=name, raw="{}"
            )
            s.add(doc)
            s.flush()
            s.add(DocumentEquipment(org_id=p.org_id, document_id=doc.id, container=BOX))
        with engine.connect() as conn:
            ctx = load_context(conn, p.org_id, RiskSettings(), datetime.now(UTC))
        return PartiesChanged().evaluate(ctx).to_dicts()

    [changed] = found("Other Importers BV")
    assert changed["rule"] == "consignee-changed"
    assert "Other Importers BV" in changed["reason"] and "Acme Fruits Ltd" in changed["reason"]
    assert walk_evidence(engine, p.org_id, json.loads(changed["evidence"])) == []
    assert found("ACME FRUITS LIMITED") == []  # the same company, written otherwise


def test_network_paths_to_a_seized_trip_are_the_reason(engine: Engine) -> None:
    from cargowatch.risk.rules.network import LinkedToSeizure

    p = org_with_user(engine, "carrier", kind="CARRIER")
    head = (
        "booking_ref,bl_number,container,iso_type,shipper_id,consignee_id,notify_id,"
        "forwarder_id,carrier_code,commodity_hs,commodity_desc,gross_kg,place_of_receipt,pol,"
        "pod,place_of_delivery,transshipment_ports,vessel_imo,voyage,declared_seals,booked_at"
    )
    rows = [
        ("BA", "CSQU3054383", "S1", "C1"),
        ("BB", "MSCU1234566", "S1", "C2"),
        ("BC", "TCNU1234560", "S3", "C2"),
        ("BD", "HLXU1234565", "S4", "C4"),
    ]
    lines = [
        f"{b},BL{b},{box},45R1,{sh},{co},,,MSCU,080390,Bananas,21000,ECGYE,ECGYE,BEANR,"
        f"BEANR,,,,ML{b},2025-02-20T00:00:00Z"
        for b, box, sh, co in rows
    ]
    bodies = ["\n".join([head, *lines]).encode() + b"\n"]
    bodies += [ndjson(trip_events(box=box, booking=b, seal=f"ML{b}")) for b, box, _, _ in rows]
    bodies.append(
        b"ts,container,booking_ref,locode,authority_party_id,method,result,substance,"
        b"quantity_kg,concealment,insider_suspected,reference\n2025-03-16T12:00:00Z,"
        b"CSQU3054383,BA,BEANR,,SCAN,SEIZURE,cocaine,100,RIP_ON_RIP_OFF,YES,CASE-7\n"
    )
    for body in bodies:
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    with engine.connect() as conn:
        ctx = load_context(conn, p.org_id, RiskSettings(), datetime.now(UTC))
    found = {r["trip_id"]: r for r in LinkedToSeizure().evaluate(ctx).to_dicts()}
    keys = dict(ctx.trips.select("trip_key", "trip_id").iter_rows())
    seized, one, two, none = (keys[f"{box}/{b}"] for b, box, _, _ in rows)
    assert seized not in found and none not in found
    assert "shipper S1" in found[one]["reason"] and found[one]["score"] == 0.1
    assert "consignee C2" in found[two]["reason"] and "shipper S1" in found[two]["reason"]
    assert found[two]["score"] == pytest.approx(0.05)
    assert json.loads(found[two]["evidence"])["trips"] == [one, seized]
