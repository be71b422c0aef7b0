"""Commands: ingest, runs, quarantine list|show|fix|replay|discard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console, err_console
from cargowatch.ingest.service import Counts

quarantine_app = typer.Typer(
    help="Records that could not be stored: list, show, fix, replay.", no_args_is_help=True
)
PROGRESS_FROM_BYTES = 4 * 1024 * 1024


def print_counts(counts: Counts, run_id: int, status: str) -> None:
    """The closing lines of an ingest: counts and notes."""
    for note in counts.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    console.print(
        f"run {run_id} {status}: read {counts.read}, stored {counts.stored}, "
        f"duplicates {counts.duplicates}, quarantined {counts.quarantined}, "
        f"retracted {counts.retracted}, warnings {counts.warnings}"
    )
    if counts.quarantined:
        console.print(f"see them with: cargowatch quarantine list --run {run_id}")


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to read.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="Force a format (default: detect from content).")
    ] = "",
    no_custody: Annotated[
        bool,
        typer.Option(
            "--no-custody",
            help="Do not rebuild the trips of the containers touched "
            "(for a bulk load: run 'cargowatch custody rebuild' after it).",
        ),
    ] = False,
) -> None:
    """Read event files into the store; bad records go to quarantine, the rest carry on."""
    from cargowatch.ingest.flows import ingest_paths

    principal = cli_principal()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:

        def on_file(path: Path, size: int) -> Callable[[int], None] | None:
            if size < PROGRESS_FROM_BYTES:
                return None
            task = bar.add_task(path.name, total=size)
            return lambda n: bar.advance(task, n)

        run, counts = ingest_paths(
            principal=principal, paths=[p.expanduser() for p in paths], fmt=format or None,
            on_file=on_file, update_custody=not no_custody,
        )  # fmt: skip
    print_counts(counts, run.id, run.status)


def runs(limit: Annotated[int, typer.Option(help="How many.")] = 20) -> None:
    """Your organisation's newest ingest runs."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.ingest.service import list_runs

    principal = cli_principal()
    table = Table("run", "started", "status", "read", "stored", "dup", "quar.", "retr.", "source")
    with unit_of_work() as session:
        for r in list_runs(session, principal=principal, limit=limit):
            table.add_row(
                str(r.id), f"{r.started_at:%Y-%m-%d %H:%M}", r.status, str(r.read), str(r.stored),
                str(r.duplicates), str(r.quarantined), str(r.retracted), r.source[:60],
            )  # fmt: skip
    console.print(table)


@quarantine_app.command("list")
def quarantine_list(
    run: Annotated[int | None, typer.Option(help="Only records of this run.")] = None,
    status: Annotated[str, typer.Option(help="open, replayed, discarded or all.")] = "open",
    limit: Annotated[int, typer.Option(help="How many.")] = 50,
) -> None:
    """List quarantined records with where they came from and why."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.ingest.service import list_quarantine

    principal = cli_principal()
    with unit_of_work() as session:
        items, total = list_quarantine(
            session, principal=principal, status=None if status == "all" else status,
            run_id=run, limit=limit,
        )  # fmt: skip
        table = Table("id", "run", "source", "where", "field", "reason", "status")
        for q in items:
            table.add_row(
                str(q.id), str(q.run_id or ""), Path(q.source).name, q.location, q.field,
                q.reason, q.status,
            )  # fmt: skip
    console.print(table)
    console.print(f"{len(items)} of {total} shown")


@quarantine_app.command("show")
def quarantine_show(record_id: Annotated[int, typer.Argument(help="Record id.")]) -> None:
    """Show one quarantined record with its raw content."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.ingest.service import get_quarantined

    principal = cli_principal()
    with unit_of_work() as session:
        q = get_quarantined(session, principal=principal, record_id=record_id)
        console.print(f"[bold]record {q.id}[/] ({q.status}), run {q.run_id}, format {q.format}")
        console.print(f"source: {q.source}, {q.location}")
        console.print(f"field:  {q.field or '-'}")
        console.print(f"reason: {q.reason}")
        console.print("raw:")
        console.print(q.raw, markup=False, highlight=False)


@quarantine_app.command("fix")
def quarantine_fix(
    record_id: Annotated[int, typer.Argument(help="Record id.")],
    file: Annotated[Path, typer.Option("--file", help="File with the corrected record.")],
) -> None:
    """Replace a quarantined record with a corrected version, then replay it."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.ingest.flows import replay_quarantine
    from cargowatch.ingest.service import fix_quarantined

    principal = cli_principal()
    with unit_of_work() as session:
        fix_quarantined(session, principal=principal, record_id=record_id, raw=file.read_bytes())
    run, counts = replay_quarantine(principal=principal, ids=[record_id])
    print_counts(counts, run.id, run.status)


@quarantine_app.command("replay")
def quarantine_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Record ids (default: none).")] = None,
    all_open: Annotated[bool, typer.Option("--all", help="Replay every open record.")] = False,
) -> None:
    """Try quarantined records again (after a fix or a newer cargowatch)."""
    from cargowatch.exceptions import InvalidInput
    from cargowatch.ingest.flows import replay_quarantine

    if not ids and not all_open:
        raise InvalidInput("give record ids or --all")
    principal = cli_principal()
    run, counts = replay_quarantine(principal=principal, ids=None if all_open else list(ids or []))
    print_counts(counts, run.id, run.status)


@quarantine_app.command("discard")
def quarantine_discard(record_id: Annotated[int, typer.Argument(help="Record id.")]) -> None:
    """Mark a quarantined record as not to be stored (it is kept, and the act audited)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.ingest.service import discard_quarantined

    principal = cli_principal()
    with unit_of_work() as session:
        discard_quarantined(session, principal=principal, record_id=record_id)
    console.print(f"record {record_id} discarded")


feed_app = typer.Typer(help="The live event feed over NATS JetStream.", no_args_is_help=True)


@feed_app.command("publish")
def feed_publish(
    file: Annotated[Path, typer.Argument(help="DCSA events: NDJSON, or a JSON array.")],
    url: Annotated[str, typer.Option(help="The NATS server.")] = "nats://127.0.0.1:4222",
) -> None:
    """Publish your organisation's events on the live feed, partitioned by container (what a
    partner's system does; workers started with `cargowatch worker --feed` take them in)."""
    import asyncio
    import json

    from cargowatch.exceptions import InvalidInput
    from cargowatch.ingest.feed import publish

    principal = cli_principal()
    text = file.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            events = json.loads(text)
        else:
            events = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise InvalidInput(f"{file}: {exc}") from None
    sent = asyncio.run(publish(url, principal.org_slug, events))
    console.print(f"{sent} events published for {principal.org_slug}")


def register(app: typer.Typer) -> None:
    """Add the ingest commands to the root command."""
    app.command("ingest")(ingest)
    app.add_typer(feed_app, name="feed")
    app.command("runs")(runs)
    app.add_typer(quarantine_app, name="quarantine")
