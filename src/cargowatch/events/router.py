"""HTTP routes of events: post DCSA events, read a container's events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from cargowatch.api import EngineDep, IdPath, Offset, PrincipalDep, SessionDep
from cargowatch.config import get_settings
from cargowatch.events import service
from cargowatch.events.schemas import EventDetail, EventRead
from cargowatch.ingest import flows
from cargowatch.ingest.schemas import IngestResult

router = APIRouter(prefix="/api/v1", tags=["events"])
MAX_BODY = 256 * 1024 * 1024


@router.post(
    "/events",
    response_model=IngestResult,
    status_code=202,
    summary="Ingest a file: events, documents, registers or telemetry",
    description=(
        "Body: any accepted format, detected from content (or forced with ?format=): DCSA Track "
        '& Trace 2.2 or 3.0 events (JSON array, {"events": [...]} or NDJSON), DCSA eBL 3.0 '
        "documents, an EDIFACT CODECO/COARRI/IFTSTA interchange, a register CSV, telemetry "
        "NDJSON. The body is streamed to a spool file (up to 256 MiB; 413 beyond) and ingested "
        "by the job worker: the answer is 202 with the queued run, to follow at "
        "/api/v1/ingest/runs/{id}. With ?wait=true the file is ingested before the answer "
        "(200), which lists what was quarantined with the field and the reason; custody and "
        "rescoring always follow as jobs."
    ),
    responses={200: {"model": IngestResult}, 413: {"description": "Body over the limit."}},
)
async def post_events(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    engine: EngineDep,
    format: Annotated[
        str | None, Query(max_length=40, description="force a format, e.g. dcsa-tnt-3.0")
    ] = None,
    wait: Annotated[bool, Query(description="Ingest before answering.")] = False,
) -> IngestResult:
    """Spool the request body and queue it as one run."""
    principal.require("events:write")
    folder = get_settings().data_dir / "spool"
    path = await flows.spool(request.stream(), limit=MAX_BODY, folder=folder)
    run = await run_in_threadpool(
        flows.queue_upload, principal=principal, path=path, fmt=format, engine=engine,
        source=f"api:{principal.label}",
    )  # fmt: skip
    response.headers["Location"] = f"/api/v1/ingest/runs/{run.id}"
    if wait:
        await run_in_threadpool(flows.run_upload_now, engine, run.id)
        response.status_code = 200
    return await run_in_threadpool(flows.run_result, engine, principal, run.id)


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
