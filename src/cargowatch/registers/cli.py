"""Commands: registers (rows of a CSV register), documents, telemetry, shares grant-personal."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cargowatch.admin_cli import cli_principal, shares_app
from cargowatch.console import console
from cargowatch.exceptions import InvalidInput


def registers(
    name: Annotated[
        str,
        typer.Argument(help="parties, sites, manifest, persons, access, releases or inspections."),
    ],
    where: Annotated[
        list[str] | None, typer.Option("--where", help="COLUMN=VALUE, repeatable.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many rows at most.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Rows of a register you may see (persons and access only where the employer allows)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.registers.service import list_rows

    filters: dict[str, str] = {}
    for item in where or []:
        column, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--where {item!r}: expected COLUMN=VALUE")
        filters[column.strip()] = value
    principal = cli_principal()
    with unit_of_work() as session:
        rows, total = list_rows(session, principal=principal, register=name, filters=filters,
                                limit=limit)  # fmt: skip
    if as_json:
        for row in rows:
            print(json.dumps(row, default=str))
        return
    columns = [c for c in (rows[0] if rows else {}) if c not in ("id", "org_id", "run_id")]
    if len(columns) > 8:  # a wide register reads better one record at a time
        for row in rows:
            record = Table("column", "value", show_header=False)
            for c in columns:
                if row[c] not in (None, ""):
                    record.add_row(c, str(row[c]), style="bold red" if c == "flags" else None)
            console.print(record)
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
        console.print(table)
    console.print(f"{len(rows)} of {total} shown")


def documents(
    container: Annotated[str, typer.Option("--container", "-c", help="Container number.")],
) -> None:
    """Transport documents that declare a container, with the seals they declare."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.documents.service import documents_for_container

    principal = cli_principal()
    table = Table("document", "bookings", "shipper", "consignee", "route", "vessel/voyage",
                  "declared seals", "HS codes")  # fmt: skip
    with unit_of_work() as session:
        for doc, box in documents_for_container(session, principal=principal, container=container):
            places = (doc.place_of_receipt, doc.port_of_loading, doc.port_of_discharge,
                      doc.place_of_delivery)  # fmt: skip
            route = " > ".join(p for p in places if p)
            table.add_row(
                doc.transport_document_reference or doc.document_key, doc.booking_refs or "",
                doc.shipper or "", doc.consignee or "", route,
                "/".join(x for x in (doc.vessel_name, doc.voyage) if x),
                box.declared_seals or "", box.hs_codes or "",
            )  # fmt: skip
    console.print(table)


def telemetry(
    container: Annotated[str, typer.Option("--container", "-c", help="Container number.")],
    limit: Annotated[int, typer.Option(help="How many readings at most.")] = 200,
) -> None:
    """Smart-container readings of a container you may see, oldest first."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.telemetry.service import readings_for_container

    principal = cli_principal()
    table = Table("time (UTC)", "device", "position", "door", "light lux", "shock g", "temp C",
                  "e-seal")  # fmt: skip
    with unit_of_work() as session:
        rows = readings_for_container(session, principal=principal, container=container,
                                      limit=limit)  # fmt: skip
        for r in rows:
            position = f"{r.latitude:.4f}, {r.longitude:.4f}" if r.latitude is not None else ""
            seal = " ".join(x for x in (r.eseal_id, r.eseal_status) if x)
            table.add_row(
                f"{r.ts:%Y-%m-%d %H:%M:%S}", r.device_id, position, r.door or "",
                _num(r.light_lux), _num(r.shock_g), _num(r.temperature_c), seal,
            )  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} readings")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@shares_app.command("grant-personal")
def grant_personal(
    to: Annotated[str, typer.Option("--to", help="Organisation slug that may read.")],
    role: Annotated[str, typer.Option(help="Only its users in this role.")] = "analyst",
) -> None:
    """Let another organisation's users in a role read your staff register and badge log."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing.service import grant_personal as grant

    principal = cli_principal()
    with unit_of_work() as session:
        share = grant(session, principal=principal, grantee_slug=to, role=role)
    console.print(f"share {share.id}: {role}s of {to} may read persons and access")


def register(app: typer.Typer) -> None:
    """Add the register, document and telemetry commands to the root command."""
    app.command("registers")(registers)
    app.command("documents")(documents)
    app.command("telemetry")(telemetry)
