"""Bugs an officer met in the pages, each with its test: a cached fragment after back, a
dashboard count the queue did not match, placeholder seals taken for cloned ones, pages past
the end, raw JSON errors in a browser, plurals, an event page without its place."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cargowatch.app import create_app
from cargowatch.auth.service import create_user
from cargowatch.custody.models import Alert, Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.jobs.runner import run_pending
from tests.builders import event22, ndjson, org_with_user
from tests.custody.test_custody import trip_events

PASSWORD = "a-long-test-password"


def _signed_in(engine: Engine, trips: int = 3, seal: str | None = None) -> TestClient:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    with unit_of_work(engine) as s:
        create_user(s, actor="test", org_slug="carrier", username="officer", role="analyst",
                    password=PASSWORD)  # fmt: skip
    events = [
        ev
        for i in range(trips)
        for ev in trip_events(box=f"MSKU{9070300 + i}", booking=f"B{i}", seal=seal or f"S{i}")
    ]
    ingest_bytes(principal=p, stream=io.BytesIO(ndjson(events)), source="/srv/feeds/x.ndjson",
                 engine=engine)  # fmt: skip
    client = TestClient(create_app(engine=engine), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"username": "officer", "password": PASSWORD,
                                "csrf": token.group(1)})  # fmt: skip
    return client


def test_the_queue_list_and_page_are_kept_apart_by_caches(engine: Engine) -> None:
    client = _signed_in(engine)
    for headers in ({}, {"HX-Request": "true"}):
        got = client.get("/queue", headers=headers)
        assert got.status_code == 200
        assert "HX-Request" in got.headers["vary"] and got.headers["cache-control"] == "no-store"
    assert "<html" in client.get("/queue").text
    assert "<html" not in client.get("/queue", headers={"HX-Request": "true"}).text
    page = client.get("/queue").text
    assert 'autocomplete="off"' in page and "delay:" in page  # arrows do not reload each key
    assert 'value="" selected disabled' in page  # no outcome chosen in advance


def test_past_the_last_page_and_bad_addresses_answer_with_pages(engine: Engine) -> None:
    client = _signed_in(engine)
    last = client.get("/queue?page=999&include_inspected=1")
    assert last.status_code == 200 and "page 999" not in last.text
    for url, status in (("/queue?page=0", 422), ("/queue?page=abc", 422), ("/trips/abc", 422),
                        ("/no/such/page", 404), ("/queue?min_score=abc", 422)):  # fmt: skip
        got = client.get(url)
        assert got.status_code == status, url
        assert got.headers["content-type"].startswith("text/html"), url
        assert "<nav" in got.text and "Dashboard" in got.text, url  # in the layout, with the menu
    assert "Score at least" in client.get("/queue?min_score=abc").text
    assert client.get("/api/v1/nothing").headers["content-type"].startswith("application/json")


def test_the_dashboard_counts_what_the_queue_shows_in_plain_words(engine: Engine) -> None:
    client = _signed_in(engine, trips=1)
    page = client.get("/").text
    assert "1</span> trip (" in page and "1</span> container tracked" in page
    assert "your organisation stored" in page
    tile = re.search(r'href="/queue\?min_score=(\d+)"><span class="n">(\d+)</span>', page)
    assert tile is not None
    queue = client.get(f"/queue?min_score={tile.group(1)}&explore=0").text
    shown = re.search(r'class="count" role="status">([\d,]+) trips?', queue)
    assert shown is not None and int(shown.group(1).replace(",", "")) == int(tile.group(2))


def test_placeholder_seal_numbers_are_no_cloned_seals(engine: Engine) -> None:
    _signed_in(engine, trips=3, seal="SI")
    with unit_of_work(engine) as s:
        kinds = set(s.scalars(select(Alert.type)))
        assert s.scalar(select(Trip.id)) is not None
    assert "cloned-seal" not in kinds


def test_quarantine_all_lists_every_status(engine: Engine) -> None:
    client = _signed_in(engine)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/ingest").text)
    assert token is not None
    bad = ndjson([event22(eventID="q1", eventType="BAD"), event22(eventID="q2", eventType="BAD")])
    client.post("/ingest", data={"csrf": token.group(1)},
                files={"files": ("bad.ndjson", bad)})  # fmt: skip
    run_pending(engine)
    ids = re.findall(r'href="/quarantine/(\d+)"', client.get("/ingest").text)
    assert len(ids) == 2
    client.post(f"/quarantine/{ids[0]}/discard", data={"csrf": token.group(1)})
    assert len(re.findall(r'href="/quarantine/(\d+)"', client.get("/ingest?status=all").text)) == 2


def test_the_event_page_shows_where_and_references_not_server_paths(engine: Engine) -> None:
    client = _signed_in(engine, trips=1)
    trip = re.search(r'href="/trips/(\d+)"', client.get("/queue?include_inspected=1").text)
    assert trip is not None
    event = re.search(r'href="/events/(\d+)"', client.get(f"/trips/{trip.group(1)}").text)
    assert event is not None
    page = client.get(f"/events/{event.group(1)}").text
    where = re.search(r"<dt>Where</dt><dd>([^<]*)</dd>", page)
    refs = re.search(r"<dt>References</dt><dd>([^<]*)</dd>", page)
    assert where is not None and where.group(1).strip() not in ("", "not given")
    assert refs is not None and "booking B0" in refs.group(1)
    assert "/srv/feeds" not in page and "x.ndjson" in page


def test_the_queue_filters_by_any_finding(engine: Engine) -> None:
    client = _signed_in(engine, trips=3, seal="ML123456")  # one real seal on three trips

    def count(url: str) -> int:
        found = re.search(r'class="count" role="status">([\d,]+) trips?', client.get(url).text)
        assert found is not None, url
        return int(found.group(1).replace(",", ""))

    assert count("/queue?include_inspected=1&finding=cloned-seal") == 3
    assert count("/queue?include_inspected=1&finding=long-stay") == 0
    assert client.get("/queue?finding=no-such-thing").status_code == 422
    assert 'name="finding"' in client.get("/queue").text


def test_the_queue_exports_as_csv_and_pages_by_chosen_size(engine: Engine) -> None:
    import csv

    client = _signed_in(engine, trips=3)
    got = client.get("/queue/export.csv?include_inspected=1")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0][:3] == ["trip_id", "container", "booking_ref"] and len(rows) == 4
    assert "/queue/export.csv?" in client.get("/queue").text
    page = client.get("/queue?include_inspected=1&size=50").text
    assert 'value="50" selected' in page and "page 1 of 1" in page
    assert client.get("/queue?size=7").status_code == 422
