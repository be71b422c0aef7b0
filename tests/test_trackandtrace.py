"""The DCSA Track & Trace API out: a partner's system reads our events as DCSA T&T 2.2
(`/v2/events`) and 3.0 (`/v3/events`). Every response validates against DCSA's own OpenAPI
documents (tests/data, Apache-2.0, see MANIFEST.tsv), pages follow cursors to the end without
a gap or a repeat, filters narrow, errors come in each version's shape, an organisation reads
its own events and those shared with it and nothing else, and schemathesis driven by DCSA's
documents finds no server error and no response that breaks them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, func, select

from cargowatch.app import create_app
from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event, TransportCall
from cargowatch.ingest.flows import ingest_paths
from cargowatch.sharing.service import grant
from cargowatch.simulate.generator import SimConfig, simulate
from cargowatch.trackandtrace.serialize import served_in_22
from tests.builders import org_with_user, token_for

DATA = Path(__file__).parent / "data"


class _Loader(yaml.SafeLoader):
    """YAML as JSON sees it: date-times stay strings."""


_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _spec(name: str) -> dict[str, Any]:
    with (DATA / name).open() as f:
        loaded: dict[str, Any] = yaml.load(f, Loader=_Loader)
    return loaded


SPEC22, SPEC30 = _spec("TNT_v2.2.0-resolved.yaml"), _spec("TNT_v3.0.0.yaml")


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for(
        {**schema, "components": spec["components"]}, validate_formats=True
    )


V22_LIST = _validator(SPEC22, SPEC22["paths"]["/v2/events"]["get"]["responses"]["200"]
                      ["content"]["application/json"]["schema"])  # fmt: skip
V22_ONE = _validator(SPEC22, SPEC22["paths"]["/v2/events/{eventID}"]["get"]["responses"]["200"]
                     ["content"]["application/json"]["schema"])  # fmt: skip
V22_ERROR = _validator(SPEC22, {"$ref": "#/components/schemas/error"})
V30_LIST = _validator(SPEC30, {"$ref": "#/components/schemas/GetEventsResponse"})
V30_ERROR = _validator(SPEC30, {"$ref": "#/components/schemas/GetEventsError"})


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    carrier = org_with_user(engine, "carrier", kind="CARRIER")
    org_with_user(engine, "customs", kind="CUSTOMS")
    org_with_user(engine, "stranger", kind="TERMINAL")
    simulate(tmp_path / "w", SimConfig(trips=60, seed=5, days=20, origins=("ECGYE",),
                                       destinations=("BEANR",), smart_share=0.5))  # fmt: skip
    # and DCSA's own sample response: transport and shipment events beside equipment ones
    ingest_paths(principal=carrier, paths=[tmp_path / "w" / "data", DATA / "tnt-220-response.json"],
                 engine=engine)  # fmt: skip
    with unit_of_work(engine) as s:
        box = s.scalar(select(Event.container).where(Event.event_type == "EQUIPMENT").limit(1))
        assert box is not None
        grant(s, principal=carrier, grantee_slug="customs", scope="container", value=box)
        total = s.scalar(select(func.count()).select_from(Event)
                         .where(Event.event_time.is_not(None)))  # fmt: skip
        in_22 = s.scalar(select(func.count()).select_from(Event)
                         .outerjoin(TransportCall, TransportCall.id == Event.transport_call_id)
                         .where(served_in_22(), Event.retracted.is_(False)))  # fmt: skip
        kinds = set(s.scalars(select(Event.source_format).distinct()))
    assert {"dcsa-tnt-2.2", "dcsa-tnt-3.0"} <= kinds and any("edifact" in k for k in kinds)
    app = create_app(engine=engine)
    clients = {}
    for org in ("carrier", "customs", "stranger"):
        c = TestClient(app)
        c.headers["Authorization"] = f"Bearer {token_for(engine, f'{org}-user')}"
        clients[org] = c
    return {"clients": clients, "box": box, "total": total, "in_22": in_22, "app": app}


def _errors(validator: Any, body: Any) -> list[str]:
    return [f"{e.instance_path}: {e.message}"[:300] for e in validator.iter_errors(body)][:5]


def _walk_22(client: TestClient, url: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["API-Version"] == "2.2.0" and r.headers["Current-Page"]
        assert _errors(V22_LIST, r.json()) == []
        seen += r.json()
        url = r.headers.get("Next-Page", "")
    return seen


def _walk_30(client: TestClient, query: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    url = f"/v3/events?{query}"
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["API-Version"] == "3.0.0"
        assert _errors(V30_LIST, r.json()) == []
        seen += r.json()["events"]
        cursor = r.headers.get("Next-Page-Cursor")
        url = f"/v3/events?cursor={cursor}" if cursor else ""
    return seen


def test_pages_validate_and_walk_every_event_once(world: dict[str, Any]) -> None:
    carrier = world["clients"]["carrier"]
    v2 = _walk_22(carrier, "/v2/events?limit=97")
    assert len(v2) == world["in_22"] > 300
    assert len({e["eventID"] for e in v2}) == len(v2)
    assert {e["eventType"] for e in v2} == {"EQUIPMENT", "TRANSPORT", "SHIPMENT"}
    times = [e["eventDateTime"] for e in v2]
    assert times == sorted(times)  # oldest first, across pages
    v3 = _walk_30(carrier, "limit=250")
    assert len(v3) == world["total"] and len({e["eventID"] for e in v3}) == len(v3)
    assert {e["eventClassification"]["eventTypeCode"] for e in v3} >= {"EQUIPMENT", "IOT"}
    # one event by its id, in 2.2
    first = v2[0]
    r = carrier.get(f"/v2/events/{first['eventID']}")
    assert r.status_code == 200 and r.json() == first and _errors(V22_ONE, r.json()) == []


def test_filters_narrow_the_pages(world: dict[str, Any]) -> None:
    carrier, box = world["clients"]["carrier"], world["box"]
    mine = _walk_22(carrier, f"/v2/events?equipmentReference={box}&eventType=EQUIPMENT")
    assert mine and all(e["equipmentReference"] == box for e in mine)
    loads = _walk_22(carrier, "/v2/events?equipmentEventTypeCode=LOAD,DISC")
    assert loads and {e["equipmentEventTypeCode"] for e in loads} <= {"LOAD", "DISC"}
    cut = loads[len(loads) // 2]["eventDateTime"]
    later = _walk_22(carrier, f"/v2/events?equipmentEventTypeCode=LOAD,DISC"
                              f"&eventCreatedDateTime:gte={cut}")  # fmt: skip
    assert 0 < len(later) < len(loads) and all(e["eventDateTime"] >= cut for e in later)
    box3 = _walk_30(carrier, f"equipmentReference={box}&eventTypes=EQUIPMENT,IOT")
    assert box3 and all(e["equipmentDetails"]["equipmentReference"] == box for e in box3)
    # a NUL never matches (nothing stored holds one), on either store
    assert carrier.get("/v2/events?equipmentReference=%00").json() == []
    assert carrier.get("/v3/events?carrierBookingReference=a%00").json() == {"events": []}
    since = _walk_30(carrier, f"eventUpdatedDateTimeMin={cut}&limit=1000")
    assert since and all(e["eventDateTime"] >= cut for e in since)


def test_errors_come_in_each_versions_shape(world: dict[str, Any], engine: Engine) -> None:
    carrier = world["clients"]["carrier"]
    nobody = TestClient(world["app"])
    for url, status in (("/v2/events?limit=0", 400), ("/v2/events?limit=x", 400),
                        ("/v2/events?eventType=PARCEL", 400), ("/v2/events?sort=container", 400),
                        ("/v2/events?eventCreatedDateTime:gte=yesterday", 400),
                        ("/v2/events?cursor=not-ours", 400),
                        ("/v2/events/3cecb101-7a1a-43a4-9d62-e88a131651e2", 404)):  # fmt: skip
        r = carrier.get(url)
        assert r.status_code == status, (url, r.text)
        assert r.headers["API-Version"] == "2.2.0" and _errors(V22_ERROR, r.json()) == []
    r = nobody.get("/v2/events")
    assert r.status_code == 401 and _errors(V22_ERROR, r.json()) == []
    assert carrier.get("/v3/events?eventTypes=PARCEL").json() == {"events": []}
    big = carrier.get("/v3/events?limit=5000")  # served at the most we serve
    assert big.status_code == 200 and len(big.json()["events"]) <= 1000
    for url in (
        "/v3/events?limit=0",
        "/v3/events?cursor=x",
        "/v3/events?eventUpdatedDateTimeMin=2025-01-01T00:00:00",
    ):  # no offset
        r = carrier.get(url)
        assert r.status_code == 400 and _errors(V30_ERROR, r.json()) == [], url
    assert nobody.get("/v3/events").status_code == 401
    # a cursor of one version is not one of the other
    cursor = carrier.get("/v3/events?limit=1").headers["Next-Page-Cursor"]
    assert carrier.get(f"/v2/events?cursor={cursor}").status_code == 400


def test_an_organisation_reads_its_own_events_and_those_shared_with_it(
    world: dict[str, Any],
) -> None:
    customs, stranger = world["clients"]["customs"], world["clients"]["stranger"]
    shared = _walk_22(customs, "/v2/events?limit=1000")
    boxes = {e.get("equipmentReference") for e in shared} | {
        r["referenceValue"] for e in shared for r in e.get("references", [])}  # fmt: skip
    assert shared and boxes == {world["box"]}
    assert {e["equipmentDetails"]["equipmentReference"]
            for e in _walk_30(customs, "limit=1000")} == {world["box"]}  # fmt: skip
    assert _walk_22(stranger, "/v2/events") == [] and _walk_30(stranger, "") == []
    other = _walk_22(world["clients"]["carrier"], "/v2/events?eventType=TRANSPORT&limit=1")
    assert stranger.get(f"/v2/events/{other[0]['eventID']}").status_code == 404


def _only_gets(spec: dict[str, Any], keep: dict[str, str]) -> dict[str, Any]:
    """The spec's GET operations we serve, at the paths we serve them. Two parameters are
    typed as any string though their prose gives them a grammar, and one lacks the minimum its
    prose implies; generated values of them are refused with a 400 that DCSA's error schema
    describes (tested above): `cursor` (a value the server gave), `sort` (field:ASC|DESC of
    fields we sort by) and 3.0's `limit` (a page of at least one event)."""
    paths = {}
    for old, new in keep.items():
        get = dict(spec["paths"][old]["get"])
        params = [p for p in get.get("parameters", []) if p.get("name") not in ("cursor", "sort")]
        get["parameters"] = [
            {**p, "schema": {**p["schema"], "minimum": 1}} if p.get("name") == "limit" else p
            for p in params
        ]
        paths[new] = {"get": get}
    return {**spec, "paths": paths, "servers": [{"url": "/"}]}


def drive(spec: dict[str, Any], app: Any, token: str) -> tuple[list[str], list[int]]:
    """Every operation of spec called on app, 25 generated cases each, as the token's user:
    the failures (server errors, responses the document does not allow) and the statuses."""
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    failures: list[str] = []
    statuses: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def call(case: Any) -> None:
            response = case.call(headers={"Authorization": token})
            statuses.append(response.status_code)
            where = f"{case.method} {case.path} {case.query}"
            if response.status_code >= 500:
                failures.append(f"{where} -> {response.status_code}")
                return
            try:
                case.validate_response(response)
            except AssertionError as exc:  # schemathesis' failure groups are assertion errors
                failures.append(f"{where}: {str(exc)[:400]}")

        call()
    return failures, statuses


@pytest.mark.parametrize("version", ["2.2", "3.0"])
def test_dcsa_documents_drive_schemathesis_without_a_violation(
    world: dict[str, Any], version: str
) -> None:
    if version == "2.2":
        spec = _only_gets(SPEC22, {"/v2/events": "/v2/events",
                                   "/v2/events/{eventID}": "/v2/events/{eventID}"})  # fmt: skip
    else:
        spec = _only_gets(SPEC30, {"/events": "/v3/events"})
    token = world["clients"]["carrier"].headers["Authorization"]
    failures, statuses = drive(spec, world["app"], token)
    assert failures == []
    assert statuses.count(200) >= 5
