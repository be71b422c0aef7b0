"""Commands: referrals send/list/inbox/move/attach/ask/metrics/escalate, spocs declare/list."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cargowatch.admin_cli import cli_principal
from cargowatch.console import console, err_console, progress_bar
from cargowatch.exceptions import CargowatchError, InvalidInput

referrals_app = typer.Typer(help="Referrals to a Customs single point of contact.")
spocs_app = typer.Typer(help="Customs points of contact.")


@referrals_app.command("send")
def send(
    file: Annotated[Path, typer.Argument(help="NDJSON: one referral per line (the API's body).")],
) -> None:
    """Send referrals from a file, each as the API would (idempotent on client_ref), in
    batches of 500; a line that is refused is reported with its number and reason, the
    others go on."""
    from cargowatch.referrals import flows

    principal = cli_principal()
    new = again = 0
    refused: list[str] = []
    batch: list[tuple[int, dict[str, object]]] = []

    def flush() -> None:
        nonlocal new, again
        if not batch:
            return
        results = flows.send_many(principal=principal, bodies=[b for _, b in batch])
        for (number, _), sent in zip(batch, results, strict=True):
            if sent.error is not None:
                refused.append(f"{file}:{number}: {sent.error}")
            else:
                new, again = new + sent.new, again + (not sent.new)
        batch.clear()

    with file.open(encoding="utf-8") as handle, progress_bar("sending") as bar:
        task = bar.add_task("referrals", total=file.stat().st_size)
        for number, line in enumerate(handle, 1):
            bar.advance(task, len(line.encode()))
            if not line.strip():
                continue
            try:
                body = json.loads(line)
                if not isinstance(body, dict):
                    raise InvalidInput("expected a JSON object")
                if body.get("observed_at"):
                    body["observed_at"] = datetime.fromisoformat(
                        str(body["observed_at"]).replace("Z", "+00:00")
                    )
            except (CargowatchError, ValueError, TypeError) as exc:
                refused.append(f"{file}:{number}: {exc}")
                continue
            batch.append((number, body))
            if len(batch) >= 500:
                flush()
        flush()
    console.print(f"{new:,} referrals sent, {again:,} sent before, {len(refused):,} refused")
    for reason in refused[:20]:
        err_console.print(f"[red]{escape(reason)}[/]", soft_wrap=True, highlight=False)
    if refused:
        raise typer.Exit(1)


@referrals_app.command("list")
def mine() -> None:
    """The referrals your organisation sent, with the state of each copy."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.referrals import service

    principal = cli_principal()
    table = Table("id", "sent", "category", "containers", "states")
    with unit_of_work() as s:
        for r in service.mine(s, principal=principal):
            states = ", ".join(c.state for c in service.copies_of(s, r.id)) or "not routed"
            table.add_row(str(r.id), f"{r.created_at:%Y-%m-%d %H:%M}", r.category,
                          r.containers, states)  # fmt: skip
    console.print(table)


@referrals_app.command("inbox")
def inbox(
    state: Annotated[str, typer.Option(help="Only this state.")] = "",
    overdue: Annotated[bool, typer.Option(help="Only those overdue.")] = False,
) -> None:
    """The referrals routed to your Customs organisation, soonest due first."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.referrals import service

    principal = cli_principal()
    table = Table("id", "due (UTC)", "state", "urgency", "category", "containers", "routed because")
    with unit_of_work() as s:
        rows = service.inbox(s, principal=principal, state=state or None,
                             overdue_at=service.now_utc() if overdue else None)  # fmt: skip
        for c, r in rows:
            table.add_row(str(r.id), f"{c.due_at:%Y-%m-%d %H:%M}", c.state, r.urgency,
                          r.category, r.containers, c.routed_by)  # fmt: skip
    console.print(table)


@referrals_app.command("move")
def move(
    referral: Annotated[int, typer.Argument(help="Referral id.")],
    state: Annotated[str, typer.Argument(help="acknowledged, under-assessment, actioned, ...")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    outcome: Annotated[str, typer.Option(help="How it ended (to close).")] = "",
) -> None:
    """Move your copy of a referral along its workflow (or withdraw one you sent)."""
    from cargowatch.referrals import flows

    view = flows.move(principal=cli_principal(), referral_id=referral, state=state, note=note,
                      outcome=outcome or None)  # fmt: skip
    console.print(f"referral {referral}: " + ", ".join(c["state"] for c in view["copies"]))


@referrals_app.command("attach")
def attach(
    referral: Annotated[int, typer.Argument(help="Referral id (one your organisation sent).")],
    files: Annotated[list[Path], typer.Argument(help="Photos (JPEG, PNG, WebP) or PDFs.")],
) -> None:
    """Attach files to a referral your organisation sent; each is checked by its content
    and stored with its SHA-256 (the same file again is stored once)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.referrals import attachments

    principal = cli_principal()
    loaded = []
    for path in files:
        with path.open("rb") as handle:
            loaded.append(attachments.read_capped(handle, str(path)))
    for name, data in loaded:
        attachments.check(name, data)  # every file checked before any is stored
    with unit_of_work() as s:
        for name, data in loaded:
            row, new = attachments.attach(s, principal=principal, referral_id=referral,
                                          name=name, data=data)  # fmt: skip
            console.print(f"{'attached' if new else 'attached before'}: {row.name} "
                          f"{row.media_type} {row.size:,} bytes sha256 {row.sha256}")  # fmt: skip


@referrals_app.command("ask")
def ask(
    referral: Annotated[int, typer.Argument(help="Referral id.")],
    text: Annotated[str, typer.Argument(help="The question (Customs) or the answer (referrer).")],
    customs_org: Annotated[
        int | None, typer.Option(help="Answering: the Customs organisation's id.")
    ] = None,
) -> None:
    """Ask the referrer a question (Customs), or answer one (the referrer)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.referrals import thread

    with unit_of_work() as s:
        m = thread.post(s, principal=cli_principal(), referral_id=referral, text=text,
                        customs_org_id=customs_org)  # fmt: skip
        console.print(f"{m.kind} {m.id} on referral {referral}")


@referrals_app.command("metrics")
def metrics(
    by: Annotated[str, typer.Option(help="spoc, customs or referrer.")] = "",
    csv: Annotated[bool, typer.Option("--csv", help="Write CSV to standard output.")] = False,
) -> None:
    """Time to acknowledge and to feedback, share in time, with feedback, inspections and
    seizures: per point of contact or referring organisation (Customs), per Customs
    organisation reached (industry)."""
    import sys

    from cargowatch.db.engine import unit_of_work
    from cargowatch.referrals import service

    with unit_of_work() as s:
        rows = service.metrics(s, principal=cli_principal(), by=by or None)
    if csv:
        sys.stdout.write(service.metrics_csv(rows))
        return
    header = list(rows[0]) if rows else ["group", "referrals"]
    table = Table(*header)
    for r in rows:
        table.add_row(*("" if r[k] is None else f"{r[k]:.2f}" if isinstance(r[k], float)
                        else str(r[k]) for k in header))  # fmt: skip
    console.print(table)


@referrals_app.command("escalate")
def escalate() -> None:
    """Escalate now what is overdue and release the feedback that is due (the worker does
    both on every pass)."""
    from cargowatch.db.engine import get_engine
    from cargowatch.referrals import flows

    engine = get_engine()
    console.print(f"{flows.escalate_due(engine)} escalated, {flows.release_due(engine)} "
                  "feedback released")  # fmt: skip


@spocs_app.command("declare")
def declare(
    name: Annotated[str, typer.Argument(help="The point of contact's name.")],
    covers: Annotated[str, typer.Option(help="UN/LOCODEs or countries, comma-separated.")],
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    hours: Annotated[str, typer.Option(help="Opening hours, HH:MM-HH:MM.")] = "08:00-18:00",
    email: Annotated[str, typer.Option(help="Where referrals are mailed.")] = "",
    backup_email: Annotated[str, typer.Option(help="Who hears of late ones.")] = "",
    webhook: Annotated[str, typer.Option(help="An http(s) address to call.")] = "",
) -> None:
    """Declare (or change) a point of contact of your Customs organisation (admins)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.referrals import service

    opens, _, closes = hours.partition("-")
    with unit_of_work() as s:
        row = service.declare_spoc(
            s, principal=cli_principal(), name=name, jurisdiction=covers.split(","),
            timezone=timezone, opens=opens, closes=closes, email=email or None,
            backup_email=backup_email or None, webhook_url=webhook or None,
        )  # fmt: skip
        console.print(f"point of contact {row.id} {row.name}: {row.jurisdiction}")


@spocs_app.command("list")
def spocs(place: Annotated[str, typer.Option(help="Only those covering a place.")] = "") -> None:
    """Every Customs point of contact (or those covering a place)."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.referrals import service

    table = Table("id", "name", "Customs", "covers", "hours", "acknowledges within")
    with unit_of_work() as s:
        for p in service.directory(s, principal=cli_principal(), place=place or None):
            table.add_row(str(p["id"]), p["name"], p["organisation"], ",".join(p["jurisdiction"]),
                          f"{p['opens']}-{p['closes']} {p['timezone']}",
                          f"{p['urgent_minutes']} / {p['routine_minutes']} min")  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the referrals and spocs commands to the root command."""
    app.add_typer(referrals_app, name="referrals")
    app.add_typer(spocs_app, name="spocs")
