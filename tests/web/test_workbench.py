"""The officer's workbench beyond search and cases: openings counted once on the chart and the
map, a real map's data, charts with a time axis and marks, the score's history with why it
changed, a queue sorted by its columns, paged by numbers, filtered by dates and saved as
views, evidence ids that open their pages, and a trip's file and the queue as CSV and PDF."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, update

from cargowatch.audit.models import AuditEntry
from cargowatch.auth.service import principal_for_username
from cargowatch.custody.models import Alert, Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.risk import engine as risk_engine
from cargowatch.risk import service as risk
from cargowatch.risk.models import Assessment, ScoreChange
from cargowatch.tripfile import service as tripfile
from cargowatch.web import charts
from tests.builders import ndjson, org_with_user
from tests.custody.test_custody import BOX, SITES, trip_events
from tests.web.test_pages import _signed_in

# a door that stays open over ten readings is one opening; it closes, and opens once more;
# light rises with the first opening only
READINGS = [
    {"device_id": "D1", "container": BOX, "ts": f"2025-03-05T{h:02d}:00:00Z", "latitude": 10.0,
     "longitude": -80.0 + h / 10, "door": "OPEN" if h < 10 or h >= 15 else "CLOSED",
     "light_lux": 200 if h < 10 else 0}
    for h in range(20)
]  # fmt: skip


def _trip_with_readings(engine: Engine) -> tuple[TestClient, int]:
    client = _signed_in(engine, trips=1)
    with unit_of_work(engine) as s:
        p = principal_for_username(s, "officer")
    for body in (
        SITES.encode(),
        ndjson(trip_events()),
        b"".join(json.dumps(r).encode() + b"\n" for r in READINGS),
    ):
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    with unit_of_work(engine) as s:
        tid = s.scalar(select(Trip.id).where(Trip.container == BOX, Trip.booking_ref == "BKG1"))
    assert tid is not None
    return client, tid


def test_openings_are_counted_once_and_alike_on_the_chart_and_the_map(engine: Engine) -> None:
    client, tid = _trip_with_readings(engine)
    with unit_of_work(engine) as s:
        tf = tripfile.build(s, principal=principal_for_username(s, "officer"), trip_id=tid)
    openings = [m for m in tf.moments if m.kind == "opening"]
    assert [m.label for m in openings] == ["door opened, light 200 lux", "door opened"]
    assert len(tf.map["openings"]) == 2 and tf.map["openings"][1]["lon"] == -80.0 + 15 / 10
    assert {s["label"].split(" ")[0] for s in tf.map["sites"]} == {"PH1", "T1", "T2"}
    assert len(tf.map["track"]) == 20
    page = client.get(f"/trips/{tid}").text
    assert "Openings (2)" in page
    assert "/static/vendor/leaflet.js" in page and "/static/map.js" in page
    data = re.search(r'<script type="application/json" id="trip-map-data">(.*?)</script>', page)
    assert data is not None and len(json.loads(data.group(1))["openings"]) == 2
    # the door chart marks the same two openings on the trip's time line, with the alerts
    assert page.count('class="mark-opening"') == 2 * len(tf.series)
    timed = [a for a in tf.alerts if a.at is not None]
    assert timed and page.count('class="mark-alert"') == len(timed) * len(tf.series)
    event = re.search(r'href="/events/(\d+)"', page)
    assert event is not None  # an event opens its page, which opens its trip again
    assert f'href="/trips/{tid}"' in client.get(f"/events/{event.group(1)}").text
    basemap = client.get("/static/vendor/countries-50m.json")
    assert basemap.status_code == 200 and b'"countries"' in basemap.content[:2000]


def test_time_charts_have_an_axis_values_on_hover_and_marks() -> None:
    from datetime import UTC, datetime

    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    points = [(t0.replace(day=d), float(d)) for d in range(1, 11)]
    svg = str(
        charts.lines(
            [charts.Line("light (lux)", points)],
            "light",
            span=(t0, t0.replace(day=12)),
            marks=[charts.Mark(t0.replace(day=4), "alert seal-changed", "alert")],
            links=lambda t: f"/queue?since={t:%Y-%m-%d}",
        )
    )
    assert 'class="tick"' in svg and "03-0" in svg  # day ticks on the time axis
    assert "2025-03-05 00:00 UTC · light (lux): 5" in svg  # the value on hover
    assert 'class="mark-alert"' in svg and "alert seal-changed" in svg
    assert 'href="/queue?since=2025-03-05"' in svg
    ticks = charts.time_ticks(t0.timestamp(), t0.replace(day=2).timestamp())
    assert 2 <= len(ticks) <= 8 and all(":" in label for _, label in ticks)


def test_dashboard_charts_open_the_queue_filtered(engine: Engine) -> None:
    client = _signed_in(engine, trips=3, seal="SEAL1")  # one seal on three trips: alerts
    page = client.get("/").text
    assert re.search(r'href="/queue\?alert_type=[a-z-]+&amp;include_inspected=1"', page)
    week = re.search(r'href="(/queue\?since=\d{4}-\d\d-\d\d&amp;until=[^"]+)"', page)
    assert week is not None
    listed = client.get(week.group(1).replace("&amp;", "&")).text
    assert "MSKU9070300" in listed


def test_the_score_keeps_its_history_with_why_it_changed(engine: Engine) -> None:
    client, tid = _trip_with_readings(engine)
    with unit_of_work(engine) as s:
        p = principal_for_username(s, "officer")
        s.execute(delete(ScoreChange))  # changes while the trip was loaded piece by piece
        risk_engine.score(s, org_id=p.org_id, cause="nothing new")
        assert s.scalar(select(ScoreChange.id)) is None  # the same score is no change
        real = s.scalar(select(Assessment.score).where(Assessment.trip_id == tid))
        keys = s.scalar(select(Assessment.finding_keys).where(Assessment.trip_id == tid))
        assert real is not None and keys is not None
        s.execute(
            update(Assessment)
            .where(Assessment.trip_id == tid)
            .values(score=real + 20, finding_keys="some-old-finding")
        )
    with unit_of_work(engine) as s:
        risk_engine.score(s, org_id=p.org_id, trip_ids=[tid], cause="new events (ingest run 9)")
    with unit_of_work(engine) as s:
        [change] = risk.score_history(s, principal=p, trip_id=tid)
    assert change["before"] == real + 20 and change["after"] == real
    assert change["removed"] == ["some-old-finding"]
    assert change["added"] == [k for k in keys.split(",") if k]
    assert change["why"].startswith("new events (ingest run 9)")
    assert "findings gone: some-old-finding" in change["why"]
    page = client.get(f"/trips/{tid}").text
    assert "How the score changed" in page and "new events (ingest run 9)" in page
    assert "Hit rate here" in page


def test_queue_sorts_by_its_columns_pages_by_number_and_filters_by_dates(
    engine: Engine,
) -> None:
    client = _signed_in(engine, trips=3)
    page = client.get("/queue?include_inspected=1").text
    assert 'aria-sort="descending"' in page  # by score, as the rows are
    link = re.search(r'<th scope="col" class="sort"><a href="([^"]+order=newest[^"]*)"', page)
    assert link is not None
    newest = client.get(link.group(1).replace("&amp;", "&")).text
    assert re.search(r'<option value="newest" selected>', newest)  # the box says what rows do
    oldest = client.get("/queue?include_inspected=1&order=oldest").text
    boxes = re.findall(r'href="/trips/\d+">(MSKU\d+)</a>', oldest)
    assert boxes == sorted(boxes)  # the builder's trips start one after another... or together
    assert client.get("/queue?since=2025-13-01").status_code == 422
    none = client.get("/queue?include_inspected=1&since=2030-01-01").text
    assert "No scored trip matches." in none
    assert 'aria-current="page"' in page  # numbered pages, this one marked
    assert tuple(
        __import__("cargowatch.web.router", fromlist=["_page_numbers"])._page_numbers(7, 20)
    ) == (1, None, 5, 6, 7, 8, 9, None, 20)


def test_saved_views_are_kept_per_user_and_audited(engine: Engine) -> None:
    client = _signed_in(engine, trips=2)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/queue").text)
    assert token is not None
    got = client.post(
        "/queue/views",
        data={"csrf": token.group(1), "name": "Antwerp reefers",
              "query": "port=BEANR&min_score=10&bogus=1&order=newest"},
    )  # fmt: skip
    assert got.status_code == 303 and got.headers["location"] == (
        "/queue?port=BEANR&min_score=10&order=newest"
    )
    page = client.get("/queue").text
    assert ">Antwerp reefers</a>" in page
    bad = client.post("/queue/views", data={"csrf": token.group(1), "name": "x",
                                            "query": "min_score=abc"})  # fmt: skip
    assert bad.status_code == 422
    with unit_of_work(engine) as s:
        [view] = risk.saved_filters(s, principal=principal_for_username(s, "officer"))
        other = org_with_user(engine, "terminal", kind="TERMINAL")
    with unit_of_work(engine) as s:
        try:
            risk.delete_filter(s, principal=other, filter_id=view.id)
            raise AssertionError("another user deleted the view")
        except Exception as e:
            assert "no saved view" in str(e)
    assert client.post(f"/queue/views/{view.id}/delete",
                       data={"csrf": token.group(1)}).status_code == 303  # fmt: skip
    with unit_of_work(engine) as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("queue.%")))
        assert sorted(actions) == ["queue.view-delete", "queue.view-save"]


def test_evidence_ids_open_their_pages_for_those_who_may_see_them(engine: Engine) -> None:
    client = _signed_in(engine, trips=2, seal="SEAL1")
    with unit_of_work(engine) as s:
        alert = s.scalars(select(Alert)).first()
        assert alert is not None
        aid, tid = alert.id, alert.trip_id
    got = client.get(f"/alerts/{aid}")
    assert got.status_code == 303 and got.headers["location"] == f"/trips/{tid}#alert-{aid}"
    assert f'id="alert-{aid}"' in client.get(f"/trips/{tid}").text
    assert client.get("/alerts/999999").status_code == 404
    assert client.get("/manifest/999999").status_code == 404
    from cargowatch.web.router import _evidence_links

    links = dict(_evidence_links({"parties": ["P1"], "alerts": [aid], "manifest": [3],
                                  "seals": ["SEAL1"], "events": [5]}))  # fmt: skip
    assert links == {"party P1": "/search?q=P1", f"alert {aid}": f"/alerts/{aid}",
                     "manifest line 3": "/manifest/3", "seal SEAL1": "/search?q=SEAL1",
                     "event 5": "/events/5"}  # fmt: skip


def test_a_trips_file_and_the_queue_export_as_csv_and_pdf(engine: Engine) -> None:
    client, tid = _trip_with_readings(engine)
    got = client.get(f"/trips/{tid}/file.csv")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0] == ["section", "time_utc", "item", "detail"]
    sections = {r[0] for r in rows[1:]}
    assert {"trip", "custody", "seal", "opening", "profile"} <= sections
    assert sum(1 for r in rows if r[0] == "opening") == 2
    pdf = client.get(f"/trips/{tid}/file.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    queue = client.get("/queue/export.pdf?include_inspected=1")
    assert queue.status_code == 200 and queue.content.startswith(b"%PDF")
    assert client.get("/trips/999999/file.pdf").status_code == 404


def test_the_api_gives_the_score_history_and_keeps_views(engine: Engine) -> None:
    from tests.builders import token_for

    client, tid = _trip_with_readings(engine)
    api = TestClient(client.app)
    api.headers["Authorization"] = f"Bearer {token_for(engine, 'officer')}"
    with unit_of_work(engine) as s:
        s.execute(update(Assessment).where(Assessment.trip_id == tid).values(score=99.0))
    with unit_of_work(engine) as s:
        p = principal_for_username(s, "officer")
        risk_engine.score(s, org_id=p.org_id, trip_ids=[tid], cause="a test")
    got = api.get(f"/api/v1/trips/{tid}/risk/history")
    assert got.status_code == 200 and got.json()[0]["before"] == 99.0
    assert got.json()[0]["cause"] == "a test"
    made = api.post("/api/v1/queue/views", json={"name": "Mine", "query": "lane=EC>BE&x=1"})
    assert made.status_code == 201 and made.json()["query"] == "lane=EC%3EBE"
    bad = api.post("/api/v1/queue/views", json={"name": "Bad", "query": "since=yesterday"})
    assert bad.status_code == 422
    assert [v["name"] for v in api.get("/api/v1/queue/views").json()] == ["Mine"]
    other = TestClient(client.app)
    org_with_user(engine, "terminal", kind="TERMINAL")
    other.headers["Authorization"] = f"Bearer {token_for(engine, 'terminal-user')}"
    assert other.get("/api/v1/queue/views").json() == []
    assert other.delete(f"/api/v1/queue/views/{made.json()['id']}").status_code == 404
    assert other.get(f"/api/v1/trips/{tid}/risk/history").status_code == 404
    assert api.delete(f"/api/v1/queue/views/{made.json()['id']}").status_code == 204
