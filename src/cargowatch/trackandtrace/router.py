"""HTTP routes of the DCSA Track & Trace API: `/v2/events` and `/v2/events/{eventID}` as
DCSA T&T 2.2 says, `/v3/events` as 3.0 says, with their query parameters, cursor paging and
headers, and errors in each version's own error shape (the app's error handlers write them for
these paths, from the errors the routes raise). The caller is an API token's
organisation: it reads its own events and those shared with it, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from cargowatch.api import PrincipalDep, SessionDep
from cargowatch.auth.principal import Principal
from cargowatch.exceptions import InvalidInput, NotFound
from cargowatch.trackandtrace import service, subscriptions

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


SubscriptionBody = Annotated[dict[str, Any], Body(description="A DCSA 2.2 subscription body.")]
Paging = Annotated[int, Query(ge=1, le=2**31 - 1, description="Per page (1,000 at most).")]


def _subscription_id(value: str) -> str:
    if len(value) > 36:
        raise NotFound(f"no subscription {value[:36]}")
    return value


@router.get("/v2/event-subscriptions")
def subscriptions_22(request: Request, session: SessionDep, principal: PrincipalDep,
                     limit: Paging = 100, cursor: Cursor = None) -> Response:  # fmt: skip
    """Your organisation's event subscriptions (DCSA T&T 2.2), without their secrets, paged
    (Current-Page, First-Page and Next-Page headers)."""
    offset, limit = 0, min(limit, 1000)
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 12:
            raise InvalidInput("cursor: not a cursor this server gave")
        offset = int(cursor)
    rows = subscriptions.listed(session, principal=principal, limit=limit + 1, offset=offset)
    here = request.url
    headers = {"API-Version": VERSIONS["2"], "Current-Page": str(here),
               "First-Page": str(here.replace(query=urlencode({"limit": limit})))}  # fmt: skip
    if len(rows) > limit:
        headers["Next-Page"] = str(here.replace(
            query=urlencode({"limit": limit, "cursor": offset + limit})))  # fmt: skip
    return JSONResponse([subscriptions.view(s) for s in rows[:limit]], headers=headers)


@router.post("/v2/event-subscriptions", status_code=201)
def subscribe_22(body: SubscriptionBody, session: SessionDep, principal: PrincipalDep) -> Response:
    """Subscribe a callback URL, with a Base64 secret and DCSA's filters: every event your
    organisation may read that matches is POSTed there as it arrives, signed with the secret
    (`Notification-Signature: sha256=...`)."""
    sub = subscriptions.create(session, principal=principal, body=body)
    return JSONResponse(subscriptions.view(sub), status_code=201,
                        headers={"API-Version": VERSIONS["2"]})  # fmt: skip


@router.get("/v2/event-subscriptions/{subscriptionID}")
def subscription_22(subscriptionID: str, session: SessionDep,
                    principal: PrincipalDep) -> Response:  # fmt: skip
    """One of your organisation's subscriptions."""
    sub = subscriptions.get(session, principal=principal,
                            subscription_id=_subscription_id(subscriptionID))  # fmt: skip
    return JSONResponse(subscriptions.view(sub), headers={"API-Version": VERSIONS["2"]})


@router.put("/v2/event-subscriptions/{subscriptionID}")
def resubscribe_22(subscriptionID: str, body: SubscriptionBody, session: SessionDep,
                   principal: PrincipalDep) -> Response:  # fmt: skip
    """Change a subscription's callback and filters."""
    sub = subscriptions.update(session, principal=principal, body=body,
                               subscription_id=_subscription_id(subscriptionID))  # fmt: skip
    return JSONResponse(subscriptions.view(sub), headers={"API-Version": VERSIONS["2"]})


@router.delete("/v2/event-subscriptions/{subscriptionID}", status_code=204)
def unsubscribe_22(subscriptionID: str, session: SessionDep,
                   principal: PrincipalDep) -> Response:  # fmt: skip
    """Stop a subscription."""
    subscriptions.delete(session, principal=principal,
                         subscription_id=_subscription_id(subscriptionID))  # fmt: skip
    return Response(status_code=204, headers={"API-Version": VERSIONS["2"]})


@router.put("/v2/event-subscriptions/{subscriptionID}/secret", status_code=204)
def secret_22(subscriptionID: str, body: SubscriptionBody, session: SessionDep,
              principal: PrincipalDep) -> Response:  # fmt: skip
    """Replace a subscription's shared secret."""
    subscriptions.reset_secret(session, principal=principal, secret=body.get("secret"),
                               subscription_id=_subscription_id(subscriptionID))  # fmt: skip
    return Response(status_code=204, headers={"API-Version": VERSIONS["2"]})
