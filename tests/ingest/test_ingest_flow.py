"""Ingest runs: idempotence, retractions, quarantine fix and replay, counts."""

from __future__ import annotations

import io
import json
from pathlib import Path

from sqlalchemy import Engine, func, select

from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event
from cargowatch.events.service import get_event
from cargowatch.ingest import service
from cargowatch.ingest.flows import ingest_bytes, ingest_paths, replay_quarantine
from cargowatch.ingest.models import IngestRun, QuarantineRecord
from cargowatch.ingest.samples import equipment_events
from tests.builders import event22, event30, ndjson, org_with_user


def _count(engine: Engine) -> int:
    with unit_of_work(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Event)) or 0)


def test_same_events_twice_across_files_and_shapes_are_stored_once(
    engine: Engine, tmp_path: Path
) -> None:
    p = org_with_user(engine, "carrier")
    tmp_path = tmp_path / "in"
    tmp_path.mkdir()
    evs = [event22(eventID=f"id-{i}") for i in range(5)]
    (tmp_path / "a.ndjson").write_bytes(ndjson(evs))
    (tmp_path / "b.json").write_text(json.dumps([*evs[2:], event22(eventID="id-new")]))
    _run, first = ingest_paths(principal=p, paths=[tmp_path / "a.ndjson"], engine=engine)
    assert (first.stored, first.duplicates) == (5, 0)
    run, second = ingest_paths(principal=p, paths=[tmp_path], engine=engine)
    assert (second.read, second.stored, second.duplicates) == (9, 1, 8)
    assert run.status == "done"
    assert _count(engine) == 6


def test_duplicates_inside_one_batch_are_stored_once(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    evs = [event22(eventID="same")] * 3
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(ndjson(evs)), source="x",
                                engine=engine)  # fmt: skip
    assert (counts.stored, counts.duplicates) == (1, 2)


def test_many_batches_stream_through_and_raw_records_are_kept(
    engine: Engine, tmp_path: Path, monkeypatch: object
) -> None:
    from cargowatch.config import get_settings

    p = org_with_user(engine, "carrier")
    f = tmp_path / "big.ndjson"
    lines = list(equipment_events(2_500, seed=3))
    f.write_bytes(b"".join(lines))
    get_settings().ingest_batch_size = 700
    _run, counts = ingest_paths(principal=p, paths=[f], engine=engine)
    assert counts.stored == 2_500 and counts.quarantined == 0
    with unit_of_work(engine) as s:
        last = s.scalar(select(Event).where(Event.source_line == 2_500))
        assert last is not None
        _ev, source, raw = get_event(s, principal=p, event_id=last.id)
    assert source == str(f)
    assert raw is not None and json.loads(raw) == json.loads(lines[-1])


def test_retraction_marks_the_event_and_keeps_it(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson([event30(eventID="e1"), event30(
        eventID="e2")])), source="x", engine=engine)  # fmt: skip
    _run, counts = ingest_bytes(
        principal=p, stream=io.BytesIO(ndjson([{"eventID": "e1", "isRetracted": True}])),
        source="y", engine=engine,
    )  # fmt: skip
    assert counts.retracted == 1
    with unit_of_work(engine) as s:
        flags = {k: r for k, r in s.execute(select(Event.event_key, Event.retracted))}
    assert flags == {"e1": True, "e2": False}


def test_retraction_that_arrives_first_marks_the_event_when_it_comes(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson([event30(eventID="r1", isRetracted=True)])),
                 source="x", engine=engine)  # fmt: skip
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(ndjson([event30(eventID="r1")])),
                                source="y", engine=engine)  # fmt: skip
    assert counts.stored == 1
    with unit_of_work(engine) as s:
        assert s.scalar(select(Event.retracted).where(Event.event_key == "r1")) is True


def test_fix_and_replay_stores_the_corrected_record_once(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    bad = event22(eventID="fixme", eventDateTime="2025-03-01 04:10")
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(ndjson([bad])), source="x",
                                engine=engine)  # fmt: skip
    assert counts.quarantined == 1
    with unit_of_work(engine) as s:
        [rec], total = service.list_quarantine(s, principal=p)
        assert total == 1 and rec.field == "eventDateTime"
    run, replayed = replay_quarantine(principal=p, ids=[rec.id], engine=engine)
    assert replayed.stored == 0 and replayed.quarantined == 1  # still wrong
    with unit_of_work(engine) as s:
        service.fix_quarantined(
            s, principal=p, record_id=rec.id,
            raw=json.dumps(event22(eventID="fixme")).encode(),
        )  # fmt: skip
    run, replayed = replay_quarantine(principal=p, ids=None, engine=engine)
    assert replayed.stored == 1 and run.status == "done"
    with unit_of_work(engine) as s:
        again = s.get(QuarantineRecord, rec.id)
        assert again is not None and again.status == "replayed"
        assert again.resolved_run_id == run.id
    _run, replayed = replay_quarantine(principal=p, ids=None, engine=engine)
    assert replayed.read == 0
    assert _count(engine) == 1


def test_run_records_counts_and_status(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    body = ndjson([event22(eventID="a"), event22(eventID="b", eventType="X")])
    run, _counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    with unit_of_work(engine) as s:
        stored = s.get(IngestRun, run.id)
        assert stored is not None
        assert (stored.status, stored.read, stored.stored, stored.quarantined) == (
            "partial", 2, 1, 1)  # fmt: skip
        assert stored.finished_at is not None


def test_retrying_a_file_quarantines_its_bad_records_once(engine: Engine, tmp_path: Path) -> None:
    p = org_with_user(engine, "carrier")
    f = tmp_path / "feed.ndjson"
    f.write_bytes(ndjson([event22(eventID="ok"), event22(eventID="bad", eventType="NOPE")]))
    for _ in range(3):
        _run, counts = ingest_paths(principal=p, paths=[f], engine=engine)
        assert counts.quarantined == 1
    with unit_of_work(engine) as s:
        _items, total = service.list_quarantine(s, principal=p, status=None)
    assert total == 1
