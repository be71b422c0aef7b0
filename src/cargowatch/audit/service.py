"""Writing and reading the audit log; every write joins the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cargowatch.audit.chain import GENESIS, row_digest
from cargowatch.audit.models import AuditEntry
from cargowatch.auth.principal import Principal
from cargowatch.db.base import utcnow

SMALL = 4000
CHAIN_LOCK = 0x63_77_61_75_64_69_74  # PostgreSQL advisory lock serialising appends ('cwaudit')


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
) -> int:
    """Append one audit entry in the current transaction, chained to the newest one; its id."""
    fields: dict[str, Any] = {
        "ts": utcnow(),
        "actor": actor.label if isinstance(actor, Principal) else actor,
        "actor_org_id": actor.org_id if isinstance(actor, Principal) else None,
        "actor_user_id": actor.user_id if isinstance(actor, Principal) else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id)[:200],
        "before": _small(before),
        "after": _small(after),
    }
    for attempt in range(3):
        prev = _head(session)
        values = {**fields, "prev_hash": prev, "row_hash": row_digest(prev_hash=prev, **fields)}
        try:
            new_id: int = session.execute(
                insert(AuditEntry).values(**values).returning(AuditEntry.id)
            ).scalar_one()
            return new_id
        except IntegrityError:
            # SQLite read the head before this transaction took the write lock and another
            # writer appended in between; the failed insert holds the lock now, so reading the
            # head again cannot race (PostgreSQL serialises on the advisory lock instead)
            if attempt == 2 or session.get_bind().dialect.name != "sqlite":
                raise
    raise AssertionError("unreachable")


def record_many(
    session: Session, *, actor: Principal | str, entries: list[Mapping[str, Any]]
) -> int:
    """Append several audit entries (each with action, entity_type, entity_id and optional
    before and after) in the current transaction, chained in order in one statement: a bulk
    intake costs one head read, not one per entry. Returns how many."""
    if not entries:
        return 0
    who = {
        "actor": actor.label if isinstance(actor, Principal) else actor,
        "actor_org_id": actor.org_id if isinstance(actor, Principal) else None,
        "actor_user_id": actor.user_id if isinstance(actor, Principal) else None,
    }
    for attempt in range(3):
        prev = _head(session)
        rows = []
        for entry in entries:
            fields: dict[str, Any] = {
                "ts": utcnow(),
                **who,
                "action": entry["action"],
                "entity_type": entry["entity_type"],
                "entity_id": str(entry["entity_id"])[:200],
                "before": _small(entry.get("before")),
                "after": _small(entry.get("after")),
            }
            digest = row_digest(prev_hash=prev, **fields)
            rows.append({**fields, "prev_hash": prev, "row_hash": digest})
            prev = digest
        try:
            # ids follow the chain's order; only the first statement can lose a race (SQLite:
            # once it is in, this transaction holds the write lock)
            for start in range(0, len(rows), 500):
                session.execute(insert(AuditEntry).values(rows[start : start + 500]))
            return len(rows)
        except IntegrityError:
            if attempt == 2 or session.get_bind().dialect.name != "sqlite":
                raise
    raise AssertionError("unreachable")


def _head(session: Session) -> str:
    """The newest row's digest, with appends serialised until this transaction ends (an
    advisory lock on PostgreSQL; SQLite has one writer at a time, and the unique prev_hash
    refuses a second row after the same head either way)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})
    newest = session.scalar(select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1))
    return newest or GENESIS


@dataclass(frozen=True, slots=True)
class Verification:
    """What checking the chain found: rows checked, the head, and the first broken row."""

    rows: int
    head: str
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """Whether every row checked is intact and in place."""
        return self.broken_id is None


def verify(session: Session, *, batch: int = 5000) -> Verification:
    """Walk the whole log in id order recomputing every digest; name the first row whose
    content was changed, or whose predecessor is missing or out of place."""
    prev, rows, last_id = GENESIS, 0, 0
    while True:
        chunk = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)
                .limit(batch)
            )
        )  # fmt: skip
        if not chunk:
            return Verification(rows=rows, head=prev)
        for e in chunk:
            if e.prev_hash != prev:
                return Verification(rows, prev, e.id, "the row before it is missing or changed")
            digest = row_digest(
                prev_hash=prev, ts=e.ts, actor=e.actor, actor_org_id=e.actor_org_id,
                actor_user_id=e.actor_user_id, action=e.action, entity_type=e.entity_type,
                entity_id=e.entity_id, before=e.before, after=e.after,
            )  # fmt: skip
            if digest != e.row_hash:
                return Verification(rows, prev, e.id, "its content does not match its digest")
            prev, rows, last_id = digest, rows + 1, e.id
        session.expunge_all()


def list_entries(
    session: Session,
    *,
    principal: Principal | None,
    action: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """The newest audit entries of the caller's organisation (admins only); principal None
    is the local operator, who reads the whole log."""
    query = select(AuditEntry)
    if principal is not None:
        principal.require("audit:read")
        query = query.where(AuditEntry.actor_org_id == principal.org_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
