"""HTTP route of search: every identifier an officer types, grouped by kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cargowatch.api import PrincipalDep, SessionDep
from cargowatch.search import service


class HitRead(BaseModel):
    """One thing found and where it opens (a page of the web interface)."""

    kind: str
    label: str
    link: str
    detail: str


class SearchRead(BaseModel):
    """Hits grouped by kind: container, booking, B/L, seal, party, truck, vessel, place."""

    query: str
    total: int
    hits: dict[str, list[HitRead]]


router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/search", response_model=SearchRead)
def search(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(min_length=2, max_length=100, description="What to look for.")],
) -> SearchRead:
    """Containers, bookings, B/Ls, seals, parties, truck plates, vessels and places (a UN/LOCODE
    or its name) the caller may see, starting with (names: containing) q."""
    found = service.search(session, principal=principal, q=q)
    return SearchRead(
        query=found.query,
        total=found.total,
        hits={k: [HitRead(**vars(h)) for h in v] for k, v in found.hits.items()},
    )
