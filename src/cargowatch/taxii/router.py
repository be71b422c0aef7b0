"""A TAXII 2.1 server over the bulletins and seizures: discovery at /taxii2/, one API root, a
collection per sharing group of the caller's organisation, one per running sharing agreement
it made or reads under (the owner's bulletins it may read, and the owner's seizures when the
agreement names `incidents`), and one of everything it may read; objects
paged by the date they came into this store (`added_after`, `limit`, `next`), filtered by
`match[id]` and `match[type]`, with the TAXII headers; the manifest of each. Every read goes
through the caller's organisation: a collection holds only the bulletins it may read, with
their TLP 2.0 markings. Authentication is our bearer token."""

from __future__ import annotations

import base64
import binascii
import heapq
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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
from cargowatch.sharing import service as agreements
from cargowatch.sharing.groups import groups_of
from cargowatch.sharing.models import Agreement, SharingGroup

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


@dataclass
class Target:
    """A collection the caller may read, resolved once per request: its TAXII resource, and
    what selects its objects (a group's bulletins, or an agreement's owner)."""

    info: dict[str, Any]
    group_id: int | None = None
    agreement: Agreement | None = None
    seizures: bool = False  # the agreement names the owner's seizures


def _targets(session: Session, principal: Principal) -> list[Target]:
    out = [Target({"id": EVERYTHING, "title": "Everything your organisation may read",
                   "description": "Bulletins of every sharing group, your community, those "
                   "sent to everyone and those naming you.", "can_read": True,
                   "can_write": False, "media_types": [STIX]})]  # fmt: skip
    groups = session.scalars(select(SharingGroup).where(
        SharingGroup.id.in_(groups_of(principal.org_id))).order_by(SharingGroup.slug))  # fmt: skip
    for g in groups:
        out.append(Target({"id": group_collection(g.slug), "title": f"Group {g.slug}",
                           "description": f"Bulletins sent to the sharing group {g.name}.",
                           "can_read": True, "can_write": False, "media_types": [STIX]},
                          group_id=g.id))  # fmt: skip
    for a in agreements.list_agreements(session, principal=principal):
        if agreements.status(a) != "active":
            continue
        shown = agreements.describe(session, a)
        reader = shown["grantee"] or f"group {shown['group']}"
        seizures = "incidents" in shown["classes"]
        what = "its bulletins you may read" + (" and its seizures" if seizures else "")
        out.append(Target({"id": agreement_collection(a.id),
                           "title": f"Agreement {a.id}: {shown['owner']} to {reader}",
                           "description": f"Under agreement {a.id} ({shown['purpose']}): "
                           f"{what}, marked TLP:{a.tlp} at least.", "can_read": True,
                           "can_write": False, "media_types": [STIX]},
                          agreement=a, seizures=seizures))  # fmt: skip
    return out


def _used(session: Session, principal: Principal, target: Target, count: int) -> None:
    """Audit a read of an agreement's collection as a use of the agreement."""
    if target.agreement is not None and count:
        agreements.record_use(session, principal, [target.agreement.owner_org_id],
                              "taxii-collection", count)  # fmt: skip


def agreement_collection(agreement_id: int) -> str:
    """The collection id of an agreement."""
    return str(uuid.uuid5(stix.NAMESPACE, f"taxii collection: agreement {agreement_id}"))


def group_collection(slug: str) -> str:
    """The collection id of a sharing group (stable: the same on every request)."""
    return str(uuid.uuid5(stix.NAMESPACE, f"taxii collection: group {slug}"))


@router.get("/cargowatch/collections/")
def collections(session: SessionDep, principal: PrincipalDep) -> JSONResponse:
    """The collections the caller may read."""
    principal.require("events:read")
    return taxii_json({"collections": [t.info for t in _targets(session, principal)]})


def _collection(session: Session, principal: Principal, collection_id: str) -> Target:
    principal.require("events:read")
    found = next((t for t in _targets(session, principal) if t.info["id"] == collection_id),
                 None)  # fmt: skip
    if found is None:
        raise NotFound(f"no collection {collection_id}")
    return found


@router.get("/cargowatch/collections/{collection_id}/")
def collection(collection_id: str, session: SessionDep, principal: PrincipalDep) -> JSONResponse:
    """One collection."""
    return taxii_json(_collection(session, principal, collection_id).info)


Key = tuple[datetime, str, int]  # when it came in, its kind ("b" bulletin, "i" seizure), id


def _cursor(token: str) -> tuple[Key, int]:
    try:
        parts = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        at, kind, rid, skip = parts if len(parts) == 4 else (parts[0], "b", *parts[1:])
        if kind not in ("b", "i"):
            raise ValueError(kind)
        return (datetime.fromisoformat(at), kind, int(rid)), int(skip)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("next: not a cursor this server gave") from None


def _token(key: Key, skip: int) -> str:
    at, kind, rid = key
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{kind}|{rid}|{skip}".encode()).decode()


def _after(at_col: Any, id_col: Any, kind: str, start: Key) -> Any:
    """Rows of one kind at or after start in (time, kind, id) order."""
    at, skind, rid = start
    if kind == skind:
        return or_(at_col > at, and_(at_col == at, id_col >= rid))
    return at_col > at if kind < skind else at_col >= at


def _bulletins(principal: Principal, target: Target) -> Any:
    """The query of a collection's bulletins, in the order they came in."""
    query = select(Bulletin).where(service.readable(principal))
    if target.agreement is not None:
        query = query.where(Bulletin.org_id == target.agreement.owner_org_id)
    elif target.group_id is not None:
        query = query.where(Bulletin.distribution == "group", Bulletin.group_id == target.group_id)
    return query.order_by(Bulletin.added_at, Bulletin.id)


def _items(
    session: Session, principal: Principal, target: Target, start: Key | None,
    added_after: datetime | None,
) -> Iterator[tuple[Key, list[dict[str, Any]]]]:  # fmt: skip
    """The collection's items in (time, kind, id) order from start: each bulletin with its
    report and indicators (its author's identity with the first of that author's here), each
    seizure with its incident (its owner's identity with the first)."""
    base = _bulletins(principal, target)
    query = base
    if start is not None:
        query = query.where(_after(Bulletin.added_at, Bulletin.id, "b", start))
    elif added_after is not None:
        query = query.where(Bulletin.added_at > added_after)
    agreement = target.agreement if target.seizures else None
    if agreement is None:
        yield from _bulletin_items(session, base, query, None, None)
        return
    # the owner's identity goes with its first item here, a bulletin or a seizure
    from cargowatch.incidents.models import Incident

    owner_ref = stix.identity_of(session, agreement.owner_org_id)[0]
    own = base.where(
        Bulletin.org_id == agreement.owner_org_id,
        or_(Bulletin.author_ref.is_(None), Bulletin.author_ref.in_(("", owner_ref))),
    )
    firsts: list[Key] = []
    b = session.scalar(own.limit(1))
    if b is not None:
        firsts.append((_aware(b.added_at), "b", b.id))
    i = session.execute(select(Incident.created_at, Incident.id).where(
        Incident.org_id == agreement.owner_org_id, Incident.source != "stix")
        .order_by(Incident.created_at, Incident.id).limit(1)).first()  # fmt: skip
    if i is not None:
        firsts.append((_aware(i[0]), "i", i[1]))
    owner_first = min(firsts) if firsts else None
    yield from heapq.merge(
        _bulletin_items(session, base, query, owner_ref, owner_first),
        _seizure_items(session, agreement, start, added_after, owner_first),
        key=lambda item: item[0],
    )


def _bulletin_items(
    session: Session, base: Any, query: Any, owner_ref: str | None, owner_first: Key | None
) -> Iterator[tuple[Key, list[dict[str, Any]]]]:
    authors: set[str] = set()
    for b in session.scalars(query).yield_per(200):
        author = stix.author_of(session, b)
        key: Key = (_aware(b.added_at), "b", b.id)
        found = []
        if author["id"] == owner_ref:
            if key == owner_first:
                found.append(author)
        elif str(author["id"]) not in authors:  # its identity goes with its first bulletin
            authors.add(str(author["id"]))
            earlier = base.where(
                Bulletin.org_id == b.org_id, Bulletin.author_ref == b.author_ref,
                or_(Bulletin.added_at < b.added_at,
                    and_(Bulletin.added_at == b.added_at, Bulletin.id < b.id)))  # fmt: skip
            if session.scalar(earlier.with_only_columns(Bulletin.id).limit(1)) is None:
                found.append(author)
        found += stix.objects_of(session, b, str(author["id"]))
        yield key, found


def _seizure_items(
    session: Session, agreement: Agreement, start: Key | None, added_after: datetime | None,
    owner_first: Key | None,
) -> Iterator[tuple[Key, list[dict[str, Any]]]]:  # fmt: skip
    """The agreement owner's own seizures (not those it took in), oldest recorded first,
    marked with the stricter of the summary's marking and the agreement's; RED stays home."""
    from cargowatch.incidents import stix as seizures
    from cargowatch.incidents.models import TLP, Incident

    base = select(Incident).where(Incident.org_id == agreement.owner_org_id,
                                  Incident.source != "stix")  # fmt: skip
    query = base
    if start is not None:
        query = query.where(_after(Incident.created_at, Incident.id, "i", start))
    elif added_after is not None:
        query = query.where(Incident.created_at > added_after)
    ref, name = stix.identity_of(session, agreement.owner_org_id)
    for row in session.scalars(query.order_by(Incident.created_at, Incident.id)).yield_per(200):
        obj = seizures.object_of(session, row, ref)
        marking = max(stix.TLP_OF[obj["object_marking_refs"][0]], agreement.tlp, key=TLP.index)
        obj["object_marking_refs"] = [stix.TLP_IDS[marking]]
        found = [] if marking == "RED" else [obj]  # RED stays with its owner
        key: Key = (_aware(row.created_at), "i", row.id)
        if key == owner_first:
            found.insert(0, {"type": "identity", "spec_version": "2.1", "id": ref,
                             "created": stix.PUBLISHED, "modified": stix.PUBLISHED, "name": name,
                             "identity_class": "organization"})  # fmt: skip
        if found:
            yield key, found


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _page(
    session: Session, principal: Principal, target: Target, added_after: datetime | None,
    limit: int, next_: str | None, ids: set[str], types: set[str],
) -> tuple[list[tuple[datetime, dict[str, Any]]], str | None]:  # fmt: skip
    """Up to limit (date added, object) pairs, and the cursor of the rest."""
    start, skip = _cursor(next_) if next_ else (None, 0)
    out: list[tuple[datetime, dict[str, Any]]] = []
    for key, found in _items(session, principal, target, start, added_after):
        found = [o for o in found if (not ids or o["id"] in ids) and
                 (not types or o["type"] in types)]  # fmt: skip
        for k, obj in enumerate(found[skip:], start=skip):
            if len(out) == limit:
                return out, _token(key, k)
            out.append((key[0], obj))
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
    target = _collection(session, principal, collection_id)
    rows, more = _page(session, principal, target, added_after, limit, next,
                       set(match_id), set(match_type))  # fmt: skip
    _used(session, principal, target, len(rows))
    return _envelope(rows, more, {"objects": [o for _, o in rows]})


@router.get("/cargowatch/collections/{collection_id}/objects/{object_id}/")
def one_object(
    collection_id: str, object_id: str, session: SessionDep, principal: PrincipalDep
) -> JSONResponse:
    """Every version we hold of one object of the collection (we hold one)."""
    target = _collection(session, principal, collection_id)
    rows, _ = _page(session, principal, target, None, MAX_PAGE, None, {object_id}, set())
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
    target = _collection(session, principal, collection_id)
    rows, more = _page(session, principal, target, added_after, limit, next,
                       set(match_id), set(match_type))  # fmt: skip
    records = [{"id": o["id"], "date_added": _stamp(at),
                "version": o.get("modified", o.get("created", stix.PUBLISHED)),
                "media_type": STIX} for at, o in rows]  # fmt: skip
    return _envelope(rows, more, {"objects": records})
