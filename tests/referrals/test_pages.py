"""The referral pages in a real browser: a carrier fills the form and sees who receives it,
the Customs inbox acknowledges it with the others ticked, an officer writes feedback on the
referral's page, and the carrier reads it once released; axe-core finds nothing serious."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from cargowatch.auth.service import create_user
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.referrals import flows, service
from tests.builders import ndjson, org_with_user
from tests.custody.test_custody import trip_events
from tests.web.conftest import CHROMIUM, PASSWORD
from tests.web.test_browser import _axe

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("CARGOWATCH_TEST_POSTGRES_URL")),
    reason="browser tests run with the SQLite suite; the pages do not depend on the store",
)
BOX = "MSKU9070323"


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(out, format="PNG")
    return out.getvalue()


def _sign_in(page: Any, live: str, who: str) -> None:
    page.goto(live + "/login")
    page.fill("#username", who)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(live + "/")


def test_form_inbox_and_feedback_in_a_browser(engine: Engine, live: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    customs = org_with_user(engine, "customs", kind="CUSTOMS", role="admin")
    org_with_user(engine, "carrier", kind="CARRIER")
    with unit_of_work(engine) as s:
        for org, name in (("customs", "officer"), ("carrier", "shipper")):
            create_user(s, actor="test", org_slug=org, username=name, role="analyst",
                        password=PASSWORD)  # fmt: skip
        service.declare_spoc(s, principal=customs, name="Antwerp port", jurisdiction=["BE"],
                             timezone="Europe/Brussels")  # fmt: skip
    ingest_bytes(principal=customs, stream=io.BytesIO(ndjson(trip_events(box=BOX))), source="x",
                 engine=engine)  # fmt: skip
    assert Path(CHROMIUM).exists()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 768, "height": 900}, bypass_csp=True)
        page = context.new_page()
        _sign_in(page, live, "shipper")
        page.get_by_role("link", name="Referrals").click()
        page.get_by_role("link", name="Send a referral to Customs").click()
        expect(page.locator("main")).to_contain_text("Antwerp port")  # who receives it
        assert not _axe(page)
        page.select_option("select[name=category]", "door-or-tampering")
        page.select_option("select[name=urgency]", "urgent")
        page.fill("input[name=place]", "BEANR")
        page.fill("textarea[name=containers]", BOX)
        page.fill("textarea[name=text]", "Door found open at the depot gate.")
        page.set_input_files("input[name=files]", [
            {"name": "door.png", "mimeType": "image/png", "buffer": _png()},
        ])  # fmt: skip
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("status")).to_contain_text("sent to 1 Customs organisation")
        rid = int(page.url.rsplit("/", 1)[1])
        expect(page.get_by_role("img", name="Photo door.png")).to_be_visible()
        assert not _axe(page)
        page.get_by_role("button", name="Sign out").click()

        _sign_in(page, live, "officer")
        page.goto(live + "/referrals")
        expect(page.get_by_role("heading", level=1)).to_have_text("Referrals inbox")
        assert not _axe(page)
        page.get_by_label(f"Acknowledge referral {rid}").check()
        page.get_by_role("button", name="Acknowledge the ticked referrals").click()
        expect(page.get_by_role("status")).to_contain_text("1 referral acknowledged")
        page.goto(f"{live}/referrals/{rid}")
        expect(page.locator("main")).to_contain_text("acknowledged")
        expect(page.locator("main")).to_contain_text(BOX)  # a linked trip
        expect(page.get_by_role("link", name="door.png", exact=True)).to_be_visible()
        page.get_by_label("Ask the referrer").fill("Was the seal still on the door?")
        page.get_by_role("button", name="Ask", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Question sent")
        page.select_option("select[name=level]", "action-taken")
        page.get_by_label("Words for the referrer").fill("Thank you: the container was examined.")
        page.get_by_role("button", name="Save feedback").click()
        expect(page.get_by_role("status")).to_contain_text("Feedback saved")
        assert not _axe(page)
        page.get_by_role("link", name="Dashboard").click()  # the referral figures load in
        figures = page.locator("#referral-figures")
        expect(figures.locator("table")).to_contain_text("Antwerp port")
        expect(figures.locator("svg")).to_have_count(2)
        assert not _axe(page)
        page.get_by_role("button", name="Sign out").click()

        assert flows.release_due(engine) == 1
        _sign_in(page, live, "shipper")
        page.get_by_role("link", name="Notifications").click()  # it shows one unread
        expect(page.locator("main")).to_contain_text("Was the seal still on the door?")
        assert not _axe(page)
        page.get_by_role("link", name=f"referral {rid}").click()
        page.get_by_label("Answer customs").fill("Yes, seal intact, door ajar.")
        page.get_by_role("button", name="Answer", exact=True).click()
        expect(page.locator("#thread")).to_be_visible()
        expect(page.locator("main")).to_contain_text("Yes, seal intact, door ajar.")
        page.goto(live + "/referrals")
        expect(page.locator("table.queue")).to_contain_text("action taken")
        expect(page.locator("table.queue")).to_contain_text("the container was examined")
        assert not _axe(page)
        browser.close()
