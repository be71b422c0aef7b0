"""Backtest: ingest a simulated world into a fresh store, train on the period with outcomes,
score as of the end of that period, and judge the ranking of the later trips against the
world's truth.json: recall and precision at inspection budgets, lift, average precision,
recall per modus operandi and per rule family alone, and a gain curve (PNG and HTML)."""

from __future__ import annotations

import base64
import html
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import func, select

from cargowatch.exceptions import InvalidInput

BUDGETS = (0.01, 0.02, 0.05)


@dataclass
class Ranked:
    """The judged trips, with the fused score, each family's score and the truth."""

    frame: pl.DataFrame  # trip_key, score, family scores (f_*), positive, mo
    families: list[str]


def _truth(world: Path) -> tuple[dict[str, Any], Path]:
    truth_file, data = world / "truth.json", world / "data"
    if not truth_file.is_file():
        raise InvalidInput(f"{truth_file}: no truth.json (make one with 'cargowatch simulate')")
    if not data.is_dir():
        data = world
    return json.loads(truth_file.read_text()), data


def _split(truth: dict[str, Any]) -> datetime | None:
    """The end of the period with outcomes, when truth.json says it."""
    value = (truth.get("period") or {}).get("outcomes_until")
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _planted(truth: dict[str, Any]) -> dict[str, str]:
    """trip key -> modus operandi of every contaminated trip in truth.json."""
    out = {}
    for s in truth.get("scenarios", []):
        key = s.get("trip_key") or f"{s.get('container')}/{s.get('booking_ref') or '-'}"
        out[key] = s.get("mo") or "unknown"
    return out


def run(
    world: Path,
    *,
    store: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Ranked:
    """Ingest, build custody, train as of the split, score, and return the judged ranking."""
    from cargowatch.auth.service import create_user, principal_for_username
    from cargowatch.custody.engine import build
    from cargowatch.custody.models import Trip
    from cargowatch.db.engine import ensure_schema, make_engine, unit_of_work
    from cargowatch.ingest.flows import ingest_paths
    from cargowatch.orgs.service import create_org
    from cargowatch.risk import engine as risk
    from cargowatch.risk.models import Assessment

    step = progress or (lambda _: None)
    truth, data = _truth(world)
    split = _split(truth)
    with tempfile.TemporaryDirectory(prefix="cargowatch-backtest-") as tmp:
        path = store or Path(tmp) / "backtest.db"
        engine = make_engine(f"sqlite:///{path}")
        ensure_schema(engine)
        with unit_of_work(engine) as s:
            create_org(s, actor="backtest", slug="backtest", name="Backtest", kind="CUSTOMS")
            create_user(
                s, actor="backtest", org_slug="backtest", username="backtest", role="analyst"
            )
        with unit_of_work(engine) as s:
            principal = principal_for_username(s, "backtest")
        step(f"ingesting {data}")
        ingest_paths(principal=principal, paths=[data], engine=engine, update_custody=False)
        step("building custody")
        with unit_of_work(engine) as s:
            build(s, org_id=principal.org_id)
            if split is None:  # the newest outcome known, else the middle of the trips
                from cargowatch.registers.specs import TABLES

                ins = TABLES["inspections"]
                newest = s.scalar(select(func.max(ins.c.ts)))
                first, last = s.execute(
                    select(func.min(Trip.started_at), func.max(Trip.started_at))
                ).one()
                split = newest or (first + (last - first) / 2 if first and last else None)
                if split is None:
                    raise InvalidInput(f"{data}: no trips to judge")
                split = split if split.tzinfo else split.replace(tzinfo=UTC)
        step(f"training on outcomes up to {split:%Y-%m-%d}")
        with unit_of_work(engine) as s:
            risk.train(s, org_id=principal.org_id, trained_by="backtest", now=split)
        step("scoring")
        with unit_of_work(engine) as s:
            risk.score(s, org_id=principal.org_id, now=split)
        with engine.connect() as conn:
            scores = conn.execute(
                select(Trip.id, Trip.trip_key, Trip.started_at, Assessment.score).join(
                    Assessment, Assessment.trip_id == Trip.id
                )
            ).all()
            found = conn.execute(select(Assessment.trip_id, Assessment.findings)).all()
        engine.dispose()
    frame = pl.DataFrame(
        scores, schema=["trip_id", "trip_key", "started_at", "score"], orient="row"
    )
    frame = frame.with_columns(
        pl.col("started_at").map_elements(
            lambda t: t if t.tzinfo else t.replace(tzinfo=UTC),
            return_dtype=pl.Datetime("us", "UTC"),
        )
    )
    findings = (
        pl.DataFrame(found, schema=["trip_id", "findings"], orient="row")
        .with_columns(
            pl.col("findings").str.json_decode(
                pl.List(pl.Struct({"family": pl.String, "score": pl.Float64}))
            )
        )
        .explode("findings")
        .drop_nulls("findings")
        .unnest("findings")
    )
    by_family = (
        findings.group_by("trip_id", "family")
        .agg((1 - (1 - pl.col("score")).product()).alias("s"))
        .pivot(on="family", index="trip_id", values="s")
    )
    families = sorted(c for c in by_family.columns if c != "trip_id")
    planted = _planted(truth)
    later = frame.filter(pl.col("started_at") >= split)
    later = (
        later.join(by_family, on="trip_id", how="left")
        .with_columns(pl.col(families).fill_null(0.0))
        .with_columns(
            pl.col("trip_key").is_in(list(planted)).alias("positive"),
            pl.col("trip_key").replace_strict(planted, default=None).alias("mo"),
        )
    )
    return Ranked(later, families)


def _order(frame: pl.DataFrame, column: str, seed: int = 7) -> np.ndarray[Any, Any]:
    """Positives flags in rank order by column, ties broken at random (not by luck of order)."""
    rng = np.random.default_rng(seed)
    noise = rng.random(frame.height)
    ranked = frame.with_columns(pl.Series("_tie", noise)).sort(
        [column, "_tie"], descending=[True, True]
    )
    flags: np.ndarray[Any, Any] = ranked["positive"].to_numpy()
    return flags


def metrics(ranked: Ranked, budgets: tuple[float, ...] = BUDGETS) -> dict[str, Any]:
    """Every figure of the report, as data."""
    from sklearn.metrics import average_precision_score

    frame = ranked.frame
    n, positives = frame.height, int(frame["positive"].sum())
    if n == 0 or positives == 0:
        raise InvalidInput(
            f"the later period has {n} trips and {positives} planted ones: nothing to judge"
        )
    base = positives / n

    def at(flags: np.ndarray[Any, Any], budget: float) -> dict[str, float]:
        k = max(1, math.ceil(budget * n))
        hits = int(flags[:k].sum())
        precision = hits / k
        return {
            "inspected": k,
            "found": hits,
            "recall": round(hits / positives, 4),
            "precision": round(precision, 4),
            "best_precision": round(min(1, positives / k), 4),
            "lift": round(precision / base, 2),
        }

    fused = _order(frame, "score")
    out: dict[str, Any] = {
        "trips": n,
        "positives": positives,
        "base_rate": round(base, 5),
        "average_precision": round(
            float(average_precision_score(frame["positive"].to_numpy(), frame["score"].to_numpy())),
            4,
        ),
        "budgets": {f"{b:.0%}": at(fused, b) for b in budgets},
    }
    per_mo: dict[str, dict[str, Any]] = {}
    keys = (
        frame.with_columns(pl.Series("_tie", np.random.default_rng(7).random(n)))
        .sort(["score", "_tie"], descending=[True, True])["mo"]
        .to_list()
    )
    for mo in sorted({m for m in keys if m}):
        total = sum(1 for m in keys if m == mo)
        per_mo[mo] = {"trips": total} | {
            f"{b:.0%}": round(
                sum(1 for m in keys[: max(1, math.ceil(b * n))] if m == mo) / total, 4
            )
            for b in budgets
        }
    out["by_mo"] = per_mo
    out["by_family"] = {
        family: {f"{b:.0%}": at(_order(frame, family), b)["recall"] for b in budgets}
        for family in ranked.families
    }
    return out


def gain_curve(ranked: Ranked, path: Path) -> None:
    """The share of planted trips found against the share inspected: fused, each family, random."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = ranked.frame
    n, positives = frame.height, max(1, int(frame["positive"].sum()))
    x = np.arange(1, n + 1) / n
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    ax.plot(
        x, np.cumsum(_order(frame, "score")) / positives, label="fused score", lw=2.5, color="black"
    )
    for family in ranked.families:
        ax.plot(x, np.cumsum(_order(frame, family)) / positives, label=family, lw=1, alpha=0.8)
    ax.plot(x, x, ls="--", color="grey", label="random")
    for budget in BUDGETS:
        ax.axvline(budget, color="red", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlim(1 / n, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of later-period trips inspected (log scale)")
    ax.set_ylabel("share of contaminated trips found (recall)")
    ax.set_title(f"Gain curve: {n:,} trips, {positives} contaminated")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(ranked: Ranked, figures: dict[str, Any], out: Path) -> tuple[Path, Path, Path]:
    """Write gain.png, report.html and metrics.json into out."""
    out.mkdir(parents=True, exist_ok=True)
    png, page, data = out / "gain.png", out / "report.html", out / "metrics.json"
    gain_curve(ranked, png)
    data.write_text(json.dumps(figures, indent=2))
    image = base64.b64encode(png.read_bytes()).decode()

    def table(head: list[str], rows: list[list[Any]]) -> str:
        th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
        )
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    budget_rows = [
        [
            b,
            v["inspected"],
            v["found"],
            f"{v['recall']:.1%}",
            f"{v['precision']:.1%}",
            f"{v['best_precision']:.1%}",
            f"{v['lift']}x",
        ]
        for b, v in figures["budgets"].items()
    ]
    mo_rows = [
        [mo, v["trips"], *(f"{v[b]:.0%}" for b in figures["budgets"])]
        for mo, v in figures["by_mo"].items()
    ]
    family_rows = [
        [f, *(f"{v[b]:.0%}" for b in figures["budgets"])] for f, v in figures["by_family"].items()
    ]
    page.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>cargowatch backtest"
        "</title><style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-"
        "collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:"
        "right}th{background:#eee}</style></head><body><h1>Backtest</h1>"
        f"<p>{figures['trips']:,} trips judged (the period after the outcomes), "
        f"{figures['positives']} contaminated (base rate {figures['base_rate']:.2%}); "
        f"average precision {figures['average_precision']}.</p>"
        + table(
            [
                "budget",
                "inspected",
                "found",
                "recall",
                "precision",
                "best possible precision",
                "lift",
            ],
            budget_rows,
        )
        + "<h2>Recall per modus operandi</h2>"
        + table(["modus operandi", "trips", *figures["budgets"]], mo_rows)
        + "<h2>Recall per rule family alone</h2>"
        + table(["family", *figures["budgets"]], family_rows)
        + f"<h2>Gain curve</h2><img alt='gain curve' src='data:image/png;base64,{image}'>"
        + "</body></html>"
    )
    return png, page, data
