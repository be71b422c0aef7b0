"""Local administration commands: db, orgs, users, tokens, shares, serve."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from cargowatch.auth.principal import ROLES, Principal
from cargowatch.config import get_settings
from cargowatch.console import console, err_console, local_admin, state
from cargowatch.orgs.models import ORG_KINDS

db_app = typer.Typer(help="The store: schema migrations.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations (local administration).", no_args_is_help=True)
users_app = typer.Typer(
    help="Users of an organisation (local administration).", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens (local administration).", no_args_is_help=True)
audit_app = typer.Typer(
    help="The audit log: read it, and check that its hash chain is intact.", no_args_is_help=True
)
shares_app = typer.Typer(
    help="Share your organisation's events with another.", no_args_is_help=True
)


def cli_principal() -> Principal:
    """The user this CLI acts as (--as or CARGOWATCH_USER)."""
    from cargowatch.auth.service import principal_for_username
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as session:
        return principal_for_username(session, state.acting_as or get_settings().user)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the store to the newest schema (creates it when empty)."""
    from cargowatch.db.engine import get_engine
    from cargowatch.db.migrate import current_revision, upgrade

    engine = get_engine(upgrade=False)
    upgrade(engine)
    console.print(f"store {engine.url.render_as_string()} at schema {current_revision(engine)}")


@db_app.command("current")
def db_current() -> None:
    """Show which store is configured and its schema revision."""
    from cargowatch.db.engine import get_engine
    from cargowatch.db.migrate import current_revision, head_revision

    engine = get_engine(upgrade=False)
    console.print(f"store:  {engine.url.render_as_string()}")
    console.print(f"schema: {current_revision(engine)} (newest: {head_revision()})")


@orgs_app.command("create")
def orgs_create(
    slug: Annotated[str, typer.Argument(help="Short lowercase name, e.g. 'customs-be'.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(ORG_KINDS)}.")] = "OTHER",
) -> None:
    """Create an organisation."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.orgs.service import create_org

    with unit_of_work() as session:
        org = create_org(session, actor=local_admin(), slug=slug, name=name, kind=kind)
    console.print(f"organisation {org.slug} created (id {org.id})")


@orgs_app.command("explore")
def orgs_explore(
    slug: Annotated[str, typer.Argument(help="The organisation.")],
    share: Annotated[
        float | None,
        typer.Argument(help="Share of the daily queue picked to explore (omit: the default)."),
    ] = None,
) -> None:
    """Set the share of an organisation's targeting queue picked to explore (0.1 suggested):
    random or least known trips, so that outcomes teach more than the model's own picks."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.orgs.service import set_explore_share

    with unit_of_work() as session:
        org = set_explore_share(session, actor=local_admin(), slug=slug, share=share)
        shown = "the default" if org.explore_share is None else f"{org.explore_share:.0%}"
    console.print(f"{slug} explores {shown} of its queue")


@orgs_app.command("list")
def orgs_list() -> None:
    """List organisations."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.orgs.service import list_orgs

    table = Table("id", "slug", "name", "kind")
    with unit_of_work() as session:
        for org in list_orgs(session):
            table.add_row(str(org.id), org.slug, org.name, org.kind)
    console.print(table)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    org: Annotated[str, typer.Option(help="Organisation slug.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")] = "analyst",
    display_name: Annotated[str, typer.Option(help="Name shown to people.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a password (for the web UI) from stdin.")
    ] = False,
) -> None:
    """Create a user of an organisation."""
    from cargowatch.auth.service import create_user
    from cargowatch.db.engine import unit_of_work

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with unit_of_work() as session:
        user = create_user(
            session, actor=local_admin(), org_slug=org, username=username, role=role,
            password=password, display_name=display_name,
        )  # fmt: skip
    console.print(f"user {user.username} created in {org} as {role}")


@users_app.command("list")
def users_list(org: Annotated[str, typer.Option(help="Only this organisation.")] = "") -> None:
    """List users."""
    from cargowatch.auth.service import list_users
    from cargowatch.db.engine import unit_of_work

    table = Table("username", "organisation", "role", "active")
    with unit_of_work() as session:
        for user, slug in list_users(session, org_slug=org or None):
            table.add_row(user.username, slug, user.role, "yes" if user.active else "no")
    console.print(table)


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Disable a user: its web sessions end and its API tokens are revoked."""
    from cargowatch.auth.sessions import set_active
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as session:
        set_active(session, actor=local_admin(), username=username, active=False)
    console.print(f"user {username} disabled; its sessions ended and its tokens revoked")


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Enable a disabled user again (its old tokens stay revoked)."""
    from cargowatch.auth.sessions import set_active
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as session:
        set_active(session, actor=local_admin(), username=username, active=True)
    console.print(f"user {username} enabled")


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="The user.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Give a user a new web password (asked for twice, or read from stdin); every session of
    the user ends."""
    from cargowatch.auth.sessions import set_password
    from cargowatch.db.engine import unit_of_work
    from cargowatch.exceptions import InvalidInput

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True)
        if typer.prompt("Again", hide_input=True) != password:
            raise InvalidInput("the two passwords differ")
    with unit_of_work() as session:
        n = set_password(session, actor=local_admin(), username=username, password=password)
    console.print(f"password of {username} set; {n} session(s) ended")


@users_app.command("sessions")
def users_sessions(
    username: Annotated[str, typer.Argument(help="The user.")],
    revoke: Annotated[bool, typer.Option("--revoke", help="End every live session.")] = False,
) -> None:
    """List a user's web sessions (or end them all with --revoke)."""
    from cargowatch.auth.sessions import list_sessions, revoke_sessions
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as session:
        if revoke:
            n = revoke_sessions(session, actor=local_admin(), username=username)
            console.print(f"{n} session(s) of {username} ended")
            return
        table = Table("id", "started (UTC)", "last seen", "client", "ended", "why")
        for ws in list_sessions(session, actor=local_admin(), username=username):
            table.add_row(
                str(ws.id), f"{ws.created_at:%Y-%m-%d %H:%M}", f"{ws.last_seen_at:%Y-%m-%d %H:%M}",
                ws.client, f"{ws.revoked_at:%Y-%m-%d %H:%M}" if ws.revoked_at else "",
                ws.revoked_why or "",
            )  # fmt: skip
    console.print(table)


@tokens_app.command("create")
def tokens_create(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    expires_days: Annotated[int, typer.Option(help="Days until it expires (0: never).")] = 0,
) -> None:
    """Create an API token; it is printed once and only its digest is stored."""
    from cargowatch.auth.service import create_token
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as session:
        token, plain = create_token(
            session, actor=local_admin(), username=username, name=name,
            expires_days=expires_days or None,
        )  # fmt: skip
    console.print(f"token {token.prefix}… for {username} (store it now, it is not shown again):")
    print(plain)


@tokens_app.command("revoke")
def tokens_revoke(prefix: Annotated[str, typer.Argument(help="The token's shown prefix.")]) -> None:
    """Revoke an API token."""
    from cargowatch.auth.service import revoke_token
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as session:
        revoke_token(session, actor=local_admin(), prefix=prefix)
    console.print(f"token {prefix} revoked")


@shares_app.command("grant")
def shares_grant(
    to: Annotated[str, typer.Option("--to", help="Organisation slug that may read.")],
    container: Annotated[str, typer.Option(help="Share this container's events.")] = "",
    all_events: Annotated[bool, typer.Option("--all", help="Share all events.")] = False,
) -> None:
    """Let another organisation read your organisation's events."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.exceptions import InvalidInput
    from cargowatch.sharing.service import grant

    if bool(container) == all_events:
        raise InvalidInput("give either --container NUMBER or --all")
    principal = cli_principal()
    with unit_of_work() as session:
        share = grant(
            session, principal=principal, grantee_slug=to,
            scope="all-events" if all_events else "container",
            value=container.strip().upper(),
        )  # fmt: skip
    console.print(f"share {share.id}: {to} may read {'all events' if all_events else container}")


@shares_app.command("revoke")
def shares_revoke(
    share_id: Annotated[int, typer.Argument(help="Share id (see 'shares list').")],
) -> None:
    """Withdraw a share your organisation gave."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing.service import revoke

    principal = cli_principal()
    with unit_of_work() as session:
        revoke(session, principal=principal, share_id=share_id)
    console.print(f"share {share_id} withdrawn")


@shares_app.command("list")
def shares_list() -> None:
    """Shares your organisation gave or received."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.sharing.service import list_shares

    principal = cli_principal()
    table = Table("id", "owner org", "grantee org", "scope", "value")
    with unit_of_work() as session:
        for s in list_shares(session, principal=principal):
            table.add_row(*(str(s[k]) for k in ("id", "owner_org_id", "grantee_org_id", "scope",
                                                "value")))  # fmt: skip
    console.print(table)


@audit_app.command("list")
def audit_list(
    action: Annotated[str, typer.Option(help="Only this action, e.g. auth.login.")] = "",
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="How many, newest first.")] = 50,
) -> None:
    """The newest audit entries of the whole store (local administration)."""
    from cargowatch.audit.service import list_entries
    from cargowatch.db.engine import unit_of_work

    table = Table("id", "time (UTC)", "actor", "action", "entity", "after")
    with unit_of_work() as session:
        for e in list_entries(session, principal=None, action=action or None, limit=limit):
            table.add_row(
                str(e.id), e.ts.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action,
                f"{e.entity_type} {e.entity_id}", (e.after or "")[:80],
            )  # fmt: skip
    console.print(table)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain over the whole log; exit 1 naming the first broken row."""
    from cargowatch.audit.service import verify
    from cargowatch.db.engine import unit_of_work

    with unit_of_work() as session:
        v = verify(session)
    if not v.ok:
        err_console.print(
            f"audit log broken at row {v.broken_id}: {v.problem} ({v.rows} rows intact before it)"
        )
        raise typer.Exit(1)
    console.print(f"audit log intact: {v.rows} rows, head {v.head}")


jobs_app = typer.Typer(
    help="Durable jobs: uploads, custody rebuilds and rescoring that follow a commit.",
    invoke_without_command=True,
)


@jobs_app.callback()
def jobs_list(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="queued, running, done or failed.")] = "",
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 30,
) -> None:
    """List the newest jobs of the store, with a count per status."""
    if ctx.invoked_subcommand is not None:
        return
    from cargowatch.db.engine import unit_of_work
    from cargowatch.jobs.service import counts, list_jobs

    table = Table("id", "org", "kind", "status", "tries", "queued (UTC)", "by", "last error")
    with unit_of_work() as session:
        for j in list_jobs(session, principal=None, status=status or None, limit=limit):
            error = (j.last_error or "").strip().splitlines()
            table.add_row(
                str(j.id), str(j.org_id), j.kind, j.status, str(j.attempts),
                f"{j.created_at:%Y-%m-%d %H:%M:%S}", j.created_by, error[-1][:60] if error else "",
            )  # fmt: skip
        per = counts(session)
    console.print(table)
    console.print(", ".join(f"{n} {s}" for s, n in sorted(per.items())) or "no jobs")


@jobs_app.command("retry")
def jobs_retry(job_id: Annotated[int, typer.Argument(help="A failed job's id.")]) -> None:
    """Queue a failed job again."""
    from cargowatch.db.engine import unit_of_work
    from cargowatch.jobs.service import retry

    with unit_of_work() as session:
        retry(session, actor=local_admin(), job_id=job_id)
    console.print(f"job {job_id} queued again")


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run what is due, then stop.")] = False,
    poll: Annotated[float, typer.Option(min=0.1, help="Seconds between looks.")] = 2.0,
    feed: Annotated[
        str | None,
        typer.Option(help="Also take in your organisation's live feed from this NATS server."),
    ] = None,
) -> None:
    """Run queued jobs (uploads, custody rebuilds, rescoring) until stopped, or once; with
    --feed, also consume the organisation's live event feed with the other workers."""
    from cargowatch.db.engine import get_engine
    from cargowatch.jobs.runner import Worker, run_pending

    engine = get_engine()
    if feed:
        _feed_worker(engine, feed, poll)
        return
    if once:
        done, failed = run_pending(
            engine, on_job=lambda j: err_console.print(f"job {j.id}: {j.kind}")
        )
        console.print(f"{done} jobs done, {failed} failed attempts")
        return
    console.print("running jobs (Ctrl-C stops)")
    try:
        Worker(engine, poll=poll).run()
    except KeyboardInterrupt:
        console.print("stopped")


def _feed_worker(engine: Any, url: str, poll: float) -> None:
    """Jobs in a thread, the feed in this one, until SIGTERM or SIGINT."""
    import asyncio
    import signal

    from cargowatch.ingest.feed import consume
    from cargowatch.jobs.runner import Worker

    principal = cli_principal()
    jobs = Worker(engine, poll=poll)
    jobs.start()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        stats = await consume(url, principal=principal, engine=engine, stop=stop)
        console.print(f"feed: {stats.messages} messages, {stats.stored} events stored, "
                      f"{stats.duplicates} known, {stats.quarantined} quarantined")  # fmt: skip

    console.print(f"running jobs and the feed of {principal.org_slug} from {url} (Ctrl-C stops)")
    try:
        asyncio.run(run())
    finally:
        jobs.stop()


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web interface and the HTTP API (OpenAPI at /docs), and run queued jobs."""
    import uvicorn

    from cargowatch.app import create_app
    from cargowatch.config import LOOPBACK, get_settings

    if host not in LOOPBACK and len(get_settings().secret_key) < 32:
        err_console.print(
            f"refusing to serve on {host}: other machines could reach a server whose session key "
            "is the embedded one. Set CARGOWATCH_SECRET_KEY to a random secret of 32+ "
            "characters (and CARGOWATCH_ENV=prod behind https), or serve on 127.0.0.1."
        )
        raise typer.Exit(2)
    console.print(f"cargowatch on http://{host}:{port} (web interface; API docs at /docs)")
    uvicorn.run(create_app(worker=True), host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add the administration commands to the root command."""
    app.add_typer(db_app, name="db")
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(shares_app, name="shares")
    app.add_typer(audit_app, name="audit")
    app.command("serve")(serve)
    app.add_typer(jobs_app, name="jobs")
    app.command("worker")(worker)
