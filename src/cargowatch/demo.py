"""The demo: a carrier and a customs organisation, a generated carrier feed, ingest, a look."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from cargowatch.cli import console, err_console, local_admin


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
            create_user(s, actor=local_admin(), org_slug=slug, username=username, role=role)


def _registers_and_telemetry(folder: Path, first_event: bytes) -> None:
    """A small manifest, party register and device log around the feed's first container."""
    import json

    event = json.loads(first_event)
    box, booking = (
        event["equipmentReference"],
        event["documentReferences"][0]["documentReferenceValue"],
    )
    seal = event["seals"][0]["sealNumber"]
    (folder / "parties.csv").write_text(
        "party_id,name,role,country,registered_on,aeo_certified,address\n"
        "P-EXP1,Bananera del Pacifico SA,SHIPPER,EC,2011-04-02,true,Guayaquil\n"
        "P-IMP1,Fresh Fruit Import BV,CONSIGNEE,NL,2025-01-15,false,Rotterdam\n"
    )
    (folder / "manifest.csv").write_text(
        "booking_ref,bl_number,container,iso_type,shipper_id,consignee_id,notify_id,"
        "forwarder_id,carrier_code,commodity_hs,commodity_desc,gross_kg,place_of_receipt,pol,"
        "pod,place_of_delivery,transshipment_ports,vessel_imo,voyage,declared_seals,booked_at\n"
        f"{booking},BL-{booking},{box},45R1,P-EXP1,P-IMP9,,,MSCU,080390,Bananas,21500,ECGYE,"
        f"ECGYE,NLRTM,NLRTM,PAMIT,9321483,031W,{seal},2025-02-20T10:00:00-05:00\n"
    )
    (folder / "devices.ndjson").write_text(
        "".join(
            json.dumps(
                {
                    "device_id": "TRX-00042",
                    "container": box,
                    "ts": f"2025-03-0{day}T0{hour}:10:00Z",
                    "latitude": -2.2866,
                    "longitude": -79.905,
                    "door": door,
                    "light_lux": lux,
                    "eseal": {"seal_id": "ES-77123", "status": status},
                }
            )
            + "\n"
            for day, hour, door, lux, status in (
                (5, 1, "CLOSED", 0.0, "SEALED"),
                (5, 3, "OPEN", 312.0, "OPENED"),
            )
        )
    )


def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where to write the demo inputs.")] = Path(
        "var/demo/input"
    ),
    events: Annotated[int, typer.Option(help="How many carrier events to generate.")] = 60_000,
) -> None:
    """Set up a demo carrier and customs service, ingest a generated feed, show the result."""
    from cargowatch.auth.service import principal_for_username
    from cargowatch.config import get_settings
    from cargowatch.db.engine import unit_of_work
    from cargowatch.events.cli import events as show_events
    from cargowatch.ingest.cli import ingest
    from cargowatch.ingest.samples import equipment_events
    from cargowatch.samples import SAMPLES
    from cargowatch.sharing.service import grant

    _ensure_org_and_user("demo-carrier", "Demo Ocean Carrier", "CARRIER", "carrier-analyst",
                         "analyst")  # fmt: skip
    _ensure_org_and_user("demo-customs", "Demo Customs Service", "CUSTOMS", "customs-officer",
                         "analyst")  # fmt: skip

    folder.mkdir(parents=True, exist_ok=True)
    feed = folder / "carrier-feed.ndjson"
    with feed.open("wb") as f:
        f.writelines(equipment_events(events, seed=2025))
    for name in ("tnt-220-response.json", "tnt-300-response.json", "D95BCOARRI.edi",
                 "eblissuance-v3.0.0-request.json"):  # fmt: skip
        shutil.copyfile(SAMPLES / name, folder / name)
    _registers_and_telemetry(folder, next(equipment_events(1, seed=2025)))
    (folder / "broken-feed.ndjson").write_text(
        '{"eventID": "x1", "eventType": "EQUIPMENT", "eventClassifierCode": "ACT",'
        ' "eventCreatedDateTime": "2025-03-01T04:10:00Z", "eventDateTime": "01/03/2025",'
        ' "equipmentEventTypeCode": "GTIN", "emptyIndicatorCode": "LADEN",'
        ' "equipmentReference": "MSKU9070323"}\n'
    )
    err_console.print(f"[bold]ingesting[/] {folder} as carrier-analyst (demo-carrier)")
    from cargowatch.cli import state

    state.acting_as = "carrier-analyst"
    try:
        ingest([folder])
    except Exception as exc:  # the demo goes on to show what happened
        err_console.print(f"[red]{exc}[/]")
    first_box = next(equipment_events(1, seed=2025)).split(b'"equipmentReference":"')[1][:11]
    container = first_box.decode()
    with unit_of_work() as s:
        carrier = principal_for_username(s, "carrier-analyst")
        grant(s, principal=carrier, grantee_slug="demo-customs", scope="container",
              value=container)  # fmt: skip
    console.rule(f"container {container}, as the customs officer it was shared with")
    state.acting_as = "customs-officer"
    show_events(container=container, booking="", limit=50, as_json=False)
    state.acting_as = "carrier-analyst"
    console.rule(f"container {container}: smart-container readings (carrier)")
    from cargowatch.registers.cli import registers, telemetry

    telemetry(container=container, limit=20)
    console.rule("the manifest, with its unknown references flagged (carrier)")
    registers("manifest", where=None, limit=5, as_json=False)

    store = get_settings().database_url
    console.rule("where to look")
    console.print(f"store: {store}")
    console.print("try:")
    for line in (
        f"cargowatch --as carrier-analyst events --container {container}",
        "cargowatch --as carrier-analyst quarantine list",
        "cargowatch --as carrier-analyst events --container CBHU6192031   # from the COARRI",
        "cargowatch --as carrier-analyst documents --container NARU3472484",
        "cargowatch --as carrier-analyst runs",
        "cargowatch tokens create customs-officer   # then: cargowatch serve, open /docs",
    ):
        console.print(f"  {line}")


def register(app: typer.Typer) -> None:
    """Add the demo command to the root command."""
    app.command("demo")(demo)
