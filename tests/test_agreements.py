"""Sharing agreements: classes of data, scope, term, groups, personal data and pseudonyms,
over the services, the API and the commands, with three organisations (owner, partner, a
third that must see nothing)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from cargowatch.app import create_app
from cargowatch.audit.models import AuditEntry
from cargowatch.auth.principal import Principal
from cargowatch.cli import app as cli
from cargowatch.custody.models import Trip
from cargowatch.custody.service import trips_of_container, visible_trips
from cargowatch.db.engine import unit_of_work
from cargowatch.events.service import list_events
from cargowatch.exceptions import InvalidInput, NotFound, PermissionDenied
from cargowatch.ingest.flows import ingest_bytes
from cargowatch.risk.privacy import redact
from cargowatch.sharing import groups
from cargowatch.sharing.service import (
    Terms,
    amend,
    create_agreement,
    may_read_personal,
    parse_scope,
    pseudonym,
    pseudonym_key,
    revoke_agreement,
)
from cargowatch.telemetry.models import Reading
from cargowatch.telemetry.service import readings_for_container
from tests.builders import event22, ndjson, org_with_user, token_for, user_in

BOX_A, BOX_B = "CSQU3054383", "APZU4812090"
NOW = datetime.now(UTC)


@pytest.fixture
def world(engine: Engine) -> dict[str, Principal]:
    """carrier owns events, telemetry and trips of two containers; customs is the partner,
    terminal a third organisation."""
    carrier = org_with_user(engine, "carrier", kind="CARRIER")
    admin = user_in(engine, "carrier", "carrier-admin", "admin")
    customs = org_with_user(engine, "customs", kind="CUSTOMS")
    terminal = org_with_user(engine, "terminal", kind="TERMINAL")
    evs = [event22(eventID="a1", equipmentReference=BOX_A),
           event22(eventID="a2", equipmentReference=BOX_A, equipmentEventTypeCode="CUSS"),
           event22(eventID="b1", equipmentReference=BOX_B)]  # fmt: skip
    ingest_bytes(principal=carrier, stream=io.BytesIO(ndjson(evs)), source="x", engine=engine)
    with unit_of_work(engine) as s:
        s.add_all([
            Trip(org_id=carrier.org_id, trip_key="ta", container=BOX_A, origin="ECGYE",
                 destination="BEANR"),
            Trip(org_id=carrier.org_id, trip_key="tb", container=BOX_B, origin="COCTG",
                 destination="NLRTM"),
            Reading(org_id=carrier.org_id, device_id="d1", container=BOX_A, ts=NOW),
            Reading(org_id=carrier.org_id, device_id="d2", container=BOX_B, ts=NOW),
        ])  # fmt: skip
    return {"carrier": carrier, "admin": admin, "customs": customs, "terminal": terminal}


def _terms(classes: list[str], scopes: tuple[str, ...] = (), **kw: object) -> Terms:
    return Terms(
        classes=classes,
        purpose="joint targeting",
        legal_basis="customs law art. 46",
        scopes=[parse_scope(x) for x in scopes],
        **kw,
    )  # type: ignore[arg-type]


def _reads(engine: Engine, p: Principal) -> dict[str, set[str]]:
    """What p reads of each class: events (not customs), customs selections, telemetry, trips,
    scored trips."""
    with unit_of_work(engine) as s:
        evs = [v.event for box in (BOX_A, BOX_B) for v in list_events(s, principal=p,
                                                                      container=box)]  # fmt: skip
        tele = {r.container for box in (BOX_A, BOX_B)
                for r in readings_for_container(s, principal=p, container=box)}  # fmt: skip
        trips = {t.container for box in (BOX_A, BOX_B)
                 for t in trips_of_container(s, principal=p, container=box)}  # fmt: skip
        risk = set(s.scalars(select(Trip.container).where(visible_trips(p, "risk"))))
    return {
        "events": {e.container or "" for e in evs if e.event_code != "CUSS"},
        "customs": {e.container or "" for e in evs if e.event_code == "CUSS"},
        "telemetry": tele, "trips": trips, "risk": risk,
    }  # fmt: skip


NOTHING: dict[str, set[str]] = {k: set() for k in ("events", "customs", "telemetry", "trips",
                                                    "risk")}  # fmt: skip


def test_each_class_opens_its_own_read_path_only(engine: Engine, world: dict) -> None:
    carrier, customs, terminal = world["carrier"], world["customs"], world["terminal"]
    assert _reads(engine, customs) == NOTHING
    with unit_of_work(engine) as s:
        create_agreement(s, principal=carrier, terms=_terms(["events"]), grantee_slug="customs")
    got = _reads(engine, customs)
    assert got == {**NOTHING, "events": {BOX_A, BOX_B}, "trips": {BOX_A, BOX_B}}
    with unit_of_work(engine) as s:
        create_agreement(s, principal=carrier, grantee_slug="customs",
                         terms=_terms(["telemetry", "customs-selections", "risk"]))  # fmt: skip
    both = {BOX_A, BOX_B}
    assert _reads(engine, customs) == {"events": both, "customs": {BOX_A}, "telemetry": both,
                                       "trips": both, "risk": both}  # fmt: skip
    assert _reads(engine, terminal) == NOTHING  # the third organisation never sees any of it


def test_scope_by_container_port_and_lane(engine: Engine, world: dict) -> None:
    carrier, customs, terminal = world["carrier"], world["customs"], world["terminal"]
    classes = ["events", "telemetry"]
    with unit_of_work(engine) as s:
        create_agreement(s, principal=carrier, terms=_terms(classes, ("port:NLRTM",)),
                         grantee_slug="customs")  # fmt: skip
        create_agreement(s, principal=carrier, terms=_terms(classes, ("lane:ECGYE-BEANR",)),
                         grantee_slug="terminal")  # fmt: skip
    assert _reads(engine, customs)["events"] == {BOX_B}  # BOX_B's trip ends at Rotterdam
    assert _reads(engine, customs)["telemetry"] == {BOX_B}
    assert _reads(engine, terminal)["events"] == {BOX_A}  # BOX_A went Guayaquil-Antwerp
    with unit_of_work(engine) as s:  # a lane the wrong way round opens nothing more
        create_agreement(s, principal=carrier, terms=_terms(classes, ("lane:BEANR-ECGYE",
                                                                      f"container:{BOX_A}")),
                         grantee_slug="customs")  # fmt: skip
    assert _reads(engine, customs)["events"] == {BOX_A, BOX_B}
    for bad in ("port:ROTTERDAM", "lane:ECGYE", "box:X", "container:ABC"):
        with pytest.raises(InvalidInput, match="scope"):
            parse_scope(bad)


def test_term_expiry_amendment_and_revocation(engine: Engine, world: dict) -> None:
    carrier, customs = world["carrier"], world["customs"]
    with unit_of_work(engine) as s:
        later = create_agreement(
            s,
            principal=carrier,
            grantee_slug="customs",
            terms=_terms(["events"], valid_from=NOW + timedelta(days=2)),
        )
        over = create_agreement(s, principal=carrier, grantee_slug="customs",
                                terms=_terms(["telemetry"], valid_from=NOW - timedelta(days=9),
                                             valid_until=NOW - timedelta(days=1)))  # fmt: skip
        later_id, over_id = later.id, over.id
    assert _reads(engine, customs) == NOTHING  # one not begun, one ended: no read at all
    with unit_of_work(engine) as s:
        amend(s, principal=carrier, agreement_id=over_id, valid_until=NOW + timedelta(days=30))
    assert _reads(engine, customs)["telemetry"] == {BOX_A, BOX_B}
    with unit_of_work(engine) as s, pytest.raises(NotFound):
        amend(s, principal=customs, agreement_id=over_id, valid_until=None)  # not its own
    with unit_of_work(engine) as s:
        revoke_agreement(s, principal=carrier, agreement_id=over_id)
        revoke_agreement(s, principal=carrier, agreement_id=over_id)  # twice: a no-op
        revoke_agreement(s, principal=carrier, agreement_id=later_id)
    assert _reads(engine, customs) == NOTHING
    with unit_of_work(engine) as s:
        actions = list(s.scalars(select(AuditEntry.action).where(
            AuditEntry.entity_type == "agreement").order_by(AuditEntry.id)))  # fmt: skip
        with pytest.raises(InvalidInput, match="revoked"):
            amend(s, principal=carrier, agreement_id=over_id, valid_until=None)
    assert actions == ["agreement.grant", "agreement.grant", "agreement.amend",
                       "agreement.revoke", "agreement.revoke"]  # fmt: skip


def test_group_agreement_follows_membership(engine: Engine, world: dict) -> None:
    carrier, customs, terminal = world["carrier"], world["customs"], world["terminal"]
    with unit_of_work(engine) as s:
        groups.create(s, principal=carrier, slug="ecgye-port", name="Guayaquil port community")
        groups.admit(s, principal=carrier, slug="ecgye-port", org_slug="terminal")
        create_agreement(s, principal=carrier, terms=_terms(["events"]), group_slug="ecgye-port")
    assert _reads(engine, terminal)["events"] == {BOX_A, BOX_B}
    assert _reads(engine, customs) == NOTHING  # not a member
    with unit_of_work(engine) as s:
        groups.remove(s, principal=carrier, slug="ecgye-port", org_slug="terminal")
    assert _reads(engine, terminal) == NOTHING
    with unit_of_work(engine) as s, pytest.raises(NotFound):  # a group it is not in
        create_agreement(s, principal=customs, terms=_terms(["events"]), group_slug="ecgye-port")


def test_same_terms_again_return_the_agreement(engine: Engine, world: dict) -> None:
    carrier = world["carrier"]
    with unit_of_work(engine) as s:
        one = create_agreement(s, principal=carrier, terms=_terms(["events", "risk"],
                               ("port:ECGYE",)), grantee_slug="customs").id  # fmt: skip
        two = create_agreement(s, principal=carrier, terms=_terms(["risk", "events"],
                               ("port:ecgye",)), grantee_slug="customs").id  # fmt: skip
        other = create_agreement(s, principal=carrier, terms=_terms(["events"]),
                                 grantee_slug="customs").id  # fmt: skip
    assert one == two != other


def test_personal_data_and_pseudonyms_per_agreement(engine: Engine, world: dict) -> None:
    carrier, admin, customs, terminal = (world[k] for k in ("carrier", "admin", "customs",
                                                            "terminal"))  # fmt: skip
    with unit_of_work(engine) as s, pytest.raises(PermissionDenied):  # analysts cannot
        create_agreement(s, principal=carrier, terms=_terms(["personal-data"]),
                         grantee_slug="customs")  # fmt: skip
    with unit_of_work(engine) as s:
        create_agreement(s, principal=carrier, terms=_terms(["events"]), grantee_slug="customs")
        create_agreement(s, principal=carrier, terms=_terms(["events"]), grantee_slug="terminal")
    with unit_of_work(engine) as s:
        assert not may_read_personal(s, customs, carrier.org_id)
        k_customs = pseudonym_key(s, customs, carrier.org_id)
        k_terminal = pseudonym_key(s, terminal, carrier.org_id)
        assert pseudonym_key(s, carrier, carrier.org_id) is None
    assert k_customs and k_terminal and k_customs != k_terminal
    finding = {
        "rule": "shared-truck",
        "reason": "Shares badge B0042 with a seized trip",
        "evidence": {"access": [7]},
    }
    seen_c = redact(finding, k_customs)["reason"]
    seen_t = redact(finding, k_terminal)["reason"]
    assert "B0042" not in seen_c + seen_t and seen_c != seen_t  # the two views cannot be joined
    assert seen_c == redact(finding, k_customs)["reason"]  # stable for one partner
    assert pseudonym(k_customs, "badge", "B0042") in seen_c
    assert redact(finding)["reason"] == "Shares a badge with a seized trip"  # no agreement
    with unit_of_work(engine) as s:
        create_agreement(
            s,
            principal=admin,
            grantee_slug="customs",
            terms=_terms(["personal-data"], personal_roles=["analyst"]),
        )
    with unit_of_work(engine) as s:
        assert may_read_personal(s, customs, carrier.org_id)
        assert not may_read_personal(s, terminal, carrier.org_id)


def test_agreements_over_the_api(engine: Engine, world: dict) -> None:
    client = TestClient(create_app(engine=engine))

    def as_(user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(engine, user)}"}

    carrier, customs, terminal = as_("carrier-user"), as_("customs-user"), as_("terminal-user")
    body = {"grantee": "customs", "classes": ["events", "customs-selections"],
            "purpose": "joint targeting", "legal_basis": "MoU 2026-04",
            "scopes": [f"container:{BOX_A}"], "tlp": "AMBER",
            "valid_from": (NOW - timedelta(days=1)).isoformat()}  # fmt: skip
    made = client.post("/api/v1/agreements", json=body, headers=carrier)
    assert made.status_code == 201, made.text
    agreement = made.json()
    assert agreement["status"] == "active" and agreement["scopes"] == [f"container:{BOX_A}"]
    assert "pseudonym_key" not in agreement
    again = client.post("/api/v1/agreements", json=body, headers=carrier)
    assert again.json()["id"] == agreement["id"]
    page = client.get("/v3/events", headers=customs).json()["events"]
    assert {e["equipmentDetails"]["equipmentReference"] for e in page} == {BOX_A}
    assert len(page) == 2  # BOX_A's gate-in and its customs selection
    assert client.get("/v3/events", headers=terminal).json() == {"events": []}
    url = f"/api/v1/agreements/{agreement['id']}"
    assert client.get(url, headers=customs).status_code == 200  # the grantee reads its terms
    assert client.get(url, headers=terminal).status_code == 404
    assert client.patch(url, json={"valid_until": None}, headers=customs).status_code == 404
    assert client.delete(url, headers=terminal).status_code == 404
    ended = client.patch(url, json={"valid_until": (NOW - timedelta(hours=1)).isoformat()},
                         headers=carrier)  # fmt: skip
    assert ended.status_code == 200 and ended.json()["status"] == "expired"
    assert client.get("/v3/events", headers=customs).json() == {"events": []}
    bad = client.post("/api/v1/agreements", json={**body, "scopes": ["port:NOWHERE"]},
                      headers=carrier)  # fmt: skip
    assert bad.status_code == 422 and "port:NOWHERE" in bad.text
    personal = client.post("/api/v1/agreements", json={**body, "classes": ["personal-data"]},
                           headers=carrier)  # fmt: skip
    assert personal.status_code == 403  # an analyst does not hand out personal data
    listed = client.get("/api/v1/agreements", headers=terminal).json()
    assert listed == []
    with unit_of_work(engine) as s:
        uses = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "agreement.use"))  # fmt: skip
    assert uses and uses >= 1  # the partner's reads under the agreement are in the trail


def test_agreements_commands(engine: Engine, world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARGOWATCH_USER", "carrier-user")
    runner = CliRunner()
    made = runner.invoke(cli, ["agreements", "create", "--to", "customs", "--classes",
                               "events,telemetry", "--purpose", "joint targeting",
                               "--legal-basis", "MoU", "--scope", "lane:ECGYE-BEANR",
                               "--until", "2099-01-01T00:00Z"])  # fmt: skip
    assert made.exit_code == 0, made.output
    listed = runner.invoke(cli, ["agreements", "list", "--format", "json"])
    assert "lane:ECGYE-BEANR" in listed.output and "2099-01-01" in listed.output
    bad = runner.invoke(cli, ["agreements", "create", "--to", "customs", "--classes", "gossip",
                              "--purpose", "x", "--legal-basis", "y"])  # fmt: skip
    assert bad.exit_code != 0 and "gossip" in str(bad.exception)
    assert runner.invoke(cli, ["agreements", "revoke", "1"]).exit_code == 0
    assert '"status": "revoked"' in runner.invoke(cli, ["agreements", "show", "1"]).output


def test_each_class_over_the_api_for_partner_and_third(engine: Engine, world: dict) -> None:
    carrier = world["carrier"]
    client = TestClient(create_app(engine=engine))

    def get(user: str, path: str) -> Any:
        r = client.get(path, headers={"Authorization": f"Bearer {token_for(engine, user)}"})
        return r.json() if r.status_code == 200 else r.status_code

    with unit_of_work(engine) as s:
        made = create_agreement(s, principal=carrier, terms=_terms(["events"]),
                                grantee_slug="customs")  # fmt: skip
        made_id = made.id
        trip_id = s.scalar(select(Trip.id).where(Trip.container == BOX_A).limit(1))
        owned = len(s.scalars(select(Trip.id).where(Trip.container == BOX_A)).all())
    base = f"/api/v1/containers/{BOX_A}"
    for user, codes, readings, trips in (("customs-user", ["GTIN"], 0, owned),
                                         ("terminal-user", [], 0, 0)):  # fmt: skip
        assert [e["event_code"] for e in get(user, f"{base}/events")] == codes
        assert len(get(user, f"{base}/telemetry")) == readings
        assert len(get(user, f"{base}/trips")) == trips
    assert get("customs-user", f"/api/v1/trips/{trip_id}/alerts") == []
    assert get("customs-user", f"/api/v1/trips/{trip_id}/risk") == 404
    assert get("terminal-user", f"/api/v1/trips/{trip_id}/alerts") == 404
    with unit_of_work(engine) as s:
        amend(s, principal=carrier, agreement_id=made_id,
              classes=["events", "telemetry", "customs-selections"])  # fmt: skip
    assert sorted(e["event_code"] for e in get("customs-user", f"{base}/events")) == [
        "CUSS", "GTIN"]  # fmt: skip
    assert len(get("customs-user", f"{base}/telemetry")) == 1
    assert get("terminal-user", f"{base}/events") == []
