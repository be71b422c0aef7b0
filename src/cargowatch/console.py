"""What every command-line face shares: the consoles, the progress bar, the root command's
options and how the audit log names the local operator. A leaf module: the domain CLIs import
it, never the root command that imports them."""

from __future__ import annotations

import getpass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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
