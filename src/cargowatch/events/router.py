"""HTTP routes of events: post DCSA events, read a container's events."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from cargowatch.api import EngineDep, IdPath, Offset, PrincipalDep, SessionDep
from cargowatch.events import service
from cargowatch.events.schemas import EventDetail, EventRead
from cargowatch.ingest import flows
from cargowatch.ingest.models import QuarantineRecord
from cargowatch.ingest.schemas import IngestResult, QuarantineRead, RunRead

router = APIRouter(prefix="/api/v1", tags=["events"])
MAX_BODY = 256 * 1024 * 1024


@router.post(
    "/events",
    response_model=IngestResult,
    summary="Ingest a file: events, documents, registers or telemetry",
    description=(
        "Body: any accepted format, detected from content (or forced with ?format=): DCSA Track "
        '& Trace 2.2 or 3.0 events (JSON array, {"events": [...]} or NDJSON), DCSA eBL 3.0 '
        "documents, an EDIFACT CODECO/COARRI/IFTSTA interchange, a register CSV, telemetry "
        "NDJSON. Good records are stored once; bad ones are quarantined and listed in the answer "
        "with the field and the reason."
    ),
)
async def post_events(
    request: Request,
    principal: PrincipalDep,
    engine: EngineDep,
    format: Annotated[str | None, Query(description="force a format, e.g. dcsa-tnt-3.0")] = None,
) -> IngestResult:
    """Ingest the request body as one run."""
    body = await request.body()
    if len(body) > MAX_BODY:
        from cargowatch.exceptions import InvalidInput

        raise InvalidInput(f"body of {len(body)} bytes is over the {MAX_BODY} byte limit")
    run, counts = flows.ingest_bytes(
        principal=principal, stream=io.BytesIO(body), source=f"api:{principal.label}",
        fmt=format, engine=engine,
    )  # fmt: skip
    from cargowatch.db.engine import unit_of_work

    with unit_of_work(engine) as session:
        bad = session.scalars(
            select(QuarantineRecord)
            .where(QuarantineRecord.run_id == run.id)
            .order_by(QuarantineRecord.id)
            .limit(1000)
        ).all()
        quarantined = [QuarantineRead.of(q) for q in bad]
    return IngestResult(run=RunRead.of(run), notes=counts.notes, quarantined=quarantined)


@router.get("/containers/{container}/events", response_model=list[EventRead])
def container_events(
    container: str,
    session: SessionDep,
    principal: PrincipalDep,
    include_retracted: bool = True,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Offset = 0,
) -> list[EventRead]:
    """The events of one container the caller may see, oldest first."""
    events = service.list_events(
        session, principal=principal, container=container, include_retracted=include_retracted,
        limit=limit, offset=offset,
    )  # fmt: skip
    return [EventRead.of(e) for e in events]


@router.get("/events/{event_id}", response_model=EventDetail)
def event_detail(event_id: IdPath, session: SessionDep, principal: PrincipalDep) -> EventDetail:
    """One event with the raw record it came from."""
    view, source, raw = service.get_event(session, principal=principal, event_id=event_id)
    return EventDetail.with_raw(view, source, raw)
