"""The TAXII 2.1 server, read by taxii2-client over HTTP: discovery, the API root, a
collection per sharing group and one of everything readable, pages by `limit` and `next`,
`added_after`, an object by id, the manifest; markings enforced per organisation."""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import Engine
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

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
