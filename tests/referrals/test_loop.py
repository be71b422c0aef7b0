"""The referral loop end to end: a carrier refers a container bound for Antwerp; the Customs
point of contact is mailed (a real SMTP server) and called (a signed webhook); nobody
acknowledges in time, so the backup is mailed; the referral is acknowledged; the trip is in the
queue with the referral as a reason; an inspection finds a seizure; the feedback "outcome:
seizure" is released after its hold date and the carrier reads it, and nothing else of the
trip."""

from __future__ import annotations

import io
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cargowatch.app import create_app
from cargowatch.auth.service import principal_for_username
from cargowatch.config import get_settings
from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.jobs.runner import run_pending
from cargowatch.referrals import flows
from cargowatch.referrals.models import Delivery
from cargowatch.referrals.notify import signature, webhook_key
from cargowatch.risk.service import queue
from tests.builders import ndjson, org_with_user, token_for, user_in
from tests.custody.test_custody import trip_events

BOX = "MSKU9070323"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Any:
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self) -> None:
            self.mails: list[tuple[list[str], str]] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.mails.append((list(envelope.rcpt_tos), envelope.content.decode()))
            return "250 OK"

    keep = Keep()
    port = _free_port()
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CARGOWATCH_SMTP_URL", f"smtp://127.0.0.1:{port}")
    get_settings.cache_clear()
    yield keep
    controller.stop()
    get_settings.cache_clear()


@pytest.fixture
def receiver() -> Any:
    got: list[tuple[dict[str, str], bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", _free_port()), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got
    server.shutdown()
    server.server_close()


def test_the_referral_loop_closes_with_feedback(
    engine: Engine, mailbox: Any, receiver: Any
) -> None:
    hook_url, calls = receiver
    customs = org_with_user(engine, "customs-be", kind="CUSTOMS", role="admin")
    user_in(engine, "customs-be", "officer", "analyst")
    org_with_user(engine, "carrier", kind="CARRIER")
    events = [ev for i, box in enumerate([BOX, "MSKU9070300", "MSKU9070301"])
              for ev in trip_events(box=box, booking=f"B{i}", seal=f"S{i}")]  # fmt: skip
    ingest_bytes(principal=customs, stream=io.BytesIO(ndjson(events)), source="x", engine=engine)
    app = create_app(engine=engine)
    admin, officer, car = TestClient(app), TestClient(app), TestClient(app)
    admin.headers["Authorization"] = f"Bearer {token_for(engine, 'customs-be-user')}"
    officer.headers["Authorization"] = f"Bearer {token_for(engine, 'officer')}"
    car.headers["Authorization"] = f"Bearer {token_for(engine, 'carrier-user')}"
    spoc = admin.post("/api/v1/spocs", json={
        "name": "Antwerp port", "jurisdiction": ["BEANR", "BE"], "timezone": "UTC",
        "opens": "00:00", "closes": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "urgent_minutes": 60, "email": "spoc@customs.example",
        "backup_email": "backup@customs.example", "webhook_url": hook_url})  # fmt: skip
    assert spoc.status_code == 201, spoc.text
    spoc_id = spoc.json()["id"]

    sent = car.post("/api/v1/referrals", json={
        "client_ref": "CAR-1", "category": "seal-anomaly", "urgency": "urgent",
        "place": "BEANR", "containers": [BOX], "observed_at": "2025-03-10T12:00:00Z",
        "text": "The seal at gate-out is not the one on the booking."})  # fmt: skip
    assert sent.status_code == 201, sent.text
    rid = sent.json()["id"]
    run_pending(engine)  # mail, webhook, rescoring
    [(to, mail)] = mailbox.mails
    assert to == ["spoc@customs.example"] and f"referral {rid}" in mail
    [(headers, body)] = calls
    stamp = headers["X-Cargowatch-Timestamp"]
    assert headers["X-Cargowatch-Signature"] == "sha256=" + signature(
        webhook_key(spoc_id), stamp, body
    )
    assert json.loads(body)["referral"] == rid and json.loads(body)["event"] == "referral.submitted"

    # nobody acknowledged within the hour: the backup hears of it
    later = datetime.now(UTC) + timedelta(hours=2)
    assert flows.escalate_due(engine, now=later) == 1
    run_pending(engine)
    assert mailbox.mails[-1][0] == ["backup@customs.example"]
    assert "NOT ACKNOWLEDGED" in mailbox.mails[-1][1]
    with unit_of_work(engine) as s:  # acknowledged a few minutes after the escalation
        who = principal_for_username(s, "officer")
    flows.move(principal=who, referral_id=rid, engine=engine, state="acknowledged",
               note="Seen, sorry for the delay.", now=later + timedelta(minutes=5))  # fmt: skip
    assert flows.escalate_due(engine, now=later + timedelta(days=1)) == 0  # acknowledged now

    # the trip is in the queue with the referral as a reason
    with unit_of_work(engine) as s:
        rows, _ = queue(s, principal=customs, limit=10, explore=0)
        tid = s.scalar(select(Trip.id).where(Trip.container == BOX))
    top = rows[0]
    assert top.container == BOX
    assert any(r["rule"] == "industry-referral" for r in top.reasons)

    # an inspection finds a seizure; feedback is held, then released
    got = officer.post(
        f"/api/v1/trips/{tid}/outcomes", json={"result": "SEIZURE", "method": "SCAN"}
    )
    assert got.status_code == 201, got.text
    hold = datetime.now(UTC) + timedelta(days=3)
    feedback = officer.post(f"/api/v1/referrals/{rid}/feedback", json={
        "level": "outcome", "outcome": "seizure", "hold_until": hold.isoformat(),
        "text": "Found 210 kg in the Antwerp yard.", "redact": ["210 kg"]})  # fmt: skip
    assert feedback.status_code == 201, feedback.text
    assert flows.release_due(engine, now=datetime.now(UTC)) == 0
    assert car.get(f"/api/v1/referrals/{rid}").json()["copies"][0]["feedback"] == []
    assert flows.release_due(engine, now=hold + timedelta(minutes=1)) == 1
    [said] = car.get(f"/api/v1/referrals/{rid}").json()["copies"][0]["feedback"]
    assert said["level"] == "outcome" and said["outcome"] == "seizure"
    assert "210 kg" not in said["text"] and "[withheld]" in said["text"]
    # and the carrier sees nothing else of the trip
    assert car.get(f"/api/v1/trips/{tid}/risk").status_code == 404
    assert car.get(f"/api/v1/trips/{tid}").status_code == 404
    with unit_of_work(engine) as s:
        statuses = {d.status for d in s.scalars(select(Delivery))}
    assert statuses == {"sent"}

    # what the loop measured, for each side
    seen_by_customs = TestClient(create_app(engine=engine))
    seen_by_customs.headers["Authorization"] = f"Bearer {token_for(engine, 'officer')}"
    [row] = seen_by_customs.get("/api/v1/referrals/metrics").json()
    assert row["group"] == "Antwerp port" and row["referrals"] == 1
    assert row["acknowledged_in_time"] == 0.0 and row["with_feedback"] == 1.0
    assert row["inspected"] == 1 and row["seized"] == 1 and row["ack_median_min"] > 60
    [theirs] = car.get("/api/v1/referrals/metrics").json()
    assert theirs["seized"] == 1  # as the released feedback told it
    csv = seen_by_customs.get("/api/v1/referrals/metrics?format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and "Antwerp port" in csv.text
