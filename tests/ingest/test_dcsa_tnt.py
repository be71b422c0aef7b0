"""The DCSA Track & Trace adapter: golden fixtures and invalid variants."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event
from cargowatch.events.schemas import EventRead
from cargowatch.events.service import list_events
from cargowatch.ingest.flows import ingest_bytes, ingest_paths
from cargowatch.ingest.models import QuarantineRecord
from tests.builders import event22, event30, ndjson, org_with_user, uuid_for
from tests.conftest import DATA


def _events(engine: Engine) -> list[Event]:
    with unit_of_work(engine) as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def _quarantine(engine: Engine) -> list[QuarantineRecord]:
    with unit_of_work(engine) as s:
        return list(s.scalars(select(QuarantineRecord).order_by(QuarantineRecord.id)))


def test_every_event_of_both_dcsa_examples_ingests(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    run, counts = ingest_paths(
        principal=p,
        paths=[DATA / "tnt-220-response.json", DATA / "tnt-300-response.json"],
        engine=engine,
    )
    expected = len(json.loads((DATA / "tnt-220-response.json").read_text())) + len(
        json.loads((DATA / "tnt-300-response.json").read_text())["events"]
    )
    assert counts.read == expected == 12
    assert counts.stored == expected and counts.quarantined == 0
    assert run.status == "done"
    with unit_of_work(engine) as s:
        views = list_events(s, principal=p, container=None)
        assert len(views) == 12
        stored = {v.event_key: v for v in map(EventRead.of, views)}
    load = stored["3cecb101-7a1a-43a4-9d62-e88a131651e4"]
    assert (load.event_type, load.event_code, load.classifier) == ("EQUIPMENT", "LOAD", "EST")
    assert load.container == "APZU4812090" and load.unlocode == "FRPAR"
    assert load.booking_ref == "ABC123123123" and load.bl_number == "reserved-HHL123"
    assert load.vessel_imo == "9321483" and load.voyage == "2103S"
    assert [s.model_dump() for s in load.seals] == [
        {"number": "string", "source": "CUS", "type": "WIR"}
    ]
    # 2019-11-12T07:41:00+08:30 is 23:11 UTC the day before
    assert (
        load.event_time is not None and load.event_time.isoformat() == "2019-11-11T23:11:00+00:00"
    )
    assert load.latitude == pytest.approx(48.85855)
    reefer = stored["evt-resp-reefer-001"]
    assert reefer.event_type == "REEFER" and reefer.event_code == "MEAS"
    assert reefer.details is not None and reefer.details["internalSetpointTemperature"] == -20.0
    iot = stored["evt-resp-iot-001"]
    assert iot.event_type == "IOT" and iot.event_code == "LOC"
    assert iot.latitude == pytest.approx(51.5074)
    ship = stored["evt-resp-ship-001"]
    assert ship.booking_ref == "ABC709951" and ship.bl_number == "HHL71800000"
    assert ship.originator == "SMDG/LCL/EXCO"
    assert stored["evt-resp-trans-001"].vessel_name == "Example Vessel Beta"


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("missing created time", event22(eventCreatedDateTime=None), "", "eventCreatedDateTime"),
    ("no offset", event22(eventDateTime="2025-03-01T04:10:00"), "eventDateTime", "offset"),
    ("not a date", event22(eventDateTime="yesterday"), "eventDateTime", "ISO 8601"),
    ("impossible day", event22(eventDateTime="2025-02-30T04:10:00Z"), "eventDateTime", "ISO 8601"),
    ("unknown code", event22(equipmentEventTypeCode="FLY"), "equipmentEventTypeCode", "one of"),
    ("unknown type", event22(eventType="PARTY"), "eventType", "one of"),
    ("seals not a list", event22(seals={"sealNumber": "X"}), "seals", "array"),
    ("seal without number", event22(seals=[{"sealType": "BLT"}]), "seals[0]", "sealNumber"),
    ("equipment without empty flag", event22(emptyIndicatorCode=None), "emptyIndicatorCode",
     "required"),
    ("bad locode", event22(eventLocation={"UNLocationCode": "EC-GY"}),
     "eventLocation.UNLocationCode", "UN/LOCODE"),
    ("latitude out of range", event22(eventLocation={"latitude": "123.0"}),
     "eventLocation.latitude", "between"),
    ("container too long", event22(equipmentReference="X" * 16), "equipmentReference", "length"),
    ("3.0 without classification", event30(eventClassification=None), "eventClassification",
     "required"),
    ("3.0 iot without container",
     event30(eventClassification={"eventTypeCode": "IOT", "eventClassifierCode": "ACT",
                                  "iotEventTypeCode": "DETC"}, equipmentDetails=None),
     "equipmentDetails.equipmentReference", "required"),
    ("2.2 eventID that is not a UUID", event22(eventID=None) | {"eventID": "not-a-uuid"},
     "eventID", "UUID"),
    ("2.2 UN/LOCODE of no country", event22(eventLocation={"UNLocationCode": "XXANR"}),
     "eventLocation.UNLocationCode", "UN/LOCODE"),
    ("2.2 created a century ago", event22(eventCreatedDateTime="1925-03-01T04:10:00Z"),
     "eventCreatedDateTime", "outside"),
    ("3.0 event decades ahead", event30(eventDateTime="2099-03-02T10:00:00+01:00"),
     "eventDateTime", "outside"),
    ("3.0 unknown seal source",
     event30(equipmentDetails={"equipmentReference": "CSQU3054383",
                               "seals": [{"number": "S1", "source": "ZZZ"}]}),
     "equipmentDetails.seals[0].source", "one of"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "bad", "field", "words"), INVALID, ids=[i[0] for i in INVALID])
def test_invalid_record_is_quarantined_with_field_and_reason_while_others_carry_on(
    engine: Engine, label: str, bad: dict[str, Any], field: str, words: str
) -> None:
    p = org_with_user(engine, "terminal")
    same_version = event30 if "eventUpdatedDateTime" in bad else event22
    good1 = same_version(eventID="good-1")
    good2 = same_version(eventID="good-2")
    if "eventID" in bad and bad["eventID"] != "not-a-uuid":
        bad = {**bad, "eventID": uuid_for("bad-1")}
    _run, counts = ingest_bytes(
        principal=p, stream=io.BytesIO(ndjson([good1, bad, good2])), source="batch.ndjson",
        engine=engine,
    )  # fmt: skip
    assert counts.stored == 2 and counts.quarantined == 1, label
    [rec] = _quarantine(engine)
    assert rec.location == "line 2" and rec.source == "batch.ndjson"
    assert rec.field == field, rec.reason
    assert words.lower() in (rec.field + " " + rec.reason).lower(), rec.reason
    assert json.loads(rec.raw) == bad


def test_malformed_json_line_is_quarantined(engine: Engine) -> None:
    p = org_with_user(engine, "terminal")
    body = (
        ndjson([event22(eventID="a")])
        + b'{"eventID": "b", "eventType": \n'
        + ndjson([event22(eventID="c")])
    )
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    assert (counts.stored, counts.quarantined) == (2, 1)
    [rec] = _quarantine(engine)
    assert "malformed JSON" in rec.reason and rec.location == "line 2"


def test_broken_json_array_keeps_the_good_items_and_quarantines_the_document(
    engine: Engine,
) -> None:
    p = org_with_user(engine, "terminal")
    text = json.dumps([event22(eventID="a"), event22(eventID="b")], indent=1)
    body = (text[:-2] + ", {broken").encode()
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    assert counts.stored == 2 and counts.quarantined == 1
    [rec] = _quarantine(engine)
    assert rec.raw == body.decode() and "malformed JSON" in rec.reason


def test_unknown_format_is_quarantined_whole(engine: Engine, tmp_path: Path) -> None:
    from cargowatch.exceptions import NothingReadable

    p = org_with_user(engine, "terminal")
    f = tmp_path / "notes.txt"
    f.write_text("container MSKU seen at gate\n")
    with pytest.raises(NothingReadable):
        ingest_paths(principal=p, paths=[f], engine=engine)
    [rec] = _quarantine(engine)
    assert rec.format == "unknown" and "not recognised" in rec.reason
    assert rec.raw.startswith("container MSKU")


@pytest.mark.parametrize("shape", ["array", "envelope", "ndjson", "single"])
def test_every_file_shape_is_read(engine: Engine, shape: str) -> None:
    p = org_with_user(engine, "carrier")
    evs = [event30(eventID=f"e{i}") for i in range(3)]
    body = {
        "array": json.dumps(evs).encode(),
        "envelope": json.dumps({"events": evs}, indent=2).encode(),
        "ndjson": ndjson(evs),
        "single": json.dumps(evs[0], indent=2).encode(),
    }[shape]
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    assert counts.stored == (1 if shape == "single" else 3)
    assert counts.quarantined == 0


def test_wrong_check_digit_is_stored_with_a_warning(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    ev = event22(equipmentReference="CSQU3054384")
    _run, counts = ingest_bytes(
        principal=p, stream=io.BytesIO(ndjson([ev])), source="x", engine=engine
    )
    assert counts.stored == 1 and counts.warnings == 1
    [stored] = _events(engine)
    assert stored.warnings is not None and "check digit" in stored.warnings


def test_unknown_fields_are_ignored_with_a_note(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    ev = {**event22(), "carrierInternalCode": "X1"}
    _run, counts = ingest_bytes(
        principal=p, stream=io.BytesIO(ndjson([ev])), source="x", engine=engine
    )
    assert counts.stored == 1
    assert any("carrierInternalCode" in n for n in counts.notes)


def test_forced_format_is_applied(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    _run, counts = ingest_bytes(
        principal=p, stream=io.BytesIO(ndjson([event30()])), source="x", fmt="dcsa-tnt-2.2",
        engine=engine,
    )  # fmt: skip
    assert counts.stored == 0 and counts.quarantined == 1
