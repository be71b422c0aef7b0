"""Command: simulate (a world with planted scenarios and its ground truth)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cargowatch.console import console, progress_bar
from cargowatch.exceptions import InvalidInput


def _codes(text: str) -> tuple[str, ...] | None:
    codes = tuple(c.strip().upper() for c in text.split(",") if c.strip())
    return codes or None


def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (data/ and truth.json).")],
    trips: Annotated[int, typer.Option(help="How many container trips.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same world.")] = 1,
    start: Annotated[str, typer.Option(help="First day of the period (YYYY-MM-DD).")] = (
        "2025-01-01"
    ),
    days: Annotated[int, typer.Option(help="Length of the period in days.")] = 90,
    origins: Annotated[
        str, typer.Option(help="Origin ports (UN/LOCODEs, comma separated; default: all known).")
    ] = "",
    destinations: Annotated[str, typer.Option(help="Destination ports (default: all known).")] = "",
    scenario_rate: Annotated[float, typer.Option(help="Share of trips with a planted crime.")] = (
        0.01
    ),
    campaign_share: Annotated[
        float,
        typer.Option(help="Share of crimes that open a campaign: one or two more boxes follow."),
    ] = 0.3,
    mix: Annotated[
        str,
        typer.Option(
            help="Modus operandi weights, e.g. "
            "'rip_on_rip_off=3,release_fraud=1' (default: public "
            "figures)."
        ),
    ] = "",
    trace_rate: Annotated[float, typer.Option(help="Chance that each optional trace is left.")] = (
        0.75
    ),
    smart_share: Annotated[float, typer.Option(help="Share of containers with a device.")] = 0.2,
    inspection_rate: Annotated[
        float, typer.Option(help="Share of trips inspected (early period).")
    ] = 0.02,
    outcome_share: Annotated[
        float, typer.Option(help="Share of the period with inspection outcomes.")
    ] = 0.6,
    malformed_rate: Annotated[
        float, typer.Option(help="Share of records deliberately malformed.")
    ] = 0.0005,
    noise: Annotated[
        str,
        typer.Option(
            help="Legitimate twins of every crime trace: low, default or high (x0.4, x1, x2.5)."
        ),
    ] = "default",
) -> None:
    """Write a simulated world of ports, companies, staff and container trips, with planted
    criminal scenarios, in every format cargowatch reads, and truth.json with the ground truth."""
    from cargowatch.simulate.generator import DEFAULT_MIX, SimConfig
    from cargowatch.simulate.generator import simulate as run
    from cargowatch.simulate.twins import NOISE_LEVELS

    if noise not in NOISE_LEVELS:
        raise InvalidInput(f"--noise {noise!r}: expected one of {', '.join(NOISE_LEVELS)}")

    weights = dict(DEFAULT_MIX)
    if mix:
        weights = {}
        for item in mix.split(","):
            name, _, value = item.partition("=")
            if name.strip() not in DEFAULT_MIX:
                raise InvalidInput(f"--mix {name!r}: expected some of {', '.join(DEFAULT_MIX)}")
            weights[name.strip()] = float(value or 1)
    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise InvalidInput(f"--start {start!r}: expected YYYY-MM-DD") from None
    config = SimConfig(
        trips=trips,
        seed=seed,
        start=first,
        days=days,
        origins=_codes(origins),
        destinations=_codes(destinations),
        scenario_rate=scenario_rate,
        campaign_share=campaign_share,
        mix=weights,
        trace_rate=trace_rate,
        smart_share=smart_share,
        inspection_rate=inspection_rate,
        outcome_share=outcome_share,
        malformed_rate=malformed_rate,
        noise=noise,
    )
    with progress_bar("simulating") as bar:
        task = bar.add_task("trips", total=trips)
        truth = run(out, config, progress=lambda n: bar.advance(task, n))
    expected = truth["expected"]
    table = Table("what", "count", title=f"{out}: {trips:,} trips, seed {seed}")
    table.add_row("events (DCSA, EDIFACT)", f"{expected['events']:,}")
    table.add_row("  of which sent twice", f"{expected['duplicates']:,}")
    table.add_row("transport documents (eBL)", f"{expected['documents']:,}")
    table.add_row("telemetry readings", f"{expected['telemetry']:,}")
    for name, rows in expected["registers"].items():
        table.add_row(f"{name}.csv rows", f"{rows:,}")
    table.add_row("deliberately malformed records", f"{expected['quarantined']:,}")
    for mo, count in sorted(truth["summary"]["by_mo"].items()):
        table.add_row(f"scenario {mo}", str(count))
    table.add_row("scenarios with an insider", str(truth["summary"]["with_insider"]))
    twins = truth["twins"]["planted"]
    table.add_row(f"legitimate twins ({noise} noise)", f"{sum(twins.values()):,}")
    from cargowatch.simulate.referrals import write_referrals

    crimes, oddities = write_referrals(out, seed=seed)
    table.add_row("industry referrals (about crimes / honest trips)", f"{crimes} / {oddities}")
    console.print(table)
    console.print(f"ingest it with: cargowatch ingest {out / 'data'}")
    console.print(f"referrals:      cargowatch referrals send {out / 'referrals.ndjson'}")
    console.print(f"ground truth:   {out / 'truth.json'}")


def register(app: typer.Typer) -> None:
    """Add the simulate command to the root command."""
    app.command("simulate")(simulate)
