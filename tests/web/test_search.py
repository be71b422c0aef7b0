"""One search box: container, booking, B/L, seal, party, place by code or name; only what the
caller may see; over the API, the page and the header."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cargowatch.app import create_app
from cargowatch.db.engine import unit_of_work
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.search.service import search
from tests.builders import ndjson, org_with_user, token_for
from tests.custody.test_custody import BOX, manifest, trip_events

PARTIES = (
    "party_id,name,role,country,registered_on,aeo_certified,address\n"
    "C1,Frutas del Sol SA,CONSIGNEE,BE,2020-01-01,false,x\n"
)


def test_every_kind_is_found_and_only_where_the_caller_may_look(engine: Engine) -> None:
    p = org_with_user(engine, "carrier", kind="CARRIER")
    stranger = org_with_user(engine, "other", kind="TERMINAL")
    for body in (PARTIES.encode(), manifest("BKG1", BOX, "ML1").replace(b",P1,", b",C1,"),
                 ndjson(trip_events())):  # fmt: skip
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)
    with unit_of_work(engine) as s:
        assert [h.label for h in search(s, principal=p, q=BOX[:6]).hits["container"]] == [BOX]
        assert search(s, principal=p, q="bkg1").hits["booking"][0].link.startswith("/trips/")
        assert search(s, principal=p, q="ML1").hits["seal"][0].label == "ML1"
        assert "party" in search(s, principal=p, q="frutas").hits
        hamburg = search(s, principal=p, q="Hamburg").hits["place"]
        assert hamburg[0].label.startswith("DEHAM") and "port=DEHAM" in hamburg[0].link
        assert search(s, principal=stranger, q=BOX).total == 0  # not shared: not found
        assert "seal" not in search(s, principal=stranger, q="ML1").hits
    client = TestClient(create_app(engine=engine))
    token = {"Authorization": f"Bearer {token_for(engine, 'carrier-user')}"}
    got = client.get("/api/v1/search", params={"q": BOX}, headers=token).json()
    assert got["total"] >= 1 and got["hits"]["container"][0]["label"] == BOX
    assert client.get("/api/v1/search", params={"q": "x"}, headers=token).status_code == 422
    assert client.get("/api/v1/search", params={"q": "100%_"}, headers=token).status_code == 200


def test_the_search_page_and_the_header_box(engine: Engine) -> None:
    from tests.web.test_pages import _signed_in

    client = _signed_in(engine, trips=2)
    page = client.get("/queue").text
    assert 'action="/search"' in page and 'role="search"' in page
    found = client.get("/search", params={"q": "MSKU90703"}).text
    assert len(re.findall(r'href="/trips/\d+"', found)) >= 2 and "container" in found
