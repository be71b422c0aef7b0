"""Referrals from industry to Customs: acknowledgement due in working time, routing by where
the container is going (two Customs organisations for a transshipment), intake idempotent on
the referrer's reference, the workflow and its history, and who sees what."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cargowatch.app import create_app
from cargowatch.audit.models import AuditEntry
from cargowatch.cases.models import Case, CaseEntry
from cargowatch.db.engine import unit_of_work
from cargowatch.exceptions import InvalidInput
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.referrals.sla import add_working, parse_hours, working_between
from tests.builders import ndjson, org_with_user, token_for, user_in
from tests.custody.test_custody import trip_events

BOX = "MSKU9070323"
MANIFEST = (
    "booking_ref,bl_number,container,iso_type,shipper_id,consignee_id,notify_id,forwarder_id,"
    "carrier_code,commodity_hs,commodity_desc,gross_kg,place_of_receipt,pol,pod,"
    "place_of_delivery,transshipment_ports,vessel_imo,voyage,declared_seals,booked_at\n"
    f"BKG1,BL1,{BOX},45R1,P1,P9,,,MSCU,080390,Bananas,21000,ECGYE,ECGYE,BEANR,BEANR,NLRTM,,,ML1,\n"
)


def test_acknowledgement_is_due_in_working_time() -> None:
    brussels = parse_hours("Europe/Brussels", "08:00", "18:00", [1, 2, 3, 4, 5], ["2026-12-25"])
    # Thursday 24 December 2026, 17:00 in Brussels (16:00 UTC): one hour left that day, then
    # Christmas and the weekend are not working days: two working hours end Monday 09:00
    start = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
    due = add_working(start, 120, brussels)
    assert due == datetime(2026, 12, 28, 8, 0, tzinfo=UTC)  # 09:00 in Brussels
    assert working_between(start, due, brussels).total_seconds() == 2 * 3600
    # a referral sent at night counts from the opening
    night = datetime(2026, 12, 29, 2, 0, tzinfo=UTC)
    assert add_working(night, 30, brussels) == datetime(2026, 12, 29, 7, 30, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="time zone"):
        parse_hours("Mars/Olympus", "08:00", "18:00", [1], [])
    with pytest.raises(InvalidInput, match="end after"):
        parse_hours("UTC", "18:00", "08:00", [1], [])


def _world(engine: Engine) -> dict[str, object]:
    carrier = org_with_user(engine, "carrier", kind="CARRIER")
    be = org_with_user(engine, "customs-be", kind="CUSTOMS", role="admin")
    nl = org_with_user(engine, "customs-nl", kind="CUSTOMS", role="admin")
    user_in(engine, "customs-be", "be-officer", "analyst")
    org_with_user(engine, "terminal", kind="TERMINAL")
    for body in (MANIFEST.encode(), ndjson(trip_events(box=BOX))):
        ingest_bytes(principal=carrier, stream=io.BytesIO(body), source="x", engine=engine)
    app = create_app(engine=engine)

    def client(user: str) -> TestClient:
        c = TestClient(app)
        c.headers["Authorization"] = f"Bearer {token_for(engine, user)}"
        return c

    out = {name: client(user) for name, user in (
        ("carrier", "carrier-user"), ("be", "customs-be-user"), ("nl", "customs-nl-user"),
        ("officer", "be-officer"), ("terminal", "terminal-user"))}  # fmt: skip
    port = {
        "name": "Antwerp port",
        "jurisdiction": ["BEANR"],
        "timezone": "Europe/Brussels",
        "urgent_minutes": 120,
        "routine_minutes": 480,
        "email": "spoc@customs.example",
    }
    assert out["be"].post("/api/v1/spocs", json=port).status_code == 201
    national = {"name": "Netherlands", "jurisdiction": ["NL"], "timezone": "Europe/Amsterdam"}
    assert out["nl"].post("/api/v1/spocs", json=national).status_code == 201
    return {**out, "be_id": be.org_id, "nl_id": nl.org_id}


REFERRAL = {
    "client_ref": "CAR-2026-0042",
    "category": "seal-anomaly",
    "urgency": "urgent",
    "containers": [BOX],
    "text": "Seal number differs from the booking at gate-in.",
    "observed_at": "2026-11-30T09:00:00Z",
    "contact": "security@carrier.example",
}


def test_a_referral_is_routed_where_the_container_goes_once(engine: Engine) -> None:
    w = _world(engine)
    carrier, be, nl = w["carrier"], w["be"], w["nl"]
    assert isinstance(carrier, TestClient) and isinstance(be, TestClient)
    assert isinstance(nl, TestClient)
    # industry sees who will receive it before sending
    names = {s["name"] for s in carrier.get("/api/v1/spocs?place=BEANR").json()}
    assert names == {"Antwerp port"}
    sent = carrier.post("/api/v1/referrals", json=REFERRAL)
    assert sent.status_code == 201, sent.text
    body = sent.json()
    routed = {c["customs_org_id"] for c in body["copies"]}
    assert routed == {w["be_id"], w["nl_id"]}  # discharge at Antwerp, transshipment in Rotterdam
    assert all("routed_by" not in c for c in body["copies"])  # Customs' reasons stay theirs
    again = carrier.post("/api/v1/referrals", json=REFERRAL)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    other = carrier.post("/api/v1/referrals", json={**REFERRAL, "text": "something else"})
    assert other.status_code == 422 and "client_ref" in other.text
    [mine] = be.get("/api/v1/referrals/inbox").json()
    assert mine["copies"][0]["routed_by"] == "port of discharge BEANR"
    assert len(mine["copies"]) == 1  # Belgium sees its copy, not the Dutch one
    [theirs] = nl.get("/api/v1/referrals/inbox").json()
    assert theirs["copies"][0]["routed_by"] == "transshipment at NLRTM (national: NL)"
    assert w["terminal"].get(f"/api/v1/referrals/{body['id']}").status_code == 404  # type: ignore[union-attr]
    assert w["terminal"].get("/api/v1/referrals/inbox").status_code == 403  # type: ignore[union-attr]
    assert (
        carrier.post("/api/v1/spocs", json={"name": "x", "jurisdiction": ["BE"]}).status_code == 403
    )


def test_the_workflow_keeps_its_history_and_its_rules(engine: Engine) -> None:
    w = _world(engine)
    carrier, officer = w["carrier"], w["officer"]
    assert isinstance(carrier, TestClient) and isinstance(officer, TestClient)
    rid = carrier.post("/api/v1/referrals", json=REFERRAL).json()["id"]

    def move(client: TestClient, **body: object) -> int:
        return client.post(f"/api/v1/referrals/{rid}/state", json=body).status_code

    assert move(officer, state="closed", outcome="x") == 422  # not acknowledged yet
    assert move(officer, state="acknowledged", note="Received, looking at it.") == 200
    assert move(officer, state="withdrawn") == 422  # only the referrer withdraws
    assert move(officer, state="under-assessment") == 200
    assert move(officer, state="closed") == 422  # closing says how it ended
    assert move(officer, state="actioned", note="Targeted for a scan at discharge.") == 200
    assert move(officer, state="closed", outcome="inspected: no finding") == 200
    seen = carrier.get(f"/api/v1/referrals/{rid}").json()
    states = {c["customs_org_id"]: c["state"] for c in seen["copies"]}
    assert states == {w["be_id"]: "closed", w["nl_id"]: "submitted"}
    assert "outcome" not in seen["copies"][0]  # the referrer sees states, not Customs' words
    assert move(carrier, state="withdrawn") == 200  # what is still open is withdrawn
    states = {
        c["customs_org_id"]: c["state"]
        for c in carrier.get(f"/api/v1/referrals/{rid}").json()["copies"]
    }
    assert states == {w["be_id"]: "closed", w["nl_id"]: "withdrawn"}
    with unit_of_work(engine) as s:
        case = s.scalar(select(Case).where(Case.subject_type == "referral"))
        assert case is not None and case.status == "closed"
        lines = [e.text for e in s.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id))]
        assert any("submitted → acknowledged: Received" in t for t in lines)
        moves = s.scalars(select(AuditEntry.action).where(AuditEntry.action == "referral.move"))
        assert len(list(moves)) == 5


def test_bad_referrals_are_refused_with_the_field_named(engine: Engine) -> None:
    w = _world(engine)
    carrier = w["carrier"]
    assert isinstance(carrier, TestClient)
    for change, field in (
        ({"containers": ["NOTABOX"]}, "containers"),
        ({"category": "gossip"}, "category"),
        ({"place": "antwerp"}, "place"),
        ({"containers": [], "client_ref": "EMPTY"}, "container"),
    ):
        got = carrier.post("/api/v1/referrals", json={**REFERRAL, **change})
        assert got.status_code == 422 and field in got.text, (change, got.text)


def test_an_open_referral_puts_its_trip_in_the_queue_with_it_as_a_reason(engine: Engine) -> None:
    from cargowatch.risk import engine as risk_engine
    from cargowatch.risk.service import queue

    customs = org_with_user(engine, "customs-be", kind="CUSTOMS", role="admin")
    org_with_user(engine, "carrier", kind="CARRIER")
    boxes = [f"MSKU{9070300 + i}" for i in range(6)]
    events = [ev for i, box in enumerate(boxes)
              for ev in trip_events(box=box, booking=f"B{i}", seal=f"S{i}")]  # fmt: skip
    ingest_bytes(principal=customs, stream=io.BytesIO(ndjson(events)), source="x", engine=engine)
    app = create_app(engine=engine)
    be, car = TestClient(app), TestClient(app)
    be.headers["Authorization"] = f"Bearer {token_for(engine, 'customs-be-user')}"
    car.headers["Authorization"] = f"Bearer {token_for(engine, 'carrier-user')}"
    be.post("/api/v1/spocs", json={"name": "Antwerp", "jurisdiction": ["BE"]})
    about = {"containers": [boxes[3]], "place": "BEANR", "observed_at": "2025-03-10T09:00:00Z"}
    sent = car.post("/api/v1/referrals", json={**REFERRAL, **about})
    assert sent.status_code == 201 and len(sent.json()["copies"]) == 1
    with unit_of_work(engine) as s:
        risk_engine.score(s, org_id=customs.org_id, cause="test")
        rows, _ = queue(s, principal=customs, limit=10, explore=0, include_inspected=True)
    referred = [t for t in rows if t.container == boxes[3]]
    assert referred and referred[0] is rows[0]
    [reason] = [r for r in referred[0].reasons if r["rule"] == "industry-referral"]
    assert "seal anomaly" in reason["reason"] and reason["evidence"] == {
        "referrals": [sent.json()["id"]]
    }
    assert car.get(f"/api/v1/trips/{referred[0].trip_id}/risk").status_code == 404  # not theirs


def _png(color: str = "red") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(out, format="PNG")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


SCRIPT = b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"


def test_attachments_are_typed_by_content_and_seen_only_by_who_may(engine: Engine) -> None:
    import hashlib

    w = _world(engine)
    org_with_user(engine, "customs-fr", kind="CUSTOMS", role="admin")
    carrier, be, nl, terminal = w["carrier"], w["be"], w["nl"], w["terminal"]
    assert isinstance(carrier, TestClient) and isinstance(be, TestClient)
    assert isinstance(nl, TestClient) and isinstance(terminal, TestClient)
    fr = TestClient(be.app)
    fr.headers["Authorization"] = f"Bearer {token_for(engine, 'customs-fr-user')}"
    rid = carrier.post("/api/v1/referrals", json=REFERRAL).json()["id"]
    url = f"/api/v1/referrals/{rid}/attachments"
    photo = _png()

    def send(client: TestClient, name: str, data: bytes, claimed: str = "image/png") -> object:
        return client.post(url, files={"file": (name, data, claimed)})

    got = send(carrier, "../../seal photo<1>.exe", photo, "application/x-msdownload")
    assert got.status_code == 201, got.text  # type: ignore[attr-defined]
    stored = got.json()  # type: ignore[attr-defined]
    assert stored["name"] == "seal photo_1.png" and stored["media_type"] == "image/png"
    assert stored["sha256"] == hashlib.sha256(photo).hexdigest() and stored["size"] == len(photo)
    again = send(carrier, "same.png", photo)
    assert again.status_code == 200 and again.json()["id"] == stored["id"]  # type: ignore[attr-defined]
    assert (
        send(carrier, "doc.pdf", PDF, "application/pdf").json()["media_type"] == "application/pdf"
    )  # type: ignore[attr-defined]
    for name, data, why in (
        ("photo.png", b"<script>alert(1)</script>", "not a JPEG, PNG, WebP or PDF"),
        ("macro.pdf", PDF.replace(b"/Type /Catalog", SCRIPT), "active content"),
        ("cut.pdf", PDF[:60], "does not end"),
        ("empty.png", b"", "empty"),
        ("big.png", b"\0" * (10 * 1024 * 1024 + 1), "at most"),
    ):  # fmt: skip
        bad = send(carrier, name, data)
        assert bad.status_code in (413, 422) and name in bad.text and why in bad.text, bad.text  # type: ignore[attr-defined]
    assert send(be, "customs.png", _png("blue")).status_code == 403  # only the referrer attaches
    # the referrer and both Customs organisations it reached read them; nobody else
    for client in (carrier, be, nl):
        [png, _pdf] = client.get(url).json()
        got = client.get(f"{url}/{png['id']}")
        assert got.status_code == 200 and got.content == photo
        assert got.headers["content-type"] == "image/png"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]
    for client in (terminal, fr):
        assert client.get(url).status_code == 404
        assert client.get(f"{url}/{stored['id']}").status_code == 404
    other = carrier.post("/api/v1/referrals", json={**REFERRAL, "client_ref": "CAR-2"}).json()
    assert (
        carrier.get(f"/api/v1/referrals/{other['id']}/attachments/{stored['id']}").status_code
        == 404
    )
    view = be.get(f"/api/v1/referrals/{rid}").json()
    assert [a["name"] for a in view["attachments"]] == ["seal photo_1.png", "doc.pdf"]
    with unit_of_work(engine) as s:
        actions = list(
            s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "referral"))
        )
    assert actions.count("referral.attach") == 2 and actions.count("referral.attachment-read") == 3


def test_customs_asks_and_the_referrer_answers_in_its_own_thread(engine: Engine) -> None:
    from cargowatch.referrals.models import Delivery

    w = _world(engine)
    carrier, be, nl, officer = w["carrier"], w["be"], w["nl"], w["officer"]
    assert isinstance(carrier, TestClient) and isinstance(be, TestClient)
    assert isinstance(nl, TestClient) and isinstance(officer, TestClient)
    rid = carrier.post("/api/v1/referrals", json=REFERRAL).json()["id"]
    url = f"/api/v1/referrals/{rid}/messages"
    asked = officer.post(url, json={"text": "Which gate, and at what time exactly?"})
    assert asked.status_code == 201 and asked.json()["kind"] == "question"
    # the referrer is told in-app (with the question) and by mail (without it)
    [note] = carrier.get("/api/v1/notifications?unread=true").json()
    assert "Which gate" in note["body"] and note["referral_id"] == rid
    with unit_of_work(engine) as s:
        to = REFERRAL["contact"]
        mails = s.scalars(
            select(Delivery).where(Delivery.channel == "email", Delivery.target == to)
        ).all()
        assert len(mails) == 1 and "Which gate" not in mails[0].body
    # the referral reached two Customs organisations: the answer names the thread
    assert carrier.post(url, json={"text": "Gate 4"}).status_code == 422
    answer = carrier.post(url, json={"text": "Gate 4, 09:12.", "customs_org_id": w["be_id"]})
    assert answer.status_code == 201 and answer.json()["kind"] == "answer"
    mine = carrier.get(f"/api/v1/referrals/{rid}").json()
    threads = {c["customs_org_id"]: [m["text"] for m in c["messages"]] for c in mine["copies"]}
    assert threads == {
        w["be_id"]: ["Which gate, and at what time exactly?", "Gate 4, 09:12."],
        w["nl_id"]: [],
    }
    # the Dutch copy never shows the Belgian conversation
    assert nl.get(f"/api/v1/referrals/{rid}").json()["copies"][0]["messages"] == []
    [be_view] = be.get("/api/v1/referrals/inbox").json()
    assert len(be_view["copies"]) == 1
    # the officer who asked is told of the answer
    got = officer.get("/api/v1/notifications").json()
    assert [n["body"].split("\n")[0] for n in got] == ["Gate 4, 09:12."]
    assert w["terminal"].post(url, json={"text": "hello"}).status_code == 404  # type: ignore[union-attr]
    assert carrier.post("/api/v1/notifications/read", json={}).json() == {"marked": 1}
    assert carrier.get("/api/v1/notifications?unread=true").json() == []
    assert officer.get("/api/v1/notifications?unread=true").json() != []  # each their own


def test_figures_per_point_of_contact_referrer_and_customs(engine: Engine) -> None:
    w = _world(engine)
    carrier, be, officer = w["carrier"], w["be"], w["officer"]
    assert isinstance(carrier, TestClient) and isinstance(be, TestClient)
    assert isinstance(officer, TestClient)
    rid = carrier.post("/api/v1/referrals", json=REFERRAL).json()["id"]
    officer.post(f"/api/v1/referrals/{rid}/state", json={"state": "acknowledged"})
    [spoc] = be.get("/api/v1/referrals/metrics").json()
    assert spoc["group"] == "Antwerp port" and spoc["referrals"] == 1
    assert spoc["ack_median_min"] is not None and spoc["acknowledged_in_time"] == 1.0
    [referrer] = be.get("/api/v1/referrals/metrics?by=referrer").json()
    assert referrer["group"] == "Carrier"
    reached = carrier.get("/api/v1/referrals/metrics").json()
    assert sorted(r["group"] for r in reached) == ["Customs-Be", "Customs-Nl"]
    assert carrier.get("/api/v1/referrals/metrics?by=referrer").status_code == 422
    csv = be.get("/api/v1/referrals/metrics?format=csv&by=referrer")
    assert csv.status_code == 200 and '"Carrier",1,' in csv.text


def test_a_file_of_referrals_is_sent_in_batches_with_bad_lines_named(
    engine: Engine, tmp_path: object
) -> None:
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from cargowatch.cli import app
    from cargowatch.referrals.models import Referral, ReferralCopy

    _world(engine)
    good = [{**REFERRAL, "client_ref": f"F-{i}", "urgency": "routine"} for i in range(3)]
    lines = [json.dumps(b) for b in good]
    lines.insert(1, json.dumps({**REFERRAL, "client_ref": "F-bad", "containers": ["NOTABOX"]}))
    lines.insert(2, "not json")
    lines.append(json.dumps(good[0]))  # the same again in the same file
    lines.append(json.dumps({**good[1], "text": "changed"}))  # a reference reused
    path = Path(str(tmp_path)) / "referrals.ndjson"
    path.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["--as", "carrier-user", "referrals", "send", str(path)])
    assert result.exit_code == 1, result.output
    assert "3 referrals sent, 1 sent before, 3 refused" in result.output
    assert f"{path}:2: containers" in result.output and f"{path}:3:" in result.output
    assert f"{path}:7: client_ref" in result.output
    again = runner.invoke(app, ["--as", "carrier-user", "referrals", "send", str(path)])
    assert "0 referrals sent, 4 sent before, 3 refused" in again.output
    with unit_of_work(engine) as s:
        refs = sorted(s.scalars(select(Referral.client_ref)))
        assert refs == ["F-0", "F-1", "F-2"]
        assert len(list(s.scalars(select(ReferralCopy.id)))) == 6  # Antwerp and Rotterdam each
        audited = s.scalars(select(AuditEntry.action).where(AuditEntry.action == "referral.submit"))
        assert len(list(audited)) == 3
        from cargowatch.audit.service import verify

        assert verify(s).ok  # the batch's entries are chained in order


def test_referral_files_questions_and_figures_from_the_command_line(
    engine: Engine, tmp_path: object
) -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from cargowatch.cli import app

    w = _world(engine)
    carrier = w["carrier"]
    assert isinstance(carrier, TestClient)
    rid = carrier.post("/api/v1/referrals", json=REFERRAL).json()["id"]
    photo = Path(str(tmp_path)) / "gate.png"
    photo.write_bytes(_png())
    fake = Path(str(tmp_path)) / "fake.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a pdf")
    runner = CliRunner(env={"COLUMNS": "250"})

    def run(user: str, *args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["--as", user, *args])
        return result.exit_code, result.output

    code, out = run("carrier-user", "referrals", "attach", str(rid), str(photo))
    assert code == 0 and "attached: gate.png image/png" in out
    code, out = run("carrier-user", "referrals", "attach", str(rid), str(photo), str(fake))
    assert code != 0  # one bad file refuses them all
    code, out = run("be-officer", "referrals", "ask", str(rid), "Which gate?")
    assert code == 0 and "question" in out
    be_id = str(w["be_id"])
    code, out = run("carrier-user", "referrals", "ask", str(rid), "Gate 4.", "--customs-org", be_id)
    assert code == 0 and "answer" in out
    code, out = run("customs-be-user", "referrals", "metrics", "--csv")
    assert code == 0 and '"Antwerp port",1,' in out
    code, out = run("carrier-user", "referrals", "metrics", "--by", "referrer")
    assert code != 0
