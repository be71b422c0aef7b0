"""The sharing pages: compose a bulletin with indicators, read it with its marking, watch it,
see forwarding refused where the marking forbids it, and run a sharing group."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cargowatch.app import create_app
from cargowatch.auth.service import create_user
from cargowatch.db.engine import unit_of_work
from tests.builders import org_with_user

PASSWORD = "a-long-test-password"


def _browser(engine: Engine, org: str) -> tuple[TestClient, str]:
    with unit_of_work(engine) as s:
        create_user(s, actor="test", org_slug=org, username=f"{org}-web", role="analyst",
                    password=PASSWORD)  # fmt: skip
    client = TestClient(create_app(engine=engine))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"username": f"{org}-web", "password": PASSWORD,
                                "csrf": token.group(1)})  # fmt: skip
    page = client.get("/bulletins")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return client, csrf.group(1)


def test_a_bulletin_is_written_read_watched_and_its_group_run_in_pages(engine: Engine) -> None:
    for org in ("carrier", "customs", "outsider"):
        org_with_user(engine, org)
    carrier, c_csrf = _browser(engine, "carrier")
    customs, k_csrf = _browser(engine, "customs")
    outsider, _ = _browser(engine, "outsider")
    r = carrier.post("/groups", data={"csrf": c_csrf, "slug": "gye-port", "name": "Guayaquil"})
    assert r.status_code == 200 and "gye-port" in r.text
    r = carrier.post("/groups/members", data={"csrf": c_csrf, "group": "gye-port",
                                              "org": "customs"})  # fmt: skip
    assert "customs admitted" in r.text and "carrier, customs" in r.text
    # a wrong indicator line is named, with its line number
    bad = {
        "csrf": c_csrf,
        "title": "x",
        "group": "gye-port",
        "indicators": "container MSKU1234565\nboat X",
    }
    r = carrier.post("/bulletins", data=bad)
    assert "line 2" in r.text
    r = carrier.post("/bulletins", data={
        "csrf": c_csrf, "title": "Cloned series", "tlp": "AMBER", "distribution": "group",
        "group": "gye-port", "kind": "cloned-containers", "body": "Watch these boxes.",
        "indicators": "container MSKU1234565 # cloned\nseal-range ML100 ML150"})  # fmt: skip
    assert r.status_code == 200 and "TLP:AMBER" in r.text and "ML100 to ML150" in r.text
    bid = int(re.search(r"/bulletins/(\d+)/watch", r.text).group(1))  # type: ignore[union-attr]
    listed = customs.get("/bulletins").text
    assert "Cloned series" in listed and 'class="tlp tlp-amber"' in listed
    assert "Cloned series" not in outsider.get("/bulletins").text
    assert outsider.get(f"/bulletins/{bid}").status_code == 404
    page = customs.get(f"/bulletins/{bid}").text
    assert "ask the author" in page and f'action="/bulletins/{bid}/forward"' not in page
    r = customs.post(f"/bulletins/{bid}/forward", data={"csrf": k_csrf, "to": "outsider"})
    assert r.status_code == 403 and "TLP:AMBER" in r.text
    r = customs.post(f"/bulletins/{bid}/watch", data={"csrf": k_csrf})
    assert "Watched" in r.text and "Stop watching" in r.text
    assert "Cloned series" in customs.get("/watchlist").text
    r = customs.post(f"/bulletins/{bid}/watch", data={"csrf": k_csrf, "stop": "yes"})
    assert "No longer watched" in r.text
    # only the steward admits
    r = customs.post("/groups/members", data={"csrf": k_csrf, "group": "gye-port",
                                              "org": "outsider"})  # fmt: skip
    assert r.status_code == 403


def test_an_agreement_is_made_read_by_its_partner_and_revoked_in_pages(engine: Engine) -> None:
    for org in ("carrier", "customs", "outsider"):
        org_with_user(engine, org)
    carrier, c_csrf = _browser(engine, "carrier")
    customs, k_csrf = _browser(engine, "customs")
    outsider, _ = _browser(engine, "outsider")
    form = {"csrf": c_csrf, "grantee": "customs", "classes": ["events", "telemetry"],
            "purpose": "Joint targeting of Guayaquil exports", "legal_basis": "MoU 2026-04",
            "scopes": "port:ECGYE\nlane:ECGYE-BEANR", "until": "2099-06-30"}  # fmt: skip
    r = carrier.post("/agreements", data={**form, "scopes": "port:GUAYAQUIL"})
    assert r.status_code == 422 and "port:GUAYAQUIL" in r.text  # the bad line is named
    r = carrier.post("/agreements", data=form)
    assert r.status_code == 200 and "Agreement 1 made" in r.text
    assert "lane:ECGYE-BEANR" in r.text and "2099-06-30" in r.text and "TLP:AMBER" in r.text
    seen = customs.get("/agreements").text
    assert "Joint targeting of Guayaquil exports" in seen and "/agreements/1/revoke" not in seen
    assert "Joint targeting" not in outsider.get("/agreements").text
    assert customs.post("/agreements/1/revoke", data={"csrf": k_csrf}).status_code == 404
    r = carrier.post("/agreements/1/revoke", data={"csrf": c_csrf})
    assert "Agreement 1 revoked" in r.text and "revoked" in r.text


def test_a_shared_trip_page_shows_what_each_class_opens_and_its_marking(engine: Engine) -> None:
    """customs reads the carrier's trip under an agreement: its events without the customs
    selection, then with alerts, scores and the selection once the agreement names them; the
    page says under which agreement and marking; the terminal reads nothing."""
    import io
    import json as _json

    from sqlalchemy import select

    from cargowatch.auth.service import principal_for_username
    from cargowatch.custody.models import Alert, Trip
    from cargowatch.ingest.flows import ingest_bytes
    from cargowatch.jobs.runner import run_pending
    from cargowatch.sharing.service import Terms, amend, create_agreement
    from tests.builders import ndjson
    from tests.custody.test_custody import STEPS, trip_events

    for org in ("carrier", "customs", "terminal"):
        org_with_user(engine, org)
    steps = [*STEPS[:5], ("CUSS", "2025-03-15T12:00:00Z", "BEANR", "T2", False), *STEPS[5:]]
    with unit_of_work(engine) as s:
        carrier = principal_for_username(s, "carrier-user")
    ingest_bytes(principal=carrier, stream=io.BytesIO(ndjson(trip_events(steps=steps))),
                 source="feed", engine=engine)  # fmt: skip
    run_pending(engine)
    with unit_of_work(engine) as s:
        trip_id = s.scalar(select(Trip.id))
        s.add(Alert(org_id=carrier.org_id, trip_id=trip_id, type="seal-changed", severity=4,
                    explanation="The seal changed at the terminal gate.",
                    evidence=_json.dumps({})))  # fmt: skip
        agreement = create_agreement(s, principal=carrier, grantee_slug="customs", terms=Terms(
            classes=["events"], purpose="release checks", legal_basis="Customs Code art. 46",
            scopes=[], tlp="AMBER"))  # fmt: skip
        agreement_id = agreement.id
    customs, _ = _browser(engine, "customs")
    terminal, _ = _browser(engine, "terminal")
    page = customs.get(f"/trips/{trip_id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Shared by <strong>carrier</strong>" in text and "TLP:AMBER" in text
    assert "release checks" in text and "CUSS" not in text  # the selection is not its to read
    assert "The seal changed at the terminal gate." not in text
    assert terminal.get(f"/trips/{trip_id}").status_code == 404
    with unit_of_work(engine) as s:
        amend(s, principal=carrier, agreement_id=agreement_id,
              classes=["events", "alerts", "risk", "customs-selections"])  # fmt: skip
    text = customs.get(f"/trips/{trip_id}").text
    assert "CUSS" in text and "The seal changed at the terminal gate." in text
    from cargowatch.audit.models import AuditEntry

    with unit_of_work(engine) as s:
        assert "trip" in s.scalars(select(AuditEntry.entity_type).where(
            AuditEntry.action == "agreement.use")).all()  # fmt: skip
    assert "alerts, customs-selections, events, risk" in text
    assert terminal.get(f"/trips/{trip_id}").status_code == 404
