"""The EDIFACT adapter: the SMDG COARRI sample, hand-written CODECO and IFTSTA, bad messages."""

from __future__ import annotations

import io
import json
from collections import Counter

from sqlalchemy import Engine

from cargowatch.db.engine import unit_of_work
from cargowatch.events.schemas import EventRead
from cargowatch.events.service import get_event, list_events
from cargowatch.ingest import service
from cargowatch.ingest.adapters.edifact import check_structure
from cargowatch.ingest.flows import ingest_bytes, ingest_paths
from tests.builders import org_with_user
from tests.conftest import DATA


def _all(engine: Engine, principal: object) -> list[EventRead]:
    with unit_of_work(engine) as s:
        return [EventRead.of(v) for v in list_events(s, principal=principal)]  # type: ignore[arg-type]


def test_coarri_sample_yields_its_21_containers_with_seals_and_positions(engine: Engine) -> None:
    p = org_with_user(engine, "terminal", kind="TERMINAL")
    _run, counts = ingest_paths(principal=p, paths=[DATA / "D95BCOARRI.edi"], engine=engine)
    assert (counts.read, counts.stored, counts.quarantined) == (21, 21, 0)
    events = _all(engine, p)
    assert len({e.container for e in events}) == 21
    assert Counter(e.event_code for e in events) == {"LOAD": 19, "DISC": 2}
    assert all(e.seals for e in events)
    assert all(e.details is None for e in events)
    load = next(e for e in events if e.container == "CBHU6192031")
    assert load.unlocode == "ITGOA" and load.facility_code == "VTE"
    assert [s.number for s in load.seals] == ["H53175"] and load.seals[0].source == "SHI"
    assert load.booking_ref == "9000157890" and load.iso_type == "42G1"
    assert load.empty_indicator == "LADEN"
    assert (
        load.event_time is not None and load.event_time.isoformat() == "2016-02-04T14:38:00+00:00"
    )
    assert load.vessel_name == "COSCO AFRICA" and load.voyage == "032E"
    assert load.source_format == "edifact-d95b-coarri"
    disc = next(e for e in events if e.container == "FCIU9908030")
    assert disc.event_code == "DISC" and disc.unlocode == "ITGOA"
    with unit_of_work(engine) as s:
        _view, _source, raw = get_event(s, principal=p, event_id=load.id)
    assert raw is not None and "CBHU6192031" in raw and raw.startswith("UNA")
    _again, counts2 = ingest_paths(principal=p, paths=[DATA / "D95BCOARRI.edi"], engine=engine)
    assert (counts2.stored, counts2.duplicates) == (0, 21)


def test_codeco_gate_in_and_out_with_zone_and_empty_flag(engine: Engine) -> None:
    p = org_with_user(engine, "terminal", kind="TERMINAL")
    _run, counts = ingest_paths(principal=p, paths=[DATA / "codeco_d00b_gate.edi"], engine=engine)
    assert counts.stored == 3 and counts.quarantined == 0
    events = {(e.container, e.event_code): e for e in _all(engine, p)}
    gate_in = events[("MSKU9070323", "GTIN")]
    assert gate_in.unlocode == "BEANR" and gate_in.facility_code == "MPET"
    assert gate_in.seals[0].number == "ML123456" and gate_in.seals[0].source == "CAR"
    empty = events[("CSQU3054383", "GTIN")]
    assert empty.empty_indicator == "EMPTY"
    # 303 with +01: 04:22 local is 03:22 UTC
    assert (
        empty.event_time is not None and empty.event_time.isoformat() == "2025-03-01T03:22:00+00:00"
    )
    assert ("MSKU9070323", "GTOT") in events


def test_iftsta_statuses_become_events(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    _run, counts = ingest_paths(principal=p, paths=[DATA / "iftsta_d00b_status.edi"], engine=engine)
    assert counts.stored == 2 and counts.quarantined == 0
    codes = sorted(e.event_code or "" for e in _all(engine, p))
    assert codes == ["CUSS", "DISC"]


def _interchange(*messages: str) -> bytes:
    body = "".join(messages)
    return f"UNB+UNOA:2+SENDER+RECEIVER+250301:0410+X1'{body}UNZ+{len(messages)}+X1'".encode()


GOOD = (
    "UNH+M1+CODECO:D:95B:UN'BGM+34+D1+9'NAD+CF+MSC'EQD+CN+MSKU9070323+45R1++2+5'"
    "DTM+7:202503010410:203'LOC+165+BEANR:139:6'CNT+16:1'UNT+8+M1'"
)


def test_bad_messages_are_quarantined_with_segment_position_and_others_carry_on(
    engine: Engine,
) -> None:
    p = org_with_user(engine, "terminal", kind="TERMINAL")
    no_nad = GOOD.replace("M1", "M2").replace("NAD+CF+MSC'", "").replace("UNT+8", "UNT+7")
    bad_count = GOOD.replace("M1", "M3").replace("UNT+8", "UNT+9")
    bad_code = GOOD.replace("M1", "M4").replace("BGM+34", "BGM+99")
    bad_time = GOOD.replace("M1", "M5").replace("202503010410", "2025031")
    late_seg = (
        GOOD.replace("M1", "M6")
        .replace("CNT+16:1'", "CNT+16:1'NAD+CF+MSC'")
        .replace("UNT+8", "UNT+9")
    )
    body = _interchange(GOOD, no_nad, bad_count, bad_code, bad_time, late_seg)
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="gate.edi",
                                engine=engine)  # fmt: skip
    assert (counts.read, counts.stored, counts.quarantined) == (6, 1, 5)
    with unit_of_work(engine) as s:
        items, _total = service.list_quarantine(s, principal=p)
    reasons = {q.location.split(" (")[0]: (q.field, q.reason) for q in items}
    assert reasons["message 2"] == (
        "segment 3",
        "mandatory group SG2 (starting with NAD) missing; found EQD",
    )
    assert (
        reasons["message 3"][0] == "UNT"
        and "counts 9 segments, the message has 8" in reasons["message 3"][1]
    )
    assert reasons["message 4"][0] == "BGM" and "34 (GTIN)" in reasons["message 4"][1]
    assert reasons["message 5"][0] == "DTM"
    assert reasons["message 6"] == ("segment 8", "mandatory segment UNT missing; found NAD")


def test_structure_check_counts_group_repeats() -> None:
    import pytest

    from cargowatch.ingest.adapters.base import RecordError

    tags = ["UNH", "BGM", "TDT", "TDT", "NAD", "EQD", "CNT", "UNT"]
    with pytest.raises(RecordError, match="TDT repeats more than the 1 times"):
        check_structure("CODECO", "95B", tags)


def test_unsupported_message_type_is_quarantined(engine: Engine) -> None:
    p = org_with_user(engine, "terminal", kind="TERMINAL")
    baplie = "UNH+B1+BAPLIE:D:95B:UN:SMDG15'BGM++1+9'UNT+3+B1'"
    body = _interchange(GOOD, baplie).replace(b"UNB+", b"UNB+", 1)
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    assert counts.stored == 1 and counts.quarantined == 1
    with unit_of_work(engine) as s:
        [q], _ = service.list_quarantine(s, principal=p)
    assert q.field == "UNH" and "BAPLIE" in q.reason
    assert json.dumps(q.raw)  # the raw message is kept
