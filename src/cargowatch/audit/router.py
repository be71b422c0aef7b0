"""HTTP routes of the audit log: an organisation's admins read their entries and check the
chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cargowatch.api import PrincipalDep, SessionDep
from cargowatch.audit import service as audit
from cargowatch.db.limits import MAX_ID


class EntryRead(BaseModel):
    """One audit entry."""

    id: int
    ts: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: str | None
    after: str | None
    row_hash: str | None


class VerifyRead(BaseModel):
    """Whether the hash chain is intact: rows checked, its head, the first broken row."""

    ok: bool
    rows: int
    head: str
    broken_id: int | None
    problem: str


router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=list[EntryRead])
def entries(
    session: SessionDep,
    principal: PrincipalDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[EntryRead]:
    """The newest entries written by the caller's organisation (admins), newest first; page
    with before_id."""
    rows = audit.list_entries(
        session, principal=principal, action=action, limit=limit, before_id=before_id
    )
    return [EntryRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/verify", response_model=VerifyRead)
def verify(session: SessionDep, principal: PrincipalDep) -> VerifyRead:
    """Recompute the chain over the whole log (admins): the first broken row, if any."""
    principal.require("audit:read")
    v = audit.verify(session)
    return VerifyRead(ok=v.ok, rows=v.rows, head=v.head, broken_id=v.broken_id, problem=v.problem)
