"""Scheduled TAXII pulls: a partner's collection pulled every so many minutes by the job
queue, as the user who scheduled it, with its credentials sealed in the store. A worker check
queues one job per due schedule; a failed pull is recorded on the schedule (error, failures)
and tried again with backoff, at most the schedule's own interval apart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.db.base import utcnow
from cargowatch.db.engine import unit_of_work
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.jobs.runner import handler, tick
from cargowatch.jobs.service import enqueue
from cargowatch.sealed import seal, unseal
from cargowatch.taxii.models import TaxiiPull

PULL = "taxii.pull"
PURPOSE = "taxii-pull"
AUTH_KINDS = ("none", "basic", "bearer")
BACKOFF = timedelta(minutes=1)


class Bearer:
    """requests' auth: a bearer token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def schedule(
    session: Session, *, principal: Principal, api_root: str, collection_id: str,
    every_minutes: int, auth_kind: str = "none", user: str | None = None,
    secret: str | None = None,
) -> TaxiiPull:  # fmt: skip
    """Pull a collection every so many minutes from now on (scheduling it again changes the
    interval and the credentials); audited without the secret."""
    principal.require("events:write")
    root = api_root.rstrip("/") + "/"
    if not root.startswith(("https://", "http://")):
        raise InvalidInput(f"{api_root}: a TAXII API root's URL (https://...)")
    if not 5 <= every_minutes <= 7 * 24 * 60:
        raise InvalidInput("every: from 5 minutes to a week")
    if auth_kind not in AUTH_KINDS:
        raise InvalidInput(f"auth: expected one of {', '.join(AUTH_KINDS)}")
    if auth_kind != "none" and not secret:
        raise InvalidInput(f"auth {auth_kind}: give its secret (a password or a token)")
    if auth_kind == "basic" and not user:
        raise InvalidInput("auth basic: give the user")
    row = session.scalar(select(TaxiiPull).where(
        TaxiiPull.org_id == principal.org_id, TaxiiPull.api_root == root,
        TaxiiPull.collection_id == collection_id))  # fmt: skip
    if row is None:
        row = TaxiiPull(org_id=principal.org_id, api_root=root, collection_id=collection_id,
                        last_added="", objects=0, bulletins=0)  # fmt: skip
        session.add(row)
    row.every_minutes, row.run_as, row.auth_kind = every_minutes, principal.username, auth_kind
    row.auth_user = user if auth_kind == "basic" else None
    row.auth_sealed = seal(PURPOSE, secret.encode()) if secret and auth_kind != "none" else None
    row.next_pull_at, row.failures, row.last_error = utcnow(), 0, None
    session.flush()
    after = {"api_root": root, "every_minutes": every_minutes, "auth": auth_kind,
             "user": row.auth_user}  # fmt: skip
    audit.record(session, actor=principal, action="taxii.schedule",
                 entity_type="taxii-collection", entity_id=collection_id, after=after)  # fmt: skip
    return row


def unschedule(session: Session, *, principal: Principal, pull_id: int) -> None:
    """Stop pulling a collection on a schedule (what was read stays); audited."""
    principal.require("events:write")
    row = session.get(TaxiiPull, pull_id)
    if row is None or row.org_id != principal.org_id or row.every_minutes is None:
        raise NotFound(f"no scheduled pull {pull_id}")
    row.every_minutes = row.next_pull_at = row.auth_sealed = row.auth_user = None
    row.auth_kind = "none"
    audit.record(session, actor=principal, action="taxii.unschedule",
                 entity_type="taxii-collection", entity_id=row.collection_id)  # fmt: skip


def listed(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """The caller's organisation's pulls, scheduled or not, with their state (no secrets)."""
    principal.require("events:read")
    rows = session.scalars(select(TaxiiPull).where(TaxiiPull.org_id == principal.org_id)
                           .order_by(TaxiiPull.id))  # fmt: skip
    return [{"id": r.id, "api_root": r.api_root, "collection": r.collection_id,
             "every_minutes": r.every_minutes, "auth": r.auth_kind, "run_as": r.run_as,
             "last_added": r.last_added or None, "objects": r.objects, "bulletins": r.bulletins,
             "pulled_at": r.pulled_at.isoformat() if r.pulled_at else None,
             "next_pull_at": r.next_pull_at.isoformat() if r.next_pull_at else None,
             "failures": r.failures, "last_error": r.last_error} for r in rows]  # fmt: skip


def queue_due(engine: Engine) -> int:
    """Queue a pull job for each schedule that is due; how many."""
    with unit_of_work(engine) as session:
        due = session.execute(
            select(TaxiiPull.id, TaxiiPull.org_id).where(
                TaxiiPull.every_minutes.is_not(None), TaxiiPull.next_pull_at <= utcnow()
            )
        ).all()
        for pull_id, org_id in due:
            enqueue(session, org_id=org_id, kind=PULL, key=f"taxii-pull-{pull_id}",
                    payload={"pull": pull_id}, created_by="taxii schedule")  # fmt: skip
    return len(due)


@tick("taxii-schedules")
def _queue_due(engine: Engine) -> None:
    queue_due(engine)


@handler(PULL)
def _pull(engine: Engine, org_id: int, payload: dict[str, Any]) -> None:
    """One scheduled pull; a failure is written on the schedule and raised (retried)."""
    from cargowatch.auth.service import principal_for_username
    from cargowatch.taxii.client import pull

    with unit_of_work(engine) as session:
        row = session.get(TaxiiPull, int(payload["pull"]))
        if row is None or row.every_minutes is None:
            return  # unscheduled since
        root, collection, kind, user = row.api_root, row.collection_id, row.auth_kind, row.auth_user
        every = timedelta(minutes=row.every_minutes)
        try:
            principal = principal_for_username(session, row.run_as or "")
            secret = unseal(PURPOSE, row.auth_sealed).decode() if row.auth_sealed else None
            error = None
        except Exception as exc:  # the user left, or the key changed: say so on the schedule
            error = f"{type(exc).__name__}: {exc}"
        row.next_pull_at = utcnow() + every  # a slow pull is not queued twice meanwhile
    if error is None:
        try:
            pull(engine, principal=principal, api_root=root, collection_id=collection,
                 auth=Bearer(secret) if kind == "bearer" and secret else None,
                 user=user if kind == "basic" else None,
                 password=secret if kind == "basic" else None)  # fmt: skip
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
    with unit_of_work(engine) as session:
        row = session.get(TaxiiPull, int(payload["pull"]))
        if row is None:
            return
        if error is None:
            row.failures, row.last_error = 0, None
            return
        row.failures += 1
        row.last_error = error[:2000]
        row.next_pull_at = utcnow() + min(BACKOFF * 2 ** (row.failures - 1), every)
    raise RuntimeError(f"TAXII pull {payload['pull']}: {error}")
