"""Commands: score, targets, explain, model train/list, outcomes record/metrics, backtest."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console, err_console

model_app = typer.Typer(help="The learned layer of risk scoring.", no_args_is_help=True)
sites_app = typer.Typer(
    help="Candidate sites: places where many consignees' boxes are opened off every listed site.",
    no_args_is_help=True,
)
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
    explore: Annotated[
        float | None,
        typer.Option(
            help="Share of the queue picked to explore (random or least known trips); "
            "default: your organisation's setting; 0: the pure ranking."
        ),
    ] = None,
) -> None:
    """The targeting queue: the trips to inspect first, with their top reasons. Some are
    picked to explore (marked so), so that outcomes teach more than the model's own choices."""
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
            explore=explore,
        )
    if fmt is Format.json:
        sys.stdout.write(json.dumps([t.as_dict() for t in rows], indent=2) + "\n")
        return
    if fmt is Format.csv:
        from cargowatch.exports import write_csv

        write_csv(
            sys.stdout,
            ["trip_id", "container", "booking_ref", "score", "origin", "destination", "picked",
             "reasons"],
            ([t.trip_id, t.container, t.booking_ref, t.score, t.origin, t.destination, t.picked,
              " | ".join(r["reason"] for r in t.reasons)] for t in rows),
        )  # fmt: skip
        return
    table = Table("score", "trip", "container / booking", "route", "top reasons", show_lines=True)
    for t in rows:
        route = " > ".join(x for x in (t.origin, t.destination) if x)
        reasons = "\n".join(
            f"[bold]+{100 * r['score']:.1f}[/] {r['reason']}" for r in t.reasons[:3]
        )
        if t.picked != "score":
            reasons = f"[italic]picked to explore ({t.picked.split('-')[1]})[/]\n" + reasons
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
    """How a trip's score is built: from the base rate, what each finding added (a waterfall
    that adds up to the score), what it was worth here, and its evidence."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.risk.service import assessment, score_history

    principal = cli_principal()
    with unit_of_work() as session:
        a = assessment(session, principal=principal, trip_id=trip)
        history = score_history(session, principal=principal, trip_id=trip)
    boosted = "" if a["learned"] is None else f", boosted model {100 * a['learned']:.1f}"
    console.print(
        f"trip {trip}: score [bold]{a['score']:.1f}[/] = the chance in 100 that an inspection "
        f"finds something (model v{a['model_version']}; findings alone "
        f"{100 * a['rules']:.1f}{boosted}; lane anomaly rank {a['anomaly']:.2f})"
    )
    table = Table("points", "running", "family", "finding", "reason", "evidence")
    running = 100 * (a["base_rate"] or 0.0)
    table.add_row("", f"{running:.2f}", "", "base rate", "A trip with no finding.", "")
    for f in a["findings"]:
        running += 100 * f["score"]
        table.add_row(
            f"{100 * f['score']:+.2f}",
            f"{running:.2f}",
            f["family"],
            f"{f['rule']} v{f['rule_version']}",
            f["reason"],
            json.dumps(f["evidence"]),
        )
    console.print(table)
    if history:
        changes = Table("when (UTC)", "score", "why", title="How the score changed")
        for h in history:
            changes.add_row(f"{h['at']:%Y-%m-%d %H:%M}", f"{h['before']:.1f} -> {h['after']:.1f}",
                            h["why"])  # fmt: skip
        console.print(changes)


@model_app.command("train")
def train() -> None:
    """Train a new model version on your trips and the outcomes recorded so far (a full
    'score' does this by itself when outcomes were recorded since the newest model)."""
    from cargowatch.risk.flows import train as run

    principal = cli_principal()
    with console.status("training"):
        m = run(principal=principal)
    boosted = m["boosted"]["share"]
    console.print(
        f"model v{m['version']}: {m['trips']:,} trips ({m['eligible']:,} targets), "
        f"{m['outcomes']:,} inspected, {m['positives']:,} seizures, base rate "
        f"{m['base_rate']:.2%}" + (f"; boosted model {boosted:.0%} of the blend" if boosted else "")
    )
    if not m["positives"]:
        console.print("(no seizure among the outcomes yet: the findings weigh their priors)")


@model_app.command("findings")
def findings(
    version: Annotated[int | None, typer.Option(help="Model version (default newest).")] = None,
) -> None:
    """What each finding is worth here: how often it fires, how often inspections of trips
    carrying it found something, its prior and its learned weight."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.risk.service import model_findings

    principal = cli_principal()
    with unit_of_work() as session:
        v, rows = model_findings(session, principal=principal, version=version)
    table = Table(
        "finding", "fires on", "of targets", "inspected", "seized", "hit rate", "prior",
        "weight", title=f"model v{v}",
    )  # fmt: skip
    for name, m in rows.items():
        table.add_row(
            name,
            f"{m['fired']:,}",
            f"{m['share']:.2%}",
            str(m["inspected"]),
            str(m["seized"]),
            f"{m['hit_rate']:.1%}",
            f"{m['prior']:.2f}",
            f"{m['weight']:.2f}",
        )
    console.print(table)


@model_app.command("list")
def list_models() -> None:
    """Your organisation's model versions."""
    from sqlalchemy import select

    from cargowatch.db.engine import unit_of_work
    from cargowatch.risk.models import RiskModel

    principal = cli_principal()
    principal.require("events:read")
    table = Table("version", "trained (UTC)", "by", "trips", "inspected", "seizures", "boosted")
    with unit_of_work() as session:
        for row in session.scalars(
            select(RiskModel)
            .where(RiskModel.org_id == principal.org_id)
            .order_by(RiskModel.version)
        ):
            m = json.loads(row.metrics)
            share = (m.get("boosted") or {}).get("share") or 0
            table.add_row(
                str(row.version),
                f"{row.trained_at:%Y-%m-%d %H:%M}",
                row.trained_by,
                f"{m.get('trips', 0):,}",
                f"{m.get('outcomes', 0):,}",
                f"{m.get('positives', 0):,}",
                f"{share:.0%}",
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
    world: Annotated[Path, typer.Argument(help="A simulated world to judge (with truth.json).")],
    out: Annotated[
        Path | None, typer.Option(help="Where to write the report (default WORLD/backtest).")
    ] = None,
    train_world: Annotated[
        Path | None,
        typer.Option(
            "--train-world",
            help="Learn on this world (all its outcomes) and judge WORLD without its own.",
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="Keep the judged world's store in this SQLite file (reused if there)."),
    ] = None,
    train_store: Annotated[
        Path | None, typer.Option(help="Keep the training world's store here (reused if there).")
    ] = None,
) -> None:
    """Judge targeting on a simulated world: learn from the period with outcomes (or from
    another world), rank the later trips, compare with the truth and with three naive rules;
    prints the figures and writes gain.png, reliability.png, report.html and metrics.json."""
    from cargowatch.risk.backtest import metrics as figures
    from cargowatch.risk.backtest import run
    from cargowatch.risk.report import FINDING_HEAD, finding_rows, report

    with console.status("backtest") as status:
        ranked = run(
            world,
            store=store,
            train_world=train_world,
            train_store=train_store,
            progress=lambda text: status.update(f"backtest: {text}"),
        )
        m = figures(ranked)
        png, page, data = report(ranked, m, out or world / "backtest")
    naive = m["naive"]
    console.print(
        (f"learned on {train_world}; " if train_world else "")
        + f"{m['trips']:,} later-period targets, {m['positives']} contaminated "
        f"(base rate {m['base_rate']:.2%}), average precision {m['average_precision']} "
        f"(three naive rules: {naive['average_precision']})"
    )
    table = Table(
        "budget", "inspected", "found", "recall", "naive rules", "precision", "best possible",
        "lift",
    )  # fmt: skip
    for b, v in m["budgets"].items():
        table.add_row(
            b,
            str(v["inspected"]),
            str(v["found"]),
            f"{v['recall']:.1%}",
            f"{naive['budgets'][b]['recall']:.1%}",
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
    found = Table(*FINDING_HEAD)
    for row in finding_rows(m):
        found.add_row(*(str(c) for c in row))
    console.print(found)
    console.print(f"calibration: Brier score {m['calibration']['brier']}")
    if m.get("insiders"):
        i = m["insiders"]
        console.print(
            f"post-incident analysis (every planted crime recorded as a seizure): a planted "
            f"insider among the first 10 persons for {i['insider_in_first_10'] or 0:.0%} of "
            f"{i['seizures_with_insider']} seizures with one; windows contain the act for "
            f"{i['windows_contain_act'] or 0:.0%} of {i['seizures']}; `insiders` top 20: "
            f"{i['top20_corrupt_insiders']} planted corrupt insiders "
            f"({i['top20_planted_persons']} persons named by the truth)"
        )
        if i.get("campaign_sibling_pairs"):
            console.print(
                f"campaigns: the sibling list names {i['campaign_siblings_listed']:.0%} of the "
                f"other boxes of a seizure's campaign ({i['campaign_siblings_in_first_20']:.0%} "
                f"among its first 20, median place {i['campaign_sibling_median_rank']}; "
                f"{i['campaign_sibling_pairs']} pairs)"
            )
    console.print(f"gain curve: {png}\nreport: {page}\nfigures: {data}")


@sites_app.command("candidates")
def site_candidates() -> None:
    """Places where the doors of several unrelated consignees' laden boxes were opened off
    every listed site: likely warehouses or inspection areas no register lists."""
    from cargowatch.custody.places import candidates
    from cargowatch.db.engine import unit_of_work

    principal = cli_principal()
    with unit_of_work() as session:
        rows = candidates(session, principal=principal)
    table = Table("latitude", "longitude", "consignees", "trips", "openings", "first", "last")
    for r in rows:
        table.add_row(
            f"{r['latitude']:.5f}",
            f"{r['longitude']:.5f}",
            str(r["consignees"]),
            str(r["trips"]),
            str(r["openings"]),
            (r["first"] or "")[:10],
            (r["last"] or "")[:10],
        )
    console.print(table)
    if not rows:
        err_console.print("no candidate site")


@sites_app.command("confirm")
def site_confirm(
    latitude: Annotated[float, typer.Argument(help="Latitude of the place.")],
    longitude: Annotated[float, typer.Argument(help="Longitude of the place.")],
    radius_m: Annotated[float, typer.Option(help="Geofence radius in metres.")] = 600,
    kind: Annotated[str, typer.Option(help="WAREHOUSE, CFS, DEPOT, ...")] = "WAREHOUSE",
    uses: Annotated[
        str, typer.Option(help="What may happen there: STUFFING;STRIPPING;STORAGE;INSPECTION.")
    ] = "STRIPPING;STUFFING",
    site_id: Annotated[str | None, typer.Option(help="Its id in the register.")] = None,
) -> None:
    """Confirm a candidate site: it joins your sites register, and the trips with openings
    there are rebuilt and rescored."""
    from cargowatch.risk.flows import confirm_site

    principal = cli_principal()
    row = confirm_site(
        principal=principal,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
        kind=kind.upper(),
        uses=uses,
        site_id=site_id,
    )
    console.print(
        f"site {row['site_id']} confirmed; {len(row['containers'])} containers rebuilt and rescored"
    )


def register(app: typer.Typer) -> None:
    """Add the risk commands to the root command."""
    app.command("score")(score)
    app.command("targets")(targets)
    app.command("explain")(explain)
    app.command("backtest")(backtest)
    app.add_typer(model_app, name="model")
    app.add_typer(outcomes_app, name="outcomes")
    app.add_typer(sites_app, name="sites")
