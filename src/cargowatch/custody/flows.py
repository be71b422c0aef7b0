"""Custody flows: rebuild everything, or update the containers an ingest run touched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select, text

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.custody.engine import build
from cargowatch.db.engine import get_engine, refresh_statistics, unit_of_work
from cargowatch.jobs.runner import handler
from cargowatch.jobs.service import enqueue
from cargowatch.registers.specs import TABLES
from cargowatch.telemetry.models import Reading

RESCORE = "risk.rescore"  # the risk domain's job that rescores containers
FULL_REBUILD_ABOVE = 50_000  # containers touched by one run beyond which everything is rebuilt


def rebuild(
    *,
    principal: Principal,
    engine: Engine | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Rebuild every trip and alert of the caller's organisation, in one transaction."""
    principal.require("events:write")
    engine = engine or get_engine()
    refresh_statistics(engine)  # a full build reads by container ranges: let the planner know
    with unit_of_work(engine) as session:
        trips, found = build(session, org_id=principal.org_id, progress=progress)
        audit.record(
            session,
            actor=principal,
            action="custody.rebuild",
            entity_type="trips",
            entity_id="*",
            after={"trips": trips, "alerts": found},
        )
    return trips, found


def touched_by_run(engine: Engine, org_id: int, run_id: int) -> set[str]:
    """Containers an ingest run wrote something about."""
    with unit_of_work(engine) as session:
        boxes = set(
            session.scalars(
                text(
                    "SELECT DISTINCT e.container FROM events e JOIN raw_chunks c "
                    "ON c.id = e.raw_ref / 4096 WHERE c.run_id = :run AND e.org_id = :org "
                    "AND e.container IS NOT NULL"
                ),
                {"run": run_id, "org": org_id},
            )
        )
        retracted = text(
            "SELECT DISTINCT e.container FROM events e JOIN retractions r ON r.org_id = e.org_id "
            "AND r.event_key = e.event_key WHERE r.run_id = :run AND e.org_id = :org "
            "AND e.container IS NOT NULL"
        )
        boxes |= set(session.scalars(retracted, {"run": run_id, "org": org_id}))
        boxes |= set(
            session.scalars(
                select(Reading.container)
                .where(Reading.org_id == org_id, Reading.run_id == run_id)
                .distinct()
            )
        )
        for name in ("manifest", "releases", "inspections"):
            table = TABLES[name]
            boxes |= set(
                session.scalars(
                    select(table.c.container)
                    .where(table.c.org_id == org_id, table.c.run_id == run_id)
                    .distinct()
                )
            )
    return boxes


AFTER_RUN = "custody.after-run"
CONTAINERS = "custody.containers"


def after_run_key(run_id: int) -> str:
    """The key of the custody job that follows an ingest run (one per run)."""
    return f"custody-run-{run_id}"


@handler(AFTER_RUN)
def _after_run_job(engine: Engine, org_id: int, payload: dict[str, Any]) -> None:
    """Rebuild the trips of what a run touched, and queue their rescoring in the same
    transaction (a kill between the two loses neither)."""
    run_id = int(payload["run_id"])
    boxes = touched_by_run(engine, org_id, run_id)
    if not boxes:
        return
    full = len(boxes) > FULL_REBUILD_ABOVE
    with unit_of_work(engine) as session:
        build(session, org_id=org_id, containers=None if full else boxes)
        enqueue(
            session, org_id=org_id, kind=RESCORE, key=f"rescore-run-{run_id}",
            payload={"containers": None if full else sorted(boxes),
                     "cause": f"new events (ingest run {run_id})"},
            created_by=f"run {run_id}",
        )  # fmt: skip


@handler(CONTAINERS)
def _containers_job(engine: Engine, org_id: int, payload: dict[str, Any]) -> None:
    """Rebuild the trips of some containers (live readings came in) and queue their rescoring."""
    boxes = sorted(set(payload.get("containers") or []))
    if not boxes:
        return
    with unit_of_work(engine) as session:
        build(session, org_id=org_id, containers=boxes)
        enqueue(session, org_id=org_id, kind=RESCORE,
                payload={"containers": boxes, "cause": "new live readings"},
                created_by="live readings")  # fmt: skip


def update_after_run(
    *, principal: Principal, run_id: int, engine: Engine | None = None
) -> set[str] | None:
    """Rebuild the trips of the containers a run touched; returns them (None: it touched so
    many that everything was rebuilt)."""
    engine = engine or get_engine()
    boxes = touched_by_run(engine, principal.org_id, run_id)
    if not boxes:
        return boxes
    full = len(boxes) > FULL_REBUILD_ABOVE
    with unit_of_work(engine) as session:
        build(session, org_id=principal.org_id, containers=None if full else boxes)
    return None if full else boxes
