"""Commands: score, targets, explain, model train/list, outcomes record/metrics, backtest."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.cli import console, err_console

model_app = typer.Typer(help="The learned layer of risk scoring.", no_args_is_help=True)
outcomes_app = typer.Typer(
    help="Inspection outcomes: the feedback targeting learns from.", no_args_is_help=True
)


class Format(StrEnum):
    """Output formats of the targeting queue."""

    table = "table"
    json = "json"
    csv = "csv"


def score(
    missing: Annotated[
        bool, typer.Option("--missing", help="Only trips without a score (after an ingest).")
    ] = False,
) -> None:
    """Score your organisation's trips: rules, anomalies, the trained model, fused 0-100."""
    from cargowatch.risk.flows import score as run

    principal = cli_principal()
    with console.status("scoring") as status:
        n = run(
            principal=principal,
            full=not missing,
            progress=lambda text: status.update(f"scoring: {text}"),
        )
    console.print(f"{n:,} trips scored")


def targets(
    budget: Annotated[
        float | None, typer.Option(help="Share of trips you can inspect, e.g. 0.02.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="How many trips at most.")] = None,
    port: Annotated[str, typer.Option(help="Only trips loaded or discharged here.")] = "",
    min_score: Annotated[
        float | None, typer.Option(help="Only trips scoring at least this.")
    ] = None,
    include_inspected: Annotated[
        bool, typer.Option("--include-inspected", help="Keep trips already inspected.")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """The targeting queue: the trips to inspect first, with their top reasons."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.risk.service import targets as queue

    principal = cli_principal()
    if budget is None and limit is None:
        limit = 20
    with unit_of_work() as session:
        rows = queue(
            session,
            principal=principal,
            budget=budget,
            limit=limit,
            port=port or None,
            min_score=min_score,
            include_inspected=include_inspected,
        )
    if fmt is Format.json:
        sys.stdout.write(json.dumps([t.as_dict() for t in rows], indent=2) + "\n")
        return
    if fmt is Format.csv:
        out = csv.writer(sys.stdout)
        out.writerow(
            ["trip_id", "container", "booking_ref", "score", "origin", "destination", "reasons"]
        )
        for t in rows:
            out.writerow(
                [
                    t.trip_id,
                    t.container,
                    t.booking_ref or "",
                    t.score,
                    t.origin or "",
                    t.destination or "",
                    " | ".join(r["reason"] for r in t.reasons),
                ]
            )
        return
    table = Table("score", "trip", "container / booking", "route", "top reasons", show_lines=True)
    for t in rows:
        route = " > ".join(x for x in (t.origin, t.destination) if x)
        reasons = "\n".join(f"[bold]{r['score']:.2f}[/] {r['reason']}" for r in t.reasons[:3])
        table.add_row(
            f"{t.score:.1f}",
            str(t.trip_id),
            f"{t.container}\n{t.booking_ref or ''}",
            route,
            reasons,
        )
    console.print(table)
    if not rows:
        err_console.print("no scored trips you may see (run 'cargowatch score'?)")


def explain(trip: Annotated[int, typer.Argument(help="Trip id.")]) -> None:
    """Every finding behind a trip's score, with its evidence."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.risk.service import assessment

    principal = cli_principal()
    with unit_of_work() as session:
        a = assessment(session, principal=principal, trip_id=trip)
    learned = "-" if a["learned"] is None else f"{a['learned']:.2f}"
    console.print(
        f"trip {trip}: score [bold]{a['score']:.1f}[/] (rules {a['rules']:.2f}, anomaly rank "
        f"{a['anomaly']:.2f}, model v{a['model_version']} {learned})"
    )
    table = Table("score", "family", "rule", "reason", "evidence")
    for f in a["findings"]:
        table.add_row(
            f"{f['score']:.2f}",
            f["family"],
            f"{f['rule']} v{f['rule_version']}",
            f["reason"],
            json.dumps(f["evidence"]),
        )
    console.print(table)


@model_app.command("train")
def train() -> None:
    """Train a new model version on your trips and the outcomes recorded so far."""
    from cargowatch.risk.flows import train as run

    principal = cli_principal()
    with console.status("training"):
        m = run(principal=principal)
    supervised = "supervised + anomaly" if "coefficients" in m else "anomaly only"
    console.print(
        f"model v{m['version']} ({supervised}): {m['trips']:,} trips, {m['outcomes']:,} outcomes, "
        f"{m['positives']:,} seizures"
        + (
            f", cross-validated average precision {m['cv_average_precision']}"
            if "cv_average_precision" in m
            else ""
        )
    )
    if "coefficients" not in m:
        console.print("(a supervised layer needs more seizures among the recorded outcomes)")


@model_app.command("list")
def list_models() -> None:
    """Your organisation's model versions."""
    from sqlalchemy import select

    from cargowatch.db.engine import unit_of_work
    from cargowatch.risk.models import RiskModel

    principal = cli_principal()
    principal.require("events:read")
    table = Table("version", "trained (UTC)", "by", "trips", "outcomes", "seizures", "cv AP")
    with unit_of_work() as session:
        for row in session.scalars(
            select(RiskModel)
            .where(RiskModel.org_id == principal.org_id)
            .order_by(RiskModel.version)
        ):
            m = json.loads(row.metrics)
            table.add_row(
                str(row.version),
                f"{row.trained_at:%Y-%m-%d %H:%M}",
                row.trained_by,
                f"{m['trips']:,}",
                f"{m['outcomes']:,}",
                f"{m['positives']:,}",
                str(m.get("cv_average_precision", "-")),
            )
    console.print(table)


@outcomes_app.command("record")
def record(
    trip: Annotated[int, typer.Argument(help="Trip id.")],
    result: Annotated[str, typer.Option(help="NO_FINDING, SEIZURE or IRREGULARITY.")],
    method: Annotated[str, typer.Option(help="SCAN, PHYSICAL, DOG or SEAL_CHECK.")] = "PHYSICAL",
    at: Annotated[datetime | None, typer.Option(help="When (UTC; default now).")] = None,
    substance: Annotated[str | None, typer.Option(help="What was found.")] = None,
    quantity_kg: Annotated[float | None, typer.Option(help="How much.")] = None,
    concealment: Annotated[
        str | None, typer.Option(help="RIP_ON_RIP_OFF, STRUCTURAL, REEFER_UNIT, IN_CARGO, OTHER.")
    ] = None,
    insider_suspected: Annotated[str | None, typer.Option(help="YES, NO or UNKNOWN.")] = None,
    reference: Annotated[str | None, typer.Option(help="Your case reference.")] = None,
) -> None:
    """Record what an inspection of a trip's container found; the trip is rescored at once."""
    from datetime import UTC

    from cargowatch.risk.flows import record_outcome

    principal = cli_principal()
    row = record_outcome(
        principal=principal,
        trip_id=trip,
        result=result.upper(),
        method=method.upper(),
        at=at.replace(tzinfo=UTC) if at and at.tzinfo is None else at,
        substance=substance,
        quantity_kg=quantity_kg,
        concealment=concealment,
        insider_suspected=insider_suspected,
        reference=reference,
    )
    said = "recorded" if row["new"] else "already recorded"
    console.print(f"{said}: {row['result']} on {row['container']} ({row['reference']})")


@outcomes_app.command("metrics")
def metrics() -> None:
    """How targeting has done on the trips inspected so far, by score band."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.risk.service import performance

    principal = cli_principal()
    with unit_of_work() as session:
        p = performance(session, principal=principal)
    rate = "-" if p["hit_rate"] is None else f"{p['hit_rate']:.1%}"
    console.print(
        f"{p['inspected']:,} inspected trips, {p['seizures']:,} seizures ({rate}), "
        f"{p['irregularities']:,} irregularities"
    )
    table = Table("score", "inspected", "seizures", "hit rate")
    for band in p["by_score"]:
        hit = "-" if band["hit_rate"] is None else f"{band['hit_rate']:.1%}"
        table.add_row(band["band"], str(band["inspected"]), str(band["seizures"]), hit)
    console.print(table)


def backtest(
    world: Annotated[Path, typer.Argument(help="A simulated world (with truth.json).")],
    out: Annotated[
        Path | None, typer.Option(help="Where to write the report (default WORLD/backtest).")
    ] = None,
) -> None:
    """Judge targeting on a simulated world: train on the period with outcomes, rank the later
    trips, compare with the truth; prints the figures and writes gain.png and report.html."""
    from cargowatch.risk.backtest import metrics as figures
    from cargowatch.risk.backtest import report, run

    with console.status("backtest") as status:
        ranked = run(world, progress=lambda text: status.update(f"backtest: {text}"))
        m = figures(ranked)
        png, page, data = report(ranked, m, out or world / "backtest")
    console.print(
        f"{m['trips']:,} later-period trips, {m['positives']} contaminated "
        f"(base rate {m['base_rate']:.2%}), average precision {m['average_precision']}"
    )
    table = Table("budget", "inspected", "found", "recall", "precision", "best possible", "lift")
    for b, v in m["budgets"].items():
        table.add_row(
            b,
            str(v["inspected"]),
            str(v["found"]),
            f"{v['recall']:.1%}",
            f"{v['precision']:.1%}",
            f"{v['best_precision']:.1%}",
            f"{v['lift']}x",
        )
    console.print(table)
    budgets = list(m["budgets"])
    mo = Table("modus operandi", "trips", *(f"recall at {b}" for b in budgets))
    for name, v in m["by_mo"].items():
        mo.add_row(name, str(v["trips"]), *(f"{v[b]:.0%}" for b in budgets))
    console.print(mo)
    fam = Table("rule family alone", *(f"recall at {b}" for b in budgets))
    for name, v in m["by_family"].items():
        fam.add_row(name, *(f"{v[b]:.0%}" for b in budgets))
    console.print(fam)
    console.print(f"gain curve: {png}\nreport: {page}\nfigures: {data}")


def register(app: typer.Typer) -> None:
    """Add the risk commands to the root command."""
    app.command("score")(score)
    app.command("targets")(targets)
    app.command("explain")(explain)
    app.command("backtest")(backtest)
    app.add_typer(model_app, name="model")
    app.add_typer(outcomes_app, name="outcomes")
