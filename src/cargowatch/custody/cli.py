"""Commands: timeline, alerts, custody rebuild."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console
from cargowatch.exceptions import NotFound

custody_app = typer.Typer(help="Trips and their chain of custody.", no_args_is_help=True)
SEVERITY = {1: "note", 2: "low", 3: "medium", 4: "high", 5: "critical"}
STYLE = {1: "dim", 2: "white", 3: "yellow", 4: "bold red", 5: "bold white on red"}


def timeline(
    container: Annotated[str, typer.Argument(help="Container number.")],
    trip: Annotated[
        int | None, typer.Option("--trip", help="Trip id (default: every trip).")
    ] = None,
) -> None:
    """Who had the container, where, when and under which seals, trip by trip, with alerts."""
    from cargowatch.custody.service import trip_alerts, trip_timeline, trips_of_container
    from cargowatch.db.engine import unit_of_work

    principal = cli_principal()
    with unit_of_work() as session:
        trips = trips_of_container(session, principal=principal, container=container)
        if trip is not None:
            trips = [t for t in trips if t.id == trip]
        if not trips:
            raise NotFound(
                f"no trip of {container} you may see (run 'cargowatch custody rebuild'?)"
            )
        for t in trips:
            route = " > ".join(x for x in (t.origin, t.destination) if x)
            console.rule(
                f"trip {t.id}: {t.trip_key}  {route}  "
                f"{t.started_at:%Y-%m-%d} .. {t.ended_at:%Y-%m-%d}"
            )
            table = Table("from (UTC)", "until", "custodian", "place", "seals")
            for iv in trip_timeline(session, principal=principal, trip_id=t.id):
                table.add_row(
                    f"{iv['from']:%Y-%m-%d %H:%M}",
                    f"{iv['until']:%Y-%m-%d %H:%M}" if iv["until"] else "",
                    iv["custodian"],
                    iv["place"] or "",
                    ", ".join(iv["seals"]),
                )
            console.print(table)
            found = trip_alerts(session, principal=principal, trip_id=t.id)
            for a in found:
                when = f"{a.at:%Y-%m-%d %H:%M}" if a.at else ""
                console.print(
                    f"[{STYLE[a.severity]}]{SEVERITY[a.severity]:>8}[/] {when}  "
                    f"{a.type}: {a.explanation}",
                    highlight=False,
                )
            if not found:
                console.print("no alerts")


def alerts(
    type: Annotated[str, typer.Option("--type", help="Only this kind (e.g. seal-changed).")] = "",
    min_severity: Annotated[int, typer.Option(help="1 note .. 5 critical.")] = 3,
    limit: Annotated[int, typer.Option(help="How many at most.")] = 50,
) -> None:
    """Your organisation's newest custody alerts."""
    from cargowatch.custody.service import alerts as list_alerts
    from cargowatch.db.engine import unit_of_work

    principal = cli_principal()
    table = Table("when (UTC)", "severity", "trip", "alert", "explanation")
    with unit_of_work() as session:
        for a, t in list_alerts(
            session, principal=principal, type=type or None, min_severity=min_severity, limit=limit
        ):
            table.add_row(
                f"{a.at:%Y-%m-%d %H:%M}" if a.at else "",
                SEVERITY[a.severity],
                t.trip_key,
                a.type,
                a.explanation,
            )
    console.print(table)


@custody_app.command("rebuild")
def rebuild() -> None:
    """Rebuild every trip and alert of your organisation from what is stored."""
    from cargowatch.console import progress_bar
    from cargowatch.custody.flows import rebuild as run

    principal = cli_principal()
    with progress_bar("rebuilding custody: containers") as bar:
        task = bar.add_task("containers", total=None)
        trips, found = run(
            principal=principal,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(f"{trips:,} trips, {found:,} alerts")


def register(app: typer.Typer) -> None:
    """Add the custody commands to the root command."""
    app.command("timeline")(timeline)
    app.command("alerts")(alerts)
    app.add_typer(custody_app, name="custody")
