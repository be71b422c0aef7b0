"""Risk flows: score, train, record an outcome; each audited in the transaction it changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.custody.engine import build
from cargowatch.custody.models import Trip
from cargowatch.db.engine import get_engine, unit_of_work
from cargowatch.jobs.runner import handler
from cargowatch.jobs.service import enqueue
from cargowatch.risk import engine as risk
from cargowatch.risk import service


def score(
    *,
    principal: Principal,
    engine: Engine | None = None,
    full: bool = True,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Score the organisation's trips (all, or only those without a score); returns how many."""
    principal.require("events:write")
    with unit_of_work(engine or get_engine()) as session:
        only = None if full else risk.unscored(session, principal.org_id)
        n = risk.score(
            session, org_id=principal.org_id, trip_ids=only, now=now, progress=progress,
            cause=f"rescoring by {principal.label}",
        )  # fmt: skip
        audit.record(
            session,
            actor=principal,
            action="risk.score",
            entity_type="trips",
            entity_id="*" if full else "unscored",
            after={"scored": n},
        )
    return n


def train(
    *, principal: Principal, engine: Engine | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Train and store a new model version on the outcomes so far; returns its metrics."""
    principal.require("events:write")
    with unit_of_work(engine or get_engine()) as session:
        row = risk.train(session, org_id=principal.org_id, trained_by=principal.label, now=now)
        metrics: dict[str, Any] = {"version": row.version, **json.loads(row.metrics)}
        audit.record(
            session,
            actor=principal,
            action="risk.model.train",
            entity_type="risk_model",
            entity_id=row.version,
            after={k: v for k, v in metrics.items() if k not in ("findings", "features")},
        )
    return metrics


def record_outcome(
    *, principal: Principal, trip_id: int, engine: Engine | None = None, **fields: Any
) -> dict[str, Any]:
    """Record an inspection's outcome; the trip leaves the queue and the metrics change at once.
    When the trip is the caller's organisation's own, its container's trips are rebuilt (an
    inspection explains a reseal) and rescored; another organisation's trips are theirs to
    rescore."""
    engine = engine or get_engine()
    with unit_of_work(engine) as session:
        row = service.record_outcome(session, principal=principal, trip_id=trip_id, **fields)
        if not row["new"]:  # a retry: stored already, nothing changes
            return row
        audit.record(
            session,
            actor=principal,
            action="inspection.record",
            entity_type="trip",
            entity_id=trip_id,
            after={k: v for k, v in row.items() if k != "new"},
        )
        from cargowatch.cases.service import outcome_recorded

        outcome_recorded(
            session, principal=principal, trip_id=trip_id,
            text=" · ".join(str(row[k]) for k in ("result", "method", "at", "reference")
                            if row.get(k)),
        )  # fmt: skip
        if row["owner_org_id"] == principal.org_id:
            build(session, org_id=principal.org_id, containers=[row["container"]])
            trips = session.scalars(
                select(Trip.id).where(
                    Trip.org_id == principal.org_id, Trip.container == row["container"]
                )
            ).all()
            risk.score(
                session, org_id=principal.org_id, trip_ids=trips,
                cause=f"{row.get('result', 'an outcome')} recorded on trip {trip_id}",
            )  # fmt: skip
        if row.get("result") == "SEIZURE":  # network and norm findings of other trips change
            owner = int(row["owner_org_id"])
            enqueue(session, org_id=owner, kind=RESCORE_ALL, key=f"rescore-all-{owner}",
                    payload={"cause": f"a seizure on a linked trip ({row['container']}, "
                                      f"trip {trip_id})"},
                    created_by=principal.label)  # fmt: skip
    return row


RESCORE = "risk.rescore"
RESCORE_ALL = "risk.rescore-all"


@handler(RESCORE)
def _rescore_job(engine: Engine, org_id: int, payload: dict[str, Any]) -> None:
    """Rescore the trips of some containers (all when None) and any trip without a score."""
    containers = payload.get("containers")
    rescore(
        engine, org_id, None if containers is None else set(containers),
        cause=str(payload.get("cause") or "new events"),
    )  # fmt: skip


@handler(RESCORE_ALL)
def _rescore_all_job(engine: Engine, org_id: int, payload: dict[str, Any]) -> None:
    """Rescore every trip (a seizure changes network and norm findings of other trips)."""
    with unit_of_work(engine) as session:
        risk.score(session, org_id=org_id, cause=str(payload.get("cause") or "a seizure"))


def rescore(
    engine: Engine, org_id: int, containers: set[str] | None, cause: str = "new events"
) -> int:
    """Rescore the trips of the containers (all when None) and any trip without a score."""
    with unit_of_work(engine) as session:
        if containers is None:
            return risk.score(session, org_id=org_id, cause=cause)
        ids: set[int] = set()
        boxes = sorted(containers)
        for start in range(0, len(boxes), 500):
            ids.update(
                session.scalars(
                    select(Trip.id).where(
                        Trip.org_id == org_id, Trip.container.in_(boxes[start : start + 500])
                    )
                )
            )
        ids |= risk.unscored(session, org_id)
        if not ids:
            return 0
        return risk.score(session, org_id=org_id, trip_ids=ids, cause=cause)


def update_after_ingest(
    *, principal: Principal, containers: set[str] | None, engine: Engine | None = None
) -> int:
    """Rescore the trips of the containers an ingest run touched (all when None) and any trip
    without a score; returns how many were scored."""
    return rescore(engine or get_engine(), principal.org_id, containers, cause="new events")


def confirm_site(
    *, principal: Principal, engine: Engine | None = None, **place: Any
) -> dict[str, Any]:
    """Confirm a candidate site: it joins the organisation's sites register, the containers
    with openings near it are rebuilt (those openings are now planned) and rescored."""
    from cargowatch.custody import places

    engine = engine or get_engine()
    with unit_of_work(engine) as session:
        row = places.confirm(session, principal=principal, **place)
        audit.record(
            session,
            actor=principal,
            action="sites.confirm",
            entity_type="site",
            entity_id=row["site_id"],
            after={k: v for k, v in row.items() if k != "containers"},
        )
        boxes = row["containers"]
        if boxes:
            build(session, org_id=principal.org_id, containers=boxes)
            trips = session.scalars(
                select(Trip.id).where(Trip.org_id == principal.org_id, Trip.container.in_(boxes))
            ).all()
            risk.score(
                session, org_id=principal.org_id, trip_ids=trips,
                cause=f"site {row['site_id']} confirmed",
            )  # fmt: skip
    return row
