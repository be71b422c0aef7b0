"""The backtest report: gain curve, reliability curve, metrics.json and one HTML page."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from cargowatch.risk.backtest import Ranked, gain_curve, reliability_curve


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def finding_rows(figures: dict[str, Any]) -> list[list[Any]]:
    """The per-finding table: how often it fired on honest and contaminated trips, and what
    the model learned of it."""
    rows = []
    for rule, v in figures["findings"].items():
        learned = (
            "-"
            if v["trained_inspected"] is None
            else f"{v['trained_seized']} of {v['trained_inspected']}"
        )
        rows.append(
            [
                rule,
                v["honest"],
                f"{v['honest_share']:.2%}",
                v["contaminated"],
                learned,
                "-" if v["prior"] is None else v["prior"],
                "-" if v["weight"] is None else v["weight"],
            ]
        )
    return rows


FINDING_HEAD = [
    "finding",
    "honest trips",
    "of honest",
    "contaminated trips",
    "seized / inspected (training)",
    "prior weight",
    "learned weight",
]


def report(ranked: Ranked, figures: dict[str, Any], out: Path) -> tuple[Path, Path, Path]:
    """Write gain.png, reliability.png, report.html and metrics.json into out."""
    out.mkdir(parents=True, exist_ok=True)
    png, page, data = out / "gain.png", out / "report.html", out / "metrics.json"
    reliability = out / "reliability.png"
    gain_curve(ranked, png)
    reliability_curve(figures, reliability)
    data.write_text(json.dumps(figures, indent=2))
    image = base64.b64encode(png.read_bytes()).decode()
    calibrated = base64.b64encode(reliability.read_bytes()).decode()
    budget_rows = [
        [
            b,
            v["inspected"],
            v["found"],
            _pct(v["recall"]),
            _pct(figures["naive"]["budgets"][b]["recall"]),
            _pct(v["precision"]),
            _pct(v["best_precision"]),
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
    band_rows = [
        [b["band"], b["trips"], f"{b['predicted']:.2%}", f"{b['observed']:.2%}"]
        for b in figures["calibration"]["bands"]
    ]
    trained = figures.get("train_world")
    where = f"learned on {html.escape(trained)}, " if trained else ""
    page.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>cargowatch backtest"
        "</title><style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-"
        "collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:"
        "right}th{background:#eee}td:first-child{text-align:left}</style></head><body>"
        "<h1>Backtest</h1>"
        f"<p>{where}{figures['trips']:,} trips judged (the period after the outcomes; laden, "
        f"with a booking), {figures['positives']} contaminated (base rate "
        f"{figures['base_rate']:.2%}); average precision {figures['average_precision']} "
        f"(three naive rules: {figures['naive']['average_precision']}).</p>"
        + _table(
            [
                "budget",
                "inspected",
                "found",
                "recall",
                "naive rules' recall",
                "precision",
                "best possible precision",
                "lift",
            ],
            budget_rows,
        )
        + "<h2>Recall per modus operandi</h2>"
        + _table(["modus operandi", "trips", *figures["budgets"]], mo_rows)
        + "<h2>Recall per rule family alone</h2>"
        + _table(["family", *figures["budgets"]], family_rows)
        + "<h2>Each finding: how often it fired on honest trips, and what it was worth</h2>"
        + _table(FINDING_HEAD, finding_rows(figures))
        + f"<h2>Calibration</h2><p>Brier score {figures['calibration']['brier']}. The model "
        "predicts the chance an inspection finds something; the truth counts every "
        "contaminated trip, found or not.</p>"
        + _table(["predicted", "trips", "mean predicted", "observed"], band_rows)
        + f"<img alt='reliability curve' src='data:image/png;base64,{calibrated}'>"
        + f"<h2>Gain curve</h2><img alt='gain curve' src='data:image/png;base64,{image}'>"
        + "</body></html>"
    )
    return png, page, data
