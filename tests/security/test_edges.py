"""Odd parameters and uploads at the edge, and work that must follow a commit: each a 422
naming the field, a 413, or a job, never a server error or lost work."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cargowatch.app import create_app
from cargowatch.cli import app as cli
from cargowatch.db.engine import unit_of_work
from cargowatch.events import router as events_router
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.jobs.models import Job
from cargowatch.risk import flows as risk_flows
from tests.builders import ndjson, org_with_user, token_for
from tests.custody.test_custody import trip_events

HUGE = str(2**70)


def _api(engine: Engine) -> tuple[TestClient, dict[str, str]]:
    org_with_user(engine, "carrier", kind="CARRIER")
    return TestClient(create_app(engine=engine)), {
        "Authorization": f"Bearer {token_for(engine, 'carrier-user')}"
    }


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/v1/trips/{HUGE}/risk", "trip_id"),
        (f"/api/v1/events/{HUGE}", "event_id"),
        (f"/api/v1/quarantine/{HUGE}", "record_id"),
        (f"/api/v1/containers/X/events?offset={HUGE}", "offset"),
        (f"/api/v1/quarantine?run={HUGE}", "run"),
        ("/api/v1/quarantine?status=sometimes", "status"),
        ("/api/v1/registers/parties?registered_on=yesterday", "registered_on"),
        ("/api/v1/registers/parties?aeo_certified=maybe", "aeo_certified"),
        ("/api/v1/registers/parties?nosuch=1", "nosuch"),
        (f"/api/v1/risk/findings?version={HUGE}", "version"),
    ],
)
def test_odd_parameters_get_a_422_naming_the_field(engine: Engine, url: str, field: str) -> None:
    client, h = _api(engine)
    got = client.get(url, headers=h)
    assert got.status_code == 422, (url, got.status_code, got.text)
    assert field in got.text


def test_typed_filters_and_quarantine_status_all_work(engine: Engine) -> None:
    client, h = _api(engine)
    parties = (
        "party_id,name,role,country,registered_on,aeo_certified,address\n"
        "P1,A,SHIPPER,EC,2020-01-01,true,x\n"
        "P2,B,SHIPPER,EC,2021-01-01,false,y\n"
    )
    client.post("/api/v1/events?wait=1", headers=h, content=parties.encode())
    rows = client.get("/api/v1/registers/parties?aeo_certified=true", headers=h).json()
    assert [r["party_id"] for r in rows["items"]] == ["P1"]
    rows = client.get("/api/v1/registers/parties?registered_on=2021-01-01", headers=h).json()
    assert [r["party_id"] for r in rows["items"]] == ["P2"]
    client.post("/api/v1/events?wait=1", headers=h, content=b'{"eventType": "BAD"}\n')
    assert client.get("/api/v1/quarantine?status=all", headers=h).json()["total"] == 1


def test_uploads_over_the_limit_are_refused_before_they_are_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, h = _api(engine)
    declared = client.post("/api/v1/events", headers={**h, "Content-Length": str(2**40)},
                           content=b"x")  # fmt: skip
    assert declared.status_code == 413
    monkeypatch.setattr(events_router, "MAX_BODY", 1000)
    streamed = client.post("/api/v1/events", headers=h, content=iter([b"x" * 600] * 3))
    assert streamed.status_code == 413 and "limit" in streamed.text
    from cargowatch.config import get_settings

    spool = get_settings().data_dir / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []  # nothing of it kept
    with unit_of_work(engine) as s:
        assert s.scalars(select(Job)).all() == []


def test_a_seizure_queues_the_rescoring_of_every_trip(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson(trip_events())), source="x",
                 engine=engine)  # fmt: skip
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson(trip_events(box="MSKU9070323",
                                                                   booking="B2"))),
                 source="y", engine=engine)  # fmt: skip
    with unit_of_work(engine) as s:
        from cargowatch.custody.models import Trip

        trip = s.scalar(select(Trip.id).where(Trip.container == "CSQU3054383"))
    assert trip is not None
    risk_flows.record_outcome(principal=p, trip_id=trip, engine=engine, result="SEIZURE",
                              reference="S1")  # fmt: skip
    risk_flows.record_outcome(principal=p, trip_id=trip, engine=engine, result="SEIZURE",
                              reference="S2")  # fmt: skip
    with unit_of_work(engine) as s:
        waiting = s.scalars(select(Job).where(Job.kind == "risk.rescore-all",
                                              Job.status == "queued")).all()  # fmt: skip
    assert len(waiting) == 1  # two seizures, one rescoring while it waits
    listed = CliRunner().invoke(cli, ["jobs", "--status", "queued"])
    assert listed.exit_code == 0 and "1 queued" in listed.output
    done = CliRunner().invoke(cli, ["worker", "--once"])
    assert done.exit_code == 0 and "1 jobs done" in done.output
