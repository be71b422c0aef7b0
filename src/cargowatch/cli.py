"""The cargowatch command: one root, each domain's commands added to it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cargowatch import __version__
from cargowatch.console import console, err_console, local_admin, progress_bar, state
from cargowatch.exceptions import CargowatchError

app = typer.Typer(
    name="cargowatch",
    help="Chain of custody and risk targeting for maritime containers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version_callback(value: bool) -> None:
    """Print the version and stop."""
    if value:
        console.print(f"cargowatch {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    acting_as: Annotated[
        str,
        typer.Option(
            "--as", help="Act as this user (default: CARGOWATCH_USER).", envvar="CARGOWATCH_USER"
        ),
    ] = "",
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Version.")
    ] = False,
) -> None:
    """cargowatch: gather custody events, rebuild each container's chain of custody, rank risk."""
    state.acting_as = acting_as


__all__ = ["app", "console", "err_console", "local_admin", "main", "progress_bar", "state"]


def _register() -> None:
    from cargowatch.admin_cli import register as register_admin
    from cargowatch.bulletins.cli import register as register_bulletins
    from cargowatch.custody.cli import register as register_custody
    from cargowatch.demo import register as register_demo
    from cargowatch.events.cli import register as register_events
    from cargowatch.incidents.cli import register as register_incidents
    from cargowatch.ingest.cli import register as register_ingest
    from cargowatch.referrals.cli import register as register_referrals
    from cargowatch.registers.cli import register as register_registers
    from cargowatch.risk.cli import register as register_risk
    from cargowatch.sharing.cli import register as register_agreements
    from cargowatch.simulate.cli import register as register_simulate
    from cargowatch.telemetry.cli import register as register_telemetry

    register_admin(app)
    register_ingest(app)
    register_events(app)
    register_demo(app)
    register_telemetry(app)
    register_registers(app)
    register_simulate(app)
    register_custody(app)
    register_risk(app)
    register_referrals(app)
    register_incidents(app)
    register_bulletins(app)
    register_agreements(app)


_register()


def main() -> None:
    """Entry point: runs the app and maps cargowatch errors to messages and exit codes."""
    try:
        app()
    except CargowatchError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}")
        sys.exit(exc.exit_code)
