"""API of sharing groups, bulletins and their STIX 2.1 bundles."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from cargowatch.api import IdPath, PrincipalDep, SessionDep
from cargowatch.bulletins import service, stix
from cargowatch.bulletins.models import DISTRIBUTIONS, INDICATOR_KINDS, KINDS, TLP
from cargowatch.exceptions import InvalidInput
from cargowatch.sharing import groups

router = APIRouter(prefix="/api/v1", tags=["sharing"])
SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"
MAX_BUNDLE = 32 * 1024 * 1024


class GroupWrite(BaseModel):
    """A new sharing group; your organisation is its steward."""

    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)


class Member(BaseModel):
    org: str = Field(min_length=1, max_length=64)


@router.get("/groups")
def group_list(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The sharing groups of your organisation, with steward and members."""
    principal.require("events:read")
    return groups.listed(session, principal=principal)


@router.post("/groups", status_code=201)
def group_create(body: GroupWrite, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    """Create a sharing group (the same slug again, as its steward, returns it)."""
    g = groups.create(session, principal=principal, slug=body.slug, name=body.name)
    return {"slug": g.slug, "name": g.name}


@router.post("/groups/{slug}/members", status_code=201)
def group_admit(
    slug: Annotated[str, Field(pattern=SLUG)], body: Member, session: SessionDep,
    principal: PrincipalDep,
) -> dict[str, Any]:  # fmt: skip
    """Admit an organisation (the group's steward)."""
    groups.admit(session, principal=principal, slug=slug, org_slug=body.org)
    return {"group": slug, "org": body.org}


@router.delete("/groups/{slug}/members/{org}", status_code=204)
def group_remove(slug: str, org: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Remove a member (the group's steward)."""
    groups.remove(session, principal=principal, slug=slug, org_slug=org)
    return Response(status_code=204)


class IndicatorWrite(BaseModel):
    kind: Literal[INDICATOR_KINDS]  # type: ignore[valid-type]
    value: str = Field(min_length=1, max_length=200)
    value_to: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=500)


class BulletinWrite(BaseModel):
    """A bulletin: TLP:RED goes only to the recipients named."""

    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=20_000)
    kind: Literal[KINDS] = "other"  # type: ignore[valid-type]
    tlp: Literal[TLP] = "AMBER"  # type: ignore[valid-type]
    distribution: Literal[DISTRIBUTIONS] = "group"  # type: ignore[valid-type]
    group: str | None = Field(default=None, pattern=SLUG)
    recipients: list[str] = Field(default_factory=list, max_length=200)
    indicators: list[IndicatorWrite] = Field(default_factory=list, max_length=5_000)


@router.get("/bulletins")
def bulletin_list(
    session: SessionDep, principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """The bulletins your organisation may read, newest first."""
    return [service.view(session, b, principal)
            for b in service.listed(session, principal=principal, limit=limit)]  # fmt: skip


@router.post("/bulletins", status_code=201)
def bulletin_create(
    body: BulletinWrite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Write a bulletin and send it as its distribution says."""
    data = body.model_dump()
    data["indicators"] = [i.model_dump() for i in body.indicators]
    b = service.create(session, principal=principal, **data)
    return service.view(session, b, principal)


@router.get("/bulletins/{bulletin_id}")
def bulletin_one(
    bulletin_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """One bulletin (404 when it is not yours to read)."""
    return service.view(session, service.get(session, principal=principal,
                                             bulletin_id=bulletin_id), principal)  # fmt: skip


class Forward(BaseModel):
    to: list[str] = Field(min_length=1, max_length=200)


@router.post("/bulletins/{bulletin_id}/forward")
def bulletin_forward(
    bulletin_id: IdPath, body: Forward, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Pass a bulletin on as its marking allows (403 with the reason when it does not)."""
    added = service.forward(session, principal=principal, bulletin_id=bulletin_id, to=body.to)
    return {"forwarded_to": added}


@router.get("/stix/bundle")
def stix_export(
    session: SessionDep, principal: PrincipalDep, since: datetime | None = None
) -> dict[str, Any]:
    """A STIX 2.1 bundle of what your organisation may share (bulletins and indicators with
    their TLP 2.0 markings), optionally only what changed since a time."""
    return stix.export(session, principal=principal, since=since)


@router.get("/misp/events")
def misp_export(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """What your organisation may share, as MISP events (PyMISP's JSON)."""
    from cargowatch.bulletins import misp

    return misp.export(session, principal=principal)


@router.post(
    "/misp/events",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}},
)  # fmt: skip
def misp_import(
    events: Annotated[Any, Depends(bundle_body)], session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Take in MISP events (a list, or one): idempotent on their UUIDs, TLP tags kept."""
    from cargowatch.bulletins import misp

    if isinstance(events, dict):
        events = [events]
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise InvalidInput("expected a MISP event or a list of them")
    return misp.import_events(session, principal=principal, events=events)


@router.post("/bulletins/{bulletin_id}/watch", status_code=201)
def bulletin_watch(
    bulletin_id: IdPath, session: SessionDep, principal: PrincipalDep, response: Response
) -> dict[str, Any]:
    """Put a bulletin on your organisation's watchlist: the risk engine matches its
    indicators against your trips (`watchlist-hit`); 200 when it was there already."""
    if not service.watch(session, principal=principal, bulletin_id=bulletin_id):
        response.status_code = 200
    return {"watched": bulletin_id}


@router.delete("/bulletins/{bulletin_id}/watch", status_code=204)
def bulletin_unwatch(bulletin_id: IdPath, session: SessionDep, principal: PrincipalDep) -> Response:
    """Take a bulletin off your watchlist."""
    service.unwatch(session, principal=principal, bulletin_id=bulletin_id)
    return Response(status_code=204)


@router.get("/watchlist")
def watchlist(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The bulletins your organisation watches (and may still read), with their indicators."""
    return service.watchlist(session, principal=principal)


async def bundle_body(request: Request) -> Any:
    """The request body as JSON, read up to MAX_BUNDLE bytes."""
    size, parts = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BUNDLE:
            raise InvalidInput(f"bundle: larger than {MAX_BUNDLE // 1024 // 1024} MiB")
        parts.append(chunk)
    try:
        return json.loads(b"".join(parts))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"bundle: not JSON ({exc})") from None


@router.post(
    "/stix/bundle",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object"}}}}},
)  # fmt: skip
def stix_import(
    bundle: Annotated[Any, Depends(bundle_body)], session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Take in a STIX 2.1 bundle (idempotent on its ids; markings kept)."""
    return stix.import_bundle(session, principal=principal, bundle=bundle)
