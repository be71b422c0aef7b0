"""The audit log's hash chain: every row's digest covers its content and the digest of the row
before it, so a row removed, changed or inserted out of place breaks the chain from there on."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec

GENESIS = "0" * 64  # what the first row's prev_hash holds


def row_digest(
    *,
    prev_hash: str,
    ts: datetime,
    actor: str,
    actor_org_id: int | None,
    actor_user_id: int | None,
    action: str,
    entity_type: str,
    entity_id: str,
    before: str | None,
    after: str | None,
) -> str:
    """SHA-256 over the row's fields and the previous row's digest (canonical JSON, UTC time
    to the microsecond)."""
    payload: list[Any] = [
        "cargowatch-audit-v1",
        prev_hash,
        ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        actor,
        actor_org_id,
        actor_user_id,
        action,
        entity_type,
        entity_id,
        before,
        after,
    ]
    return hashlib.sha256(msgspec.json.encode(payload)).hexdigest()
