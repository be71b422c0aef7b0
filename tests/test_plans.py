"""The lookups that ingest, custody and scoring repeat per batch find their rows through an
index on both stores (a cast or a missing index would make each one scan a growing table)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import Engine, text

from cargowatch.db.engine import refresh_statistics
from cargowatch.ingest.flows import ingest_bytes
from tests.builders import org_with_user
from tests.conftest import DATA
from tests.custody.test_custody import ndjson, trip_events

LOOKUPS = {
    "events by key": (
        "SELECT event_key, id, extra FROM events WHERE org_id = :org AND event_key IN (:a, :b)",
        "SELECT event_key, id, extra FROM events WHERE org_id = %(org)s "
        "AND event_key = ANY(%(keys)s::varchar[])",
        "uq_events_org_key",
    ),
    "transport calls by key": (
        "SELECT call_key, id FROM transport_calls WHERE org_id = :org AND call_key IN (:a, :b)",
        "SELECT call_key, id FROM transport_calls WHERE org_id = %(org)s "
        "AND call_key = ANY(%(keys)s::varchar[])",
        "uq_transport_calls_org_key",
    ),
    "trips by container": (
        "SELECT trip_key, id FROM trips WHERE org_id = :org AND container IN (:a, :b)",
        "SELECT trip_key, id FROM trips WHERE org_id = %(org)s "
        "AND container = ANY(%(keys)s::varchar[])",
        "ix_trips_container",
    ),
    "seals by number": (
        "SELECT trip_id FROM trip_seals WHERE org_id = :org AND seal IN (:a, :b)",
        "SELECT trip_id FROM trip_seals WHERE org_id = %(org)s AND seal = ANY(%(keys)s::varchar[])",
        "",
    ),
}


def _plan(engine: Engine, sqlite_sql: str, pg_sql: str, org: int) -> str:
    values = {"org": org, "a": "X1", "b": "X2"}
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sqlite_sql), values).all()
        return " | ".join(str(r[-1]) for r in rows)
    raw: Any = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET enable_seqscan = off")  # is an index path there at all?
        cur.execute("EXPLAIN " + pg_sql, {"org": org, "keys": ["X1", "X2"]})
        plan = " | ".join(r[0] for r in cur.fetchall())
        cur.execute("RESET enable_seqscan")
        return plan
    finally:
        raw.close()


@pytest.mark.parametrize("lookup", list(LOOKUPS))
def test_repeated_lookups_use_an_index_on_both_stores(engine: Engine, lookup: str) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    events = [
        ev
        for i in range(150)
        for ev in trip_events(box=f"MSKU{9070300 + i}", seal=f"S{i}", booking=f"B{i}")
    ]
    body = ndjson(events)
    ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    ingest_bytes(principal=p, stream=io.BytesIO((DATA / "tnt-300-response.json").read_bytes()),
                 source="y", engine=engine)  # fmt: skip
    refresh_statistics(engine)
    sqlite_sql, pg_sql, index = LOOKUPS[lookup]
    plan = _plan(engine, sqlite_sql, pg_sql, p.org_id)
    assert "INDEX" in plan.upper(), plan
    assert "Seq Scan" not in plan and "SCAN trip" not in plan and "SCAN events" not in plan, plan
    column = sqlite_sql.split(" IN (")[0].rsplit(" ", 1)[-1]  # the looked-up column
    if engine.dialect.name == "sqlite":  # the search goes by the looked-up column
        assert f"{column}=?" in plan, plan
    elif index:
        assert index in plan, plan
