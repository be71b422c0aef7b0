"""Commands: incidents sync/list/stats/show/personnel/judge, insiders."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console

incidents_app = typer.Typer(help="The seizure database and post-incident analysis.")


@incidents_app.command("sync")
def sync() -> None:
    """Make an incident of every seizure in your organisation's inspections that has none."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.incidents import service

    principal = cli_principal()
    principal.require("events:write")
    with unit_of_work() as s:
        made = service.sync(s, org_id=principal.org_id, actor=principal)
    console.print(f"{made} incidents recorded from seizures")


@incidents_app.command("list")
def listed(limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50) -> None:
    """Your organisation's incidents, newest first."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.incidents import service

    table = Table("id", "found (UTC)", "container", "port", "lane", "concealment", "MO",
                  "insider")  # fmt: skip
    with unit_of_work() as s:
        for r in service.listed(s, principal=cli_principal(), limit=limit):
            v = service.view(r)
            table.add_row(str(v["id"]), f"{r.found_at:%Y-%m-%d %H:%M}", v["container"],
                          v["locode"] or "", v["lane"], v["concealment"] or "", v["mo"] or "",
                          v["insider"])  # fmt: skip
    console.print(table)


@incidents_app.command("stats")
def stats(
    by: Annotated[
        str, typer.Option(help="mo, concealment, port, lane, carrier, month, insider.")
    ] = "mo",
    format: Annotated[str, typer.Option(help="table, csv or parquet.")] = "table",
    out: Annotated[Path | None, typer.Option(help="Where to write csv or parquet.")] = None,
) -> None:
    """Seizures as the WCO reports them: how many, the share with an insider involved and
    the quantity, per group; or every incident as CSV or Parquet (--format, --out)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.exceptions import InvalidInput
    from cargowatch.incidents import service

    principal = cli_principal()
    with unit_of_work() as s:
        if format in ("csv", "parquet"):
            frame = service.frame(s, principal=principal)
            if format == "parquet":
                if out is None:
                    raise InvalidInput("--out: Parquet goes to a file")
                frame.write_parquet(out)
            elif out is None:
                sys.stdout.write(frame.write_csv())
            else:
                frame.write_csv(out)
            if out is not None:
                console.print(f"{frame.height} incidents written to {out}")
            return
        if format != "table":
            raise InvalidInput("--format: expected table, csv or parquet")
        rows = service.stats(s, principal=principal, by=by)
    table = Table(by, "seizures", "with an insider", "kg")
    for r in rows:
        table.add_row(str(r["group"]), str(r["seizures"]), f"{r['insider_share']:.0%}",
                      f"{r['quantity_kg'] or 0:,.1f}")  # fmt: skip
    console.print(table)


@incidents_app.command("show")
def show(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    format: Annotated[str, typer.Option(help="table or json.")] = "table",
) -> None:
    """An incident's analysis: contamination windows, who had access, siblings to check."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.incidents.analysis import analyse

    with unit_of_work() as s:
        a = analyse(s, principal=cli_principal(), incident_id=incident)
    if format == "json":
        sys.stdout.write(json.dumps(a.__dict__, default=str, indent=1) + "\n")
        return
    i = a.incident
    console.print(f"incident {i['id']}: {i['container']} found {i['found_at']:%Y-%m-%d %H:%M} "
                  f"at {i['locode'] or '?'}; suggested MO {a.suggested_mo or 'none'}")  # fmt: skip
    w = Table("window", "custodian", "facility", "from", "until", "hours", "alerts")
    for x in a.windows:
        w.add_row(x["kind"], x["custodian"], x["facility"] or "", f"{x['from']:%Y-%m-%d %H:%M}",
                  f"{x['until']:%Y-%m-%d %H:%M}", str(x["hours"]),
                  ", ".join(al["type"] for al in x["alerts"]))  # fmt: skip
    console.print(w)
    p = Table("person", "badge", "facility", "swipes", "score", "why")
    for x in a.persons[:15]:
        p.add_row(x.get("person_id") or "(redacted)", x.get("badge_id") or "", x["facility"],
                  str(x["swipes"]), f"{x['score']:.2f}", "; ".join(x["reasons"]))  # fmt: skip
    console.print(p)
    sib = Table("sibling trip", "container", "booking", "ties score", "alerts", "risk", "case",
                "ties")  # fmt: skip
    for x in a.siblings[:15]:
        sib.add_row(str(x["trip_id"]), x["container"], x["booking_ref"] or "",
                    f"{x['score']:.2f}", str(x["alerts"]),
                    "" if x.get("risk") is None else f"{x['risk']:.1f}", x.get("case") or "",
                    "; ".join(x["why"]))  # fmt: skip
    console.print(sib)


def insiders(
    limit: Annotated[int, typer.Option(help="How many persons, best first.")] = 20,
    format: Annotated[str, typer.Option(help="table or json.")] = "table",
) -> None:
    """Persons ranked by what links them to your organisation's seizures, with the reasons
    (needs the personal-data grant; audited)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.incidents.insiders import rank

    with unit_of_work() as s:
        rows = rank(s, principal=cli_principal(), limit=limit)
    if format == "json":
        sys.stdout.write(json.dumps(rows, default=str, indent=1) + "\n")
        return
    table = Table("person", "badge", "employer", "score", "incidents", "first reason")
    for r in rows:
        table.add_row(r["person_id"] or "?", r["badge_id"], r["employer_party_id"] or "",
                      f"{r['score']:.2f}", f"{r['odd_incidents']}/{r['incidents']}",
                      r["reasons"][0]["reason"] if r["reasons"] else "")  # fmt: skip
    console.print(table)


@incidents_app.command("personnel")
def personnel(format: Annotated[str, typer.Option(help="table or json.")] = "table") -> None:
    """Personnel security: badges used after employment ended (and how long), lapsed vetting
    in sensitive zones, revocation lag per employer (personal-data grant; audited)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.incidents.personnel import report

    with unit_of_work() as s:
        r = report(s, principal=cli_principal())
    if format == "json":
        sys.stdout.write(json.dumps(r, default=str, indent=1) + "\n")
        return
    a = Table("person", "badge", "employer", "employed until", "last swipe", "days after",
              "swipes", title="Badges used after employment ended")  # fmt: skip
    for x in r["after_employment"]:
        a.add_row(x["person_id"], x["badge_id"], x["employer_party_id"] or "",
                  str(x["employed_until"]), str(x["last"]), str(x["days_after"]),
                  str(x["swipes"]))  # fmt: skip
    console.print(a)
    v = Table("person", "badge", "role", "vetting", "valid until", "sensitive swipes", "zones",
              title="Lapsed, refused or pending vetting in sensitive zones")  # fmt: skip
    for x in r["vetting"][:50]:
        v.add_row(x["person_id"], x["badge_id"], x["role"] or "", x["vetting_status"] or "",
                  str(x["vetting_valid_until"] or ""), str(x["sensitive_swipes"]),
                  ", ".join(x["zones"]))  # fmt: skip
    console.print(v)
    g = Table("employer", "leavers", "badges used after", "median days", "max days",
              title="Revocation lag per employer")  # fmt: skip
    for x in r["revocation_lag"]:
        g.add_row(x["employer_party_id"] or "", str(x["leavers"]), str(x["badges_used_after"]),
                  f"{x['median_days']:.0f}", str(x["max_days"]))  # fmt: skip
    console.print(g)


@incidents_app.command("judge")
def judge(
    world: Annotated[Path, typer.Argument(help="A world's folder: data/ and truth.json.")],
    store: Annotated[Path | None, typer.Option(help="Keep its SQLite store here.")] = None,
) -> None:
    """Judge the post-incident analysis and the insider ranking on a world from any generator
    (its seizures from its inspections.csv): windows that contain the act, a planted insider
    among the first 10 persons, campaign siblings, network insiders in the top 20."""
    import tempfile

    from cargowatch.incidents.judge import judge_world

    with tempfile.TemporaryDirectory() as tmp, console.status("loading the world") as status:
        figures = judge_world(world, store or Path(tmp) / "store.db", status.update)
    (world / "incidents-judged.json").write_text(json.dumps(figures, indent=1) + "\n")
    table = Table("figure", "value", title=f"Post-incident analysis on {world}")
    for key, value in figures.items():
        table.add_row(key, str(value))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the incidents and insiders commands to the root command."""
    app.add_typer(incidents_app, name="incidents")
    app.command("insiders")(insiders)
