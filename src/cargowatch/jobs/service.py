"""Enqueueing, claiming and finishing jobs. Enqueue joins the caller's transaction, so a job
exists exactly when the data it follows was committed; claims are atomic on both stores (one
UPDATE ... RETURNING; SKIP LOCKED on PostgreSQL), and a job whose worker died is claimed again."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import Engine, and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.db.base import utcnow
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.jobs.models import JOB_STATUSES, WAITING, Job

LEASE = timedelta(minutes=30)  # a worker that holds a job longer is presumed dead
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 10.0  # doubled after every failed attempt


def worker_id() -> str:
    """This process, as a job's worker: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(
    session: Session,
    *,
    org_id: int,
    kind: str,
    payload: Mapping[str, Any] | None = None,
    key: str | None = None,
    created_by: str = "",
) -> None:
    """Add a job in the caller's transaction; with a key, nothing is added while a job with
    the same key waits."""
    values = {
        "org_id": org_id, "kind": kind, "key": key, "status": "queued", "attempts": 0,
        "payload": msgspec.json.encode(dict(payload or {})).decode(),
        "run_after": utcnow(), "created_by": created_by[:200], "created_at": utcnow(),
    }  # fmt: skip
    if key is None:
        session.execute(Job.__table__.insert().values(**values))  # type: ignore[attr-defined]
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # the partial index's own predicate, word for word, or PostgreSQL does not find the index
    stmt: Any = (
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"], index_where=text(WAITING))
    )
    session.execute(stmt)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job a worker holds: what to do, for which organisation."""

    id: int
    org_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


def is_dead(worker: str | None) -> bool:
    """Whether the worker that holds a job is a process of this host that no longer runs."""
    if not worker:
        return True
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def claim(
    engine: Engine,
    *,
    org_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
    keys: tuple[str, ...] | None = None,
) -> Claimed | None:
    """Take the oldest due job (of one organisation, of some kinds) or None; a running job
    whose lease ran out, or whose worker on this host is gone, is due again."""
    me = worker_id()
    with engine.begin() as conn:
        now = utcnow()
        stuck = conn.execute(select(Job.id, Job.worker).where(Job.status == "running")).all()
        dead = [j for j, w in stuck if is_dead(w) and w != me]
        due = or_(
            and_(Job.status == "queued", Job.run_after <= now),
            and_(Job.status == "running", Job.locked_until < now),
            Job.id.in_(dead or [-1]),
        )
        pick = select(Job.id).where(due)
        if org_id is not None:
            pick = pick.where(Job.org_id == org_id)
        if kinds:
            pick = pick.where(Job.kind.in_(kinds))
        if keys:
            pick = pick.where(Job.key.in_(keys))
        pick = pick.order_by(Job.id).limit(1)
        if engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        row = conn.execute(
            update(Job)
            .where(Job.id == pick.scalar_subquery())
            .values(
                status="running", worker=me, locked_until=now + LEASE, attempts=Job.attempts + 1
            )
            .returning(Job.id, Job.org_id, Job.kind, Job.payload, Job.attempts)
        ).first()
    if row is None:
        return None
    return Claimed(row.id, row.org_id, row.kind, msgspec.json.decode(row.payload), row.attempts)


def finish(engine: Engine, job_id: int) -> None:
    """Mark a job done."""
    with engine.begin() as conn:
        conn.execute(
            update(Job).where(Job.id == job_id)
            .values(status="done", finished_at=utcnow(), locked_until=None)
        )  # fmt: skip


def fail(engine: Engine, job: Claimed, error: str) -> str:
    """A failed attempt: queued again after a backoff, or failed for good after MAX_ATTEMPTS;
    returns the new status."""
    status = "failed" if job.attempts >= MAX_ATTEMPTS else "queued"
    wait = timedelta(seconds=BACKOFF_SECONDS * 2 ** (job.attempts - 1))
    with engine.begin() as conn:
        conn.execute(
            update(Job).where(Job.id == job.id)
            .values(status=status, last_error=error[:4000], locked_until=None,
                    run_after=utcnow() + wait,
                    finished_at=utcnow() if status == "failed" else None)
        )  # fmt: skip
    return status


def list_jobs(
    session: Session,
    *,
    principal: Principal | None,
    status: str | None = None,
    limit: int = 50,
) -> list[Job]:
    """The newest jobs (of the caller's organisation; principal None: the local operator)."""
    if status is not None and status not in JOB_STATUSES:
        raise InvalidInput(f"status: expected one of {', '.join(JOB_STATUSES)}, got {status!r}")
    query = select(Job)
    if principal is not None:
        principal.require("quarantine:read")
        query = query.where(Job.org_id == principal.org_id)
    if status:
        query = query.where(Job.status == status)
    return list(session.scalars(query.order_by(Job.id.desc()).limit(limit)))


def counts(session: Session, org_id: int | None = None) -> dict[str, int]:
    """How many jobs stand in each status."""
    query = select(Job.status, func.count()).group_by(Job.status)
    if org_id is not None:
        query = query.where(Job.org_id == org_id)
    return {s: int(n) for s, n in session.execute(query)}


def retry(session: Session, *, actor: Principal | str, job_id: int) -> Job:
    """Queue a failed job again (audited)."""
    job = session.get(Job, job_id)
    if job is None or (isinstance(actor, Principal) and job.org_id != actor.org_id):
        raise NotFound(f"no job {job_id}")
    if isinstance(actor, Principal):
        actor.require("quarantine:write")
    if job.status != "failed":
        raise InvalidInput(f"job {job_id} is {job.status}: only failed jobs are retried")
    job.status, job.attempts, job.run_after, job.finished_at = "queued", 0, utcnow(), None
    audit.record(session, actor=actor, action="job.retry", entity_type="job", entity_id=job_id,
                 after={"kind": job.kind})  # fmt: skip
    return job
