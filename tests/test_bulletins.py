"""Sharing groups and bulletins under TLP 2.0 and a distribution, over the API and the STIX
bundle: who may read each, who may not, and onward sharing refused where the marking forbids
it; STIX 2.1 export valid under the OASIS validator, and export -> import into a fresh store ->
export giving the same objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cargowatch.app import create_app
from cargowatch.audit.models import AuditEntry
from cargowatch.db.engine import ensure_schema, make_engine, unit_of_work
from tests.builders import org_with_user, token_for, user_in

INDICATORS = [
    {"kind": "container", "value": "msku 123456-5", "note": "cloned number"},
    {"kind": "seal-range", "value": "ML100200", "value_to": "ML100260"},
    {"kind": "seal", "value": "ML999001"},
    {"kind": "party", "value": "P00042"},
    {"kind": "truck", "value": "gya-1234"},
    {"kind": "place", "value": "ECGYE"},
    {"kind": "route", "value": "ECGYE-BEANR"},
]


def _clients(engine: Engine) -> dict[str, TestClient]:
    """carrier writes; customs and terminal share a group with it; port shares another group
    with customs only; outsider shares nothing; viewer is a viewer at the carrier."""
    for slug in ("carrier", "customs", "terminal", "port", "outsider"):
        org_with_user(engine, slug)
    user_in(engine, "carrier", "carrier-viewer", "viewer")
    app = create_app(engine=engine)
    out = {}
    for name, user in (("carrier", "carrier-user"), ("customs", "customs-user"),
                       ("terminal", "terminal-user"), ("port", "port-user"),
                       ("outsider", "outsider-user"), ("viewer", "carrier-viewer")):  # fmt: skip
        c = TestClient(app)
        c.headers["Authorization"] = f"Bearer {token_for(engine, user)}"
        out[name] = c
    carrier, customs = out["carrier"], out["customs"]
    assert carrier.post("/api/v1/groups", json={"slug": "gye-port", "name": "Guayaquil"}
                        ).status_code == 201  # fmt: skip
    for org in ("customs", "terminal"):
        assert carrier.post("/api/v1/groups/gye-port/members", json={"org": org}).status_code == 201
    assert customs.post("/api/v1/groups", json={"slug": "antwerp", "name": "Antwerp"}
                        ).status_code == 201  # fmt: skip
    assert customs.post("/api/v1/groups/antwerp/members", json={"org": "port"}).status_code == 201
    # only the steward admits; a member that is not the steward is refused
    assert customs.post("/api/v1/groups/gye-port/members", json={"org": "port"}).status_code == 403
    assert out["outsider"].post("/api/v1/groups/gye-port/members",
                                json={"org": "outsider"}).status_code == 404  # fmt: skip
    return out


def _write(c: TestClient, tlp: str, distribution: str, **more: Any) -> int:
    body = {"title": f"{tlp} to {distribution}", "body": "Rip-on in reefer units.",
            "kind": "concealment", "tlp": tlp, "distribution": distribution,
            "indicators": INDICATORS, **more}  # fmt: skip
    if distribution == "group":
        body.setdefault("group", "gye-port")
    r = c.post("/api/v1/bulletins", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


# who reads a bulletin of carrier, by distribution (RED: only the named, whatever else)
READERS = {
    "organisation": {"carrier"},
    "group": {"carrier", "customs", "terminal"},
    "community": {"carrier", "customs", "terminal"},
    "all": {"carrier", "customs", "terminal", "port", "outsider"},
}


@pytest.mark.parametrize("tlp", ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"])
def test_each_marking_and_distribution_reaches_its_readers_only(engine: Engine, tlp: str) -> None:
    c = _clients(engine)
    made = {}
    for distribution in READERS:
        extra = {"recipients": ["customs"]} if tlp == "RED" else {}
        made[distribution] = _write(c["carrier"], tlp, distribution, **extra)
    for distribution, bid in made.items():
        expected = {"carrier", "customs"} if tlp == "RED" else READERS[distribution]
        if tlp == "RED" and distribution == "organisation":
            expected = {"carrier", "customs"}  # named recipients always read it
        for org in ("carrier", "customs", "terminal", "port", "outsider"):
            got = c[org].get(f"/api/v1/bulletins/{bid}")
            listed = {b["id"] for b in c[org].get("/api/v1/bulletins").json()}
            assert (got.status_code == 200) is (org in expected), (tlp, distribution, org)
            assert (bid in listed) is (org in expected)
    # the viewer reads, but may not write or forward
    assert c["viewer"].get(f"/api/v1/bulletins/{made['group']}").status_code == 200
    assert c["viewer"].post("/api/v1/bulletins", json={"title": "x"}).status_code == 403
    # onward sharing by a recipient of the group's bulletin, to port (outside carrier's group)
    fwd = c["customs"].post(f"/api/v1/bulletins/{made['all']}/forward", json={"to": ["port"]})
    if tlp in ("AMBER", "AMBER+STRICT", "RED"):
        assert fwd.status_code == 403 and tlp in fwd.json()["detail"]
    else:
        assert fwd.status_code == 200, fwd.text
    # port shares the antwerp group with customs: GREEN may go there, not to the outsider
    gid = made["group"]
    to_port = c["customs"].post(f"/api/v1/bulletins/{gid}/forward", json={"to": ["port"]})
    to_out = c["customs"].post(f"/api/v1/bulletins/{gid}/forward", json={"to": ["outsider"]})
    if tlp == "CLEAR":
        assert to_port.status_code == to_out.status_code == 200
        assert c["outsider"].get(f"/api/v1/bulletins/{gid}").status_code == 200
    elif tlp == "GREEN":
        assert to_port.status_code == 200 and to_out.status_code == 403
        assert c["port"].get(f"/api/v1/bulletins/{gid}").status_code == 200
        assert c["outsider"].get(f"/api/v1/bulletins/{gid}").status_code == 404
    elif tlp != "RED":
        assert to_port.status_code == to_out.status_code == 403
        assert c["port"].get(f"/api/v1/bulletins/{gid}").status_code == 404
    # the STIX bundle a recipient exports carries only what it may pass on
    for org in ("customs", "outsider"):
        bundle = c[org].get("/api/v1/stix/bundle").json()
        reports = {o["id"] for o in bundle["objects"] if o["type"] == "report"}
        readable = {b["stix_id"] for b in c[org].get("/api/v1/bulletins").json()}
        if tlp in ("CLEAR", "GREEN"):
            assert reports == readable
        else:
            assert reports == set()
    with unit_of_work(engine) as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"group.create", "group.admit", "bulletin.create", "stix.export"} <= actions


def test_red_needs_named_recipients_and_bad_indicators_are_named(engine: Engine) -> None:
    c = _clients(engine)
    r = c["carrier"].post("/api/v1/bulletins", json={"title": "x", "tlp": "RED",
                                                     "distribution": "all"})  # fmt: skip
    assert r.status_code == 422 and "named" in r.json()["detail"]
    for bad in (
        {"kind": "seal-range", "value": "ML10", "value_to": "XX5"},
        {"kind": "route", "value": "ECGYE"},
        {"kind": "place", "value": "somewhere"},
    ):
        r = c["carrier"].post("/api/v1/bulletins", json={"title": "x", "distribution": "all",
                                                         "indicators": [bad]})  # fmt: skip
        assert r.status_code == 422 and bad["kind"] in r.json()["detail"], r.text
    r = c["carrier"].post("/api/v1/bulletins", json={"title": "x", "group": "antwerp"})
    assert r.status_code == 404  # not a member of that group


def _validate(bundle: dict[str, Any]) -> None:
    from stix2validator import ValidationOptions, validate_instance

    results = validate_instance(bundle, ValidationOptions(version="2.1"))
    errors = [str(e) for e in results.errors]
    assert results.is_valid and errors == [], errors


def test_stix_export_is_valid_and_survives_a_round_trip(engine: Engine, tmp_path: Path) -> None:
    c = _clients(engine)
    for tlp in ("CLEAR", "GREEN", "AMBER"):
        _write(c["carrier"], tlp, "group")
    bundle = c["carrier"].get("/api/v1/stix/bundle").json()
    _validate(bundle)
    kinds = [o["type"] for o in bundle["objects"]]
    assert kinds.count("report") == 3 and kinds.count("indicator") == 3 * len(INDICATORS)
    assert kinds.count("marking-definition") == 5 and "extension-definition" in kinds
    amber = next(o for o in bundle["objects"] if o["type"] == "report" and "AMBER" in o["name"])
    assert amber["object_marking_refs"] == [
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    ]
    patterns = {o["pattern"] for o in bundle["objects"] if o["type"] == "indicator"}
    assert "[cargowatch-container:number = 'MSKU1234565']" in patterns
    assert ("[cargowatch-seal:prefix = 'ML' AND cargowatch-seal:serial >= 100200 AND "
            "cargowatch-seal:serial <= 100260]") in patterns  # fmt: skip
    # into a fresh store, twice (idempotent on the ids), then out again
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    ensure_schema(fresh)
    org_with_user(fresh, "elsewhere")
    other = TestClient(create_app(engine=fresh))
    other.headers["Authorization"] = f"Bearer {token_for(fresh, 'elsewhere-user')}"
    first = other.post("/api/v1/stix/bundle", content=json.dumps(bundle)).json()
    assert (first["bulletins"], first["known"], first["refused"]) == (3, 0, [])
    again = other.post("/api/v1/stix/bundle", content=json.dumps(bundle)).json()
    assert (again["bulletins"], again["known"]) == (0, 3)
    got = {b["title"]: b for b in other.get("/api/v1/bulletins").json()}
    assert got["AMBER to group"]["tlp"] == "AMBER" and not got["AMBER to group"]["may_forward"]
    assert got["GREEN to group"]["indicators"][0]["value"] == "MSKU1234565"
    out = other.get("/api/v1/stix/bundle").json()
    _validate(out)

    def objects(b: dict[str, Any]) -> dict[str, Any]:
        return {o["id"]: o for o in b["objects"]}

    # the AMBER report stays with its recipient; everything else comes out the same
    kept = {k: v for k, v in objects(bundle).items() if k not in
            {amber["id"], *amber["object_refs"]}}  # fmt: skip
    assert objects(out) == kept
    fresh.dispose()


def test_a_bundle_we_cannot_read_is_refused_by_name(engine: Engine) -> None:
    c = _clients(engine)
    for body, words in ((b"not json", "not JSON"), (b'{"type": "x"}', "not a STIX bundle")):
        r = c["customs"].post("/api/v1/stix/bundle", content=body)
        assert r.status_code == 422 and words in r.json()["detail"]
    bundle = {"type": "bundle", "id": "bundle--6b8ee1c2-8d3e-4d3f-a0a8-8b4a2c1d9e01", "objects": [
        {"type": "report", "spec_version": "2.1",
         "id": "report--0b8d1c6e-1f45-4b4e-9a0e-7c3f2a1b9d01",
         "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
         "name": "unmarked", "published": "2025-01-01T00:00:00.000Z",
         "object_refs": ["indicator--9b2f3a1c-5d6e-4f70-8a9b-0c1d2e3f4a50"]},
        {"type": "report", "spec_version": "2.1",
         "id": "report--1c9e2d7f-2a56-4c5f-8b1f-8d4a3b2c0e12",
         "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
         "name": "marked", "published": "2025-01-01T00:00:00.000Z",
         "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
         "object_refs": ["indicator--9b2f3a1c-5d6e-4f70-8a9b-0c1d2e3f4a50"]},
        {"type": "indicator", "spec_version": "2.1",
         "id": "indicator--9b2f3a1c-5d6e-4f70-8a9b-0c1d2e3f4a50",
         "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
         "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix",
         "valid_from": "2025-01-01T00:00:00.000Z"},
    ]}  # fmt: skip
    got = c["customs"].post("/api/v1/stix/bundle", content=json.dumps(bundle)).json()
    assert got["bulletins"] == 1  # the marked one, without the indicator we do not model
    assert any("no TLP 2.0 marking" in x for x in got["refused"])
    assert any("ipv4-addr" in x and "indicator--9b2f" in x for x in got["refused"])
    [b] = c["customs"].get("/api/v1/bulletins").json()
    assert (b["title"], b["tlp"], b["indicators"]) == ("marked", "GREEN", [])


def test_the_group_bulletin_and_stix_commands(engine: Engine, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cargowatch.cli import app

    for slug in ("carrier", "customs", "outsider"):
        org_with_user(engine, slug)
    runner = CliRunner(env={"COLUMNS": "250"})

    def run(who: str, *args: str, ok: bool = True) -> str:
        result = runner.invoke(app, ["--as", f"{who}-user", *args])
        assert (result.exit_code == 0) is ok, result.output
        return result.output if ok else str(result.exception)

    run("carrier", "groups", "create", "gye-port", "Guayaquil port community")
    run("carrier", "groups", "admit", "gye-port", "customs")
    assert "carrier, customs" in run("customs", "groups", "list")
    body = tmp_path / "b.json"
    written = {"title": "Cloned series", "tlp": "GREEN", "group": "gye-port",
               "kind": "cloned-containers", "indicators": INDICATORS}  # fmt: skip
    body.write_text(json.dumps(written))
    assert "TLP:GREEN" in run("carrier", "bulletins", "send", str(body))
    assert "Cloned series" in run("customs", "bulletins", "list")
    assert "Cloned series" not in run("outsider", "bulletins", "list")
    with unit_of_work(engine) as s:
        from cargowatch.bulletins.models import Bulletin

        bid = s.scalars(select(Bulletin.id)).one()
    assert "outside your community" in run("customs", "bulletins", "forward", str(bid),
                                           "outsider", ok=False)  # fmt: skip
    out = tmp_path / "bundle.json"
    run("carrier", "stix", "export", "--out", str(out))
    _validate(json.loads(out.read_text()))
    assert "1 bulletins taken in" in run("outsider", "stix", "import", str(out))
    assert "0 bulletins taken in, 1 known" in run("outsider", "stix", "import", str(out))
    assert "MSKU1234565" in run("outsider", "bulletins", "show", str(bid + 1))
    body.write_text('{"title": "x", "colour": "red"}')
    assert "colour" in run("carrier", "bulletins", "send", str(body), ok=False)


def test_a_watched_bulletin_puts_its_trips_in_the_queue(engine: Engine) -> None:
    """customs watches a carrier's bulletin: the trips it names get a watchlist-hit finding
    with the bulletin as evidence (a container, a seal in a range, a route); unwatched, or no
    longer readable, the finding is gone."""
    import io

    from cargowatch.ingest.flows import ingest_bytes
    from cargowatch.jobs.runner import run_pending
    from cargowatch.risk.service import queue
    from tests.builders import ndjson
    from tests.custody.test_custody import STEPS, trip_events

    c = _clients(engine)
    customs_p = None
    from cargowatch.auth.service import principal_for_username

    with unit_of_work(engine) as s:
        customs_p = principal_for_username(s, "customs-user")
    boxes = [f"MSKU{9070300 + i}" for i in range(5)]
    # trips under way now (a bulletin speaks of trips under way, not of last year's)
    from datetime import UTC, datetime

    shift = datetime.now(UTC) - datetime(2025, 3, 10, tzinfo=UTC)
    steps = [(code, (datetime.fromisoformat(at.replace("Z", "+00:00")) + shift)
              .strftime("%Y-%m-%dT%H:%M:%SZ"), place, facility, empty)
             for code, at, place, facility, empty in STEPS]  # fmt: skip
    events = [ev for i, box in enumerate(boxes)
              for ev in trip_events(box=box, booking=f"B{i}", seal=f"ZX{5000 + i}",
                                    steps=steps)]  # fmt: skip
    ingest_bytes(principal=customs_p, stream=io.BytesIO(ndjson(events)), source="x",
                 engine=engine)  # fmt: skip
    body = {"title": "Cloned series and a compromised seal batch", "tlp": "AMBER",
            "distribution": "group", "group": "gye-port", "kind": "cloned-containers",
            "indicators": [
                {"kind": "container", "value": boxes[1]},
                {"kind": "seal-range", "value": "ZX5003", "value_to": "ZX5010"}]}  # fmt: skip
    bid = c["carrier"].post("/api/v1/bulletins", json=body).json()["id"]
    assert c["outsider"].post(f"/api/v1/bulletins/{bid}/watch").status_code == 404
    assert c["customs"].post(f"/api/v1/bulletins/{bid}/watch").status_code == 201
    assert c["customs"].post(f"/api/v1/bulletins/{bid}/watch").status_code == 200
    [watched] = c["customs"].get("/api/v1/watchlist").json()
    assert watched["id"] == bid and len(watched["indicators"]) == 2
    run_pending(engine)  # the rescoring the watch queued

    def hits() -> dict[str, dict[str, Any]]:
        with unit_of_work(engine) as s:
            rows, _ = queue(s, principal=customs_p, limit=50, explore=0, include_inspected=True)
        return {t.container: r for t in rows for r in t.reasons if r["rule"] == "watchlist-hit"}

    got = hits()
    assert set(got) == {boxes[1], boxes[3], boxes[4]}  # the container; seals 5003 and 5004
    assert got[boxes[1]]["evidence"] == {"bulletins": [bid]}
    assert "container" in got[boxes[1]]["reason"] and "seal ZX5003" in got[boxes[3]]["reason"]
    # removed from the group, customs may no longer read it: no more findings
    assert c["carrier"].delete("/api/v1/groups/gye-port/members/customs").status_code == 204
    with unit_of_work(engine) as s:
        from cargowatch.risk import engine as risk_engine

        risk_engine.score(s, org_id=customs_p.org_id, cause="test")
    assert hits() == {} and c["customs"].get("/api/v1/watchlist").json() == []
    assert c["carrier"].post("/api/v1/groups/gye-port/members", json={"org": "customs"}
                             ).status_code == 201  # fmt: skip
    assert c["customs"].delete(f"/api/v1/bulletins/{bid}/watch").status_code == 204
    run_pending(engine)
    assert hits() == {}
    with unit_of_work(engine) as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"bulletin.watch", "bulletin.unwatch", "group.remove"} <= actions


def test_misp_round_trip_loses_no_field_both_sides_model(engine: Engine, tmp_path: Path) -> None:
    """A bulletin as a MISP event (PyMISP) and back into a fresh store: title, body, kind,
    marking, distribution (where the marking lets a recipient keep it), author, creation (to
    the second: MISP keeps seconds; an event's own timestamp is set by the MISP server), ids,
    and every indicator with its kind, value, range end and note."""
    c = _clients(engine)
    for tlp, distribution in (("GREEN", "community"), ("CLEAR", "all"), ("AMBER", "group")):
        _write(c["carrier"], tlp, distribution)
    events = c["carrier"].get("/api/v1/misp/events").json()
    assert len(events) == 3
    green = next(e["Event"] for e in events if e["Event"]["info"] == "GREEN to community")
    assert {t["name"] for t in green["Tag"]} >= {"tlp:green", 'cargowatch:kind="concealment"'}
    assert green["distribution"] == "1" or green["distribution"] == 1
    amber = next(e["Event"] for e in events if e["Event"]["info"] == "AMBER to group")
    assert int(amber["distribution"]) == 4 and amber["SharingGroup"]["name"] == "gye-port"
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    ensure_schema(fresh)
    org_with_user(fresh, "elsewhere")
    other = TestClient(create_app(engine=fresh))
    other.headers["Authorization"] = f"Bearer {token_for(fresh, 'elsewhere-user')}"
    got = other.post("/api/v1/misp/events", content=json.dumps(events)).json()
    assert got == {"events": 3, "refused": []}
    assert other.post("/api/v1/misp/events", content=json.dumps(events)).json()["events"] == 3
    mine = {b["title"]: b for b in c["carrier"].get("/api/v1/bulletins").json()}
    theirs = {b["title"]: b for b in other.get("/api/v1/bulletins").json()}
    assert len(theirs) == 3  # taken in once: idempotent on the UUIDs

    def same(b: dict[str, Any]) -> dict[str, Any]:
        return {"title": b["title"], "body": b["body"], "kind": b["kind"], "tlp": b["tlp"],
                "stix_id": b["stix_id"], "author": b["author"],
                "created": b["created_at"][:19],
                "indicators": [(i["stix_id"], i["kind"], i["value"], i["value_to"], i["note"])
                               for i in b["indicators"]]}  # fmt: skip

    for title in mine:
        assert same(theirs[title]) == same(mine[title]), title
    assert theirs["GREEN to community"]["distribution"] == "community"
    assert theirs["CLEAR to all"]["distribution"] == "all"
    assert theirs["AMBER to group"]["distribution"] == "organisation"  # AMBER stays here
    # an event without a TLP tag is refused by number, the others kept
    untagged = {
        "Event": {
            **green,
            "uuid": "0d7f1e2a-3b4c-4d5e-8f60-718293a4b5c6",
            "Tag": [t for t in green["Tag"] if not t["name"].startswith("tlp:")],
        }
    }
    got = other.post("/api/v1/misp/events", content=json.dumps([untagged])).json()
    assert got["events"] == 0 and "no tlp: tag" in got["refused"][0]
    fresh.dispose()


def test_seizures_travel_as_stix_incidents_with_their_marking(
    engine: Engine, tmp_path: Path
) -> None:
    """A carrier's seizures as STIX incidents (valid under the validator), taken into a fresh
    store idempotently, and out again the same where the marking lets them go on."""
    from datetime import UTC, datetime

    from cargowatch.auth.service import principal_for_username
    from cargowatch.incidents import service as incidents
    from cargowatch.incidents.workspace import sections

    c = _clients(engine)
    with unit_of_work(engine) as s:
        carrier = principal_for_username(s, "carrier-user")
        for ref, tlp, body in (("SZ-1", "GREEN", "120 kg in the reefer unit's evaporator."),
                               ("SZ-2", "AMBER", "")):  # fmt: skip
            row, _ = incidents.record(
                s, principal=carrier, container="MSKU1234565", reference=ref,
                found_at=datetime(2025, 3, 16, 9, 30, tzinfo=UTC), locode="BEANR",
                substance="cocaine", quantity_kg=120.5, concealment="REEFER_UNIT",
                mo="rip_on_rip_off", insider="suspected", insider_role="reefer technician",
                notes="Found at the scanner." if ref == "SZ-2" else "",
            )  # fmt: skip
            summary = next(x for x in sections(s, row) if x.kind == "summary")
            summary.tlp, summary.body = tlp, body
    bundle = c["carrier"].get("/api/v1/stix/bundle").json()
    _validate(bundle)
    seized = {o["name"]: o for o in bundle["objects"] if o["type"] == "incident"}
    assert set(seized) == {"Seizure SZ-1 in MSKU1234565", "Seizure SZ-2 in MSKU1234565"}
    green = seized["Seizure SZ-1 in MSKU1234565"]
    assert green["object_marking_refs"] == [
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    ]
    [facts] = green["extensions"].values()
    assert facts["concealment"] == "REEFER_UNIT" and facts["quantity_kg"] == 120.5
    assert facts["found_at"] == "2025-03-16T09:30:00.000Z" and facts["insider"] == "suspected"
    assert green["description"] == "120 kg in the reefer unit's evaporator."
    assert seized["Seizure SZ-2 in MSKU1234565"]["description"] == "Found at the scanner."
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    ensure_schema(fresh)
    org_with_user(fresh, "elsewhere")
    other = TestClient(create_app(engine=fresh))
    other.headers["Authorization"] = f"Bearer {token_for(fresh, 'elsewhere-user')}"
    first = other.post("/api/v1/stix/bundle", content=json.dumps(bundle)).json()
    assert (first["incidents"], first["refused"]) == (2, [])
    again = other.post("/api/v1/stix/bundle", content=json.dumps(bundle)).json()
    assert again["incidents"] == 0 and again["known"] == 2
    listed = other.get("/api/v1/incidents").json()
    assert sorted(i["reference"] for i in listed) == ["SZ-1", "SZ-2"]
    out = other.get("/api/v1/stix/bundle").json()
    _validate(out)
    back = [o for o in out["objects"] if o["type"] == "incident"]
    assert back == [green]  # the AMBER seizure stays with its recipient; GREEN goes on as it came
    author = next(o for o in out["objects"] if o["id"] == green["created_by_ref"])
    assert author["name"] == "Carrier"
    broken = {**green, "id": "incident--5b0c7f0e-8d8a-4c38-9d2e-0a0d8e6f2b11", "extensions": {}}
    got = other.post("/api/v1/stix/bundle", content=json.dumps(
        {"type": "bundle", "id": bundle["id"], "objects": [broken]})).json()  # fmt: skip
    assert got["incidents"] == 0 and "incident--5b0c7f0e" in got["refused"][0]
    fresh.dispose()
