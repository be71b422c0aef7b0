"""Replay goes through the same format dispatch as ingest: quarantined register rows,
telemetry messages and eBL documents are stored once fixed, and custody follows."""

from __future__ import annotations

import io
import json

from sqlalchemy import Engine, select, text

from cargowatch.db.engine import unit_of_work
from cargowatch.ingest import service
from cargowatch.ingest.flows import ingest_bytes, replay_quarantine
from cargowatch.ingest.models import QuarantineRecord
from tests.builders import org_with_user
from tests.conftest import DATA
from tests.telemetry.test_telemetry import message


def _open(engine: Engine) -> list[QuarantineRecord]:
    with unit_of_work(engine) as s:
        return list(s.scalars(select(QuarantineRecord).where(QuarantineRecord.status == "open")))


def _fix(engine: Engine, rec: QuarantineRecord, old: str, new: str) -> None:
    with unit_of_work(engine) as s:
        principal_rec = s.get(QuarantineRecord, rec.id)
        assert principal_rec is not None and old in principal_rec.raw
        principal_rec.raw = principal_rec.raw.replace(old, new)


def test_register_telemetry_and_ebl_records_are_replayed_after_a_fix(engine: Engine) -> None:
    p = org_with_user(engine, "terminal", kind="TERMINAL")
    header = "ts,badge_id,facility,zone,direction,granted\n"
    access = header + "2025-03-01T04:00:00Z,B1,T1,GATE,IN,true\nsoon,B2,T1,GATE,IN,true\n"
    ragged = header + "2025-03-01T05:00:00Z,B3,T1,GATE,IN,true,extra\n"
    tele = json.dumps(message(1, ts="late")).encode() + b"\n"
    ebl = json.loads((DATA / "ebl-api-3.0.0-request.json").read_text())
    broken = json.dumps(ebl).replace(
        '"transportDocumentReference"', '"transportDocumentReferenceX"'
    )
    for body, name in ((access, "a.csv"), (ragged, "r.csv"), (tele.decode(), "t.ndjson"),
                       (broken, "e.json")):  # fmt: skip
        ingest_bytes(principal=p, stream=io.BytesIO(body.encode()), source=name, engine=engine)
    held = {r.source: r for r in _open(engine)}
    assert set(held) >= {"a.csv", "r.csv", "t.ndjson"}
    assert {held["a.csv"].format, held["t.ndjson"].format} == {"csv-access", "telemetry"}
    _fix(engine, held["a.csv"], "soon", "2025-03-01T04:30:00Z")
    _fix(engine, held["r.csv"], ",extra", "")
    _fix(engine, held["t.ndjson"], '"late"', '"2025-03-01T06:00:00Z"')
    if "e.json" in held:
        _fix(engine, held["e.json"], "transportDocumentReferenceX", "transportDocumentReference")
    run, counts = replay_quarantine(principal=p, ids=None, engine=engine)
    assert counts.quarantined == 0, [(r.source, r.reason) for r in _open(engine)]
    assert _open(engine) == [] and run.status == "done"
    with engine.connect() as conn:
        badges = set(conn.execute(text("SELECT badge_id FROM access")).scalars())
        readings = conn.execute(text("SELECT count(*) FROM telemetry")).scalar()
    assert badges == {"B1", "B2", "B3"} and readings == 1
    with unit_of_work(engine) as s:
        items, _ = service.list_quarantine(s, principal=p, status="all")
    assert {q.status for q in items} == {"replayed"}
