"""Commands: agreements create/list/show/amend/revoke."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console
from cargowatch.exceptions import InvalidInput

agreements_app = typer.Typer(
    help="Sharing agreements: which classes of your data another organisation or a group may "
    "read, why, in what scope and until when.",
    no_args_is_help=True,
)


def _when(text: str, option: str) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(f"{option} {text!r}: expected an ISO 8601 time") from None
    if at.tzinfo is None:
        raise InvalidInput(f"{option} {text!r}: give its UTC offset (e.g. 2027-01-01T00:00Z)")
    return at


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


@agreements_app.command("create")
def create(
    classes: Annotated[str, typer.Option(help="Classes of data, comma-separated: events, "
                                         "documents, telemetry, alerts, risk, "
                                         "customs-selections, personal-data.")],
    purpose: Annotated[str, typer.Option(help="Why the partner reads it.")],
    legal_basis: Annotated[str, typer.Option(help="The legal basis of the sharing.")],
    to: Annotated[str, typer.Option("--to", help="The organisation that may read.")] = "",
    group: Annotated[str, typer.Option(help="Or: the sharing group whose members may read.")] = "",
    scope: Annotated[list[str] | None, typer.Option(
        help="Limit to container:NUMBER, port:LOCODE or lane:LOCODE-LOCODE (repeat).")] = None,
    valid_from: Annotated[str, typer.Option(help="Start (ISO 8601 with offset); now.")] = "",
    until: Annotated[str, typer.Option(help="End (ISO 8601 with offset); open-ended.")] = "",
    roles: Annotated[str, typer.Option(help="personal-data: roles that may read it.")] = "",
    tlp: Annotated[str, typer.Option(help="TLP 2.0 marking of what is shared.")] = "AMBER",
) -> None:  # fmt: skip
    """Make an agreement (the same terms again while it runs return it)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import service

    terms = service.Terms(
        classes=_split(classes), purpose=purpose, legal_basis=legal_basis,
        scopes=[service.parse_scope(s) for s in scope or []],
        valid_from=_when(valid_from, "--valid-from"), valid_until=_when(until, "--until"),
        personal_roles=_split(roles), tlp=tlp,
    )  # fmt: skip
    with unit_of_work() as s:
        made = service.create_agreement(
            s, principal=cli_principal(), terms=terms, grantee_slug=to or None,
            group_slug=group or None,
        )  # fmt: skip
        shown = service.describe(s, made)
    console.print(f"agreement {shown['id']} ({shown['status']}): "
                  f"{shown['grantee'] or 'group ' + str(shown['group'])} may read "
                  f"{', '.join(shown['classes'])}")  # fmt: skip


@agreements_app.command("list")
def listed(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Agreements your organisation made or received, with their status."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import service

    with unit_of_work() as s:
        rows = [
            service.describe(s, a) for a in service.list_agreements(s, principal=cli_principal())
        ]
    if fmt == "json":
        console.print_json(json.dumps(rows))
        return
    table = Table("id", "owner", "grantee", "classes", "scope", "until", "status")
    for r in rows:
        table.add_row(str(r["id"]), str(r["owner"]), str(r["grantee"] or f"group {r['group']}"),
                      ", ".join(r["classes"]), escape(", ".join(r["scopes"]) or "all"),
                      str(r["valid_until"] or "open"), str(r["status"]))  # fmt: skip
    console.print(table)


@agreements_app.command("show")
def show(agreement_id: int) -> None:
    """One agreement, as JSON."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import service

    with unit_of_work() as s:
        found = service.get_agreement(s, principal=cli_principal(), agreement_id=agreement_id)
        console.print_json(json.dumps(service.describe(s, found)))


@agreements_app.command("amend")
def amend(
    agreement_id: int,
    until: Annotated[str, typer.Option(help="New end (ISO 8601 with offset); 'open': none.")] = "",
    classes: Annotated[str, typer.Option(help="New classes, comma-separated.")] = "",
    roles: Annotated[str, typer.Option(help="New personal-data roles, comma-separated.")] = "",
) -> None:
    """Change an agreement's end, classes or personal-data roles (audited)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import service

    end: datetime | str | None = "keep"
    if until:
        end = None if until == "open" else _when(until, "--until")
    with unit_of_work() as s:
        service.amend(
            s, principal=cli_principal(), agreement_id=agreement_id, valid_until=end,
            classes=_split(classes) or None, personal_roles=_split(roles) or None,
        )  # fmt: skip
    console.print(f"agreement {agreement_id} amended")


@agreements_app.command("revoke")
def revoke(agreement_id: int) -> None:
    """End an agreement now (audited)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import service

    with unit_of_work() as s:
        service.revoke_agreement(s, principal=cli_principal(), agreement_id=agreement_id)
    console.print(f"agreement {agreement_id} revoked")


def register(app: typer.Typer) -> None:
    """Add the agreements commands to the root command."""
    app.add_typer(agreements_app, name="agreements")
