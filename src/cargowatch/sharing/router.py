"""API of sharing agreements: make, list, read, amend and revoke them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, Field

from cargowatch.api import IdPath, PrincipalDep, SessionDep
from cargowatch.sharing import service
from cargowatch.sharing.models import DATA_CLASSES

router = APIRouter(prefix="/api/v1", tags=["sharing"])
SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"
DataClass = Literal[DATA_CLASSES]  # type: ignore[valid-type]
Role = Literal["admin", "analyst", "viewer", "ingester"]


class AgreementWrite(BaseModel):
    """An agreement of your organisation with one organisation (`grantee`) or the members of
    one of its sharing groups (`group`)."""

    grantee: str | None = Field(default=None, pattern=SLUG)
    group: str | None = Field(default=None, pattern=SLUG)
    classes: Annotated[list[DataClass], Field(min_length=1, max_length=len(DATA_CLASSES))]
    purpose: str = Field(min_length=1, max_length=500)
    legal_basis: str = Field(min_length=1, max_length=500)
    scopes: Annotated[list[Annotated[str, Field(max_length=60)]], Field(max_length=10_000)] = []
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    personal_roles: list[Role] = []
    tlp: Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] = "AMBER"


class AgreementChange(BaseModel):
    """What an agreement's owner may change: its end, its classes, its personal-data roles."""

    valid_until: AwareDatetime | Literal["keep"] | None = "keep"
    classes: Annotated[list[DataClass], Field(min_length=1)] | None = None
    personal_roles: list[Role] | None = None


@router.get("/agreements")
def agreement_list(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Agreements your organisation made and those made with it or its groups, with status
    (active, pending, expired, revoked)."""
    return [service.describe(session, a)
            for a in service.list_agreements(session, principal=principal)]  # fmt: skip


@router.post("/agreements", status_code=201)
def agreement_create(
    body: AgreementWrite, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Make an agreement (the same terms again while it runs return it). Personal data needs
    an admin."""
    terms = service.Terms(
        classes=list(body.classes), purpose=body.purpose, legal_basis=body.legal_basis,
        scopes=[service.parse_scope(s) for s in body.scopes], valid_from=body.valid_from,
        valid_until=body.valid_until, personal_roles=list(body.personal_roles), tlp=body.tlp,
    )  # fmt: skip
    made = service.create_agreement(session, principal=principal, terms=terms,
                                    grantee_slug=body.grantee, group_slug=body.group)  # fmt: skip
    return service.describe(session, made)


@router.get("/agreements/{agreement_id}")
def agreement_read(
    agreement_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """One agreement your organisation made or received."""
    found = service.get_agreement(session, principal=principal, agreement_id=agreement_id)
    return service.describe(session, found)


@router.patch("/agreements/{agreement_id}")
def agreement_amend(
    agreement_id: IdPath, body: AgreementChange, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Change an agreement's end, classes or personal-data roles (its owner); audited."""
    until: datetime | str | None = body.valid_until
    changed = service.amend(
        session, principal=principal, agreement_id=agreement_id, valid_until=until,
        classes=body.classes, personal_roles=body.personal_roles,
    )  # fmt: skip
    return service.describe(session, changed)


@router.delete("/agreements/{agreement_id}", status_code=204)
def agreement_revoke(
    agreement_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> Response:
    """End an agreement now (its owner); audited."""
    service.revoke_agreement(session, principal=principal, agreement_id=agreement_id)
    return Response(status_code=204)
