"""The web interface: pages over the same services, signed in with a session cookie; driven in
a real browser (Playwright with Debian's chromium) and checked for CSRF and isolation."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cargowatch.auth.service import create_user
from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.jobs.runner import run_pending
from tests.builders import ndjson
from tests.custody.test_custody import trip_events
from tests.web.conftest import CHROMIUM, PASSWORD, people_in


@pytest.mark.skipif(
    bool(os.environ.get("CARGOWATCH_TEST_POSTGRES_URL")),
    reason="browser tests run with the SQLite suite; the pages do not depend on the store",
)
def test_an_officer_works_the_queue_in_a_browser(world: dict[str, Any], live: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is missing: run 'make browser' (Debian's chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(live + "/")
        expect(page).to_have_url(re.compile(r"/login\?next=/"))
        # sign in with the keyboard only
        page.keyboard.press("Tab")  # the skip link first
        page.fill("#username", "customs-user")
        page.fill("#password", "wrong password")
        page.press("#password", "Enter")
        expect(page.get_by_role("alert")).to_contain_text("wrong password")
        page.fill("#username", "customs-user")
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(page.locator(".tiles")).to_contain_text("trips")

        page.get_by_role("link", name="Targeting queue").click()
        expect(page.get_by_role("heading", name="Targeting queue")).to_be_visible()
        count = page.locator(".count")
        expect(count).to_contain_text("page 1")
        everything = int(count.inner_text().split()[0].replace(",", ""))
        assert everything >= 250
        # filter: only the trips scoring 40 and more (HTMX swaps the table in place)
        page.fill("input[name=min_score]", "40")
        page.press("input[name=min_score]", "Enter")
        expect(page).to_have_url(re.compile(r"min_score=40"))
        expect(count).not_to_contain_text(f"{everything:,} trips")
        scores = [float(x) for x in page.locator("td.score").all_inner_texts()]
        assert scores and min(scores) >= 40 and scores == sorted(scores, reverse=True)

        # open the best trip: its timeline, map and reasons
        first = page.locator("table.queue tbody tr").first
        container = first.locator("td").nth(1).locator("a").inner_text()
        first.locator("td").nth(1).locator("a").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(container)
        expect(page.locator("table.timeline tbody tr").first).to_be_visible()
        assert page.locator("table.timeline tbody tr").count() >= 3
        expect(page.get_by_role("heading", name="Map")).to_be_visible()
        expect(page.locator("#trip-map.leaflet-container")).to_be_visible()
        findings = page.locator("section.risk table tbody tr")
        assert findings.count() >= 1
        expect(findings.first.locator("td").nth(2)).not_to_be_empty()
        evidence = page.locator("section.risk a[href^='/events/']")
        if evidence.count():
            evidence.first.click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Event")
            page.go_back()

        # record a seizure from the queue: the trip leaves it at once
        page.goto(live + "/queue")
        row = page.locator("table.queue tbody tr").first
        top = row.locator("td").nth(1).locator("a").inner_text()
        row.locator("select[name=result]").select_option("SEIZURE")
        row.get_by_role("button", name="Record").click()
        expect(page.get_by_role("status").first).to_contain_text(f"on {top}")
        assert top not in page.locator("table.queue tbody").inner_text()
        page.goto(live + "/")
        expect(page.locator(".tiles")).to_contain_text("1 seizure")

        # another organisation's trip stays theirs
        page.goto(f"{live}/trips/{world['other_trip']}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/login"))
        page.goto(live + "/queue")
        expect(page).to_have_url(re.compile(r"/login\?next=/queue"))
        browser.close()


def test_forms_need_the_session_token_and_pages_the_session(world: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from cargowatch.app import create_app

    with unit_of_work() as s:
        trip_id = s.scalar(select(Trip.id).where(Trip.org_id == world["carrier"].org_id))
    client = TestClient(create_app(), follow_redirects=False)
    assert client.get("/queue").status_code == 303
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    forged = client.post("/login", data={"username": "carrier-user", "password": PASSWORD})
    assert forged.status_code == 403
    wrong = client.post(
        "/login", data={"username": "carrier-user", "password": "guess", "csrf": token.group(1)}
    )
    assert wrong.status_code == 401
    signed = client.post(
        "/login",
        data={
            "username": "carrier-user",
            "password": PASSWORD,
            "csrf": token.group(1),
            "next": "//evil.example",
        },
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    assert client.get("/queue").status_code == 200
    fresh = re.search(r'name="csrf" value="([^"]+)"', client.get("/queue").text)
    assert fresh is not None and fresh.group(1) != token.group(1)  # a new session on sign-in
    no_token = client.post(f"/trips/{trip_id}/outcome", data={"result": "SEIZURE"})
    assert no_token.status_code == 403
    made = client.post(
        f"/trips/{trip_id}/outcome",
        data={"result": "SEIZURE"},
        headers={"X-CSRF-Token": fresh.group(1)},
    )
    assert made.status_code == 303
    upload = client.post(
        "/ingest",
        data={"csrf": fresh.group(1)},
        files={"files": ("feed.ndjson", ndjson(trip_events(box="CSQU3054383", booking="B77")))},
    )
    assert upload.status_code == 303
    assert "run" in client.get("/ingest").text
    assert client.get("/api/v1/targets").status_code == 401  # the API still wants a token
    client.post("/logout", headers={"X-CSRF-Token": fresh.group(1)})
    from cargowatch.audit.models import AuditEntry

    with unit_of_work() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert {"auth.login_failed", "auth.login", "inspection.record", "auth.logout"} <= set(actions)


def test_a_quarantined_record_is_corrected_and_replayed_from_the_ingest_page(
    engine: Engine,
) -> None:
    import json

    from fastapi.testclient import TestClient

    from cargowatch.app import create_app
    from cargowatch.ingest.models import QuarantineRecord

    people_in(engine)
    client = TestClient(create_app(engine=engine), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post(
        "/login", data={"username": "carrier-user", "password": PASSWORD, "csrf": token.group(1)}
    )
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ingest").text)
    assert csrf is not None
    [good, bad] = trip_events(box="CSQU3054383", booking="B1")[:2]
    bad["eventDateTime"] = "yesterday"
    client.post(
        "/ingest",
        data={"csrf": csrf.group(1)},
        files={"files": ("feed.ndjson", ndjson([good, bad]))},
    )
    assert "queued as run" in client.get("/ingest").text
    run_pending(engine)  # what serve's worker thread does
    page = client.get("/ingest").text
    found = re.search(r'href="/quarantine/(\d+)"', page)
    assert found is not None and "eventDateTime" in page
    record = int(found.group(1))
    shown = client.get(f"/quarantine/{record}").text
    assert "yesterday" in shown
    fixed = json.dumps(dict(bad, eventDateTime=good["eventDateTime"]))
    done = client.post(f"/quarantine/{record}/fix", data={"csrf": csrf.group(1), "raw": fixed})
    assert done.status_code == 303
    assert "1 stored" in client.get("/ingest").text
    with unit_of_work(engine) as s:
        assert s.get(QuarantineRecord, record).status == "replayed"  # type: ignore[union-attr]
    other = TestClient(create_app(engine=engine))  # not signed in: to the sign-in page
    assert "/login" in str(other.get(f"/quarantine/{record}").url)


def test_sign_in_is_refused_after_repeated_failures(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from cargowatch.app import create_app

    people_in(engine)
    client = TestClient(create_app(engine=engine), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None

    def attempt(password: str) -> int:
        return client.post(
            "/login",
            data={"username": "customs-user", "password": password, "csrf": token.group(1)},
        ).status_code

    assert [attempt(f"guess-{i}") for i in range(5)] == [401] * 5
    assert attempt(PASSWORD) == 429  # even the right password waits out the window
    other = client.post(
        "/login", data={"username": "carrier-user", "password": PASSWORD, "csrf": token.group(1)}
    )
    assert other.status_code == 303  # other users are not locked out


def test_an_ingester_lands_on_the_ingest_page(engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from cargowatch.app import create_app

    people_in(engine)
    with unit_of_work(engine) as s:
        create_user(
            s, actor="test", org_slug="carrier", username="feed", role="ingester", password=PASSWORD
        )
    client = TestClient(create_app(engine=engine))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    page = client.post(
        "/login", data={"username": "feed", "password": PASSWORD, "csrf": token.group(1)}
    )
    assert page.url.path == "/ingest" and "Targeting queue" not in page.text
    assert client.get("/queue").status_code == 403  # the queue is not an ingester's
