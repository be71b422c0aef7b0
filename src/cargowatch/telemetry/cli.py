"""Command: listen (live smart-container telemetry over MQTT)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console, err_console


def listen(
    mqtt: Annotated[str, typer.Option("--mqtt", help="Broker, e.g. mqtt://127.0.0.1:1883.")],
    topic: Annotated[str, typer.Option(help="Topic filter to subscribe to.")] = (
        "cargowatch/telemetry/#"
    ),
    client_id: Annotated[
        str, typer.Option(help="MQTT client id; keep it stable so the broker keeps the session.")
    ] = "",
    batch_size: Annotated[int, typer.Option(help="Messages written per batch at most.")] = 1000,
    flush_ms: Annotated[int, typer.Option(help="Longest wait before a batch is written.")] = 200,
    username: Annotated[str, typer.Option(help="MQTT user name (or in the URL).")] = "",
    password_file: Annotated[
        str, typer.Option(help="A file holding the MQTT password (else CARGOWATCH_MQTT_PASSWORD).")
    ] = "",
    ca_file: Annotated[str, typer.Option(help="CA certificates for mqtts:// (PEM).")] = "",
    cert_file: Annotated[str, typer.Option(help="Client certificate for mqtts:// (PEM).")] = "",
    key_file: Annotated[str, typer.Option(help="Client certificate's key (PEM).")] = "",
    jobs: Annotated[
        bool, typer.Option("--jobs/--no-jobs", help="Rebuild custody of live containers here.")
    ] = True,
) -> None:
    """Store smart-container telemetry published over MQTT until SIGTERM or Ctrl-C."""
    from cargowatch.db.engine import get_engine
    from cargowatch.telemetry.listener import Listener, Stats

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    principal = cli_principal()
    password = (
        Path(password_file).read_text().strip()
        if password_file
        else os.environ.get("CARGOWATCH_MQTT_PASSWORD") or None
    )
    listener = Listener(
        mqtt, principal=principal, engine=get_engine(), topic=topic,
        client_id=client_id or None, batch_size=batch_size, flush_ms=flush_ms,
        username=username or None, password=password, ca_file=ca_file or None,
        cert_file=cert_file or None, key_file=key_file or None, run_jobs=jobs,
    )  # fmt: skip
    last = [0.0]

    def report(stats: Stats) -> None:
        now = time.monotonic()
        if now - last[0] >= 5:
            last[0] = now
            rate = stats.received / max(now - stats.started, 1e-9)
            err_console.print(
                f"received {stats.received}, stored {stats.stored}, duplicates "
                f"{stats.duplicates}, quarantined {stats.quarantined} ({rate:,.0f}/s)"
            )

    stats = listener.run(on_batch=report)
    console.print(
        f"listener stopped: received {stats.received}, stored {stats.stored}, duplicates "
        f"{stats.duplicates}, quarantined {stats.quarantined}"
    )


def register(app: typer.Typer) -> None:
    """Add the listen command to the root command."""
    app.command("listen")(listen)
