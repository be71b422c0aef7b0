"""The demo: a simulated quarter of a few ports, a carrier and a customs service, ingest, a look."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from cargowatch.console import console, err_console, local_admin, state

DEMO_PASSWORD = "cargowatch-demo"  # the demo's sign-in, printed at its end; a demo store only


def _ensure_org_and_user(slug: str, name: str, kind: str, username: str, role: str) -> None:
    from cargowatch.auth.models import User
    from cargowatch.auth.service import create_user
    from cargowatch.db.engine import unit_of_work
    from cargowatch.orgs.models import Organisation
    from cargowatch.orgs.service import create_org

    with unit_of_work() as s:
        if s.scalar(select(Organisation).where(Organisation.slug == slug)) is None:
            create_org(s, actor=local_admin(), slug=slug, name=name, kind=kind)
        if s.scalar(select(User).where(User.username == username)) is None:
            create_user(
                s,
                actor=local_admin(),
                org_slug=slug,
                username=username,
                role=role,
                password=DEMO_PASSWORD,
            )


def _first(truth: dict[str, Any], mo: str) -> dict[str, Any] | None:
    return next((s for s in truth["scenarios"] if s["mo"] == mo), None)


def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where to write the demo inputs.")] = Path(
        "var/demo/input"
    ),
    trips: Annotated[int, typer.Option(help="How many container trips to simulate.")] = 1_500,
) -> None:
    """Simulate a quarter of a few ports, ingest it as a carrier, share with customs, and look."""
    from cargowatch.auth.service import principal_for_username
    from cargowatch.config import get_settings
    from cargowatch.custody.cli import timeline
    from cargowatch.db.engine import unit_of_work
    from cargowatch.ingest.cli import ingest
    from cargowatch.registers.cli import registers, telemetry
    from cargowatch.samples import SAMPLES
    from cargowatch.sharing.service import grant
    from cargowatch.simulate.cli import simulate

    _ensure_org_and_user(
        "demo-carrier", "Demo Ocean Carrier", "CARRIER", "carrier-analyst", "analyst"
    )
    _ensure_org_and_user(
        "demo-customs", "Demo Customs Service", "CUSTOMS", "customs-officer", "analyst"
    )
    _ensure_org_and_user(
        "demo-customs", "Demo Customs Service", "CUSTOMS", "customs-chief", "admin"
    )
    world = folder / "world"
    if world.exists():
        shutil.rmtree(world)
    simulate(
        out=world,
        trips=trips,
        seed=2025,
        start="2025-01-01",
        days=90,  # long enough for inspections and their outcomes in the first two months
        origins="ECGYE,ECPSJ,COCTG",
        destinations="BEANR,NLRTM,DEHAM",
        scenario_rate=0.01,
        mix="",
        trace_rate=0.75,
        smart_share=0.2,
        inspection_rate=0.02,
        outcome_share=0.6,
        malformed_rate=0.0005,
    )
    extra = folder / "samples"
    extra.mkdir(parents=True, exist_ok=True)
    for name in (
        "tnt-220-response.json",
        "tnt-300-response.json",
        "D95BCOARRI.edi",
        "eblissuance-v3.0.0-request.json",
    ):
        shutil.copyfile(SAMPLES / name, extra / name)
    (extra / "broken-feed.ndjson").write_text(
        '{"eventID": "x1", "eventType": "EQUIPMENT", "eventClassifierCode": "ACT",'
        ' "eventCreatedDateTime": "2025-03-01T04:10:00Z", "eventDateTime": "01/03/2025",'
        ' "equipmentEventTypeCode": "GTIN", "emptyIndicatorCode": "LADEN",'
        ' "equipmentReference": "MSKU9070323"}\n'
    )
    err_console.print(f"[bold]ingesting[/] {folder} as carrier-analyst (demo-carrier)")
    state.acting_as = "carrier-analyst"
    try:
        ingest([world / "data", extra])
    except Exception as exc:  # the demo goes on to show what happened
        err_console.print(f"[red]{exc}[/]")

    truth = json.loads((world / "truth.json").read_text())
    rip = _first(truth, "rip_on_rip_off") or truth["scenarios"][0]
    fraud = _first(truth, "release_fraud")
    with unit_of_work() as s:
        carrier = principal_for_username(s, "carrier-analyst")
        grant(
            s,
            principal=carrier,
            grantee_slug="demo-customs",
            scope="container",
            value=rip["container"],
        )
    with unit_of_work() as s:  # the partnership: the carrier shares its events with customs
        grant(s, principal=carrier, grantee_slug="demo-customs", scope="all-events")
    console.rule(f"planted {rip['mo']} on {rip['container']}: the custody customs sees")
    console.print(f"traces left: {', '.join(rip['traces'])}")
    state.acting_as = "customs-officer"
    timeline(container=rip["container"], trip=None)
    state.acting_as = "carrier-analyst"
    smart = next((s for s in truth["scenarios"] if any("door" in t for t in s["traces"])), None)
    if smart is not None:
        console.rule(f"{smart['container']} ({smart['mo']}): smart-container readings")
        telemetry(container=smart["container"], limit=60)
    if fraud is not None:
        console.rule(f"{fraud['container']} ({fraud['mo']}): the release log")
        registers("releases", where=[f"container={fraud['container']}"], limit=10, as_json=False)

    console.rule("the targeting queue: the first of the 2 % of trips to inspect, with why")
    from cargowatch.risk.cli import Format
    from cargowatch.risk.cli import targets as queue

    queue(
        budget=0.02,
        limit=8,
        port="",
        min_score=None,
        include_inspected=False,
        fmt=Format.table,
        explore=None,
    )
    planted = {s["trip_key"] for s in truth["scenarios"]}
    with unit_of_work() as s:
        from cargowatch.risk.service import targets as ranked

        top = ranked(s, principal=carrier, budget=0.02, explore=0)
        keys = {t.trip_id: f"{t.container}/{t.booking_ref or '-'}" for t in top}
    found = sum(1 for k in keys.values() if k in planted)
    console.print(
        f"{found} of the {len(keys)} trips in the top 2 % of the ranking carry a planted crime "
        f"({len(planted)} were planted in {truth['trips']:,} trips, each trace with honest "
        "twins); 10 % of the daily queue is picked to explore (marked so)."
    )

    _referrals(world)

    console.rule("where to look")
    console.print(f"store:        {get_settings().database_url}")
    console.print(f"ground truth: {world / 'truth.json'} ({len(truth['scenarios'])} scenarios)")
    console.print("try:")
    for line in (
        f"cargowatch --as carrier-analyst timeline {rip['container']}",
        "cargowatch --as carrier-analyst alerts --min-severity 4",
        "cargowatch --as carrier-analyst quarantine list",
        "cargowatch --as carrier-analyst registers access --where badge_id="
        + next((t.split(":")[2] for t in rip["traces"] if t.startswith("insider")), "B000001"),
        "cargowatch --as carrier-analyst runs",
        "cargowatch --as carrier-analyst targets --budget 0.05 --format json",
        "cargowatch --as carrier-analyst explain TRIP_ID",
        f"cargowatch backtest {world}   # how well targeting does on this world",
        "cargowatch tokens create customs-officer   # then: cargowatch serve, open /docs",
    ):
        console.print(f"  {line}")
    console.rule("the web interface")
    console.print(
        "cargowatch serve, then open http://127.0.0.1:8000 and sign in as "
        f"[bold]customs-officer[/] (or carrier-analyst) with the password [bold]{DEMO_PASSWORD}[/]"
    )


def _referrals(world: Path) -> None:
    """Points of contact for the demo's ports, the simulated world's referrals from the
    carrier, and one referral followed: escalated, acknowledged, in the queue, answered."""
    from datetime import UTC, datetime, timedelta

    from cargowatch.auth.service import principal_for_username
    from cargowatch.db.engine import get_engine, unit_of_work
    from cargowatch.jobs.runner import run_pending
    from cargowatch.referrals import attachments, flows, service, thread
    from cargowatch.referrals.cli import send

    console.rule("industry referrals to Customs points of contact")
    with unit_of_work() as s:
        chief = principal_for_username(s, "customs-chief")
        for name, covers, tz in (("Antwerp port", ["BEANR", "BE"], "Europe/Brussels"),
                                 ("Rotterdam port", ["NLRTM", "NL"], "Europe/Amsterdam"),
                                 ("Hamburg port", ["DEHAM", "DE"], "Europe/Berlin")):  # fmt: skip
            # no mail server in the demo: escalations reach the admins in the application
            service.declare_spoc(s, principal=chief, name=name, jurisdiction=covers, timezone=tz)
    state.acting_as = "carrier-analyst"
    with contextlib.suppress(typer.Exit):  # the refused lines were reported
        send(world / "referrals.ndjson")
    engine = get_engine()
    with unit_of_work() as s:
        officer = principal_for_username(s, "customs-officer")
        inbox = service.inbox(s, principal=officer, limit=500)
    if not inbox:
        return
    copy, first = next(((c, r) for c, r in inbox if r.urgency == "urgent"), inbox[0])
    later = max(copy.due_at, datetime.now(UTC)) + timedelta(minutes=1)
    escalated = flows.escalate_due(engine, now=later)
    flows.move(principal=officer, referral_id=first.id, state="acknowledged",
               note="Seen by the duty officer.", now=later + timedelta(minutes=10))  # fmt: skip
    with unit_of_work() as s:  # a question to the carrier, its answer and a photo
        carrier = principal_for_username(s, "carrier-analyst")
        thread.post(s, principal=officer, referral_id=first.id,
                    text="Which gate was it, and was the seal still on the door?")  # fmt: skip
        thread.post(s, principal=carrier, referral_id=first.id, customs_org_id=copy.customs_org_id,
                    text="Gate 4 at 09:12; the seal was on, the right-hand door ajar.")  # fmt: skip
        attachments.attach(s, principal=carrier, referral_id=first.id, name="gate-4.png",
                           data=_photo())  # fmt: skip
    flows.move(principal=officer, referral_id=first.id, state="actioned",
               note="Targeted for a scan at discharge.")  # fmt: skip
    run_pending(engine)  # the containers' trips rescored with the referral as a finding
    flows.give_feedback(principal=officer, referral_id=first.id, level="action-taken",
                        text="Thank you: the container was examined.")  # fmt: skip
    released = flows.release_due(engine)
    console.print(
        f"{len(inbox)} referrals reached the Customs inbox; referral {first.id} "
        f"({first.category}, {first.urgency}, {first.containers}) was not acknowledged in time "
        f"({escalated} escalated to the Customs admins), then acknowledged, asked about (the "
        f"carrier answered with a photo), actioned, and answered ({released} feedback "
        "released). Sign in as customs-officer and open Referrals."
    )


def _photo() -> bytes:
    """A small picture standing for a photo taken at the gate."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), (70, 90, 110))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 30, 280, 180), outline=(200, 200, 200), width=4)  # the doors
    draw.line((160, 30, 160, 180), fill=(200, 200, 200), width=3)
    draw.text((60, 90), "gate 4 - door ajar", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def register(app: typer.Typer) -> None:
    """Add the demo command to the root command."""
    app.command("demo")(demo)
