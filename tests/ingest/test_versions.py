"""Idempotence and updates: a file sent again stores nothing (not even its raw records); a
DCSA 3.0 event sent again with a newer eventUpdatedDateTime replaces the stored one, whose old
version is kept."""

from __future__ import annotations

import io
import json

from sqlalchemy import Engine, func, select

from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event, EventVersion, RawChunk
from cargowatch.ingest.flows import ingest_bytes
from tests.builders import event22, event30, ndjson, org_with_user


def _count(engine: Engine, model: type) -> int:
    with unit_of_work(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_file_sent_again_adds_no_raw_records(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    body = ndjson([event22(eventID=f"v{i}") for i in range(5)] + [event30(eventID="v3-0")])
    ingest_bytes(principal=p, stream=io.BytesIO(body), source="a", engine=engine)
    chunks = _count(engine, RawChunk)
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(body), source="a", engine=engine)
    assert counts.stored == 0 and counts.duplicates == 6
    assert _count(engine, RawChunk) == chunks and _count(engine, Event) == 6


def test_a_newer_dcsa_30_version_replaces_the_event_and_keeps_the_old(engine: Engine) -> None:
    p = org_with_user(engine, "carrier")
    first = event30(eventID="upd-1")
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson([first])), source="a", engine=engine)
    older = event30(eventID="upd-1", eventUpdatedDateTime="2025-03-02T08:00:00Z",
                    eventLocation={"UNLocationCode": "NLRTM"})  # fmt: skip
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(ndjson([older])), source="b",
                                engine=engine)  # fmt: skip
    assert counts.stored == 0 and counts.duplicates == 1  # an older version changes nothing
    newer = event30(eventID="upd-1", eventUpdatedDateTime="2025-03-03T08:00:00Z",
                    eventLocation={"UNLocationCode": "NLRTM"})  # fmt: skip
    _run, counts = ingest_bytes(principal=p, stream=io.BytesIO(ndjson([newer])), source="c",
                                engine=engine)  # fmt: skip
    assert counts.stored == 1
    with unit_of_work(engine) as s:
        [ev] = s.scalars(select(Event)).all()
        [version] = s.scalars(select(EventVersion)).all()
    assert ev.unlocode == "NLRTM" and version.event_id == ev.id
    assert json.loads(version.row)["unlocode"] == "BEANR"
    again = ingest_bytes(principal=p, stream=io.BytesIO(ndjson([newer])), source="c",
                         engine=engine)[1]  # fmt: skip
    assert again.stored == 0 and _count(engine, EventVersion) == 1
