"""A morning shift in a real browser, keyboard only, at 768 px: search a B/L, open the trip,
read how its score adds up, take it with a note, request an inspection, record a seizure, see
it on the trip and in "my work", export the queue; the bugs officers met, in the browser; and
axe-core (vendored) on every page: no serious or critical violation."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cargowatch.db.engine import unit_of_work
from cargowatch.registers.specs import TABLES
from tests.web.conftest import CHROMIUM, PASSWORD

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# the pages are the same whatever the store: the browser runs once, with the SQLite suite
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("CARGOWATCH_TEST_POSTGRES_URL")),
    reason="browser tests run with the SQLite suite; the pages do not depend on the store",
)
SERIOUS = ("serious", "critical")


def _axe(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return [v for v in found if v["impact"] in SERIOUS]


def _tab_to(page: Any, selector: str, text: str = "", most: int = 60) -> None:
    """Press Tab until the element matching the CSS selector (and showing text) has the focus."""
    check = (
        "([css, text]) => { const e = document.activeElement;"
        " return !!e && e.matches(css) && (!text || e.textContent.trim() === text); }"
    )
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(check, [selector, text]):
            return
    raise AssertionError(f"Tab never reached {selector} {text}")


def _sign_in(page: Any, live: str, who: str = "customs-user") -> None:
    page.goto(live + "/login")
    _tab_to(page, "#username")
    page.keyboard.type(who)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live + "/")


def _a_bl_in_the_queue(engine: Engine, container_of: dict[str, str]) -> tuple[str, str]:
    m = TABLES["manifest"]
    with unit_of_work(engine) as s:
        for bl, box in s.execute(
            select(m.c.bl_number, m.c.container).where(m.c.bl_number.is_not(None))
        ):
            if box in container_of:
                return str(bl), str(box)
    raise AssertionError("no B/L of a queued trip")


def test_a_shift_keyboard_only(world: dict[str, Any], live: str, engine: Engine) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is missing: run 'make browser'"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 768, "height": 900}, accept_downloads=True)
        page = context.new_page()
        _sign_in(page, live)
        page.goto(live + "/queue")
        queued = {
            a.inner_text(): a.get_attribute("href") or ""
            for a in page.locator("table.queue tbody tr td:nth-child(2) > a").all()
        }
        bl, box = _a_bl_in_the_queue(engine, queued)

        # search the B/L from the box in the header
        _tab_to(page, "input[name=q]")
        page.keyboard.type(bl)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="B/L", exact=False)).to_be_visible()
        hit = page.locator(f"a[href='{queued[box]}']").first
        hit.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_contain_text(box)

        # the score's breakdown adds up to the number shown
        shown = page.locator("#risk-h .score").inner_text()
        total = page.locator("table.waterfall tfoot th").inner_text()
        assert round(float(total)) == int(shown)
        assert page.locator("table.waterfall tbody tr").count() >= 1

        # take it, with a note; request an inspection
        flash = page.locator("p.flash")
        _tab_to(page, "button", "Assign to me")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(flash).to_have_text("Case assigned to you.")
        expect(page.locator("section.case")).to_contain_text("Assigned to customs-user")
        _tab_to(page, "textarea[name=text]")
        page.keyboard.type("Consignee registered last month; seal series reused.")
        page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(flash).to_have_text("Case note added.")
        expect(page.locator("table.history").first).to_contain_text("seal series reused")
        _tab_to(page, "select[name=status]")
        page.locator("select[name=status]").select_option("inspection-requested")
        expect(page.locator("select[name=status]")).to_have_value("inspection-requested")
        _tab_to(page, "button", "Set status")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(flash).to_have_text("Case status inspection requested.")
        expect(page.locator("section.case h2 .tag")).to_have_text("inspection-requested")

        # record a seizure, then see it on the trip (result, method, who, when)
        _tab_to(page, "#result")
        page.locator("#result").select_option("SEIZURE")
        page.keyboard.press("Tab")
        page.locator("#method").select_option("SCAN")
        page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("section.case h2 .tag")).to_have_text("inspected")
        history = page.locator("table.history").first
        expect(history).to_contain_text("SEIZURE")
        expect(history).to_contain_text("SCAN")
        expect(history).to_contain_text("customs-user")

        # my work lists it
        page.keyboard.press("Home")  # back to the top: the skip link, then the menu
        page.locator("a.skip").focus()
        _tab_to(page, "a", "My work")
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_contain_text(box)

        # export the queue
        page.goto(live + "/queue?include_inspected=1")
        _tab_to(page, "a[href^='/queue/export.csv']")
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        assert download.value.suggested_filename == "cargowatch-queue.csv"
        browser.close()


def test_the_bugs_officers_met_stay_fixed_in_the_browser(world: dict[str, Any], live: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 768, "height": 900})
        _sign_in(page, live)
        # 3. the dashboard's target count is the queue's
        tile = page.locator(".tiles a[href^='/queue?min_score']")
        n = int(tile.locator(".n").inner_text().replace(",", ""))
        tile.focus()
        page.keyboard.press("Enter")
        expect(page.locator(".count")).to_contain_text(f"{n:,} trip")
        # 1 and 2. filter and sort, leave, come back: a styled page whose sort box and rows agree
        page.goto(live + "/queue?include_inspected=1")
        page.locator("select[name=order]").select_option("newest")
        expect(page).to_have_url(re.compile(r"order=newest"))
        page.locator("table.queue tbody tr td:nth-child(2) > a").first.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.go_back()
        expect(page.locator("header.top")).to_be_visible()
        expect(page.locator("select[name=order]")).to_have_value("newest")
        days = [d for d in page.locator("table.queue tbody tr td:nth-child(4)").all_inner_texts()]
        assert days == sorted(days, reverse=True)
        page.go_forward()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        # 6. past the end, nonsense and unknown addresses: pages in the layout, with the menu
        page.goto(live + "/queue?page=999&include_inspected=1")
        pager = page.locator(".count").inner_text()
        last = re.search(r"page (\d+) of (\d+)", pager)
        assert last is not None and last.group(1) == last.group(2)
        for path in ("/queue?page=0", "/queue?page=abc", "/trips/abc", "/no/such/page",
                     "/queue?min_score=lots"):  # fmt: skip
            page.goto(live + path)
            expect(page.get_by_role("navigation", name="Main")).to_be_visible()
            assert "{" not in page.locator("main").inner_text()[:1]
        # 5. every quarantined record, whatever its state
        page.goto(live + "/ingest?status=all")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        browser.close()


def test_every_page_passes_axe(world: dict[str, Any], live: str, engine: Engine) -> None:
    import io

    from playwright.sync_api import sync_playwright

    from cargowatch.ingest.flows import ingest_bytes
    from cargowatch.ingest.models import QuarantineRecord

    ingest_bytes(principal=world["customs"], stream=io.BytesIO(b'{"eventID": 1}\n{oops\n'),
                 source="feed.ndjson", engine=engine)  # fmt: skip
    with unit_of_work(engine) as s:
        held = s.scalar(select(QuarantineRecord.id).where(
            QuarantineRecord.org_id == world["customs"].org_id))  # fmt: skip
    assert held is not None
    from cargowatch.custody.models import Trip
    from cargowatch.incidents import service as incidents

    with unit_of_work(engine) as s:  # a seizure, so the incident pages have something to show
        trip = s.scalars(select(Trip)).first()  # shared with Customs: no trip of its own
        assert trip is not None and trip.started_at is not None
        seized, _ = incidents.record(s, principal=world["customs"], container=trip.container,
                                     booking_ref=trip.booking_ref, reference="AXE-1",
                                     found_at=trip.ended_at or trip.started_at)  # fmt: skip
        incident = seized.id
        from datetime import UTC, datetime

        from cargowatch.incidents import meetings

        held = datetime(2025, 4, 1, tzinfo=UTC)
        meeting = meetings.convene(s, principal=world["customs"], title="Port committee",
                                   held_at=held, members=[]).id  # fmt: skip
        meetings.add_item(s, principal=world["customs"], meeting_id=meeting, kind="agenda",
                          text="Night access at the terminal")  # fmt: skip
    failures: dict[str, list[dict[str, Any]]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        for width in (768,):  # the narrow window is the stricter (menus wrap, tables scroll)
            # the test injects axe itself; the pages' own policy allows only their scripts
            context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
            page = context.new_page()
            page.goto(live + "/login")
            failures.update({f"/login@{width}": v for v in [_axe(page)] if v})
            _sign_in(page, live)
            page.goto(live + "/queue")
            trip = page.locator("table.queue tbody tr td:nth-child(2) > a").first.get_attribute(
                "href"
            )
            page.goto(live + str(trip))
            event = page.locator("a[href^='/events/']").first.get_attribute("href")
            pages = ["/", "/queue", "/queue?order=newest&size=50", str(trip), str(event),
                     "/search?q=MSKU", "/search?q=Antwerpen", "/work", "/ingest",
                     "/ingest?status=all", f"/quarantine/{held}", "/no/such/page",
                     "/notifications", "/incidents", f"/incidents/{incident}",
                     f"/incidents/{incident}/report", "/meetings",
                     f"/meetings/{meeting}"]  # fmt: skip
            for path in pages:
                page.goto(live + path)
                page.wait_for_load_state("networkidle")
                found = _axe(page)
                if found:
                    failures[f"{path}@{width}"] = found
            context.close()
        browser.close()
    import json

    assert not failures, json.dumps(failures, indent=1)
