"""Who may read which records: the owner, and organisations it shared them with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select, tuple_
from sqlalchemy.orm import Session

from cargowatch.audit import service as audit
from cargowatch.auth.principal import Principal
from cargowatch.events.models import Event
from cargowatch.exceptions import InvalidInput
from cargowatch.orgs.service import get_org
from cargowatch.sharing.models import SHARE_SCOPES, Share

PERSONAL = "personal-data"


def grant(
    session: Session, *, principal: Principal, grantee_slug: str, scope: str, value: str = ""
) -> Share:
    """Let grantee read the caller's organisation's events of one container (or all of them)."""
    principal.require("shares:manage")
    if scope not in SHARE_SCOPES:
        raise InvalidInput(f"scope {scope!r}: expected one of {', '.join(SHARE_SCOPES)}")
    if scope == PERSONAL:
        principal.require("users:manage")
        raise InvalidInput(
            "personal data is shared per role: 'cargowatch shares grant-personal' (admins only)"
        )
    if scope == "container" and not value:
        raise InvalidInput("a container share needs the container number")
    grantee = get_org(session, slug=grantee_slug)
    if grantee.id == principal.org_id:
        raise InvalidInput("an organisation always sees its own records")
    value = value if scope == "container" else ""
    existing = session.scalar(
        select(Share).where(
            Share.owner_org_id == principal.org_id,
            Share.grantee_org_id == grantee.id,
            Share.scope == scope,
            Share.value == value,
        )
    )
    if existing is not None:
        return existing  # granting twice is a no-op, so retries are safe
    share = Share(
        owner_org_id=principal.org_id, grantee_org_id=grantee.id, scope=scope, value=value
    )
    session.add(share)
    session.flush()
    audit.record(
        session, actor=principal, action="share.grant", entity_type="share", entity_id=share.id,
        after={"grantee": grantee_slug, "scope": scope, "value": value},
    )  # fmt: skip
    return share


def revoke(session: Session, *, principal: Principal, share_id: int) -> None:
    """Withdraw one of the caller's organisation's shares."""
    principal.require("shares:manage")
    share = session.get(Share, share_id)
    if share is None or share.owner_org_id != principal.org_id:
        from cargowatch.exceptions import NotFound

        raise NotFound(f"no share {share_id}")
    if share.scope == PERSONAL:  # who may read staff records is the admins' call alone
        principal.require("users:manage")
    before = {"grantee_org_id": share.grantee_org_id, "scope": share.scope, "value": share.value}
    session.delete(share)
    audit.record(
        session, actor=principal, action="share.revoke", entity_type="share", entity_id=share_id,
        before=before,
    )  # fmt: skip


def list_shares(session: Session, *, principal: Principal) -> list[Share]:
    """Shares the caller's organisation gave or received."""
    return list(
        session.scalars(
            select(Share)
            .where(
                or_(
                    Share.owner_org_id == principal.org_id, Share.grantee_org_id == principal.org_id
                )
            )
            .order_by(Share.id)
        )
    )


def visible(principal: Principal, org_id: Any, container: Any) -> ColumnElement[bool]:
    """WHERE clause for container records (events, telemetry) principal may read: its own
    organisation's, and those another organisation shared with it (all, or by container).

    The shares are read by subqueries that do not depend on the row (the store reads them
    once), so a page of the queue walks the score index instead of testing every trip."""
    whole = select(Share.owner_org_id).where(
        Share.grantee_org_id == principal.org_id, Share.scope == "all-events"
    )
    boxes = select(Share.owner_org_id, Share.value).where(
        Share.grantee_org_id == principal.org_id, Share.scope == "container"
    )
    return or_(
        org_id == principal.org_id,
        org_id.in_(whole.scalar_subquery()),
        tuple_(org_id, container).in_(boxes),
    )


def visible_events(principal: Principal) -> ColumnElement[bool]:
    """The WHERE clause of events principal may read."""
    return visible(principal, Event.org_id, Event.container)
