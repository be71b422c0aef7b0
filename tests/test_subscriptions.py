"""DCSA Track & Trace 2.2 event subscriptions: a partner subscribes a callback with a secret
and filters; the events it may read that match are POSTed there, signed as DCSA specifies,
by the job queue, retried after a failure, each delivered once when the receiver took it;
another organisation never reads or changes the subscription; the notification bodies and
the subscription resources validate against DCSA's own OpenAPI document."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from cargowatch.app import create_app
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.jobs.models import Job
from cargowatch.jobs.runner import run_pending
from cargowatch.sharing.service import Terms, create_agreement
from cargowatch.trackandtrace.models import EventSubscription
from cargowatch.trackandtrace.subscriptions import queue_due
from tests.builders import event22, ndjson, org_with_user, token_for
from tests.test_trackandtrace import SPEC22, _validator, drive

SECRET = base64.b64encode(b"a shared secret of 32 bytes!!!!!").decode()
BOX_A, BOX_B = "CSQU3054383", "APZU4812090"
CALLBACK = SPEC22["paths"]["/v2/event-subscriptions"]["post"]["callbacks"]["event"]
NOTIFICATION = _validator(SPEC22, next(iter(CALLBACK.values()))["post"]["requestBody"]
                          ["content"]["application/json"]["schema"])  # fmt: skip
SUBSCRIPTION = _validator(SPEC22, {"$ref": "#/components/schemas/subscription"})


class Receiver:
    """A partner's callback endpoint: records what it is sent; fails the first `fail` posts."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(503)
                else:
                    receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dcsa/callback?ref=42"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [e for _, body in self.posts for e in json.loads(body)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def partners(engine: Engine) -> dict[str, Any]:
    carrier = org_with_user(engine, "carrier", kind="CARRIER")
    org_with_user(engine, "customs", kind="CUSTOMS")
    org_with_user(engine, "stranger", kind="TERMINAL")
    client = TestClient(create_app(engine=engine))

    def auth(org: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(engine, f'{org}-user')}"}

    return {"carrier": carrier, "client": client, "customs": auth("customs"),
            "stranger": auth("stranger")}  # fmt: skip


def _deliver(engine: Engine) -> None:
    queue_due(engine)
    run_pending(engine)


def test_matching_readable_events_arrive_signed_once(
    engine: Engine, partners: dict[str, Any], receiver: Receiver
) -> None:
    client, customs = partners["client"], partners["customs"]
    body = {"callbackUrl": receiver.url, "secret": SECRET, "equipmentReference": BOX_A,
            "eventType": ["EQUIPMENT"], "equipmentEventTypeCode": ["GTIN", "LOAD"]}  # fmt: skip
    made = client.post("/v2/event-subscriptions", json=body, headers=customs)
    assert made.status_code == 201, made.text
    sub = made.json()
    assert "secret" not in sub and SUBSCRIPTION.is_valid(sub)
    assert made.headers["API-Version"] == "2.2.0"
    carrier = partners["carrier"]
    first = [event22(eventID="a1", equipmentReference=BOX_A),
             event22(eventID="a2", equipmentReference=BOX_A, equipmentEventTypeCode="GTOT"),
             event22(eventID="b1", equipmentReference=BOX_B)]  # fmt: skip
    ingest_bytes(principal=carrier, stream=io.BytesIO(ndjson(first)), source="x", engine=engine)
    _deliver(engine)
    assert receiver.posts == []  # nothing of the carrier's is customs' to read yet
    with unit_of_work(engine) as s:
        create_agreement(s, principal=carrier, grantee_slug="customs",
                         terms=Terms(classes=["events"], purpose="release", legal_basis="MoU",
                                     scopes=[]))  # fmt: skip
    later = [
        event22(eventID="a3", equipmentReference=BOX_A, equipmentEventTypeCode="LOAD"),
        event22(eventID="a4", equipmentReference=BOX_A, equipmentEventTypeCode="DISC"),
        event22(eventID="b2", equipmentReference=BOX_B, equipmentEventTypeCode="LOAD"),
    ]
    ingest_bytes(principal=carrier, stream=io.BytesIO(ndjson(later)), source="y", engine=engine)
    _deliver(engine)
    _deliver(engine)  # a second pass sends nothing again
    assert len(receiver.posts) == 1
    headers, raw = receiver.posts[0]
    expected = hmac.new(base64.b64decode(SECRET), raw, hashlib.sha256).hexdigest()
    assert headers["notification-signature"] == f"sha256={expected}"
    assert headers["subscription-id"] == sub["subscriptionID"]
    assert headers["api-version"] == "2.2.0"
    events = json.loads(raw)
    assert NOTIFICATION.is_valid(events)
    # only the new LOAD of BOX_A matches: a4 is a discharge, b2 another box, a1/a2 came before
    assert [(e["equipmentReference"], e["equipmentEventTypeCode"]) for e in events] == [
        (BOX_A, "LOAD")]  # fmt: skip


def test_a_failed_delivery_is_retried_and_nothing_is_lost(
    engine: Engine, partners: dict[str, Any], receiver: Receiver
) -> None:
    client, customs, carrier = partners["client"], partners["customs"], partners["carrier"]
    with unit_of_work(engine) as s:
        create_agreement(s, principal=carrier, grantee_slug="customs",
                         terms=Terms(classes=["events"], purpose="release", legal_basis="MoU",
                                     scopes=[]))  # fmt: skip
    client.post("/v2/event-subscriptions", json={"callbackUrl": receiver.url, "secret": SECRET},
                headers=customs)  # fmt: skip
    evs = [event22(eventID=f"e{i}", equipmentReference=BOX_A) for i in range(3)]
    ingest_bytes(principal=carrier, stream=io.BytesIO(ndjson(evs)), source="x", engine=engine)
    receiver.fail = 1
    _deliver(engine)
    with unit_of_work(engine) as s:
        row = s.scalar(select(EventSubscription))
        assert row is not None and row.failures == 1 and "503" in (row.last_error or "")
        assert row.delivered == 0
        # time passes: the job's backoff and the subscription's next attempt are due
        s.execute(update(Job).values(run_after=row.created_at))
        row.next_attempt_at = row.created_at
    _deliver(engine)
    got = receiver.events()  # our event ids: one per stored event
    assert len(got) == 3 and len({e["eventID"] for e in got}) == 3
    with unit_of_work(engine) as s:
        row = s.scalar(select(EventSubscription))
        assert row is not None and row.failures == 0 and row.delivered == 3
        assert row.last_error is None


def test_subscriptions_belong_to_their_organisation(
    engine: Engine, partners: dict[str, Any], receiver: Receiver
) -> None:
    client, customs, stranger = partners["client"], partners["customs"], partners["stranger"]
    sub = client.post("/v2/event-subscriptions", headers=customs,
                      json={"callbackUrl": receiver.url, "secret": SECRET}).json()  # fmt: skip
    url = f"/v2/event-subscriptions/{sub['subscriptionID']}"
    assert client.get(url, headers=stranger).status_code == 404
    assert client.put(url, headers=stranger, json={"callbackUrl": receiver.url}).status_code == 404
    assert client.delete(url, headers=stranger).status_code == 404
    assert client.put(f"{url}/secret", headers=stranger,
                      json={"secret": SECRET}).status_code == 404  # fmt: skip
    assert client.get("/v2/event-subscriptions", headers=stranger).json() == []
    changed = client.put(
        url, headers=customs, json={"callbackUrl": receiver.url, "UNLocationCode": "BEANR"}
    )
    assert changed.status_code == 200 and changed.json()["UNLocationCode"] == "BEANR"
    assert client.put(f"{url}/secret", headers=customs, json={"secret": SECRET}).status_code == 204
    assert [
        s["subscriptionID"] for s in client.get("/v2/event-subscriptions", headers=customs).json()
    ] == [sub["subscriptionID"]]
    assert client.delete(url, headers=customs).status_code == 204
    assert client.get(url, headers=customs).status_code == 404


@pytest.mark.parametrize("body, named", [
    ({"callbackUrl": "ftp://x", "secret": SECRET}, "callbackUrl"),
    ({"callbackUrl": "https://partner.example/cb"}, "secret"),
    ({"callbackUrl": "https://partner.example/cb", "secret": "not base64!"}, "secret"),
    ({"callbackUrl": "https://partner.example/cb", "secret": "c2hvcnQ="}, "secret"),
    ({"callbackUrl": "https://partner.example/cb", "secret": SECRET, "eventType": ["PARCEL"]},
     "eventType"),
    ({"callbackUrl": "https://partner.example/cb", "secret": SECRET, "equipmentReference": 7},
     "equipmentReference"),
])  # fmt: skip
def test_a_bad_subscription_is_refused_naming_the_field(
    partners: dict[str, Any], body: dict[str, Any], named: str
) -> None:
    r = partners["client"].post("/v2/event-subscriptions", json=body, headers=partners["customs"])
    assert r.status_code == 400
    assert named in r.text and r.json()["statusCode"] == 400  # DCSA 2.2's error shape


def test_dcsa_document_drives_schemathesis_over_subscriptions(partners: dict[str, Any]) -> None:
    keep = ("/v2/event-subscriptions", "/v2/event-subscriptions/{subscriptionID}",
            "/v2/event-subscriptions/{subscriptionID}/secret")  # fmt: skip
    paths = {}
    for path in keep:
        ops = {}
        for method, op in SPEC22["paths"][path].items():
            op = {k: v for k, v in op.items() if k != "callbacks"}
            op["parameters"] = [p for p in op.get("parameters", [])
                                if p.get("name") not in ("cursor", "sort")]  # fmt: skip
            ops[method] = op
        paths[path] = ops
    # two values are typed loosely though the prose gives them a shape we hold them to: the
    # callback is where we POST (an http or https endpoint), and a secret that signs must be
    # long enough to be one (16 bytes or more); other values are refused with a 400 naming
    # the field (tested above)
    components = {**SPEC22["components"], "schemas": {
        **SPEC22["components"]["schemas"],
        "callbackUrl": {"type": "string",
                        "pattern": "^https?://[a-z][a-z0-9.-]{0,30}(:[1-9][0-9]{0,3})?/[a-z0-9/._-]{0,40}$"},
        "secret": {"type": "string", "pattern": "^([A-Za-z0-9+/]{4}){6,30}$"},
    }}  # fmt: skip
    spec = {**SPEC22, "paths": paths, "components": components, "servers": [{"url": "/"}]}
    failures, statuses = drive(spec, partners["client"].app, partners["customs"]["Authorization"])
    assert failures == []
    assert statuses.count(201) >= 1 and statuses.count(200) >= 1
