"""Command: events (a container's or a booking's events)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console


def events(
    container: Annotated[str, typer.Option("--container", "-c", help="Container number.")] = "",
    booking: Annotated[str, typer.Option(help="Booking reference.")] = "",
    limit: Annotated[int, typer.Option(help="How many at most.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """The events of a container or a booking you may see, oldest first."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.events.schemas import EventRead
    from cargowatch.events.service import list_events
    from cargowatch.exceptions import InvalidInput

    if not container and not booking:
        raise InvalidInput("give --container or --booking")
    principal = cli_principal()
    with unit_of_work() as session:
        found = list_events(
            session, principal=principal, container=container or None,
            booking_ref=booking or None, limit=limit,
        )  # fmt: skip
        shaped = [EventRead.of(e) for e in found]
    if as_json:
        for item in shaped:
            print(json.dumps(item.model_dump(mode="json")))
        return
    table = Table(title=f"{container or booking}: events, times in UTC")
    table.add_column("time", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("container", no_wrap=True)
    for name in ("place", "seals", "booking", "vessel/voyage", "notes"):
        table.add_column(name)
    for ev in shaped:
        notes = []
        if ev.retracted:
            notes.append("RETRACTED")
        if ev.warnings:
            notes.append(ev.warnings)
        place = " ".join(x for x in (ev.unlocode, ev.facility_code) if x)
        vessel = "/".join(x for x in (ev.vessel_name, ev.voyage) if x)
        kind = f"{ev.event_code or ev.event_type}" + (
            f" ({ev.classifier})" if ev.classifier and ev.classifier != "ACT" else ""
        )
        table.add_row(
            f"{ev.event_time:%Y-%m-%d %H:%M}" if ev.event_time else "", kind,
            ev.container or "", place,
            ", ".join(s.number for s in ev.seals), ev.booking_ref or "", vessel, "; ".join(notes),
            style="dim strike" if ev.retracted else None,
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(shaped)} events")


def register(app: typer.Typer) -> None:
    """Add the events command to the root command."""
    app.command("events")(events)
