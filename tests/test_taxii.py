"""The TAXII 2.1 server, read by taxii2-client over HTTP: discovery, the API root, a
collection per sharing group and one of everything readable, pages by `limit` and `next`,
`added_after`, an object by id, the manifest; markings enforced per organisation."""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import Engine
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from cargowatch.bulletins.stix import TLP_IDS
from tests.builders import org_with_user, token_for
from tests.test_bulletins import INDICATORS


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def _world(engine: Engine, live: str) -> dict[str, Bearer]:
    from fastapi.testclient import TestClient

    from cargowatch.app import create_app

    for slug in ("carrier", "customs", "outsider"):
        org_with_user(engine, slug)
    auth = {slug: Bearer(token_for(engine, f"{slug}-user"))
            for slug in ("carrier", "customs", "outsider")}  # fmt: skip
    api = TestClient(create_app(engine=engine))
    api.headers["Authorization"] = f"Bearer {auth['carrier'].token}"
    api.post("/api/v1/groups", json={"slug": "gye-port", "name": "Guayaquil"})
    api.post("/api/v1/groups/gye-port/members", json={"org": "customs"})
    for n in range(12):  # 12 bulletins of 8 objects (report, 7 indicators) to the group
        tlp = ("GREEN", "AMBER", "RED")[n % 3]
        body = {"title": f"bulletin {n}", "tlp": tlp, "distribution": "group",
                "group": "gye-port", "recipients": ["customs"] if tlp == "RED" else [],
                "indicators": INDICATORS}  # fmt: skip
        r = api.post("/api/v1/bulletins", json=body)
        assert r.status_code == 201, r.text
    api.post("/api/v1/bulletins", json={"title": "to everyone", "tlp": "CLEAR",
                                        "distribution": "all"})  # fmt: skip
    return auth


def test_taxii2_client_lists_pages_and_reads_our_collections(engine: Engine, live: str) -> None:
    auth = _world(engine, live)
    server = Server(f"{live}/taxii2/", auth=auth["customs"])
    assert server.title == "cargowatch TAXII 2.1"
    [root] = server.api_roots
    assert isinstance(root, ApiRoot) and root.versions == ["application/taxii+json;version=2.1"]
    titles = {c.title: c for c in root.collections}
    assert set(titles) == {"Everything your organisation may read", "Group gye-port"}
    group = titles["Group gye-port"]
    assert group.can_read and not group.can_write
    # every object of the group's 12 bulletins, 25 a page, with the author's identity once
    pages = list(as_pages(group.get_objects, per_request=25))
    seen = [o for page in pages for o in page.get("objects", [])]
    assert len(pages) == 4 and [p["more"] for p in pages] == [True, True, True, False]
    assert len(seen) == 1 + 12 * 8 and len({o["id"] for o in seen}) == len(seen)
    reports = [o for o in seen if o["type"] == "report"]
    assert [r["name"] for r in reports] == [f"bulletin {n}" for n in range(12)]
    red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    assert sum(red in r["object_marking_refs"] for r in reports) == 4
    # added_after, filters, one object, the manifest
    first = group.get_objects(limit=8)
    last_added = requests.get(f"{group.url}objects/", params={"limit": 9}, auth=auth["customs"],
                              headers={"Accept": "application/taxii+json;version=2.1"}
                              ).headers["X-TAXII-Date-Added-Last"]  # fmt: skip
    later = group.get_objects(added_after=last_added)
    assert len(later.get("objects", [])) < len(seen) and first["more"]
    only = group.get_objects(type="report")
    assert [o["type"] for o in only["objects"]] == ["report"] * 12
    one = group.get_object(reports[3]["id"])
    assert one["objects"][0]["name"] == "bulletin 3"
    manifest = group.get_manifest(limit=1000)
    assert len(manifest["objects"]) == len(seen)
    assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest["objects"])
    # the everything collection adds what was sent to everyone
    everything = titles["Everything your organisation may read"]
    assert {"to everyone"} <= {o["name"] for o in everything.get_objects(type="report")["objects"]}


def test_taxii_enforces_who_reads_what(engine: Engine, live: str) -> None:
    auth = _world(engine, live)
    root = ApiRoot(f"{live}/taxii2/cargowatch/", auth=auth["outsider"])
    [everything] = root.collections  # no group: only the collection of everything readable
    names = {o["name"] for o in everything.get_objects(type="report")["objects"]}
    assert names == {"to everyone"}
    seen_by_customs = Server(f"{live}/taxii2/", auth=auth["customs"]).api_roots[0].collections
    group_id = next(c.id for c in seen_by_customs if c.title == "Group gye-port")
    accept = {"Accept": "application/taxii+json"}
    url = f"{live}/taxii2/cargowatch/collections/{group_id}/objects/"
    r = requests.get(url, auth=auth["outsider"], headers=accept)
    assert r.status_code == 404 and r.json()["http_status"] == "404"
    assert r.headers["content-type"].startswith("application/taxii+json")
    r = requests.get(f"{live}/taxii2/", headers={"Accept": "application/taxii+json"})
    assert r.status_code == 401 and r.json()["title"] == "Unauthorized"
    r = requests.get(f"{live}/taxii2/", auth=auth["customs"], headers={"Accept": "text/html"})
    assert r.status_code == 406
    c = Collection(f"{live}/taxii2/cargowatch/collections/{group_id}/", auth=auth["customs"])
    r = requests.get(f"{c.url}objects/", params={"next": "not-a-cursor"}, auth=auth["customs"],
                     headers={"Accept": "application/taxii+json"})  # fmt: skip
    assert r.status_code == 422 and "cursor" in r.json()["description"]


def _medallion(tmp_path: Any, collection: str) -> tuple[str, Any]:
    """A medallion TAXII 2.1 server (memory backend) on a free port, one writable collection."""
    import json
    import socket
    import threading

    from medallion import application_instance, register_blueprints, set_config
    from werkzeug.serving import make_server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {"title": "partner", "default": f"{base}/partner/",
                       "api_roots": [f"{base}/partner/"]},
        "partner": {
            "information": {"title": "partner", "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 10_000_000},
            "status": [],
            "collections": [{"id": collection, "title": "port police", "can_read": True,
                             "can_write": True, "media_types": [
                                 "application/stix+json;version=2.1"],
                             "objects": [], "manifest": []}],
        },
    }  # fmt: skip
    (tmp_path / "medallion.json").write_text(json.dumps(data))
    config = {"backend": {"module": "medallion.backends.memory_backend",
                          "module_class": "MemoryBackend",
                          "filename": str(tmp_path / "medallion.json")},
              "users": {"partner": "a-partner-password"},
              "taxii": {"max_page_size": 5}}  # fmt: skip
    for name in ("users", "taxii", "backend"):
        set_config(application_instance, name, config)
    if "collections" not in application_instance.blueprints:
        register_blueprints(application_instance)
    server = make_server("127.0.0.1", port, application_instance, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"{base}/partner/", server


def test_a_medallion_collection_is_pulled_into_ours_with_markings_kept(
    engine: Engine, live: str, tmp_path: Any, monkeypatch: Any
) -> None:
    from typer.testing import CliRunner

    from cargowatch.cli import app
    from tests.test_bulletins import _write

    auth = _world(engine, live)
    # what a partner holds: our carrier's GREEN and AMBER bulletins, exported as STIX
    from fastapi.testclient import TestClient

    from cargowatch.app import create_app

    api = TestClient(create_app(engine=engine))
    api.headers["Authorization"] = f"Bearer {auth['carrier'].token}"
    _write(api, "AMBER+STRICT", "organisation")
    bundle = api.get("/api/v1/stix/bundle").json()  # GREEN, AMBER, RED ... of the carrier
    collection = "365fed99-08fa-fdcd-a1b3-fb247eb41d01"
    root, server = _medallion(tmp_path, collection)
    try:
        partner = Collection(f"{root}collections/{collection}/", user="partner",
                             password="a-partner-password")  # fmt: skip
        # medallion 3.0 reads a `version` property as the object's version date, which the
        # extension definition's `version` ("1.0.0") is not: the partner holds the rest
        held = {**bundle, "objects": [o for o in bundle["objects"]
                                      if o["type"] != "extension-definition"]}  # fmt: skip
        status = partner.add_objects(held)
        assert status.status == "complete" and status.failure_count == 0
        monkeypatch.setenv("CARGOWATCH_TAXII_PASSWORD", "a-partner-password")
        runner = CliRunner(env={"COLUMNS": "250"})
        args = ["--as", "outsider-user", "taxii", "pull", root, collection, "--user", "partner"]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        reports = [o for o in bundle["objects"] if o["type"] == "report"]
        assert f"{len(reports)} bulletins taken in" in first.output
        again = runner.invoke(app, args)
        assert again.exit_code == 0 and "0 objects read" in again.output  # added_after
        api.headers["Authorization"] = f"Bearer {auth['outsider'].token}"
        got = {
            b["stix_id"]: b
            for b in api.get("/api/v1/bulletins?limit=500").json()
            if b["source"] == "stix"
        }  # its own copies (it reads the CLEAR one anyway)
        for r in reports:  # every marking kept, the strictest included
            tlp = next(k for k, v in TLP_IDS.items() if v == r["object_marking_refs"][0])
            assert got[r["id"]]["tlp"] == tlp and got[r["id"]]["source"] == "stix"
        assert {b["tlp"] for b in got.values()} >= {"GREEN", "AMBER", "RED", "AMBER+STRICT"}
        wrong = runner.invoke(app, ["--as", "outsider-user", "taxii", "pull", root, collection])
        assert wrong.exit_code != 0 and "401" in str(wrong.exception)
    finally:
        server.shutdown()


def test_a_scheduled_pull_runs_on_the_job_queue_with_sealed_credentials(
    engine: Engine, live: str, tmp_path: Any, monkeypatch: Any
) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import select, update
    from typer.testing import CliRunner

    from cargowatch.app import create_app
    from cargowatch.cli import app
    from cargowatch.db.engine import unit_of_work
    from cargowatch.jobs.models import Job
    from cargowatch.jobs.runner import run_pending
    from cargowatch.taxii.models import TaxiiPull
    from cargowatch.taxii.schedule import queue_due

    auth = _world(engine, live)
    api = TestClient(create_app(engine=engine))
    api.headers["Authorization"] = f"Bearer {auth['carrier'].token}"
    bundle = api.get("/api/v1/stix/bundle").json()
    collection = "7a1c1c55-2c63-4f0e-9a47-0b8e5f3d2c10"
    root, server = _medallion(tmp_path, collection)
    try:
        partner = Collection(f"{root}collections/{collection}/", user="partner",
                             password="a-partner-password")  # fmt: skip
        held = {**bundle, "objects": [o for o in bundle["objects"]
                                      if o["type"] != "extension-definition"]}  # fmt: skip
        assert partner.add_objects(held).failure_count == 0
        runner = CliRunner(env={"COLUMNS": "250"})
        monkeypatch.setenv("CARGOWATCH_TAXII_PASSWORD", "a-partner-password")
        made = runner.invoke(app, ["--as", "outsider-user", "taxii", "schedule", root,
                                   collection, "--every", "30", "--user", "partner"])  # fmt: skip
        assert made.exit_code == 0, made.output
        monkeypatch.delenv("CARGOWATCH_TAXII_PASSWORD")
        with unit_of_work(engine) as s:
            row = s.scalar(select(TaxiiPull))
            assert row is not None and row.auth_sealed
            assert "a-partner-password" not in row.auth_sealed  # sealed, not kept as given
        assert queue_due(engine) == 1 and queue_due(engine) == 1  # one job, keyed
        assert run_pending(engine) == (1, 0)
        reports = [o for o in bundle["objects"] if o["type"] == "report"]
        api.headers["Authorization"] = f"Bearer {auth['outsider'].token}"
        taken = [b for b in api.get("/api/v1/bulletins?limit=500").json()
                 if b["source"] == "stix"]  # fmt: skip
        assert len(taken) == len(reports)
        assert queue_due(engine) == 0  # not due again for 30 minutes
        listed = runner.invoke(app, ["--as", "outsider-user", "taxii", "schedules"])
        assert "30 min" in listed.output and str(len(reports)) in listed.output
        # the partner changes its password: the next pull fails, is recorded and retried
        monkeypatch.setenv("CARGOWATCH_TAXII_PASSWORD", "an-old-password")
        runner.invoke(app, ["--as", "outsider-user", "taxii", "schedule", root, collection,
                            "--every", "30", "--user", "partner"])  # fmt: skip
        queue_due(engine)
        assert run_pending(engine)[1] == 1
        with unit_of_work(engine) as s:
            row = s.scalar(select(TaxiiPull))
            assert row is not None and row.failures == 1 and "401" in (row.last_error or "")
            s.execute(update(Job).values(status="done"))
        gone = runner.invoke(app, ["--as", "outsider-user", "taxii", "unschedule", "1"])
        assert gone.exit_code == 0 and queue_due(engine) == 0
    finally:
        server.shutdown()


def test_an_agreement_has_its_collection_with_the_owners_seizures(
    engine: Engine, live: str
) -> None:
    from datetime import UTC, datetime

    from cargowatch.auth.service import principal_for_username
    from cargowatch.db.engine import unit_of_work
    from cargowatch.incidents import service as incidents
    from cargowatch.incidents.workspace import sections
    from cargowatch.sharing.service import Terms, create_agreement

    auth = _world(engine, live)
    with unit_of_work(engine) as s:
        carrier = principal_for_username(s, "carrier-user")
        for n, tlp in enumerate(("GREEN", "RED", "CLEAR")):
            found = datetime(2025, 3, 16 + n, tzinfo=UTC)
            row, _ = incidents.record(s, principal=carrier, container="MSKU1234565",
                                      reference=f"SZ-{n}", found_at=found)  # fmt: skip
            next(x for x in sections(s, row) if x.kind == "summary").tlp = tlp
        agreement = create_agreement(s, principal=carrier, grantee_slug="customs", terms=Terms(
            classes=["incidents"], purpose="joint post-incident analysis", legal_basis="MoU",
            scopes=[], tlp="AMBER"))  # fmt: skip
        agreement_id = agreement.id
    titles = {c.title: c for c in
              Server(f"{live}/taxii2/", auth=auth["customs"]).api_roots[0].collections}  # fmt: skip
    mine = titles[f"Agreement {agreement_id}: carrier to customs"]
    pages = list(as_pages(mine.get_objects, per_request=3))
    seen = [o for page in pages for o in page.get("objects", [])]
    assert len(pages) > 1 and len({o["id"] for o in seen}) == len(seen)
    seized = [o for o in seen if o["type"] == "incident"]
    # the RED seizure stays home; GREEN and CLEAR travel as AMBER, the agreement's marking
    assert [o["name"] for o in seized] == ["Seizure SZ-0 in MSKU1234565",
                                           "Seizure SZ-2 in MSKU1234565"]  # fmt: skip
    amber = TLP_IDS["AMBER"]
    assert all(o["object_marking_refs"] == [amber] for o in seized)
    # the carrier's bulletins customs may read come with them (GREEN, AMBER, RED to customs)
    assert sum(o["type"] == "report" for o in seen) == 12 + 1
    outsider = {
        c.title for c in Server(f"{live}/taxii2/", auth=auth["outsider"]).api_roots[0].collections
    }
    assert not any(t.startswith("Agreement") for t in outsider)
    from sqlalchemy import select

    from cargowatch.audit.models import AuditEntry

    with unit_of_work(engine) as s:  # the partner's reads under the agreement are in the trail
        uses = s.scalars(select(AuditEntry.entity_type).where(
            AuditEntry.action == "agreement.use")).all()  # fmt: skip
    assert "taxii-collection" in uses
