"""HTTP routes of the DCSA Track & Trace API: `/v2/events` and `/v2/events/{eventID}` as
DCSA T&T 2.2 says, `/v3/events` as 3.0 says, with their query parameters, cursor paging and
headers, and errors in each version's own error shape (the app's error handlers write them for
these paths, from the errors the routes raise). The caller is an API token's
organisation: it reads its own events and those shared with it, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from cargowatch.api import PrincipalDep, SessionDep
from cargowatch.auth.principal import Principal
from cargowatch.exceptions import NotFound
from cargowatch.trackandtrace import service

VERSIONS = {"2": "2.2.0", "3": "3.0.0"}
router = APIRouter(tags=["DCSA Track & Trace"])
Limit = Annotated[str | None, Query(description="Events per page, 1 to 1,000 (100 by default).")]
Cursor = Annotated[str | None, Query(description="The cursor of the page before, as given.")]


def version_of(path: str) -> str:
    """The DCSA version a path belongs to."""
    return "3" if path.startswith("/v3/") else "2"


def error(request: Request, status: int, message: str) -> JSONResponse:
    """An error as the path's DCSA version writes it."""
    version = version_of(request.url.path)
    status = 400 if status == 422 else status  # DCSA answers a bad query with 400
    headers = {"API-Version": VERSIONS[version]}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if version == "3":
        body: dict[str, object] = {"feedbackElements": [{"severity": "ERROR", "message": message}]}
    else:
        body = {
            "httpMethod": request.method,
            "requestUri": str(request.url),
            "errors": [{"reason": HTTPStatus(status).phrase.replace(" ", ""), "message": message}],
            "statusCode": status,
            "statusCodeText": HTTPStatus(status).phrase,
            "errorDateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    return JSONResponse(body, status_code=status, headers=headers)


def _params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k not in ("limit", "cursor")}


def _events(request: Request, session: SessionDep, principal: Principal, version: str,
            limit: str | None, cursor: str | None) -> Response:  # fmt: skip
    q = (service.decode_cursor(version, cursor) if cursor
         else service.parse(version, _params(request), limit))  # fmt: skip
    page = service.page(session, principal=principal, q=q)
    headers = {"API-Version": VERSIONS[version]}
    if version == "3":
        if page.next_cursor:
            headers["Next-Page-Cursor"] = page.next_cursor
        return JSONResponse({"events": page.events}, headers=headers)
    here = request.url
    headers["Current-Page"] = str(here)
    headers["First-Page"] = str(here.replace(query=urlencode({**q.filters, "limit": q.limit})))
    if page.next_cursor:
        headers["Next-Page"] = str(here.replace(query=urlencode({"cursor": page.next_cursor})))
    return JSONResponse(page.events, headers=headers)


@router.get("/v2/events")
def events_22(request: Request, session: SessionDep, principal: PrincipalDep,
              limit: Limit = None, cursor: Cursor = None) -> Response:  # fmt: skip
    """Events as DCSA Track & Trace 2.2 (equipment, transport and shipment events), oldest
    first, filtered by DCSA's query parameters (eventType, equipmentReference,
    carrierBookingReference, transportDocumentReference, UNLocationCode, vesselIMONumber,
    transportCallID, the event type codes, eventCreatedDateTime with :gte/:gt/:lte/:lt ...);
    the Next-Page header links the next page."""
    return _events(request, session, principal, "2", limit, cursor)


@router.get("/v2/events/{eventID}")
def event_22(eventID: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """One event as DCSA Track & Trace 2.2, by its eventID."""
    if len(eventID) > 100:
        raise NotFound(f"no event {eventID[:100]}")
    body = service.one(session, principal=principal, event_id=eventID)
    return JSONResponse(body, headers={"API-Version": VERSIONS["2"]})


@router.get("/v3/events")
def events_30(request: Request, session: SessionDep, principal: PrincipalDep,
              limit: Limit = None, cursor: Cursor = None) -> Response:  # fmt: skip
    """Events as DCSA Track & Trace 3.0 (every kind, retractions included), oldest first,
    filtered by carrierBookingReference, transportDocumentReference, equipmentReference,
    eventTypes and eventUpdatedDateTimeMin/Max; the Next-Page-Cursor header carries the cursor
    of the next page."""
    return _events(request, session, principal, "3", limit, cursor)
