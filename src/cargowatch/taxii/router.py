"""A TAXII 2.1 server over the bulletins: discovery at /taxii2/, one API root, a collection
per sharing group of the caller's organisation and one of everything it may read; objects
paged by the date they came into this store (`added_after`, `limit`, `next`), filtered by
`match[id]` and `match[type]`, with the TAXII headers; the manifest of each. Every read goes
through the caller's organisation: a collection holds only the bulletins it may read, with
their TLP 2.0 markings. Authentication is our bearer token."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cargowatch.api import PrincipalDep, SessionDep
from cargowatch.auth.principal import Principal
from cargowatch.bulletins import service, stix
from cargowatch.bulletins.models import Bulletin
from cargowatch.exceptions import CargowatchError, InvalidInput, NotFound
from cargowatch.sharing.groups import groups_of
from cargowatch.sharing.models import SharingGroup

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
ROOT = "/taxii2/cargowatch/"
EVERYTHING = str(uuid.uuid5(stix.NAMESPACE, "taxii collection: everything you may read"))
PAGE = 100
MAX_PAGE = 1000


class NotAcceptable(CargowatchError):
    """The client asked for a media type TAXII 2.1 does not serve."""

    http_status = 406


def taxii_json(
    body: dict[str, Any], headers: dict[str, str] | None = None, status: int = 200
) -> JSONResponse:
    """A TAXII answer, in TAXII's media type."""
    return JSONResponse(body, status_code=status, media_type=TAXII, headers=headers)


def taxii_error(status: int, message: str) -> JSONResponse:
    """An error in TAXII's own shape."""
    title = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 406: "Not Acceptable",
             422: "Bad Request"}.get(status, "Error")  # fmt: skip
    body = {"title": title, "description": message, "http_status": str(status)}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return taxii_json(body, headers, status)


def accepts_taxii(request: Request) -> None:
    """TAXII answers only clients that accept its media type (406 otherwise)."""
    accept = request.headers.get("accept", "*/*")
    if "application/taxii+json" not in accept and "*/*" not in accept:
        raise NotAcceptable(f"accept {TAXII}")


router = APIRouter(prefix="/taxii2", tags=["taxii"], dependencies=[Depends(accepts_taxii)])


@router.get("/")
def discovery(principal: PrincipalDep) -> JSONResponse:
    """The server's discovery resource."""
    return taxii_json({
        "title": "cargowatch TAXII 2.1", "description": "Bulletins and indicators on threats "
        "to maritime container supply chains, under TLP 2.0 markings.",
        "contact": "the operator of this cargowatch", "default": ROOT, "api_roots": [ROOT],
    })  # fmt: skip


@router.get("/cargowatch/")
def api_root(principal: PrincipalDep) -> JSONResponse:
    """The one API root."""
    return taxii_json({"title": "cargowatch", "versions": [TAXII],
                       "max_content_length": 32 * 1024 * 1024})  # fmt: skip


def _collections(session: Session, principal: Principal) -> list[dict[str, Any]]:
    out = [{"id": EVERYTHING, "title": "Everything your organisation may read",
            "description": "Bulletins of every sharing group, your community, those sent to "
            "everyone and those naming you.", "can_read": True, "can_write": False,
            "media_types": [STIX]}]  # fmt: skip
    groups = session.scalars(select(SharingGroup).where(
        SharingGroup.id.in_(groups_of(principal.org_id))).order_by(SharingGroup.slug))  # fmt: skip
    for g in groups:
        out.append({"id": group_collection(g.slug), "title": f"Group {g.slug}",
                    "description": f"Bulletins sent to the sharing group {g.name}.",
                    "can_read": True, "can_write": False, "media_types": [STIX]})  # fmt: skip
    return out


def group_collection(slug: str) -> str:
    """The collection id of a sharing group (stable: the same on every request)."""
    return str(uuid.uuid5(stix.NAMESPACE, f"taxii collection: group {slug}"))


@router.get("/cargowatch/collections/")
def collections(session: SessionDep, principal: PrincipalDep) -> JSONResponse:
    """The collections the caller may read."""
    principal.require("events:read")
    return taxii_json({"collections": _collections(session, principal)})


def _collection(session: Session, principal: Principal, collection_id: str) -> dict[str, Any]:
    principal.require("events:read")
    found = next((c for c in _collections(session, principal) if c["id"] == collection_id), None)
    if found is None:
        raise NotFound(f"no collection {collection_id}")
    return found


@router.get("/cargowatch/collections/{collection_id}/")
def collection(collection_id: str, session: SessionDep, principal: PrincipalDep) -> JSONResponse:
    """One collection."""
    return taxii_json(_collection(session, principal, collection_id))


def _cursor(token: str) -> tuple[datetime, int, int]:
    try:
        at, bid, skip = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return datetime.fromisoformat(at), int(bid), int(skip)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("next: not a cursor this server gave") from None


def _token(at: datetime, bid: int, skip: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{bid}|{skip}".encode()).decode()


def _bulletins(session: Session, principal: Principal, collection_id: str) -> Any:
    """The query of a collection's bulletins, in the order they came in."""
    query = select(Bulletin).where(service.readable(principal))
    if collection_id != EVERYTHING:
        group_id = next(g.id for g in session.scalars(select(SharingGroup).where(
            SharingGroup.id.in_(groups_of(principal.org_id))))
            if group_collection(g.slug) == collection_id)  # fmt: skip
        query = query.where(Bulletin.distribution == "group", Bulletin.group_id == group_id)
    return query.order_by(Bulletin.added_at, Bulletin.id)


def _page(
    session: Session, principal: Principal, collection_id: str, added_after: datetime | None,
    limit: int, next_: str | None, ids: set[str], types: set[str],
) -> tuple[list[tuple[datetime, dict[str, Any]]], str | None]:  # fmt: skip
    """Up to limit (date added, object) pairs, and the cursor of the rest."""
    query = base = _bulletins(session, principal, collection_id)
    skip = 0
    if next_:
        at, bid, skip = _cursor(next_)
        query = query.where(or_(Bulletin.added_at > at,
                                and_(Bulletin.added_at == at, Bulletin.id >= bid)))  # fmt: skip
    elif added_after is not None:
        query = query.where(Bulletin.added_at > added_after)
    out: list[tuple[datetime, dict[str, Any]]] = []
    authors: set[str] = set()
    for b in session.scalars(query).yield_per(200):
        author = stix.author_of(session, b)
        found = []
        if str(author["id"]) not in authors:  # its identity goes with its first bulletin here
            authors.add(str(author["id"]))
            earlier = base.where(
                Bulletin.org_id == b.org_id, Bulletin.author_ref == b.author_ref,
                or_(Bulletin.added_at < b.added_at,
                    and_(Bulletin.added_at == b.added_at, Bulletin.id < b.id)))  # fmt: skip
            if session.scalar(earlier.with_only_columns(Bulletin.id).limit(1)) is None:
                found.append(author)
        found += stix.objects_of(session, b, str(author["id"]))
        found = [o for o in found if (not ids or o["id"] in ids) and
                 (not types or o["type"] in types)]  # fmt: skip
        for k, obj in enumerate(found[skip:], start=skip):
            if len(out) == limit:
                return out, _token(b.added_at, b.id, k)
            out.append((b.added_at, obj))
        skip = 0
    return out, None


def _stamp(t: datetime) -> str:
    return stix.stamp(t if t.tzinfo else t.replace(tzinfo=UTC))


def _envelope(rows: list[tuple[datetime, dict[str, Any]]], more: str | None,
              body: dict[str, Any]) -> JSONResponse:  # fmt: skip
    headers = {}
    if rows:
        headers = {"X-TAXII-Date-Added-First": _stamp(rows[0][0]),
                   "X-TAXII-Date-Added-Last": _stamp(rows[-1][0])}  # fmt: skip
    paging = {"more": True, "next": more} if more else {"more": False}
    return taxii_json({**paging, **body}, headers)


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Types = Annotated[list[str], Query(alias="match[type]", max_length=20)]
Ids = Annotated[list[str], Query(alias="match[id]", max_length=100)]


@router.get("/cargowatch/collections/{collection_id}/objects/")
def objects(
    collection_id: str, session: SessionDep, principal: PrincipalDep,
    added_after: datetime | None = None, limit: Limit = PAGE,
    next: Annotated[str | None, Query(max_length=200)] = None,
    match_type: Types = [],  # noqa: B006 (FastAPI copies defaults)
    match_id: Ids = [],  # noqa: B006
) -> JSONResponse:  # fmt: skip
    """A page of the collection's objects, oldest added first."""
    _collection(session, principal, collection_id)
    rows, more = _page(session, principal, collection_id, added_after, limit, next,
                       set(match_id), set(match_type))  # fmt: skip
    return _envelope(rows, more, {"objects": [o for _, o in rows]})


@router.get("/cargowatch/collections/{collection_id}/objects/{object_id}/")
def one_object(
    collection_id: str, object_id: str, session: SessionDep, principal: PrincipalDep
) -> JSONResponse:
    """Every version we hold of one object of the collection (we hold one)."""
    _collection(session, principal, collection_id)
    rows, _ = _page(session, principal, collection_id, None, MAX_PAGE, None, {object_id}, set())
    if not rows:
        raise NotFound(f"no object {object_id} in collection {collection_id}")
    return _envelope(rows[:1], None, {"objects": [rows[0][1]]})


@router.get("/cargowatch/collections/{collection_id}/manifest/")
def manifest(
    collection_id: str, session: SessionDep, principal: PrincipalDep,
    added_after: datetime | None = None, limit: Limit = PAGE,
    next: Annotated[str | None, Query(max_length=200)] = None,
    match_type: Types = [],  # noqa: B006
    match_id: Ids = [],  # noqa: B006
) -> JSONResponse:  # fmt: skip
    """The manifest of the collection's objects: id, date added, version, media type."""
    _collection(session, principal, collection_id)
    rows, more = _page(session, principal, collection_id, added_after, limit, next,
                       set(match_id), set(match_type))  # fmt: skip
    records = [{"id": o["id"], "date_added": _stamp(at),
                "version": o.get("modified", o.get("created", stix.PUBLISHED)),
                "media_type": STIX} for at, o in rows]  # fmt: skip
    return _envelope(rows, more, {"objects": records})
