"""HTTP routes of ingest runs and quarantine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cargowatch.api import EngineDep, IdPath, IdQuery, Offset, PrincipalDep, SessionDep
from cargowatch.ingest import flows, service
from cargowatch.ingest.models import QuarantineStatus
from cargowatch.ingest.schemas import (
    IngestResult,
    QuarantineDetail,
    QuarantinePage,
    QuarantineRead,
    ReplayRequest,
    RunRead,
)

router = APIRouter(prefix="/api/v1", tags=["ingest"])


@router.get("/ingest/runs", response_model=list[RunRead])
def runs(
    session: SessionDep, principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[RunRead]:
    """The caller's organisation's newest ingest runs."""
    return [RunRead.of(r) for r in service.list_runs(session, principal=principal, limit=limit)]


@router.get("/ingest/runs/{run_id}", response_model=IngestResult)
def run_detail(run_id: IdPath, engine: EngineDep, principal: PrincipalDep) -> IngestResult:
    """One ingest run (queued, running, done, partial or failed) with what it quarantined."""
    principal.require("quarantine:read")
    return flows.run_result(engine, principal, run_id)


@router.get("/quarantine", response_model=QuarantinePage)
def quarantine(
    session: SessionDep,
    principal: PrincipalDep,
    status: QuarantineStatus = "open",
    run: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> QuarantinePage:
    """A page of quarantined records with their reasons."""
    items, total = service.list_quarantine(
        session, principal=principal, status=status, run_id=run, limit=limit, offset=offset
    )
    return QuarantinePage(total=total, items=[QuarantineRead.of(q) for q in items])


@router.get("/quarantine/{record_id}", response_model=QuarantineDetail)
def quarantine_detail(
    record_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> QuarantineDetail:
    """One quarantined record with its raw content."""
    rec = service.get_quarantined(session, principal=principal, record_id=record_id)
    return QuarantineDetail(**QuarantineRead.of(rec).model_dump(), raw=rec.raw)


@router.post("/quarantine/replay", response_model=IngestResult)
def quarantine_replay(
    body: ReplayRequest, principal: PrincipalDep, engine: EngineDep
) -> IngestResult:
    """Try quarantined records again (all open ones when no ids are given)."""
    run, counts = flows.replay_quarantine(principal=principal, ids=body.ids or None, engine=engine)
    return IngestResult(run=RunRead.of(run), notes=counts.notes, quarantined=[])
