"""The whole risk profile on the trip page: commodity, vessel, parties with their age and
history, declared against seen seals, and the trips related by consignee."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cargowatch.app import create_app
from cargowatch.auth.service import create_user
from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes
from tests.builders import ndjson, org_with_user
from tests.custody.test_custody import manifest, trip_events

PASSWORD = "a-long-test-password"
PARTIES = (
    "party_id,name,role,country,registered_on,aeo_certified,address\n"
    "P1,Finca Uno,SHIPPER,EC,2010-01-01,true,x\n"
    "P9,Brand New Imports BV,CONSIGNEE,BE,2025-02-20,false,y\n"
)


def test_the_trip_page_shows_the_whole_risk_profile(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    boxes = ("MSKU9070323", "CSQU3054383")
    bodies = [PARTIES.encode()]
    for i, box in enumerate(boxes):
        bodies.append(manifest(f"BK{i}", box, "DECL1" if i == 0 else f"S{i}"))
        bodies.append(ndjson(trip_events(box=box, booking=f"BK{i}", seal=f"SEEN{i}")))
    for body in bodies:
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    with unit_of_work(engine) as s:
        create_user(s, actor="test", org_slug="carrier", username="officer", role="analyst",
                    password=PASSWORD)  # fmt: skip
        first = s.scalar(select(Trip.id).where(Trip.container == boxes[0]))
        second = s.scalar(select(Trip.id).where(Trip.container == boxes[1]))
    client = TestClient(create_app(engine=engine))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"username": "officer", "password": PASSWORD,
                                "csrf": token.group(1)})  # fmt: skip
    page = client.get(f"/trips/{first}").text
    assert "Bananas" in page and "080390" in page
    assert "Brand New Imports BV" in page and "days before the trip" in page
    assert "DECL1" in page and "SEEN0" in page and "they differ" in page
    assert f'href="/trips/{second}"' in page and "same consignee" in page
