"""The seizure database and post-incident analysis: a seizure becomes an incident once, its
windows run from the seal put on to the discovery by custodian, the badge that broke its own
pattern while the container stood at the terminal ranks first, persons are shown only with the
personal-data grant, and another organisation sees nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cargowatch.app import create_app
from cargowatch.audit.models import AuditEntry
from cargowatch.db.engine import unit_of_work
from cargowatch.incidents import service
from cargowatch.ingest.flows import ingest_bytes
from tests.builders import ndjson, org_with_user, token_for, user_in
from tests.custody.test_custody import BOX, SITES, manifest, trip_events

PERSONS = (
    "person_id,employer_party_id,role,badge_id,vetting_status,vetting_valid_until,employed_from,"
    "employed_until,authorised_zones\n"
    "E1,P1,straddle carrier driver,B1,CLEARED,2027-01-01,2020-01-01,,YARD-A\n"
    "E2,P1,lasher,B2,CLEARED,2027-01-01,2020-01-01,,YARD-A\n"
    "E3,P2,gate clerk,B3,CLEARED,2027-01-01,2020-01-01,,GATE\n"
    "E4,P1,lasher,B4,CLEARED,2027-01-01,2020-01-01,2025-02-01,YARD-A\n"
    "E5,P2,planner,B5,EXPIRED,2024-06-30,2020-01-01,,YARD-B\n"
)
SEIZURE = (
    "ts,container,booking_ref,locode,authority_party_id,method,result,substance,quantity_kg,"
    "concealment,insider_suspected,reference\n"
    f"2025-03-16T10:00:00Z,{BOX},BKG1,BEANR,,PHYSICAL,SEIZURE,cocaine,120,RIP_ON_RIP_OFF,"
    "UNKNOWN,SZ-1\n"
)
ACT = datetime(2025, 3, 2, 23, 30, tzinfo=UTC)  # the insider's night visit to the yard


def _access() -> bytes:
    lines = ["ts,badge_id,facility,zone,direction,granted"]
    day = datetime(2025, 1, 20, 8, 5, tzinfo=UTC)
    for n in range(45):  # six weeks of day shifts: the pattern of both badges at T1
        at = day + timedelta(days=n)
        for badge in ("B1", "B2"):
            lines.append(f"{at:%Y-%m-%dT%H:%M:%SZ},{badge},ECGYE:T1,YARD-A,IN,true")
        lines.append(f"{at:%Y-%m-%dT%H:%M:%SZ},B3,BEANR:T2,GATE,IN,true")
    lines.append(f"{ACT:%Y-%m-%dT%H:%M:%SZ},B1,ECGYE:T1,YARD-C,IN,true")
    # a leaver's badge still opens the yard; a planner whose vetting expired in the yard
    for stamp in ("2025-02-10T09:00:00Z", "2025-02-20T09:00:00Z"):
        lines.append(f"{stamp},B4,ECGYE:T1,YARD-A,IN,true")
    lines.append("2025-02-11T10:00:00Z,B5,BEANR:T2,YARD-B,IN,true")
    lines.append("2025-02-11T09:50:00Z,B5,BEANR:T2,GATE,IN,true")
    return ("\n".join(lines) + "\n").encode()


def _world(engine: Engine) -> dict[str, object]:
    customs = org_with_user(engine, "customs", kind="CUSTOMS")
    user_in(engine, "customs", "customs-viewer", "viewer")
    org_with_user(engine, "other", kind="CUSTOMS")
    for body in (SITES.encode(), manifest("BKG1", BOX, "ML1"), ndjson(trip_events()),
                 PERSONS.encode(), _access(), SEIZURE.encode()):  # fmt: skip
        ingest_bytes(principal=customs, stream=io.BytesIO(body), source="x", engine=engine)
    app = create_app(engine=engine)
    out: dict[str, object] = {"principal": customs}
    for name, user in (("analyst", "customs-user"), ("viewer", "customs-viewer"),
                       ("other", "other-user")):  # fmt: skip
        c = TestClient(app)
        c.headers["Authorization"] = f"Bearer {token_for(engine, user)}"
        out[name] = c
    return out


def test_a_seizure_is_analysed_and_the_pattern_breaker_ranks_first(engine: Engine) -> None:
    w = _world(engine)
    analyst, viewer, other = w["analyst"], w["viewer"], w["other"]
    assert isinstance(analyst, TestClient) and isinstance(viewer, TestClient)
    assert isinstance(other, TestClient)
    assert analyst.post("/api/v1/incidents/sync").json() == {"recorded": 1}
    assert analyst.post("/api/v1/incidents/sync").json() == {"recorded": 0}  # once
    [incident] = analyst.get("/api/v1/incidents").json()
    assert (incident["container"], incident["concealment"], incident["lane"]) == (
        BOX, "RIP_ON_RIP_OFF", "ECGYE-BEANR")  # fmt: skip
    assert incident["trip_id"] is not None and incident["insider"] == "none"
    got = analyst.get(f"/api/v1/incidents/{incident['id']}/analysis").json()
    kinds = [x["kind"] for x in got["windows"]]
    assert kinds == ["inland to the origin terminal", "origin terminal", "at sea",
                     "destination terminal", "after the last terminal"]  # fmt: skip
    spans = [(datetime.fromisoformat(x["from"]), datetime.fromisoformat(x["until"]))
             for x in got["windows"]]  # fmt: skip
    assert any(a <= ACT <= b for a, b in spans)  # the act is inside a window
    assert spans[-1][1] == datetime(2025, 3, 16, 10, tzinfo=UTC)  # up to the discovery
    first = got["persons"][0]
    assert (first["person_id"], first["facility"]) == ("E1", "ECGYE:T1")
    assert any("zone" in r or "hour" in r for r in first["reasons"])
    assert {p["person_id"] for p in got["persons"]} >= {"E1", "E2"}
    assert first["score"] > got["persons"][1]["score"]
    # a viewer has no personal-data grant: scores and facilities, no identities
    hidden = viewer.get(f"/api/v1/incidents/{incident['id']}/analysis").json()
    assert all(p.get("redacted") and "person_id" not in p for p in hidden["persons"])
    assert viewer.get("/api/v1/insiders").status_code == 403
    [top, *_] = analyst.get("/api/v1/insiders").json()
    assert (top["person_id"], top["badge_id"], top["employer_party_id"]) == ("E1", "B1", "P1")
    rules = {r["rule"] for r in top["reasons"]}
    assert "odd-swipe-in-window" in rules and "pattern-breaks-in-windows" in rules
    path = next(r for r in top["reasons"] if r["rule"] == "odd-swipe-in-window")
    assert path["evidence"]["path"][0] == "person E1"
    assert path["evidence"]["path"][-1] == f"-seized in-> incident {incident['id']}"
    # another organisation sees nothing of it
    assert other.get(f"/api/v1/incidents/{incident['id']}").status_code == 404
    assert other.get(f"/api/v1/incidents/{incident['id']}/analysis").status_code == 404
    assert other.get("/api/v1/incidents").json() == []
    assert other.get("/api/v1/insiders").json() == []
    with unit_of_work(engine) as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"incident.record", "incident.read-personal", "insiders.read"} <= actions


def test_statistics_and_hand_entered_seizures(engine: Engine) -> None:
    w = _world(engine)
    analyst = w["analyst"]
    assert isinstance(analyst, TestClient)
    analyst.post("/api/v1/incidents/sync")
    body = {"container": BOX, "found_at": "2025-04-01T10:00:00Z", "reference": "HAND-1",
            "concealment": "STRUCTURAL", "mo": "seal_switch", "insider": "confirmed",
            "insider_role": "straddle carrier driver", "quantity_kg": 30}  # fmt: skip
    made = analyst.post("/api/v1/incidents", json=body)
    assert made.status_code == 201 and made.json()["mo"] == "seal_switch"
    assert analyst.post("/api/v1/incidents", json=body).status_code == 200  # once
    by_insider = {r["group"]: r for r in analyst.get("/api/v1/incidents/stats?by=insider").json()}
    assert by_insider["confirmed"]["seizures"] == 1 and by_insider["none"]["seizures"] == 1
    by_mo = analyst.get("/api/v1/incidents/stats?by=concealment").json()
    assert {r["group"] for r in by_mo} == {"RIP_ON_RIP_OFF", "STRUCTURAL"}
    assert all(r["insider_share"] == (1.0 if r["group"] == "STRUCTURAL" else 0.0) for r in by_mo)
    changed = analyst.patch(f"/api/v1/incidents/{made.json()['id']}", json={"mo": "rip_on_rip_off"})
    assert changed.json()["mo"] == "rip_on_rip_off"
    assert analyst.patch(f"/api/v1/incidents/{made.json()['id']}",
                         json={"mo": "magic"}).status_code == 422  # fmt: skip
    with unit_of_work(engine) as s:
        p = w["principal"]
        frame = service.frame(s, principal=p)  # type: ignore[arg-type]
    assert frame.height == 2 and set(frame["concealment"]) == {"RIP_ON_RIP_OFF", "STRUCTURAL"}


def test_personnel_security_reports(engine: Engine) -> None:
    w = _world(engine)
    analyst, viewer = w["analyst"], w["viewer"]
    assert isinstance(analyst, TestClient) and isinstance(viewer, TestClient)
    assert viewer.get("/api/v1/personnel-security").status_code == 403
    r = analyst.get("/api/v1/personnel-security").json()
    [late] = r["after_employment"]
    assert (late["person_id"], late["days_after"], late["swipes"]) == ("E4", 19, 2)
    [lapsed] = r["vetting"]
    assert (lapsed["person_id"], lapsed["zones"], lapsed["sensitive_swipes"]) == (
        "E5", ["YARD-B"], 1)  # the gate is not a sensitive zone  # fmt: skip
    [p1] = [x for x in r["revocation_lag"] if x["employer_party_id"] == "P1"]
    assert (p1["leavers"], p1["badges_used_after"], p1["max_days"]) == (1, 1, 19)


def _web(engine: Engine, org: str, name: str) -> TestClient:
    import re

    from cargowatch.auth.service import create_user

    with unit_of_work(engine) as s:
        create_user(s, actor="test", org_slug=org, username=name, role="analyst",
                    password="a-long-test-password")  # fmt: skip
    web = TestClient(create_app(engine=engine), follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', web.get("/login").text)
    assert token is not None
    web.post("/login", data={"username": name, "password": "a-long-test-password",
                             "csrf": token.group(1)})  # fmt: skip
    return web


def test_partners_work_an_incident_under_markings_to_its_pdf(engine: Engine) -> None:
    w = _world(engine)
    owner, other = w["analyst"], w["other"]
    assert isinstance(owner, TestClient) and isinstance(other, TestClient)
    org_with_user(engine, "terminal", kind="TERMINAL")
    terminal = TestClient(owner.app)
    terminal.headers["Authorization"] = f"Bearer {token_for(engine, 'terminal-user')}"
    owner.post("/api/v1/incidents/sync")
    [incident] = owner.get("/api/v1/incidents").json()
    iid = incident["id"]
    url = f"/api/v1/incidents/{iid}"
    assert other.get(f"{url}/workspace").status_code == 404  # not invited yet
    assert owner.post(f"{url}/participants", json={"org": "other"}).status_code == 201
    sections = {s["kind"]: s for s in owner.get(f"{url}/workspace").json()["sections"]}
    assert sections["access"]["content"][0]["person_id"] == "E1"  # the owner reads persons
    # the owner shares who had access with participants (no identities for them), keeps the
    # root causes, and writes findings for the other organisation by name
    access = f"{url}/sections/{sections['access']['id']}"
    shared = owner.patch(access, json={"tlp": "AMBER", "audience": "participants"})
    assert shared.status_code == 200
    red = owner.patch(access, json={"tlp": "RED", "audience": "participants"})
    assert red.status_code == 422  # TLP:RED goes to named organisations only
    owner.patch(f"{url}/sections/{sections['root-causes']['id']}",
                json={"body": "A driver's badge was not checked at night."})  # fmt: skip
    seen = other.get(f"{url}/workspace").json()
    kinds = {s["kind"] for s in seen["sections"]}
    assert "root-causes" not in kinds and {"windows", "access", "siblings"} <= kinds
    persons = [p for s in seen["sections"] if s["kind"] == "access" for p in s["content"]]
    assert persons and all(p.get("redacted") and "person_id" not in p for p in persons)
    assert "source_ref" not in seen["incident"] and not seen["you_own_it"]
    assert terminal.get(f"{url}/workspace").status_code == 404  # never invited
    note = other.post(f"{url}/sections", json={"title": "Our gate log", "body": "Truck at 23:10."})
    assert note.status_code == 201
    assert any(
        s["title"] == "Our gate log" for s in owner.get(f"{url}/workspace").json()["sections"]
    )
    assert (
        other.patch(f"{url}/sections/{note.json()['id']}", json={"tlp": "CLEAR"}).status_code == 403
    )
    # an action for the invited organisation, on its list until it is done
    other_org = seen["participants"][0]["org_id"]
    task = {"text": "Check the night gate camera", "owner_org_id": other_org,
            "due_on": "2025-04-01"}  # fmt: skip
    made = owner.post(f"{url}/actions", json=task)
    assert made.status_code == 201
    [todo] = other.get("/api/v1/actions").json()
    assert todo["text"] == "Check the night gate camera"
    assert terminal.post(f"/api/v1/actions/{todo['id']}/done").status_code == 404
    assert other.post(f"/api/v1/actions/{todo['id']}/done").json()["status"] == "done"
    assert other.get("/api/v1/actions").json() == []
    # the report, as a page and a PDF, carries only what its reader may read
    web = _web(engine, "customs", "officer")
    page = web.get(f"/incidents/{iid}")
    assert page.status_code == 200 and "Contamination windows" in page.text
    report = web.get(f"/incidents/{iid}/report.pdf")
    assert report.status_code == 200 and report.content[:5] == b"%PDF-"
    guest = _web(engine, "other", "guest")
    printed = guest.get(f"/incidents/{iid}/report").text
    assert "Root causes" not in printed and "E1" not in printed and "TLP:AMBER" in printed
    with unit_of_work(engine) as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"incident.invite", "incident.section", "action.create", "action.done"} <= actions


def test_a_coordination_meeting_with_items_and_an_action(engine: Engine) -> None:
    w = _world(engine)
    owner, other = w["analyst"], w["other"]
    assert isinstance(owner, TestClient) and isinstance(other, TestClient)
    org_with_user(engine, "outsider", kind="TERMINAL")
    outsider = TestClient(owner.app)
    outsider.headers["Authorization"] = f"Bearer {token_for(engine, 'outsider-user')}"
    made = owner.post("/api/v1/meetings", json={
        "title": "Port security committee", "held_at": "2025-04-02T09:00:00Z",
        "members": ["other"], "tlp": "AMBER"})  # fmt: skip
    assert made.status_code == 201
    mid = made.json()["id"]
    assert {m["name"] for m in made.json()["members"]} == {"Customs", "Other"}
    assert owner.post("/api/v1/meetings", json={"title": "x", "held_at": "2025-04-02T09:00:00Z",
                      "members": ["nobody"]}).status_code == 422  # fmt: skip
    items = (
        ("agenda", "Seizure at Antwerp, night access at T1", "AMBER"),
        ("minutes", "The terminal will review night badges.", "AMBER+STRICT"),
        ("decision", "Night access to YARD-C needs two badges.", "GREEN"),
    )
    for kind, text, tlp in items:
        got = other.post(f"/api/v1/meetings/{mid}/items", json={"kind": kind, "text": text,
                                                                "tlp": tlp})  # fmt: skip
        assert got.status_code == 201
    other_org = next(m["org_id"] for m in made.json()["members"] if m["name"] == "Other")
    task = {"text": "Review night badges", "owner_org_id": other_org}
    action = owner.post(f"/api/v1/meetings/{mid}/actions", json=task)
    assert action.status_code == 201 and action.json()["meeting_id"] == mid
    seen = other.get(f"/api/v1/meetings/{mid}").json()
    assert [i["kind"] for i in seen["items"]] == ["agenda", "minutes", "decision"]
    assert seen["items"][1]["tlp"] == "AMBER+STRICT"
    assert [a["text"] for a in other.get("/api/v1/actions").json()] == ["Review night badges"]
    assert outsider.get(f"/api/v1/meetings/{mid}").status_code == 404
    assert outsider.post(f"/api/v1/meetings/{mid}/items",
                         json={"kind": "agenda", "text": "x"}).status_code == 404  # fmt: skip
    assert outsider.get("/api/v1/meetings").json() == []
    other.post(f"/api/v1/actions/{action.json()['id']}/done")
    assert other.get("/api/v1/actions").json() == []


def test_meetings_in_the_browser_forms(engine: Engine) -> None:
    import re

    _world(engine)
    web = _web(engine, "customs", "chair")
    page = web.get("/meetings")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and token is not None
    form = {"csrf": token.group(1), "title": "Port committee", "held_at": "2025-04-02T09:00",
            "members": "other", "tlp": "AMBER"}  # fmt: skip
    made = web.post("/meetings", data=form)
    assert made.status_code == 303
    where = made.headers["location"]
    item = {"csrf": token.group(1), "kind": "decision", "text": "Two badges at night."}
    assert web.post(f"{where}/items", data=item).status_code == 303
    shown = web.get(where).text
    assert "Two badges at night." in shown and "Other" in shown
    bad = web.post("/meetings", data={**form, "held_at": "soon"})
    assert bad.status_code == 422 and "When" in bad.text


def test_a_sibling_is_flagged_for_targeting_from_the_incident_page(engine: Engine) -> None:
    import re

    from cargowatch.cases.models import Case

    w = _world(engine)
    p = w["principal"]
    box2 = "MSKU9070323"
    # a second container of the same consignee: a sibling to check now
    for body in (manifest("BKG2", box2, "ML2"), ndjson(trip_events(booking="BKG2", box=box2,
                                                                   seal="ML2"))):  # fmt: skip
        ingest_bytes(principal=p, stream=io.BytesIO(body), source="x", engine=engine)  # type: ignore[arg-type]
    analyst = w["analyst"]
    assert isinstance(analyst, TestClient)
    analyst.post("/api/v1/incidents/sync")
    [incident] = analyst.get("/api/v1/incidents").json()
    web = _web(engine, "customs", "officer")
    page = web.get(f"/incidents/{incident['id']}")
    flag = re.search(r'action="(/incidents/\d+/siblings/(\d+)/flag)"', page.text)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert flag is not None and token is not None and f"containers={box2}" in page.text
    assert web.post(flag.group(1), data={"csrf": token.group(1)}).status_code == 303
    with unit_of_work(engine) as s:
        case = s.scalar(select(Case).where(Case.subject_type == "trip",
                                           Case.subject_id == int(flag.group(2))))  # fmt: skip
        assert case is not None and case.assignee_id is not None
    assert box2 in web.get("/work").text
    # where the sibling stands now: its case, on the page and in the analysis
    assert "case assigned (officer)" in web.get(f"/incidents/{incident['id']}").text
    [sib] = [x for x in analyst.get(f"/api/v1/incidents/{incident['id']}/analysis").json()
             ["siblings"] if x["container"] == box2]  # fmt: skip
    assert sib["case"] == "assigned" and "risk" in sib and sib["why"]
    form = web.get(f"/referrals/new?containers={box2}").text
    assert f">{box2}</textarea>" in form


def test_the_incident_commands(engine: Engine, tmp_path: object) -> None:
    import json
    from pathlib import Path

    import polars as pl
    from typer.testing import CliRunner

    from cargowatch.cli import app

    _world(engine)
    runner = CliRunner(env={"COLUMNS": "250"})  # tables as wide as they need

    def run(*args: str) -> str:
        result = runner.invoke(app, ["--as", "customs-user", *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "1 incidents recorded" in run("incidents", "sync")
    assert "0 incidents recorded" in run("incidents", "sync")
    assert BOX in run("incidents", "list")
    assert "RIP_ON_RIP_OFF" in run("incidents", "stats", "--by", "concealment")
    out = Path(str(tmp_path)) / "incidents.parquet"
    run("incidents", "stats", "--format", "parquet", "--out", str(out))
    assert pl.read_parquet(out)["container"].to_list() == [BOX]
    assert BOX in run("incidents", "stats", "--format", "csv")
    shown = run("incidents", "show", "1")
    assert "origin terminal" in shown and "E1" in shown
    data = json.loads(run("incidents", "show", "1", "--format", "json"))
    assert data["persons"][0]["person_id"] == "E1"
    ranked = json.loads(run("insiders", "--limit", "5", "--format", "json"))
    assert ranked[0]["person_id"] == "E1" and {"badge_id", "employer_party_id", "score",
                                               "reasons"} <= set(ranked[0])  # fmt: skip
    assert "E4" in run("incidents", "personnel")
    refused = runner.invoke(app, ["--as", "customs-viewer", "insiders"])
    assert refused.exit_code != 0


def test_a_badges_usual_rate_of_odd_days_is_read_outside_the_windows() -> None:
    """A serial insider's odd days all fall in seizure windows: read over all days they look
    like a badge that often breaks its pattern; read outside the windows, rarely. A badge with
    a short record outside the windows is drawn toward the rate of all badges."""
    from datetime import date
    from types import SimpleNamespace

    import polars as pl

    from cargowatch.incidents.analysis import PRIOR_DAYS, odd_day_rates

    start = datetime(2025, 1, 6, 8, tzinfo=UTC)
    rows: list[tuple[int, str, datetime, bool]] = []
    for n in range(60):  # sixty working days, each badge in at eight
        for badge in ("INSIDER", "OVERTIME", "NEW"):
            if badge != "NEW" or n >= 55:  # the new badge has five days
                rows.append((len(rows) + 1, badge, start + timedelta(days=n), False))
    crimes = [10, 20, 30, 40]  # the insider's nights, every one in a seizure window
    for n in crimes:
        rows.append((len(rows) + 1, "INSIDER", start + timedelta(days=n, hours=15), True))
    for n in range(0, 60, 6):  # a colleague on night overtime every sixth day, all period
        rows.append((len(rows) + 1, "OVERTIME", start + timedelta(days=n, hours=15), True))
    access = pl.DataFrame(
        [(i, b, "T1", ts) for i, b, ts, _ in rows],
        schema={"access_id": pl.Int64, "badge_id": pl.String, "facility": pl.String,
                "ts": pl.Datetime("us", "UTC")}, orient="row",
    )  # fmt: skip
    odd = pl.DataFrame(
        [(b, "T1", ts.date()) for _, b, ts, is_odd in rows if is_odd],
        schema={"badge_id": pl.String, "facility": pl.String, "day": pl.Date}, orient="row",
    )  # fmt: skip
    ctx = SimpleNamespace(access=access, cache={"odd_swipes": odd})
    windows = {"T1": {(start + timedelta(days=n + k)).date() for n in crimes for k in (-1, 0, 1)}}
    everything, outside = odd_day_rates(ctx), odd_day_rates(ctx, windows)
    usual_all = (4 + 10) / (60 + 60 + 5)  # odd days of all badges over their working days
    assert abs(everything["INSIDER"] - (4 + usual_all * PRIOR_DAYS) / (60 + PRIOR_DAYS)) < 1e-9
    assert outside["INSIDER"] < everything["INSIDER"] / 2  # its crimes no longer its habit
    assert outside["OVERTIME"] > outside["INSIDER"] * 2  # overtime is its habit, in or out
    # outside the windows (twelve days of the sixty): the colleague's overtime on nine days
    # (the one on 2025-02-05 falls in a window), over 48 + 48 + 5 working days
    assert date(2025, 2, 5) in windows["T1"]
    usual = 9 / (48 + 48 + 5)
    assert abs(outside["NEW"] - usual * PRIOR_DAYS / (5 + PRIOR_DAYS)) < 1e-9
