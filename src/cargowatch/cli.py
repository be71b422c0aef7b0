"""The cargowatch command: one root, each domain's commands added to it."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cargowatch import __version__
from cargowatch.exceptions import CargowatchError

console = Console()
err_console = Console(stderr=True)


def progress_bar(label: str) -> Progress:
    """A transient progress bar on stderr: label, bar, done of total, time left."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


app = typer.Typer(
    name="cargowatch",
    help="Chain of custody and risk targeting for maritime containers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class CliState:
    """Options given on the root command."""

    acting_as: str = ""


state = CliState()


def local_admin() -> str:
    """How the audit log names the operator of a local administration command."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"cli:{who}"


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


def _register() -> None:
    from cargowatch.admin_cli import register as register_admin
    from cargowatch.custody.cli import register as register_custody
    from cargowatch.demo import register as register_demo
    from cargowatch.events.cli import register as register_events
    from cargowatch.ingest.cli import register as register_ingest
    from cargowatch.registers.cli import register as register_registers
    from cargowatch.risk.cli import register as register_risk
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


_register()


def main() -> None:
    """Entry point: runs the app and maps cargowatch errors to messages and exit codes."""
    try:
        app()
    except CargowatchError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}")
        sys.exit(exc.exit_code)
