"""Every read goes through the caller: organisations see their own and what was shared."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cargowatch.app import create_app
from cargowatch.auth.service import revoke_token
from cargowatch.db.engine import unit_of_work
from cargowatch.events.service import get_event, list_events
from cargowatch.exceptions import NotFound, PermissionDenied
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.sharing.service import grant
from tests.builders import event22, ndjson, org_with_user, token_for, user_in

BOX_A, BOX_B = "CSQU3054383", "APZU4812090"


@pytest.fixture
def two_orgs(engine: Engine) -> tuple[object, object]:
    carrier = org_with_user(engine, "carrier", kind="CARRIER")
    customs = org_with_user(engine, "customs", kind="CUSTOMS")
    evs = [event22(eventID="a1", equipmentReference=BOX_A),
           event22(eventID="b1", equipmentReference=BOX_B)]  # fmt: skip
    ingest_bytes(principal=carrier, stream=io.BytesIO(ndjson(evs)), source="x", engine=engine)
    return carrier, customs


def test_other_org_sees_nothing_unshared_through_the_service(
    engine: Engine, two_orgs: tuple
) -> None:
    carrier, customs = two_orgs
    with unit_of_work(engine) as s:
        assert len(list_events(s, principal=carrier, container=BOX_A)) == 1
        assert list_events(s, principal=customs, container=BOX_A) == []
        event_id = list_events(s, principal=carrier, container=BOX_A)[0].event.id
        with pytest.raises(NotFound):
            get_event(s, principal=customs, event_id=event_id)


def test_container_share_opens_that_container_only(engine: Engine, two_orgs: tuple) -> None:
    carrier, customs = two_orgs
    with unit_of_work(engine) as s:
        grant(s, principal=carrier, grantee_slug="customs", scope="container", value=BOX_A)
    with unit_of_work(engine) as s:
        assert [v.event.container for v in list_events(s, principal=customs, container=BOX_A)] == [
            BOX_A
        ]
        assert list_events(s, principal=customs, container=BOX_B) == []


def test_all_events_share(engine: Engine, two_orgs: tuple) -> None:
    carrier, customs = two_orgs
    with unit_of_work(engine) as s:
        grant(s, principal=carrier, grantee_slug="customs", scope="all-events")
        grant(s, principal=carrier, grantee_slug="customs", scope="all-events")  # idempotent
    with unit_of_work(engine) as s:
        assert len(list_events(s, principal=customs, container=BOX_B)) == 1


def test_viewer_cannot_ingest_and_ingester_cannot_read(engine: Engine, two_orgs: tuple) -> None:
    viewer = user_in(engine, "carrier", "carrier-viewer", "viewer")
    ingester = user_in(engine, "carrier", "carrier-feed", "ingester")
    with pytest.raises(PermissionDenied):
        ingest_bytes(principal=viewer, stream=io.BytesIO(b"[]"), source="x", engine=engine)
    with unit_of_work(engine) as s, pytest.raises(PermissionDenied):
        list_events(s, principal=ingester, container=BOX_A)


def test_api_refuses_calls_without_a_valid_token(engine: Engine, two_orgs: tuple) -> None:
    client = TestClient(create_app(engine=engine))
    r = client.get(f"/api/v1/containers/{BOX_A}/events")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.get(f"/api/v1/containers/{BOX_A}/events", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert client.post("/api/v1/events", content=b"[]").status_code == 401


def test_api_shows_each_org_only_its_own(engine: Engine, two_orgs: tuple) -> None:
    client = TestClient(create_app(engine=engine))
    carrier_h = {"Authorization": f"Bearer {token_for(engine, 'carrier-user')}"}
    customs_h = {"Authorization": f"Bearer {token_for(engine, 'customs-user')}"}
    mine = client.get(f"/api/v1/containers/{BOX_A}/events", headers=carrier_h)
    assert mine.status_code == 200 and len(mine.json()) == 1
    event_id = mine.json()[0]["id"]
    theirs = client.get(f"/api/v1/containers/{BOX_A}/events", headers=customs_h)
    assert theirs.status_code == 200 and theirs.json() == []
    assert client.get(f"/api/v1/events/{event_id}", headers=customs_h).status_code == 404
    shared = client.post(
        "/api/v1/shares",
        headers=carrier_h,
        json={"grantee": "customs", "scope": "container", "value": BOX_A},
    )
    assert shared.status_code == 201
    assert len(client.get(f"/api/v1/containers/{BOX_A}/events", headers=customs_h).json()) == 1
    assert client.get(f"/api/v1/events/{event_id}", headers=customs_h).status_code == 200


def test_revoked_token_is_refused(engine: Engine, two_orgs: tuple) -> None:
    client = TestClient(create_app(engine=engine))
    token = token_for(engine, "carrier-user")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with unit_of_work(engine) as s:
        revoke_token(s, actor="test", prefix=token[:10])
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_quarantine_is_per_organisation(engine: Engine, two_orgs: tuple) -> None:
    carrier, _customs = two_orgs
    ingest_bytes(principal=carrier, stream=io.BytesIO(b'{"eventType": 1}\n{"x": 2}\n'),
                 source="bad", engine=engine)  # fmt: skip
    client = TestClient(create_app(engine=engine))
    carrier_h = {"Authorization": f"Bearer {token_for(engine, 'carrier-user')}"}
    customs_h = {"Authorization": f"Bearer {token_for(engine, 'customs-user')}"}
    page = client.get("/api/v1/quarantine", headers=carrier_h).json()
    assert page["total"] >= 1
    rec_id = page["items"][0]["id"]
    assert client.get("/api/v1/quarantine", headers=customs_h).json()["total"] == 0
    assert client.get(f"/api/v1/quarantine/{rec_id}", headers=customs_h).status_code == 404


def test_a_withdrawn_share_closes_the_container_again(engine: Engine, two_orgs: tuple) -> None:
    client = TestClient(create_app(engine=engine))
    carrier_h = {"Authorization": f"Bearer {token_for(engine, 'carrier-user')}"}
    customs_h = {"Authorization": f"Bearer {token_for(engine, 'customs-user')}"}
    share = client.post(
        "/api/v1/shares",
        headers=carrier_h,
        json={"grantee": "customs", "scope": "container", "value": BOX_A},
    ).json()
    assert len(client.get(f"/api/v1/containers/{BOX_A}/events", headers=customs_h).json()) == 1
    assert client.delete(f"/api/v1/shares/{share['id']}", headers=customs_h).status_code == 404
    assert client.delete(f"/api/v1/shares/{share['id']}", headers=carrier_h).status_code == 204
    assert client.get(f"/api/v1/containers/{BOX_A}/events", headers=customs_h).json() == []
