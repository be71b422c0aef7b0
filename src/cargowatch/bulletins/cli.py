"""Commands: groups create/admit/remove/list, bulletins send/list/show/forward/watch/
unwatch/watchlist, stix export/import, misp export/import, taxii pull."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console
from cargowatch.exceptions import InvalidInput


def _read_json(file: Path) -> Any:
    """A JSON file, or InvalidInput naming it and what is wrong."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{file}: {exc}") from None


def _write_json(value: object, out: Path | None, what: str) -> None:
    """value as indented JSON to out, or to standard output."""
    text = json.dumps(value, indent=1) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"{what} written to {out}")


def _refused(why: list[str]) -> None:
    for line in why:
        console.print(f"refused: {escape(line)}")


groups_app = typer.Typer(help="Sharing groups: organisations that share with each other.")
bulletins_app = typer.Typer(help="Bulletins on emerging threats, under TLP 2.0 markings.")
stix_app = typer.Typer(help="STIX 2.1 bundles of what your organisation may share.")


@groups_app.command("create")
def group_create(slug: str, name: str) -> None:
    """Create a sharing group; your organisation is its steward."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import groups

    with unit_of_work() as s:
        g = groups.create(s, principal=cli_principal(), slug=slug, name=name)
    console.print(f"group {g.slug} ({escape(g.name)})")


@groups_app.command("admit")
def group_admit(slug: str, org: str) -> None:
    """Admit an organisation to a group you steward."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import groups

    with unit_of_work() as s:
        groups.admit(s, principal=cli_principal(), slug=slug, org_slug=org)
    console.print(f"{org} admitted to {slug}")


@groups_app.command("remove")
def group_remove(slug: str, org: str) -> None:
    """Remove an organisation from a group you steward."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import groups

    with unit_of_work() as s:
        groups.remove(s, principal=cli_principal(), slug=slug, org_slug=org)
    console.print(f"{org} removed from {slug}")


@groups_app.command("list")
def group_list() -> None:
    """Your organisation's groups, with steward and members."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing import groups

    with unit_of_work() as s:
        rows = groups.listed(s, principal=cli_principal())
    table = Table("group", "name", "steward", "members")
    for g in rows:
        members = g["members"]
        assert isinstance(members, list)
        table.add_row(str(g["slug"]), escape(str(g["name"])), str(g["steward"]), ", ".join(members))
    console.print(table)


@bulletins_app.command("send")
def send(
    file: Annotated[Path, typer.Argument(help="A JSON bulletin, as the API's body.")],
) -> None:
    """Write a bulletin from a JSON file (title, body, kind, tlp, distribution, group,
    recipients, indicators) and send it as its distribution says."""
    from cargowatch.bulletins import service
    from cargowatch.db.engine import unit_of_work

    body = _read_json(file)
    if not isinstance(body, dict):
        raise InvalidInput(f"{file}: expected one JSON object")
    allowed = {"title", "body", "kind", "tlp", "distribution", "group", "recipients",
               "indicators"}  # fmt: skip
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(f"{file}: unknown field(s) {', '.join(unknown)}")
    principal = cli_principal()
    with unit_of_work() as s:
        b = service.create(s, principal=principal, **body)
        console.print(f"bulletin {b.id}: {escape(b.title)} (TLP:{b.tlp}, {b.distribution})")


@bulletins_app.command("list")
def listed(limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50) -> None:
    """The bulletins your organisation may read."""
    from cargowatch.bulletins import service
    from cargowatch.db.engine import unit_of_work

    principal = cli_principal()
    table = Table("id", "TLP", "distribution", "from", "title", "indicators")
    with unit_of_work() as s:
        for b in service.listed(s, principal=principal, limit=limit):
            v = service.view(s, b, principal)
            table.add_row(str(b.id), f"TLP:{b.tlp}", b.distribution, str(v["organisation"]),
                          escape(b.title), str(len(v["indicators"])))  # fmt: skip
    console.print(table)


@bulletins_app.command("show")
def show(bulletin_id: int) -> None:
    """One bulletin as JSON, with its indicators."""
    from cargowatch.bulletins import service
    from cargowatch.db.engine import unit_of_work

    principal = cli_principal()
    with unit_of_work() as s:
        view = service.view(s, service.get(s, principal=principal, bulletin_id=bulletin_id),
                            principal)  # fmt: skip
    sys.stdout.write(json.dumps(view, indent=1) + "\n")


@bulletins_app.command("forward")
def forward(
    bulletin_id: int, to: Annotated[list[str], typer.Argument(help="Organisations (slugs).")]
) -> None:
    """Pass a bulletin on, as its marking allows."""
    from cargowatch.bulletins import service
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as s:
        added = service.forward(s, principal=cli_principal(), bulletin_id=bulletin_id, to=to)
    console.print(f"forwarded to {', '.join(added) or 'nobody new'}")


@bulletins_app.command("watch")
def watch(bulletin_id: int) -> None:
    """Put a bulletin on your organisation's watchlist (the risk engine matches it)."""
    from cargowatch.bulletins import service
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as s:
        new = service.watch(s, principal=cli_principal(), bulletin_id=bulletin_id)
    console.print(f"bulletin {bulletin_id} {'watched' if new else 'watched already'}; "
                  "your trips are rescored by the worker")  # fmt: skip


@bulletins_app.command("unwatch")
def unwatch(bulletin_id: int) -> None:
    """Take a bulletin off your organisation's watchlist."""
    from cargowatch.bulletins import service
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as s:
        service.unwatch(s, principal=cli_principal(), bulletin_id=bulletin_id)
    console.print(f"bulletin {bulletin_id} no longer watched")


@bulletins_app.command("watchlist")
def watchlist() -> None:
    """The bulletins your organisation watches, with their indicators."""
    from cargowatch.bulletins import service
    from cargowatch.db.engine import unit_of_work

    table = Table("bulletin", "TLP", "title", "indicators")
    with unit_of_work() as s:
        for v in service.watchlist(s, principal=cli_principal()):
            shown = ", ".join(f"{i['kind']} {i['value']}" for i in v["indicators"][:6])
            table.add_row(str(v["id"]), f"TLP:{v['tlp']}", escape(v["title"]), escape(shown))
    console.print(table)


@stix_app.command("export")
def export(
    out: Annotated[Path | None, typer.Option(help="Write here (default: standard output).")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only what changed since.")] = None,
) -> None:
    """A STIX 2.1 bundle of what your organisation may share; audited."""
    from datetime import UTC

    from cargowatch.bulletins import stix
    from cargowatch.db.engine import unit_of_work

    when = since.replace(tzinfo=since.tzinfo or UTC) if since else None
    with unit_of_work() as s:
        bundle = stix.export(s, principal=cli_principal(), since=when)
    _write_json(bundle, out, f"{len(bundle['objects'])} objects")


@stix_app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="A STIX 2.1 bundle (JSON).")]) -> None:
    """Take in a STIX 2.1 bundle: idempotent on its ids, markings kept; what cannot be read
    is listed by id and the rest kept."""
    from cargowatch.bulletins import stix
    from cargowatch.db.engine import unit_of_work

    bundle = _read_json(file)
    with unit_of_work() as s:
        got = stix.import_bundle(s, principal=cli_principal(), bundle=bundle)
    console.print(f"{got['bulletins']} bulletins taken in, {got['known']} known already, "
                  f"{got['other_objects']} other objects left")  # fmt: skip
    _refused(got["refused"])


misp_app = typer.Typer(help="MISP events of what your organisation may share.")


@misp_app.command("export")
def misp_export(
    out: Annotated[Path | None, typer.Option(help="Write here (default: standard output).")] = None,
) -> None:
    """What your organisation may share, as a JSON list of MISP events; audited."""
    from cargowatch.bulletins import misp
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as s:
        events = misp.export(s, principal=cli_principal())
    _write_json(events, out, f"{len(events)} events")


@misp_app.command("import")
def misp_import(file: Annotated[Path, typer.Argument(help="MISP events (JSON).")]) -> None:
    """Take in MISP events (one, or a list): idempotent on their UUIDs, TLP tags kept."""
    from cargowatch.bulletins import misp
    from cargowatch.db.engine import unit_of_work

    events = _read_json(file)
    events = [events] if isinstance(events, dict) else events
    if not isinstance(events, list):
        raise InvalidInput(f"{file}: expected a MISP event or a list of them")
    with unit_of_work() as s:
        got = misp.import_events(s, principal=cli_principal(), events=events)
    console.print(f"{got['events']} events taken in")
    _refused(got["refused"])


taxii_app = typer.Typer(help="TAXII 2.1: pull partners' collections into your bulletins.")


TaxiiUser = Annotated[
    str | None,
    typer.Option(help="HTTP Basic user (the password from CARGOWATCH_TAXII_PASSWORD)."),
]
TokenEnv = Annotated[
    str | None, typer.Option(help="Name of an environment variable holding a bearer token.")
]


def _credentials(user: str | None, token_env: str | None) -> tuple[str, str | None]:
    """How to sign in to a partner's TAXII server: (none|basic|bearer, its secret)."""
    import os

    if token_env:
        token = os.environ.get(token_env)
        if not token:
            raise InvalidInput(f"{token_env}: not set")
        return "bearer", token
    if user:
        return "basic", os.environ.get("CARGOWATCH_TAXII_PASSWORD")
    return "none", None


@taxii_app.command("pull")
def taxii_pull(
    api_root: Annotated[str, typer.Argument(help="The partner's API root URL.")],
    collection: Annotated[str, typer.Argument(help="The collection's id.")],
    user: TaxiiUser = None,
    token_env: TokenEnv = None,
) -> None:
    """Take in what a partner's collection added since the last pull (markings kept,
    idempotent on the ids)."""
    from cargowatch.db.engine import get_engine
    from cargowatch.taxii.client import pull
    from cargowatch.taxii.schedule import Bearer

    kind, secret = _credentials(user, token_env)
    got = pull(get_engine(), principal=cli_principal(), api_root=api_root,
               collection_id=collection, user=user,
               auth=Bearer(secret) if kind == "bearer" and secret else None,
               password=secret if kind == "basic" else None)  # fmt: skip
    console.print(f"{got['objects']} objects read, {got['bulletins']} bulletins taken in, "
                  f"{got['known']} known already")  # fmt: skip
    _refused(got["refused"])


@taxii_app.command("schedule")
def taxii_schedule(
    api_root: Annotated[str, typer.Argument(help="The partner's API root URL.")],
    collection: Annotated[str, typer.Argument(help="The collection's id.")],
    every: Annotated[int, typer.Option(help="Minutes between pulls (5 to a week).")] = 60,
    user: TaxiiUser = None,
    token_env: TokenEnv = None,
) -> None:
    """Pull a partner's collection every so many minutes with the job queue (`cargowatch
    worker` or `serve`), as you, with the credentials sealed in the store."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.taxii.schedule import schedule

    kind, secret = _credentials(user, token_env)
    if kind == "basic" and not secret:
        raise InvalidInput("CARGOWATCH_TAXII_PASSWORD: not set (the user's password)")
    with unit_of_work() as s:
        row = schedule(s, principal=cli_principal(), api_root=api_root, collection_id=collection,
                       every_minutes=every, auth_kind=kind, user=user, secret=secret)  # fmt: skip
        pull_id = row.id
    console.print(f"pull {pull_id}: {escape(collection)} every {every} minutes")


@taxii_app.command("schedules")
def taxii_schedules() -> None:
    """Your organisation's pulls: schedule, what was read, the last error."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.taxii.schedule import listed

    with unit_of_work() as s:
        rows = listed(s, principal=cli_principal())
    table = Table("id", "collection", "every", "read", "bulletins", "next", "last error")
    for r in rows:
        table.add_row(str(r["id"]), escape(f"{r['api_root']}collections/{r['collection']}/"),
                      f"{r['every_minutes']} min" if r["every_minutes"] else "by hand",
                      str(r["objects"]), str(r["bulletins"]), str(r["next_pull_at"] or "-"),
                      escape(str(r["last_error"] or "")))  # fmt: skip
    console.print(table)


@taxii_app.command("unschedule")
def taxii_unschedule(pull_id: int) -> None:
    """Stop a scheduled pull (what was read stays)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.taxii.schedule import unschedule

    with unit_of_work() as s:
        unschedule(s, principal=cli_principal(), pull_id=pull_id)
    console.print(f"pull {pull_id} unscheduled")


def register(app: typer.Typer) -> None:
    """Add the groups, bulletins and stix commands to the root command."""
    app.add_typer(groups_app, name="groups")
    app.add_typer(bulletins_app, name="bulletins")
    app.add_typer(stix_app, name="stix")
    app.add_typer(taxii_app, name="taxii")
    app.add_typer(misp_app, name="misp")
