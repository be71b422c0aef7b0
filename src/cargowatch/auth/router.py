"""HTTP routes about the caller and its organisation's sharing."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cargowatch.api import IdPath, PrincipalDep, SessionDep
from cargowatch.sharing import service as sharing


class Me(BaseModel):
    """Who the caller is."""

    username: str
    organisation: str
    role: str


class ShareCreate(BaseModel):
    """Let another organisation read events: of one container, or all of them."""

    grantee: str
    scope: str = "container"
    value: str = ""


class ShareRead(BaseModel):
    """A share given or received by the caller's organisation."""

    id: int
    owner_org_id: int
    grantee_org_id: int
    scope: str
    value: str


router = APIRouter(prefix="/api/v1", tags=["access"])


@router.get("/me", response_model=Me)
def me(principal: PrincipalDep) -> Me:
    """The caller's user, organisation and role."""
    return Me(username=principal.username, organisation=principal.org_slug, role=principal.role)


@router.get("/shares", response_model=list[ShareRead])
def shares(session: SessionDep, principal: PrincipalDep) -> list[ShareRead]:
    """Shares given or received by the caller's organisation."""
    return [ShareRead(**s) for s in sharing.list_shares(session, principal=principal)]


@router.post("/shares", response_model=ShareRead, status_code=201)
def create_share(body: ShareCreate, session: SessionDep, principal: PrincipalDep) -> ShareRead:
    """Share the caller's organisation's events with another organisation."""
    s = sharing.grant(
        session, principal=principal, grantee_slug=body.grantee, scope=body.scope,
        value=body.value.strip().upper() if body.scope == "container" else "",
    )  # fmt: skip
    return ShareRead(**sharing.share_view(session, s))


@router.delete("/shares/{share_id}", status_code=204)
def delete_share(share_id: IdPath, session: SessionDep, principal: PrincipalDep) -> None:
    """Withdraw a share the caller's organisation gave."""
    sharing.revoke(session, principal=principal, share_id=share_id)
