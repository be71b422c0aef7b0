"""The HTTP API: posting events, reading a container, OpenAPI."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cargowatch.app import create_app
from cargowatch.jobs.runner import run_pending
from tests.builders import event22, event30, ndjson, org_with_user, token_for, user_in
from tests.conftest import DATA


def _client(engine: Engine, username: str) -> tuple[TestClient, dict[str, str]]:
    return TestClient(create_app(engine=engine)), {
        "Authorization": f"Bearer {token_for(engine, username)}"
    }


def test_post_events_as_array_envelope_and_ndjson(engine: Engine) -> None:
    org_with_user(engine, "carrier")
    client, h = _client(engine, "carrier-user")
    r = client.post(
        "/api/v1/events", headers=h, content=(DATA / "tnt-220-response.json").read_bytes()
    )
    assert r.status_code == 202, r.text  # spooled and queued: the worker ingests it
    queued = r.json()["run"]
    assert queued["status"] == "queued" and r.headers["location"].endswith(f"/{queued['id']}")
    assert run_pending(engine) >= (1, 0)  # the upload, then its custody and rescoring
    done = client.get(r.headers["location"], headers=h).json()["run"]
    assert done["status"] == "done" and done["stored"] == 7
    r = client.post(
        "/api/v1/events", headers=h, content=(DATA / "tnt-300-response.json").read_bytes(),
        params={"wait": "true"},
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["run"]["stored"] == 5
    body = ndjson([event30(eventID="n1"), event22(eventID="n2", seals="nope")])
    r = client.post("/api/v1/events", headers=h, content=body,
                    params={"format": "dcsa-tnt", "wait": "1"})  # fmt: skip
    result = r.json()
    assert result["run"]["stored"] == 1 and result["run"]["quarantined"] == 1
    [bad] = result["quarantined"]
    assert bad["field"] == "seals" and bad["location"] == "line 2"
    again = client.post("/api/v1/events?wait=1", headers=h, content=body).json()
    assert again["run"]["stored"] == 0 and again["run"]["duplicates"] == 1


def test_container_events_and_event_detail(engine: Engine) -> None:
    org_with_user(engine, "carrier")
    client, h = _client(engine, "carrier-user")
    client.post("/api/v1/events?wait=1", headers=h,
                content=(DATA / "tnt-300-response.json").read_bytes())  # fmt: skip
    r = client.get("/api/v1/containers/APZU4812090/events", headers=h)
    events = r.json()
    assert [e["event_type"] for e in events] == ["EQUIPMENT", "IOT", "REEFER"]
    detail = client.get(f"/api/v1/events/{events[0]['id']}", headers=h).json()
    assert json.loads(detail["raw"])["eventID"] == "evt-resp-equip-001"
    assert detail["source"].startswith("api:")


def test_viewer_gets_403_on_post(engine: Engine) -> None:
    org_with_user(engine, "carrier")
    user_in(engine, "carrier", "watcher", "viewer")
    client, h = _client(engine, "watcher")
    r = client.post("/api/v1/events", headers=h, content=b"[]")
    assert r.status_code == 403


def test_openapi_and_docs_are_served(engine: Engine) -> None:
    client = TestClient(create_app(engine=engine))
    spec = client.get("/openapi.json").json()
    assert "/api/v1/events" in spec["paths"]
    assert "/api/v1/containers/{container}/events" in spec["paths"]
    assert client.get("/docs").status_code == 200
    assert client.get("/health").json()["status"] == "ok"


def test_every_route_commits_before_it_answers(engine: Engine) -> None:
    """The unit of work ends before the response is sent, on every route: a browser that
    follows the sign-in redirect at once, or a client that reads back what it was told is
    stored, finds it committed. (FastAPI's default ends a yield dependency after sending.)"""
    from fastapi.dependencies.models import Dependant
    from fastapi.routing import APIRoute
    from starlette.routing import BaseRoute

    from cargowatch.api import get_session

    def sessions(d: Dependant) -> list[Dependant]:
        own = [d] if d.call is get_session else []
        return own + [x for sub in d.dependencies for x in sessions(sub)]

    def flat(routes: list[BaseRoute]) -> list[APIRoute]:
        out: list[APIRoute] = []
        for r in routes:
            included = getattr(r, "original_router", None)  # an included router, kept whole
            out += flat(included.routes) if included else [r] if isinstance(r, APIRoute) else []
        return out

    routes = flat(create_app(engine=engine).routes)
    found = [(r.path, s.scope) for r in routes for s in sessions(r.dependant)]
    assert len({path for path, _ in found}) > 50  # the API, the web pages and DCSA routes
    assert [f for f in found if f[1] != "function"] == []
