"""Writing and reading the audit log; every write joins the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from cargowatch.audit.models import AuditEntry
from cargowatch.auth.principal import Principal

SMALL = 4000


def _small(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= SMALL else text[:SMALL] + "...(truncated)"


def record(
    session: Session,
    *,
    actor: Principal | str,
    action: str,
    entity_type: str,
    entity_id: object,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry in the current transaction."""
    entry = AuditEntry(
        actor=actor.label if isinstance(actor, Principal) else actor,
        actor_org_id=actor.org_id if isinstance(actor, Principal) else None,
        actor_user_id=actor.user_id if isinstance(actor, Principal) else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=_small(before),
        after=_small(after),
    )
    session.add(entry)
    session.flush()
    return entry


def list_entries(
    session: Session, *, principal: Principal, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest audit entries of the caller's organisation (admins only)."""
    principal.require("audit:read")
    query = select(AuditEntry).where(AuditEntry.actor_org_id == principal.org_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
