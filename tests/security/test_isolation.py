"""Every API operation and page with an id or a container in its path, called by another
organisation (each role) with the first organisation's ids: nothing comes back."""

from __future__ import annotations

import io
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cargowatch.app import create_app
from cargowatch.auth.service import create_user
from cargowatch.custody.models import Trip
from cargowatch.db.engine import unit_of_work
from cargowatch.events.models import Event
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.ingest.models import IngestRun, QuarantineRecord
from cargowatch.trackandtrace.serialize import event_uuid
from tests.builders import ndjson, org_with_user, token_for, user_in
from tests.custody.test_custody import BOX, SITES, trip_events

ROLES = ("admin", "analyst", "viewer", "ingester")
PASSWORD = "a-long-test-password"


def _owner_ids(engine: Engine) -> dict[str, Any]:
    owner = org_with_user(engine, "owner", kind="TERMINAL")
    bad = trip_events()[0] | {"eventDateTime": "whenever"}
    ingest_bytes(principal=owner, stream=io.BytesIO(SITES.encode()), source="s", engine=engine)
    ingest_bytes(principal=owner, stream=io.BytesIO(ndjson([*trip_events(), bad])), source="e",
                 engine=engine)  # fmt: skip
    # the owner's referral (routed to the owner's own Customs service) and that service's
    # point of contact: another Customs organisation sees neither
    from cargowatch.referrals import flows, service

    customs = org_with_user(engine, "owner-customs", kind="CUSTOMS", role="admin")
    with unit_of_work(engine) as s:
        spoc = service.declare_spoc(s, principal=customs, name="Port", jurisdiction=["BE"])
        spoc_id = spoc.id
    view, _ = flows.send(principal=owner, engine=engine, client_ref="R1",
                         category="seal-anomaly", containers=[BOX], place="BEANR",
                         files=[("seal.pdf", b"%PDF-1.4\ntrailer << >>\n%%EOF\n")])  # fmt: skip
    from datetime import UTC, datetime

    from cargowatch.incidents import service as incidents

    with unit_of_work(engine) as s:
        incident, _ = incidents.record(s, principal=owner, container=BOX, reference="SZ-1",
                                       found_at=datetime(2025, 3, 16, tzinfo=UTC))  # fmt: skip
        incident_id = incident.id
        from cargowatch.incidents import meetings

        held = datetime(2025, 4, 1, tzinfo=UTC)
        meeting = meetings.convene(s, principal=owner, title="Owners only", held_at=held,
                                   members=[])  # fmt: skip
        meeting_id = meeting.id
        from cargowatch.bulletins import service as bulletins
        from cargowatch.sharing import groups

        groups.create(s, principal=owner, slug="owners", name="Owners only")
        bulletin = bulletins.create(s, principal=owner, title="Owners' eyes", tlp="AMBER",
                                    distribution="group", group="owners",
                                    indicators=[{"kind": "container", "value": BOX}])  # fmt: skip
        bulletin_id, stix_id = bulletin.id, bulletin.stix_id
        from cargowatch.sharing.service import Terms, create_agreement

        agreement = create_agreement(s, principal=owner, grantee_slug="owner-customs",
                                     terms=Terms(classes=["events"], purpose="joint targeting",
                                                 legal_basis="MoU", scopes=[]))  # fmt: skip
        agreement_id = agreement.id
        from cargowatch.trackandtrace import subscriptions

        subscription = subscriptions.create(
            s,
            principal=owner,
            body={
                "callbackUrl": "https://owner.example/dcsa",
                "secret": "b3duZXJzLW9ubHktc2VjcmV0LTEyMzQ1Ng==",
            },
        )
        subscription_id = subscription.subscription_id
    from cargowatch.taxii.router import group_collection

    with unit_of_work(engine) as s:
        return {
            "incident_id": incident_id,
            "bulletin_id": bulletin_id,
            "slug": "owners",
            "org": "owner",
            "collection_id": group_collection("owners"),
            "object_id": stix_id,
            "meeting_id": meeting_id,
            "attachment_id": view["attachments"][0]["id"],
            "spoc_id": spoc_id,
            "referral_id": view["id"],
            "trip_id": s.scalar(select(Trip.id)),
            "event_id": s.scalar(select(Event.id)),
            "eventID": event_uuid(s.scalar(select(Event.id)) or 0),  # the DCSA T&T API's id
            "record_id": s.scalar(select(QuarantineRecord.id)),
            "run_id": s.scalar(select(IngestRun.id)),
            "container": BOX,
            "share_id": 1,
            "agreement_id": agreement_id,
            "subscriptionID": subscription_id,
            "name": "access",
        }


def test_no_operation_or_page_shows_another_organisations_records(engine: Engine) -> None:
    ids = _owner_ids(engine)
    org_with_user(engine, "stranger", kind="CUSTOMS")
    for role in ROLES:
        user_in(engine, "stranger", f"stranger-{role}", role)
    app = create_app(engine=engine)
    client = TestClient(app)
    spec = client.get("/openapi.json").json()
    leaks: list[str] = []
    calls = 0
    for path, operations in spec["paths"].items():
        if "{" not in path or "get" not in operations:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        for role in ROLES:
            got = client.get(
                url, headers={"Authorization": f"Bearer {token_for(engine, f'stranger-{role}')}"}
            )
            calls += 1
            assert got.status_code < 500, (url, role, got.text)
            if (
                got.status_code == 200
                and got.json() not in ([], {})
                and not (isinstance(got.json(), dict) and got.json().get("total") == 0)
            ):
                leaks.append(f"{role} GET {url}: {got.text[:200]}")
    assert calls >= 40 and leaks == []
    # the pages, signed in as the stranger's analyst
    with unit_of_work(engine) as s:
        create_user(s, actor="test", org_slug="stranger", username="s-web", role="analyst",
                    password=PASSWORD)  # fmt: skip
    web = TestClient(app, follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/login").text)
    assert csrf is not None
    web.post("/login", data={"username": "s-web", "password": PASSWORD, "csrf": csrf.group(1)})
    referral = f"/referrals/{ids['referral_id']}"
    for page in (f"/trips/{ids['trip_id']}", f"/events/{ids['event_id']}",
                 f"/quarantine/{ids['record_id']}", referral,
                 f"{referral}/attachments/{ids['attachment_id']}"):  # fmt: skip
        assert web.get(page).status_code == 404, page
    assert BOX not in web.get("/queue?include_inspected=1").text
