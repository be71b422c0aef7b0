"""A large source converted by worker processes stores and quarantines exactly what the same
source converted inline does, in the same order; a broken pool only costs speed."""

from __future__ import annotations

import json
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cargowatch.config import get_settings
from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event
from cargowatch.ingest import parallel, service
from cargowatch.ingest.adapters.base import SourceRecord
from cargowatch.ingest.adapters.dcsa_tnt import DcsaTrackAndTrace
from cargowatch.ingest.flows import ingest_paths
from cargowatch.ingest.models import QuarantineRecord
from cargowatch.ingest.samples import equipment_events
from tests.builders import event30, ndjson, org_with_user


def _source(path: Path) -> None:
    lines = list(equipment_events(1_200, seed=5))
    good = json.loads(lines[10])
    good["eventCreatedDateTime"] = "2025-13-01T00:00:00Z"
    lines[10] = json.dumps(good).encode() + b"\n"
    lines[700] = b"{not json\n"
    lines[900] = lines[899]  # a duplicate inside the source
    lines.insert(1_000, ndjson([event30(eventID="v3-one")]))  # a 3.0 event in a 2.2 feed
    path.write_bytes(b"".join(lines))


def _stored(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with unit_of_work(engine) as s:
        events = s.execute(
            select(Event.event_key, Event.source_line, Event.event_time, Event.container,
                   Event.seals, Event.extra).order_by(Event.source_line)
        ).all()  # fmt: skip
        bad = s.execute(
            select(QuarantineRecord.location, QuarantineRecord.field, QuarantineRecord.reason)
            .order_by(QuarantineRecord.id)
        ).all()  # fmt: skip
    return [tuple(r) for r in events], [tuple(r) for r in bad]


@pytest.mark.parametrize("processes", [0, 2])
def test_pooled_conversion_matches_inline(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processes: int
) -> None:
    p = org_with_user(engine, "carrier")
    path = tmp_path / "feed.ndjson"
    _source(path)
    monkeypatch.setattr(service, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "BATCH", 97)  # many batches in flight, one short at the end
    monkeypatch.setattr(get_settings(), "ingest_processes", processes)
    _run, counts = ingest_paths(principal=p, paths=[path], engine=engine)
    assert (counts.read, counts.stored, counts.duplicates, counts.quarantined) == (
        1_201, 1_198, 1, 2
    )  # fmt: skip
    events, bad = _stored(engine)
    assert [line for _k, line, *_ in events] == sorted(line for _k, line, *_ in events)
    assert [(loc, field) for loc, field, _ in bad] == [
        ("line 11", "eventCreatedDateTime"), ("line 701", ""),
    ]  # fmt: skip
    assert "malformed JSON" in bad[1][2]
    assert any(key == "v3-one" for key, *_ in events)


def test_the_same_feed_gives_the_same_rows_pooled_or_not(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "feed.ndjson"
    _source(path)
    records = [SourceRecord(f"line {i}", i, line.strip())
               for i, line in enumerate(path.read_bytes().splitlines(), 1)]  # fmt: skip
    adapter = DcsaTrackAndTrace()
    monkeypatch.setattr(parallel, "BATCH", 50)
    inline = [out for _r, out in parallel.converted(adapter, "dcsa-tnt-2.2", False, records, 0)]
    pooled = list(parallel.converted(adapter, "dcsa-tnt-2.2", False, records, 2))
    assert [r.line for r, _out in pooled] == [r.line for r in records]
    assert [out for _r, out in pooled] == inline


def test_a_broken_pool_converts_inline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Broken:
        def submit(self, *_args: object) -> object:
            raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(parallel, "_shared_pool", lambda _n: Broken())
    records = [SourceRecord("line 1", 1, line.strip()) for line in equipment_events(30, seed=2)]
    outcomes = list(parallel.converted(DcsaTrackAndTrace(), "dcsa-tnt-2.2", False, records, 2))
    assert len(outcomes) == 30
    assert not any(isinstance(out, parallel.Failed) for _r, out in outcomes)
